package server

import (
	"context"
	"io"
	"net"
)

// TerminalSession is one "shell" or "exec" channel handed to the CLI.
type TerminalSession struct {
	ID         uint32
	User       string
	Role       Role
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
