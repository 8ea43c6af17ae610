// Package ntpengine is the NTP protocol and clock discipline of ntpagent as
// a pure state machine, in the style of etcd's raft: RFC 5905 associations
// (symmetric active/passive, client), stateless server replies with rate
// limiting and Kiss-o'-Death, the on-wire checks of §8, the clock filter
// (§10), selection, cluster and combine (§11.2), the hybrid PLL/FLL
// discipline (§11.3), the poll process (§13) and the product's unsync
// poll cap, preferred and preemptible associations (DESIGN §3).
//
// The engine owns no socket, goroutine, wall clock or global randomness.
// Its caller passes every received datagram to Handle and calls Tick at
// least at NextDeadline (once a second is fine); both return a Ready: the
// datagrams to send, the commands to apply to the disciplined clock
// (ntpengine/clock.Clock), and events to log. The caller serializes calls.
//
// It must not import the datastore, ygot structs, netio or clock
// implementations: the agent translates its configuration into Config.
package ntpengine
