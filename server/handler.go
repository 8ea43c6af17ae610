package server

import (
	"context"
	"io"
	"net"
)

// The server is a transport: what runs on a session channel is a handler
// injected through Config. Each handler owns the sessions it serves, and
// ends them (locks, datastore sessions) before it returns; the server then
// closes the channel and releases the session's slot.

// SubsystemSession is one "subsystem" channel (RFC 4254 §6.5) handed to the
// handler registered for its name, e.g. "netconf" (RFC 6242 §3).
type SubsystemSession struct {
	ID   uint32 // unique among the sessions of the server, terminal ones included
	User string
	Role Role
	// Recovery marks the recovery session (RFC 8341 §3.4.3): an admin of
	// the users file, whom access control does not restrict.
	Recovery   bool
	RemoteAddr net.Addr
	// Channel carries the subsystem's bytes. The handler may close it; the
	// server closes it after the handler returns.
	Channel io.ReadWriteCloser
	// Waiting tells the server that the session waits for something to send
	// (true: an event subscription started) or no longer does (false): a
	// waiting session's connection is not idle, though its client is silent.
	Waiting func(waiting bool)
	// TimedOut reports whether the server closed the connection because it
	// was idle for Config.IdleTimeout.
	TimedOut func() bool
}

// SubsystemHandler serves the subsystem channels of one name.
type SubsystemHandler interface {
	ServeSubsystem(ctx context.Context, s *SubsystemSession)
}

// SubsystemFunc is a function serving subsystem channels.
type SubsystemFunc func(ctx context.Context, s *SubsystemSession)

// ServeSubsystem implements SubsystemHandler.
func (f SubsystemFunc) ServeSubsystem(ctx context.Context, s *SubsystemSession) { f(ctx, s) }

// TerminalSession is one "shell" or "exec" channel handed to the terminal
// handler (the CLI).
type TerminalSession struct {
	ID         uint32
	User       string
	Role       Role
	Recovery   bool // as SubsystemSession.Recovery
	RemoteAddr net.Addr
	PTY        bool
	Term       string
	Width      int
	Height     int
	Resize     <-chan [2]int // width, height from window-change requests
	Command    string        // the exec request's command; "" for a shell
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
}

// TerminalHandler serves shell and exec channels (implemented by server/cli).
type TerminalHandler interface {
	ServeTerminal(ctx context.Context, s *TerminalSession) (exitStatus int)
}
