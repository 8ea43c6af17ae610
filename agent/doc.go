// Package agent is ntpagent's composition root for time service: it turns
// the committed running configuration (*gen.Device) into the engine's
// ntpengine.Config, reconciles the engine on every commit (unchanged
// associations keep their filter, reach and poll state; added ones start;
// removed ones stop; changed ones restart), and runs the engine against the
// network (ntpengine/netio) and the disciplined clock (ntpengine/ntpclock).
// In the other direction it fills the config false nodes /ntp/status,
// /ntp/statistics (the engine's packet counters and netio's drops) and
// /ntp/sessions/session of a <get> (StateProvider) and reports changes of the
// sync state (synchronized ↔ unsynchronized, system peer) as the
// sync-state-change notification of ntpagent-ntp (RFC 5277).
//
// One goroutine (Run) owns the resolver state and the configuration; every
// other caller (StateProvider, Metrics, Apply) hands it a closure and waits.
// The engine has one lock (engMu): Run holds it for each engine call, and
// netio's socket readers hold it for each batch of client requests they
// answer on their own goroutine (a responder with the engine's Serve, the
// replies sent with one sendmmsg), so that a server reply costs no channel
// hop; everything else netio reads goes on its channel to Run and Handle.
//
// Two clocks, never mixed: the disciplined clock (Options.Clock,
// ntpengine/ntpclock) is the one NTP steers, read for every timestamp the
// engine sees; the process clock (Options.ProcessClock, internal/clock)
// times the agent's own waits — the loop's sleep until the engine's next
// deadline, lookup and vpn-instance retries, the drift file's interval —
// so that tests drive them with internal/fakeclock.
//
// Domain peers are resolved with a Resolver (net.Resolver by default, which
// honours /etc/hosts; HostsResolver reads another hosts file for tests and
// labs), each in its own vpn-instance: a peer of a named instance is
// resolved by that instance's resolver (VPNResolver by default: the
// namespace's /etc/netns/NAME/resolv.conf and hosts, or DNS over sockets
// bound to the VRF device; a HostsResolver given as Resolver is asked
// first), so one name may have a different address in each instance. A
// name that does not resolve leaves a session whose last-error says so; it
// is retried with the daemon's one back-off (internal/backoff), and
// re-resolved when its association becomes unreachable or is preempted.
//
// Receive timestamps: netio reports the kernel's receive time on the host's
// CLOCK_REALTIME. The engine wants it on the disciplined clock, so the agent
// converts it by the age of the datagram at read time:
// rx = clock.Now() − (hostNow() − kernelRxTime). Both readings are taken
// together, so the host clock's offset from the virtual clock cancels and
// only the (microsecond) queueing age is carried over.
//
// Transmit timestamps: every packet is stamped immediately before its
// send (ntpengine's StampTransmit; the server's batched replies in
// FinishReplies, right before sendmmsg), and the kernel's transmit
// timestamp that netio reports afterwards goes to the engine
// (Transmitted) as the packet's departure: T1 of the sample its reply
// gives, T3 of the next packet in interleaved mode (RFC 9769). It is
// converted from the pair of clock readings taken just before the send,
// microseconds away, so that a clock running at another rate than the
// host's adds no error. Without kernel transmit timestamps the time read
// just before the send system call stands in; /ntp/status
// transmit-timestamping says which.
//
// Counters are the engine's (ntpengine.PacketCounts): packets-sent counts
// the packets the engine produced for the association, packets-received
// those of its peer that passed the access and authentication tests
// (on-wire test failures such as duplicates are among them and show as the
// session's last-error), authentication-errors those that failed
// authentication. local-address is the engine's too: where the peer's
// packets arrive; symmetric passive associations send from it (the engine
// sets Outgoing.Src), so that a multihomed peer recognizes the answer.
//
// The frequency (drift) file (Options.DriftFile, drift.go) carries the
// clock's frequency correction across restarts, as ntpd's does: read once
// by New (a bad file is logged and ignored), written atomically by Run
// while the engine says the frequency is settled, at most hourly and at a
// clean stop.
//
// The files, one job each: agent.go (Options, New), run.go (the loop:
// Run, ticks, what to do with the engine's Ready), packets.go (receive
// and send), responder.go (client requests answered on netio's readers),
// timestamps.go (host → disciplined clock conversions), reconcile.go
// (a commit → the engine's configuration, vpn-instances, the association
// index), translate.go (running → ntpengine.Config), lookup.go (domain
// peers' lookups and their retries), resolve.go and vpnresolve.go (the
// resolvers), syncstate.go (sync-state-change, delivered on one channel,
// Notifications, as a notification.SyncStateChange that the NETCONF layer
// renders), state.go (the config false nodes), drift.go (the drift file).
//
// It must not touch the datastore's files, the engine's internals or the
// host's clock (the system clock is used only when the daemon is started with
// --clock system), and it must not change host network state: namespaces and
// interfaces are the operator's (or a test's).
package agent
