// Package cli is the VRP-style command line of ntpagent, served over SSH
// "shell" and "exec" channels by package server through the
// server.TerminalHandler interface.
//
// It owns the views and prompts (<NAME>, [~NAME], [*NAME]), the command
// grammar with unique-prefix abbreviations, '?' help and Tab completion, the
// translation of configuration commands into edits of the shared candidate
// datastore, and the rendering of configuration (display
// current-configuration) and operational state (display ntp status,
// statistics and sessions).
//
// Each terminal session is a datastore session (origin cli) that the CLI
// ends itself when the session ends.
//
// It must not keep configuration of its own: every configuration command is
// an edit of the datastore's candidate and every display of configuration is
// rendered from the datastore's ygot trees, so that NETCONF and the CLI always
// agree. It must not touch sockets, the NTP engine or the SSH transport; the
// product rules are those of datastore/rules, printed with their messages.
package cli
