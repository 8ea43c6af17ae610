// Package ntpengine is the NTP protocol and clock discipline of ntpagent as
// a pure state machine, in the style of etcd's raft: RFC 5905 associations
// (symmetric active/passive, client), stateless server replies with rate
// limiting and Kiss-o'-Death, the on-wire checks of §8, the clock filter
// (§10), selection, cluster and combine (§11.2), the clock discipline
// (§11.3), the poll process with burst (§13) and the product's unsync
// poll cap, preferred and preemptible associations.
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
//	// for operational state: e.Status(clk.Now()), e.Associations(clk.Now()),
//	// and the system-wide packet counters e.Statistics()
//	// a server answering clients in batches may first try, per datagram:
//	//   reply, res := e.Serve(&in, buf) // ServeReply / ServeReplyTx / ServeDrop / ServePass (→ Handle)
//	//   and immediately before sending the batch: ntpengine.StampReply(reply, clk.Now())
//	// immediately before sending each Outgoing o:
//	//   e.StampTransmit(&o, clk.Now())
//	// when the kernel reports that a packet left (o.TxTimestamp asked for it):
//	//   e.Transmitted(ntpengine.Transmitted{Data: o.Data, Dst: o.Dst, TxTime: t, Source: ntpengine.TxKernel})
//
// RxTime, the now passed to Tick and StampTransmit, and TxTime must be
// readings of the disciplined clock. The caller serializes all calls (one
// mutex); Tick is cheap.
//
// Transmit timestamps (xmit.go). RFC 5905 §8 defines T1 and T3 as the
// times packets leave, not the times the engine builds them: the caller
// stamps each packet immediately before the send system call
// (StampTransmit: basic mode's transmit timestamp, and the departure T1
// of the association's next sample) and reports the kernel's transmit
// timestamp when it has one (Transmitted: it replaces T1). Server replies
// in basic mode get their T3 from StampReply (the batched fast path) or
// StampTransmit. Since the kernel's timestamp comes after the packet
// left, the exact T3 reaches the peer only in the next packet: interleaved
// mode (RFC 9769 §3 client/server, §4 symmetric), which every
// association asks for and falls back from with a peer that does not
// support it (§5), and which the server answers to clients that ask in
// interleaved form. AssociationStatus.Interleaved and AssociationStatus.TxSource show it.
//
// The clock discipline (§11.3) is one state machine (discipline.go: the
// states of A.5.5.6 local_clock, steps, stepout and panic, the jiggle
// counter, and A.5.6.1 clock_adjust's phase accounting) around an
// estimator that turns accepted offsets into phase and frequency
// corrections: the RFC's PLL/FLL (discipline_rfc.go) or the regression
// (discipline_regress.go), with the weighted line fit they share in
// discipline_fit.go. Config.Discipline chooses the estimator.
//
// The frequency range is the clock's, which the caller states in
// Config.FrequencyLimitPPM (clock.MaxFrequency(clk): ±100,000 ppm for
// clock.Virtual, ±500 for clock.System), where RFC 5905 Appendix A.1.1
// fixes "MAXFREQ 500e-6 /* frequency tolerance (500 ppm) */": that is the
// range of the kernel frequency the RFC's loop drives, not a property of
// NTP, and a software clock 5 % off (chrony's 003-largefreqoffset) would
// otherwise never synchronize. Left at 0 the range is the RFC's. Before
// the frequency is measured, selection compares the sources' offsets
// projected to one time with each source's own slope (projectionFreq),
// so a clock off by more than 500 ppm does not make its servers disagree;
// 500 ppm then bounds that slope's error (freqBound).
//
// Where the product deviates from the textbook RFC 5905 it says so at the
// code: the default discipline (DisciplineRegression) estimates frequency
// and offset with a delay-weighted least-squares fit (over eight polls,
// more when the samples are noisy, and over up to 64 samples when a
// line describes them all: regression.longFit) and corrects the
// offset at once: one of up to 2 ms through the frequency, over an
// eighth of a poll interval or of the time between updates, if longer (at
// least 8 s), for up to 1 ms and faster
// above, never beyond 500 ppm (gentleSlew: a clock slewed at 8 % for an
// instant is 8 % off to whoever reads its rate then, as chrony's harness
// does), a larger one (0.1 s at the start) at the clock's slew rate,
// which the caller states in Config.MaxSlewRate (ntpclock.MaxSlewRate(clk):
// 83,333 ppm for ntpclock.Virtual, 500 for ntpclock.System; 0 assumes 500
// and takes no sample during a long slew);
// DisciplineRFC is the textbook PLL/FLL. In regression mode the poll
// interval grows only once the frequency is known (its standard error at
// most 1 ppm, or its effect over the longer interval below the sample
// noise), and the root dispersion advertised is measured, as chrony's:
// the peer's, the two clocks' reading errors and the standard error of
// the fitted offset, growing at the frequency's standard error plus
// 1 ppm, instead of the RFC 5905 §11.3 (A.5.5.4) sum with its 10 ms
// MINDISP floor, which would widen every downstream root distance
// (§11.2) by tens of milliseconds; DisciplineRFC keeps the RFC sum (see
// rootDispersion). At start (NSET, FREQ) regression mode measures the
// frequency with the peer's earlier samples and ends FREQ only with an
// estimate whose error cannot carry the offset past half the step
// threshold within a minimum poll; it converts that estimate from the
// free-running clock's seconds to true ones; an offset above 128 ms is
// stepped once and the filters keep their samples across that step (they
// hold each with the correction in force), where A.5.5.4 clears them;
// and until the discipline has a frequency the filters project their
// stages with their own slope. MAXDIST is ntpd's 1.5 s. An
// unreachable association configured with IBurst starts with a burst,
// with one more packet per lost reply (up to 16), and again after a step
// that clears the filters;
// one with Burst sends a burst at every poll; polls of different
// associations are at least 0.2 s apart (pollSeparation). A
// symmetric passive association answers the peer's burst at once and
// keeps its polls half a poll interval from the peer's (passivePoll).
//
// # Sporadic sources
//
// RFC 5905's poll process presumes a peer that answers more often than it
// stays silent. A server that answers one request in 20 (chrony's
// 014-intermittent) has an empty reach register 12 polls in 20, and the
// dummy stages that A.5.7.1 shifts into the clock filter at the third to
// seventh poll without reply leave at most two samples in it: it never
// passes the fitness test (§11.2) and the clock is never set. The engine
// departs from the RFC in two places for it. A shift never leaves the
// filter with fewer than three samples (the oldest dummy stage goes
// instead: keepStartSamples); age still counts through PHI, the
// selection interval's frequency error bound and the reach register,
// whose emptiness keeps a silent source unfit as in the RFC. And a
// source heard again after being unreachable that is silent at the next
// poll keeps the poll it had backed off to (§13 unreach) once the
// discipline holds the frequency, where the RFC drops it to the system
// poll at every reply, and gets no iburst (resumePoll): chrony likewise
// backs off at every request without reply. Such a source is selected
// while its register holds a reply and lost when it empties, as chrony's.
//
// # Selection
//
// RFC 5905 §11.2.1 builds, per candidate, the tuples "lowpoint (p, -1,
// theta - lambda), midpoint (p, 0, theta), and highpoint (p, +1, theta +
// lambda), where lambda is the root synchronization distance", and keeps
// the intersection a majority agrees on. The engine keeps that
// intersection algorithm (Marzullo's, but without the RFC's rule that
// the truechimers' midpoints lie in the intersection: see intersect), the
// clustering of §11.2.2 and the 1/lambda weights of §11.2.3, and departs
// from the RFC in what lambda is, because the RFC's root distance is
// several milliseconds wide even on a quiet LAN (the MINDISP floor of
// 10 ms, and PHI = 15 ppm times the age of samples up to eight polls
// old): a falseticker a few milliseconds off overlaps every truechimer
// and is averaged in. Of the two known designs — ntpd's root distance and
// chrony's statistics-based intervals — it takes chrony's principle (an
// interval as wide as the source's measured error can be, not as a fixed
// worst case) with ntpd's hard bound: lambda is the peer's stated root
// delay/2 + root dispersion, plus half the round-trip delay of the sample
// whose offset is used (an offset over a path of delay δ is off by at
// most δ/2 whatever the asymmetry, §8), the filter jitter and both
// precisions, plus the sample's age times a bound on our frequency error
// (500 ppm on the sources' own slopes until the discipline has measured
// the frequency; then three
// standard errors of its estimate, at least 1 ppm) in place of PHI
// (selDist). The RFC's root distance with MINDISP and PHI stays the
// fitness test against MAXDIST (§11.2, A.5.5.3) and what we advertise,
// except that a source whose filter holds three samples spanning 8 s
// (or any three, with a frequency from a drift file) is judged without
// its empty stages (each MAXDISP, 16 s, in the RFC's sum, which lets a
// source through only at its fourth sample): fitDist. The first clock
// update then comes at the third sample, as chrony's, a poll sooner.
// Clustering casts the system peer off only when its selection jitter
// exceeds the others' by chrony's reselectdist (100 µs): among sources
// agreeing within µs, which one lies farthest changes with every sample,
// and a peer group would hop system peers every few seconds.
//
// Two rules are added around the RFC's steps. The truechimers must be a
// majority not only of the fit candidates but also of the sources still
// filling their clock filters, so that a falseticker that filled first
// cannot have the clock stepped to it at start (UnsyncAcquiring until
// then). And a survivor is combined only if its lambda is within three
// times the system peer's (chrony's combinelimit): a source behind a long
// path adds its error bound and none of its precision; it shows as an
// outlier. With no majority the clock is left alone and
// Status.UnsyncReason is UnsyncNoMajority; AssociationStatus.SelectionReason says
// why each association is not a candidate.
//
// # Asymmetric jitter
//
// An exchange whose two directions add x and y of delay beyond the path's
// least measures the offset off by (x−y)/2 (RFC 5905 §8). The clock filter
// of §10 keeps the minimum-delay sample for that reason, but the default
// discipline fits a line through every new sample (weighted by delay),
// and when one direction is much noisier every sample of high delay is
// biased the same way. Each association therefore estimates the slope of
// its offsets against its delays (asymmetry: a least-squares fit of the
// changes between consecutive samples, each net of one frequency over its
// interval, fading over 64 samples, from 16 samples on, bounded by ±1/2
// and shrunk to 0 unless it exceeds four robust standard errors and 0.2)
// and gives the discipline and selection the newest offset corrected to
// the least delay of its last 64 samples (the least of the filter's eight
// still holds an eighth of the noisy direction's mean delay, half of
// which would stay in every offset as a bias). The discipline, which
// weighs samples by their delay, gets a corrected sample's excess delay
// scaled to the error the correction leaves. On a symmetric path the
// correction is 0.
//
// # Poll start
//
// A server is polled at once when its association starts (RFC 5905 §13;
// associations that start together are spread by pollSeparation). A
// symmetric active peer first polls 1 to 3 s in, and keeps its polls half
// an interval from its peer's (keepPhaseApart): polls that coincide send
// packets that cross, bogus for each other (§8), or useless for
// interleaved mode.
//
// # Loops
//
// A peer whose reference id names one of our addresses is synchronized to
// us and is not fit (§11.2.1 loop test, §7.3 refid); a source whose
// packets come from the address and port they were sent to is this host.
// A client request from a server we also poll as a client is answered
// (two hosts may be each other's servers); the loop test then keeps the
// one that follows the other from following it back. When only such
// sources remain, Status.UnsyncReason is UnsyncTimingLoop.
//
// # Ephemeral associations
//
// RFC 5905 §9.2 mobilizes a symmetric passive association for a mode-1
// packet from an unknown peer; with authentication off anyone can do so.
// Such an association is answered and shown (Associations), but unless it is
// authenticated by a trusted key it never takes part in selection
// (AssociationStatus.SelectionReason says so) unless Config.AllowUnauthenticatedPassive
// is set: otherwise three hosts claiming stratum 1 could outvote the
// configured sources and step the clock.
//
// It must not import the datastore, ygot structs, netio or clock
// implementations: the agent translates its configuration into Config.
package ntpengine
