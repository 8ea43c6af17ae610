package cli

import (
	"context"
	"io"
	"net"
)

// Role is the authorization role of an SSH user (mirrors server.Role of
// contracts.md until package server defines it).
type Role string

// The roles.
const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
)

// TerminalSession is one SSH "shell" or "exec" channel (mirrors
// server.TerminalSession of contracts.md until package server defines it).
type TerminalSession struct {
	ID            uint32
	User          string
	Role          Role
	RemoteAddr    net.Addr
	PTY           bool
	Term          string
	Width, Height int
	Resize        <-chan [2]int // width, height
	Command       string        // exec request's command; "" for a shell
	Stdin         io.Reader
	Stdout        io.Writer
	Stderr        io.Writer
}

// TerminalHandler is what the SSH server calls for shell and exec channels.
type TerminalHandler interface {
	ServeTerminal(ctx context.Context, s *TerminalSession) (exitStatus int)
}

var _ TerminalHandler = (*CLI)(nil)
