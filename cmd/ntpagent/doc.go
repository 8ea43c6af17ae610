// Command ntpagent is the daemon: the NTP engine driven by the committed
// configuration, the NETCONF and CLI servers over SSH that edit it, and an
// optional Prometheus endpoint (/metrics). Once the agent has applied
// running, it returns the start's free heap to the system. `go run ./cmd/ntpagent` with no flags works
// on a fresh machine: unprivileged loopback ports, a state folder in the
// current directory and the virtual clock (the host clock is never touched
// unless --clock system is given).
//
// It owns the process: settings (flags and a settings file), logging, the
// order of start-up and shutdown, and signals. It must not reach into the
// packages it wires beyond their exported APIs.
package main
