package cli

import "github.com/ntpagent/ntpagent/server"

// The SSH server's types (package server must not import cli, so the CLI
// uses the server's).
type (
	// TerminalSession is one SSH "shell" or "exec" channel.
	TerminalSession = server.TerminalSession
	// Role is the authorization role of the SSH user.
	Role = server.Role
)

// The roles.
const (
	RoleAdmin    = server.RoleAdmin
	RoleOperator = server.RoleOperator
)

var _ server.TerminalHandler = (*CLI)(nil)
