// Package ntpengine is the NTP protocol and clock discipline of ntpagent as
// a pure state machine, in the style of etcd's raft: RFC 5905 associations
// (symmetric active/passive, client), stateless server replies with rate
// limiting and Kiss-o'-Death, the on-wire checks of §8, the clock filter
// (§10), selection, cluster and combine (§11.2), the clock discipline
// (§11.3), the poll process with burst (§13) and the product's unsync
// poll cap, preferred and preemptible associations (DESIGN §3).
//
// The engine owns no socket, goroutine, wall clock or global randomness.
// The caller (the agent over netio, or ntpengine/sim) owns time and I/O:
//
//	e, err := ntpengine.New(cfg, clk.Now())
//	// for every datagram received:
//	r := e.Handle(ntpengine.Incoming{Data: b, Src: src, Dst: dst, VPN: vpn, RxTime: clk.Now()})
//	// at e.NextDeadline() (or every second):
//	r = e.Tick(clk.Now())
//	// then, for every Ready r, in order:
//	//   apply r.Clock to the clock.Clock (Step, SetFrequency, Slew),
//	//   send r.Packets, log r.Events.
//	// on commit: r, err = e.Reconfigure(newCfg, clk.Now())
//	// for operational state: e.Status(clk.Now()), e.Sessions(clk.Now()),
//	// and the system-wide packet counters e.Statistics()
//	// a server answering clients in batches may first try, per datagram:
//	//   reply, res := e.Serve(&in, buf) // ServeReply / ServeDrop / ServePass (→ Handle)
//
// RxTime and the now passed to Tick must be readings of the disciplined
// clock; transmit timestamps are taken from them. The caller serializes
// all calls (one mutex); Tick is cheap.
//
// Where the product deviates from the textbook RFC 5905 it says so at the
// code: the default discipline (DisciplineRegression) estimates frequency
// and offset with a delay-weighted least-squares fit and slews the offset
// at the clock's slew rate, which the caller states in Config.MaxSlewRate
// (clock.MaxSlewRate(clk): 83,333 ppm for clock.Virtual, 500 for
// clock.System; 0 assumes 500 and takes no sample during a long slew);
// DisciplineRFC is the textbook PLL/FLL. In regression mode the poll
// interval grows only once the frequency is known (its standard error at
// most 1 ppm, or its effect over the longer interval below the sample
// noise), and the root dispersion advertised is measured, as chrony's:
// the peer's, the two clocks' reading errors and the standard error of
// the fitted offset, growing at the frequency's standard error plus
// 1 ppm, instead of the RFC 5905 §11.3 (A.5.5.4) sum with its 10 ms
// MINDISP floor, which would widen every downstream root distance
// (§11.2) by tens of milliseconds; DisciplineRFC keeps the RFC sum (see
// rootDispersion). MAXDIST is ntpd's 1.5 s. An
// unreachable configured association starts with a burst (iburst), with
// one more packet per lost reply (up to 16), and again after a step. A
// symmetric passive association answers the peer's burst at once and
// keeps its polls half a poll interval from the peer's (passivePoll).
//
// It must not import the datastore, ygot structs, netio or clock
// implementations: the agent translates its configuration into Config.
package ntpengine
