// Package server owns ntpagent's SSH server, a transport: the host key, the
// users file and authentication (passwords hashed with bcrypt, authorized
// public keys, bounded attempts and a per-source back-off), the session id
// counter shared by every session, limits (connections not yet
// authenticated, in all and per source; sessions; channels; idle time) and
// the dispatch of SSH channel requests to injected handlers: a "subsystem"
// request to the SubsystemHandler registered for its name (cmd/ntpagent
// registers server/netconf as "netconf"), "shell" and "exec" to the
// TerminalHandler (the CLI). Each handler ends the sessions it serves.
//
// It must not know any protocol run over it: it does not import
// server/netconf, parse NETCONF messages or CLI lines, nor open datastore
// sessions (it reads running only for the users configured there). It
// writes only its own files in the state directory: ssh_host_ed25519_key
// and users.json.
package server
