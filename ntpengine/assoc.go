package ntpengine

import (
	"math"
	"net/netip"
	"slices"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// association is the peer state of RFC 5905 §9.1 (A.1.2 struct p).
type association struct {
	key       string
	cfg       PeerConfig
	ephemeral bool
	hmode     packet.Mode
	addr      netip.AddrPort
	vpn       string
	version   uint8
	keyID     uint32
	// localAddr is our address as the peer sees it: the destination of
	// its last authentic packet (the loop test; the source of a symmetric
	// passive association's packets).
	localAddr netip.Addr
	// ifIndex is the interface a link-local IPv6 peer was heard on (0:
	// not yet, or not link-local); packets from it on another interface
	// are from another host.
	ifIndex int
	// self: the peer's packets come from the address they are sent to,
	// ours (a configured source that is this host); never fit.
	self bool
	// localRefID caches refIDOf(localRefOf), what the peer calls us when
	// it is synchronized to us (see localRef).
	localRefOf netip.Addr
	localRefID uint32
	counts     PacketCounts

	// Packet variables of the last packet that passed the header tests.
	leap      packet.Leap
	stratum   uint8
	ppoll     int8
	precision int8
	rootDelay float64
	rootDisp  float64
	refID     uint32
	refTime   packet.Timestamp

	// On-wire protocol state (RFC 5905 §8).
	org packet.Timestamp // transmit timestamp of the last packet received (T3)
	rec packet.Timestamp // our receive timestamp of it (T4)
	// orgKey is that packet's origin, receive and transmit timestamps:
	// the duplicate test (duplicate) compares them.
	orgKey [24]byte
	xmt    packet.Timestamp // transmit timestamp of our last packet (T1)
	// xmtPhase is the discipline's cumulative correction at xmt: with the
	// one at T4 it frees a sample of our own corrections exactly, even
	// when a fast slew ran between T1 and T4.
	xmtPhase float64
	// xmtBusy: a long slew was in progress at xmt (discipline.slewBusy).
	xmtBusy bool

	// Transmit timestamps and interleaved mode (RFC 9769, xmit.go).
	// remoteRx is the receive timestamp of the peer's last valid packet
	// (its arrival time of our packet before); localNtpRx the receive
	// timestamp we sent in our last packet (an interleaved answer's
	// origin). localTx is when our last packet left (T1, the T3 of our
	// next packet in interleaved form), taken as localTxSource says;
	// prevLocalTx the departure of the packet before it, whose exchange
	// an interleaved packet completes (zero: that exchange gave its
	// sample already, in basic mode). prevPhase is the discipline's
	// correction at prevLocalTx, recPhase at rec.
	remoteRx, localNtpRx packet.Timestamp
	localTx, prevLocalTx packet.Timestamp
	localTxSource        TxSource
	prevPhase            float64
	recPhase             float64
	// sentKey identifies our last packet (its origin, receive and
	// transmit timestamps) for StampTransmit and Transmitted.
	sentKey [24]byte
	// sentInterleaved: our last packet was in interleaved form.
	sentInterleaved bool
	// txSinceRx counts our packets since the peer's last valid one;
	// prevTxCount is what it was when that one arrived.
	txSinceRx, prevTxCount int
	// basicAnswers counts the peer's answers in basic mode to our
	// packets in interleaved form while it never sent one itself
	// (peerXleaves); xleaveOff: the peer does not support interleaved
	// mode (xleaveDeclined answers), basic mode until restart. A peer
	// that sent an interleaved packet supports the mode: its basic
	// answers then only mean it had sent more than one packet.
	basicAnswers int
	xleaveOff    bool
	peerXleaves  bool
	// rxInterleaved: the peer's last valid packet was in interleaved form.
	rxInterleaved bool

	filter    clockFilter
	asym      asymmetry
	lastUsed  float64 // time of the last sample given to the system process
	usedOff   float64 // its offset
	lastDelay float64 // its delay

	// Poll process (RFC 5905 §13).
	reach   uint8
	unreach int
	// resumePoll is the poll exponent the association had backed off to
	// when it was heard again after being unreachable, until it answers
	// two polls running (see poll: sporadic sources); 0 otherwise.
	resumePoll int8
	// shiftedAt is when the reach register last shifted (peerNotDue).
	shiftedAt float64
	hpoll     int8
	minPoll   int8
	maxPoll   int8
	outdate   float64
	nextdate  float64
	lastRx    float64
	heard     bool
	// lastPkt is when the last authentic packet of the peer arrived
	// (valid or not); promptAt when we last answered one at once
	// (symmetric passive burst, see passivePoll).
	lastPkt, promptAt float64
	burst             int // packets left in the current burst
	// burstSent and burstGot count the packets and the samples of the
	// initial burst.
	burstSent, burstGot int
	bursted             bool // the initial burst was sent since last unreachable

	status      string
	selReason   string // why status is not a candidate (AssociationStatus.SelectionReason)
	rejectCount int
	lastError   string
	// stopped: a configured association demobilized by KoD (for good) or
	// by preemption (until retryAt).
	stopped bool
	retryAt float64 // 0: never
	backoff float64
}

func newAssociation(p PeerConfig, t float64, firstPoll float64) *association {
	a := &association{
		key:     p.Key,
		cfg:     p,
		hmode:   packet.ModeSymmetricActive,
		addr:    p.Address,
		vpn:     p.VPN,
		version: p.version(),
		keyID:   p.KeyID,
		minPoll: p.minPoll(),
		maxPoll: p.maxPoll(),
		status:  StatusReject,
		leap:    packet.LeapUnsync,
		stratum: maxStratum,
	}
	if p.Mode == AssocClient {
		a.hmode = packet.ModeClient
	}
	a.hpoll = a.minPoll
	a.filter = newClockFilter()
	a.outdate = t
	a.nextdate = t + firstPoll
	return a
}

// restart clears the protocol state as RFC 5905 clear() does, keeping the
// configuration.
func (a *association) restart(t, firstPoll float64) {
	counts := a.counts
	*a = *newAssociation(a.cfg, t, firstPoll)
	a.counts = counts
}

// rootDist is the root synchronization distance of RFC 5905 §11.2 (A.5.5.2
// root_dist) at time t.
func (a *association) rootDist(t float64) float64 {
	f := &a.filter
	return math.Max(minDisp, a.rootDelay+f.Delay)/2 + a.rootDisp + f.Dispersion + phi*math.Max(0, t-f.t) + f.Jitter
}

// startSamples is the fewest samples with which a source whose clock
// filter is still filling may pass the fitness test (fitDist): three, as
// the frequency fit needs (freqMinSamples) and chrony's regression.
const startSamples = freqMinSamples

// fitDist is the root distance the fitness test (RFC 5905 §11.2, A.5.5.3)
// holds against MAXDIST. The RFC counts every empty stage of the clock
// filter at MAXDISP (16 s), so a source becomes fit only at its fourth
// sample (the empty stages alone weigh 1 s then, 2 s at the third). A
// source whose filter holds startSamples samples is judged here by those
// samples, if they span freqMinSpan (enough for a first frequency
// estimate; a burst's three samples 2 s apart are not) or the clock's
// frequency is known already (freqKnown: read from a drift file, so the
// first update needs an offset only): its distance without the empty
// stages' share. Its first update comes one poll sooner, at chrony's
// third sample (one poll of 2^τ s: minutes to hours at long polls; 4 s
// into a burst with a drift file, as chrony's 102-iburst expects); the
// selection's interval (selDist) and what the system advertises still
// use the RFC's dispersion.
func (a *association) fitDist(t float64, freqKnown bool) float64 {
	d := a.rootDist(t)
	if f := &a.filter; f.valid >= startSamples && f.valid < nstage && (freqKnown || f.validSpan() >= freqMinSpan) {
		d -= f.emptyDispersion()
	}
	return d
}

// pollUpdate sets the poll exponent within the association's limits and
// schedules the next poll (RFC 5905 A.5.7.2 poll_update).
func (a *association) pollUpdate(poll int8) {
	a.hpoll = max(a.minPoll, min(a.maxPoll, poll))
	p := a.hpoll
	if a.ppoll != 0 && a.ppoll < p {
		p = a.ppoll
	}
	p = max(p, a.minPoll)
	a.nextdate = a.outdate + math.Ldexp(1, int(p))
}

// shiftReach shifts the reach register at a poll (RFC 5905 §13) and
// returns its value before.
func (a *association) shiftReach(t float64) uint8 {
	o := a.reach
	a.reach <<= 1
	a.shiftedAt = t
	return o
}

// peerNotDue tells whether a poll at t should leave the reach register
// (and the filter's aging by dummy stages, A.5.7.1) alone because the
// peer, a symmetric one, sends at a longer interval than we do. RFC 5905
// §13 shifts the register at every poll of ours, which presumes an
// answer to each; a symmetric peer answers none, it sends at its own
// poll (A.5.7.2: max(min(hpoll, ppoll), minpoll) — its minpoll can be
// above our poll). Polled every 8 s by a peer that sends every 64 s, the
// register would hold at most one bit of eight, empty now and then
// (unreachable, the filter cleared by dummy stages) although no packet
// of the peer was lost. So for a reachable symmetric peer the register
// shifts once per interval the peer states (its poll field, an upper
// bound of how often it sends).
func (a *association) peerNotDue(t float64) bool {
	if a.hmode == packet.ModeClient || a.reach == 0 || a.ppoll <= 0 {
		return false
	}
	return t-a.shiftedAt < peerDueFraction*math.Ldexp(1, int(a.ppoll))
}

// peerDueFraction of the peer's poll interval after the last shift the
// register shifts again: polls wander by a fraction of a second, and the
// next poll at a full interval would come a whole poll of ours late.
const peerDueFraction = 0.9

// localRef is the reference id our local address has for the peer
// (refIDOf(localAddr), an MD5 for IPv6, computed once per address).
func (a *association) localRef() uint32 {
	if a.localRefOf != a.localAddr {
		a.localRefOf, a.localRefID = a.localAddr, refIDOf(a.localAddr)
	}
	return a.localRefID
}

func (a *association) localMode() string {
	return a.hmode.String()
}

// asymmetry estimates how a path's offsets follow its delays. An exchange
// whose two directions add x and y of delay beyond the path's least one
// measures the offset off by (x−y)/2 and the delay long by x+y (RFC 5905
// §8). When one direction is much noisier than the other, the offset
// errors follow the excess delays with a slope near ±1/2 and do not
// average out: a regression over every sample biases the clock by half
// the mean excess of the noisy direction. The slope is the least-squares
// fit of the changes of offset (freed of our corrections and projected
// with the frequency) against the changes of delay between consecutive
// samples, with the weight of old samples fading (asymMemory); it is
// bounded by ±1/2, the most an excess delay can move an offset, and taken
// as 0 until asymMinSamples samples are in.
type asymmetry struct {
	sxy, sxx, syy float64
	// s22, s31, s40 are the faded sums of dd²dy², dd³dy and dd⁴ for the
	// slope's heteroscedasticity-consistent standard error (slope).
	s22, s31, s40       float64
	n                   int
	prevU, prevT, prevD float64
	havePrev            bool
	// delays holds the last asymMemory delays (a ring, next at at) for
	// leastDelay.
	delays [asymMemory]float64
	at     int
}

// asymMemory is the number of samples over which old ones fade,
// asymMinSamples the samples needed before the slope is used, and
// asymMinSlope the least slope corrected for: a clearly asymmetric path
// has a slope of several tenths (±1/2 when one direction has all the
// jitter). asymMinSamples is 16, not more: at the 1024 s polls a noisy
// path settles at, 32 samples took nine hours, and until then the bias
// stood uncorrected (chrony's 011-asymjitter: RMS 141 µs and one run in
// 20 past 1 ms with 32; 119 µs, none, with 16). The slope's shrinkage
// by its standard error (slope) keeps a short run of samples on a
// symmetric path from correcting anything.
const (
	asymMemory     = 64
	asymMinSamples = 16
	asymMinSlope   = 0.2
)

// add takes a sample: u is its offset of the uncorrected clock (the
// measured offset plus our correction then), t its time, d its delay,
// freq the discipline's frequency now (s/s). The change of offset from
// the previous sample is taken net of freq over the time between the two,
// with one frequency for both: the frequency estimate moves by hundredths
// of a ppm from update to update, which over the hours since the start
// (freq·t) would put milliseconds into each change and bury the slope.
func (s *asymmetry) add(u, t, d, freq float64) {
	if s.havePrev {
		dy, dd := u-s.prevU-freq*(t-s.prevT), d-s.prevD
		k := 1 - 1.0/asymMemory
		s.sxy = k*s.sxy + dy*dd
		s.sxx = k*s.sxx + dd*dd
		s.syy = k*s.syy + dy*dy
		d2 := dd * dd
		s.s22 = k*s.s22 + d2*dy*dy
		s.s31 = k*s.s31 + d2*dd*dy
		s.s40 = k*s.s40 + d2*d2
		s.n++
	}
	s.prevU, s.prevT, s.prevD, s.havePrev = u, t, d, true
	s.delays[s.at%asymMemory] = d
	s.at++
}

// leastDelay is the least delay of the last asymMemory samples, the
// reference an offset is corrected to (see asymmetry): the least of the
// clock filter's eight stages still holds a share of the noisy
// direction's delay (an eighth of its mean), and half of that stays in
// the corrected offset as a bias.
func (s *asymmetry) leastDelay() float64 {
	m := math.Inf(1)
	for _, d := range s.delays[:min(s.at, asymMemory)] {
		m = math.Min(m, d)
	}
	return m
}

// medianExcess is the median of the last asymMemory delays above the
// least of them.
func (s *asymmetry) medianExcess() float64 {
	n := min(s.at, asymMemory)
	if n == 0 {
		return 0
	}
	lo := s.leastDelay()
	ex := make([]float64, n)
	for i, d := range s.delays[:n] {
		ex[i] = d - lo
	}
	slices.Sort(ex)
	return ex[n/2]
}

// residual is the standard deviation of a sample's offset that the slope
// leaves unexplained: the residual scatter of the changes of offset
// between consecutive samples, of which each sample has half the
// variance.
func (s *asymmetry) residual() float64 {
	if s.n < 2 || s.sxx <= 0 {
		return 0
	}
	c := s.sxy / s.sxx
	w := float64(min(s.n, asymMemory))
	return math.Sqrt(math.Max(0, s.syy-c*s.sxy) / math.Max(1, w-1) / 2)
}

// slope is the estimated change of offset per second of excess delay.
func (s *asymmetry) slope() float64 {
	if s.n < asymMinSamples || s.sxx <= 0 {
		return 0
	}
	c := s.sxy / s.sxx
	// Shrunk towards 0 by its standard error: on a symmetric path the
	// estimate is noise, and correcting by it would add noise. The
	// error is the heteroscedasticity-consistent one (White's: Σ dd²r²
	// over (Σ dd²)², r the residuals), not the textbook σ²/Σ dd²: on a
	// symmetric path the offsets scatter more, the longer the delay, and
	// the textbook error, too small for the long-delay samples that
	// decide the fit, let noise pass for a slope (chrony's default
	// scenario at 10 ms of jitter, seed 1: RMS 11.1 ms with the textbook
	// error, 8.7 ms with this one).
	w := float64(min(s.n, asymMemory))
	se2 := math.Max(0, s.syy-c*s.sxy) / math.Max(1, w-1) / s.sxx
	se2 = math.Max(se2, (s.s22-2*c*s.s31+c*c*s.s40)/(s.sxx*s.sxx))
	if c*c <= 16*se2 {
		return 0
	}
	c *= 1 - 16*se2/(c*c)
	if math.Abs(c) < asymMinSlope {
		return 0
	}
	return math.Max(-0.5, math.Min(0.5, c))
}
