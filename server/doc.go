// Package server owns ntpagent's SSH server: the host key, the users file
// and authentication (passwords hashed with bcrypt, authorized public keys,
// bounded attempts and a per-source back-off), the session id counter shared
// by NETCONF and CLI sessions, limits (connections not yet authenticated,
// in all and per source; sessions; idle time) and the dispatch
// of SSH channel requests: subsystem "netconf" to package server/netconf,
// "shell" and "exec" to a TerminalHandler (the CLI).
//
// It must not parse NETCONF messages (server/netconf does) nor CLI lines
// (server/cli does, and does not import this package's internals beyond the
// TerminalHandler types), and it writes only its own files in the state
// directory: ssh_host_ed25519_key and users.json.
package server
