// Package agent is ntpagent's composition root for time service: it turns
// the committed running configuration (*gen.Device) into the engine's
// ntpengine.Config, reconciles the engine on every commit (unchanged
// associations keep their filter, reach and poll state; added ones start;
// removed ones stop; changed ones restart), and runs the engine against the
// network (ntpengine/netio) and the disciplined clock (ntpengine/clock).
// In the other direction it fills the config false nodes /ntp/status and
// /ntp/sessions/session of a <get> (StateProvider) and reports changes of the
// sync state (synchronized ↔ unsynchronized, system peer) as the
// sync-state-change notification of ntpagent-ntp (RFC 5277).
//
// One goroutine (Run) owns the engine, the resolver state and the counters;
// every other caller (StateProvider, Metrics, Apply) hands it a closure and
// waits, so nothing here needs a lock around the engine.
//
// Domain peers are resolved with a Resolver (net.Resolver by default, which
// honours /etc/hosts; HostsResolver reads another hosts file for tests and
// labs). A name that does not resolve leaves a session whose last-error says
// so; it is retried with a back-off, and re-resolved when its association
// becomes unreachable or is preempted.
//
// Receive timestamps: netio reports the kernel's receive time on the host's
// CLOCK_REALTIME. The engine wants it on the disciplined clock, so the agent
// converts it by the age of the datagram at read time:
// rx = clock.Now() − time.Since(kernelRxTime). Both readings are taken
// together, so the host clock's offset from the virtual clock cancels and
// only the (microsecond) queueing age is carried over.
//
// Counters: the engine reports no per-session packet counts, so the agent
// keeps them: packets-sent counts datagrams netio accepted for the
// association; packets-received counts datagrams from the session's address
// that parse and, for a keyed session that must authenticate, carry a valid
// MAC of its key (the others count as authentication-errors). On-wire test
// failures (duplicates, bogus origins) are not subtracted: they show as the
// session's last-error.
//
// Symmetric passive associations answer from the local address their peer
// sent to (the engine leaves the source open for association packets), so
// that a multihomed peer recognizes the answer.
//
// It must not touch the datastore's files, the engine's internals or the
// host's clock (the system clock is used only when the daemon is started with
// --clock system), and it must not change host network state: namespaces and
// interfaces are the operator's (or a test's).
package agent
