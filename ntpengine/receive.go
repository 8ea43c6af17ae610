package ntpengine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"

	"github.com/ntpagent/ntpagent/ntpengine/auth"
	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// action is a cell of the dispatch table of RFC 5905 §9.2 (figure 25).
type action int

// The dispatch actions.
const (
	actDiscard  action = iota // DSCRD: drop
	actProcess                // PROC: process as an association packet
	actMobilize               // NEWPS: mobilize a symmetric passive association
	actReply                  // FXMIT: stateless server reply
	actError                  // ERR: drop and demobilize
)

func (a action) String() string {
	return [...]string{"DSCRD", "PROC", "NEWPS", "FXMIT", "ERR"}[a]
}

// dispatch is the table of RFC 5905 §9.2 for the association modes this
// engine has: none (0), symmetric active (1), symmetric passive (2),
// client (3). Broadcast rows and columns are discarded: the product does
// not use broadcast.
func dispatch(pkt packet.Mode, assoc packet.Mode) action {
	switch pkt {
	case packet.ModeSymmetricActive:
		switch assoc {
		case 0:
			return actMobilize
		case packet.ModeSymmetricActive, packet.ModeSymmetricPassive:
			return actProcess
		}
	case packet.ModeSymmetricPassive:
		switch assoc {
		case packet.ModeSymmetricActive:
			return actProcess
		case packet.ModeSymmetricPassive:
			return actError
		}
	case packet.ModeClient:
		if assoc == 0 {
			return actReply
		}
	case packet.ModeServer:
		if assoc == packet.ModeClient {
			return actProcess
		}
	}
	return actDiscard
}

// Errors of the packet tests (RFC 5905 §8, A.5.1), shown as an
// association's last error and usable with errors.Is on AssociationStatus.Err.
var (
	ErrDuplicate = errors.New("duplicate packet")
	ErrBogus     = errors.New("bogus packet: origin timestamp mismatch")
	ErrInvalid   = errors.New("invalid packet")
	ErrAccess    = errors.New("access denied")
	ErrAuth      = errors.New("authentication failed")
	ErrUnsync    = errors.New("peer unsynchronized")
	ErrDistance  = errors.New("root distance exceeded")
)

// macResult is the outcome of checking a packet's MAC.
type macResult struct {
	present bool
	nak     bool
	keyID   uint32
	err     error // nil: valid and trusted
}

func (e *Engine) checkMAC(in *Incoming, p *packet.Packet) macResult {
	if p.MAC == nil {
		return macResult{}
	}
	if len(p.MAC.Digest) == 0 {
		return macResult{present: true, nak: true, err: fmt.Errorf("%w: crypto-NAK", ErrAuth)}
	}
	id, err := e.keys.Verify(in.Data[:p.AuthLen], in.Data[p.AuthLen:])
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrAuth, err)
	}
	return macResult{present: true, keyID: id, err: err}
}

// Handle processes one received datagram (RFC 5905 A.5.1 receive).
// Packets that do not parse, fail validation, come from a denied source or
// fail authentication change no protocol state.
//
// Every datagram counts in Statistics: in Received, and in the counter of
// the reason it was dropped for, if it was.
func (e *Engine) Handle(in Incoming) Ready {
	e.stats.Received++
	if in.RxTime.IsZero() || !in.Src.IsValid() {
		e.stats.BadFormat++
		return Ready{}
	}
	p, err := packet.Unmarshal(in.Data)
	if err != nil || p.Validate() != nil {
		e.stats.BadFormat++
		return Ready{}
	}
	src := in.Src.Addr()
	if in.Src.Port() == 0 || src.IsUnspecified() || src.IsMulticast() {
		e.stats.BadFormat++
		return Ready{}
	}
	e.begin(in.RxTime)
	a := e.find(in)
	if a != nil && p.Mode == packet.ModeClient && a.hmode == packet.ModeClient {
		// A client request from a server we poll as a client is no
		// packet of that association (it only takes mode-4 replies):
		// it is dispatched as from no association and answered
		// (RFC 5905 §9.2 FXMIT), so two hosts can be each other's
		// servers, and the loop test of §11.2.1 then keeps them from
		// following each other.
		a = nil
	}
	var amode packet.Mode
	if a != nil {
		amode = a.hmode
	}
	act := dispatch(p.Mode, amode)
	if act == actDiscard {
		e.stats.NoAssociation++
		return e.finish()
	}
	if act == actReply {
		e.stats.ClientRequests++
	}
	if e.denied(in) {
		e.stats.AccessDenied++
		if a != nil {
			a.lastError = ErrAccess.Error()
			a.counts.Denied++
		}
		if act == actReply {
			e.reply(in, p, packet.KissDeny, macResult{})
		}
		return e.finish()
	}
	mac := e.checkMAC(&in, p)
	switch act {
	case actReply:
		e.serve(in, p, mac)
	case actMobilize:
		e.mobilize(in, p, mac)
	case actError:
		if e.authOK(a, mac) != nil {
			e.stats.AuthFailures++
		} else if a.ephemeral {
			e.demobilize(a, "symmetric passive packet for a passive association (RFC 5905 §9.2 ERR)")
		}
	case actProcess:
		e.process(a, in, p, mac)
	}
	return e.finish()
}

func (e *Engine) find(in Incoming) *association {
	for _, a := range e.assocs {
		if a.stopped || a.vpn != in.VPN {
			continue
		}
		if src := in.Src.Addr(); !src.Is6() || !src.IsLinkLocalUnicast() {
			if a.addr == in.Src {
				return a
			}
			continue
		}
		if linkLocalMatch(a, in) {
			return a
		}
	}
	return nil
}

// linkLocalMatch tells whether in comes from a's link-local IPv6 address:
// the same address and port whatever the zones' spelling (the I/O layer
// adds the receiving interface's index; a configured address has none or
// an interface name), on a's interface when that is known (a link-local
// address names a host only on one link, RFC 4007 §6). It returns the
// packet's interface index. Until the association knows its interface,
// a packet from any link matches; process learns the interface from the
// first packet that passes the origin test (it answers one of ours).
func linkLocalMatch(a *association, in Incoming) bool {
	src := in.Src.Addr()
	if !src.Is6() || !src.IsLinkLocalUnicast() || in.Src.Port() != a.addr.Port() ||
		src.WithZone("") != a.addr.Addr().WithZone("") {
		return false
	}
	got := inIfIndex(in)
	want := a.ifIndex
	if want == 0 {
		want = zoneIndex(a.addr.Addr())
	}
	return want == 0 || got == 0 || want == got
}

// inIfIndex is the interface a link-local IPv6 packet came in on (0: not
// link-local, or not known).
func inIfIndex(in Incoming) int {
	src := in.Src.Addr()
	if !src.Is6() || !src.IsLinkLocalUnicast() {
		return 0
	}
	if in.IfIndex != 0 {
		return in.IfIndex
	}
	return zoneIndex(src)
}

// zoneIndex is a's zone as an interface index; 0 when a has no zone or an
// interface name as its zone.
func zoneIndex(a netip.Addr) int {
	n, err := strconv.Atoi(a.Zone())
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func (e *Engine) denied(in Incoming) bool {
	for _, p := range e.cfg.Deny {
		if p.Contains(in.Src.Addr().Unmap()) || p.Contains(in.Src.Addr()) {
			return true
		}
	}
	return false
}

// authOK is the authentication test (RFC 5905 §8 TEST5 / A.5.1 AUTH):
// with authentication enabled, an association with a key accepts only
// packets carrying a valid MAC of that trusted key.
func (e *Engine) authOK(a *association, mac macResult) error {
	if a.keyID == 0 || !e.cfg.AuthEnabled && !a.ephemeral {
		return nil
	}
	if !mac.present {
		return fmt.Errorf("%w: packet has no MAC, key %d required", ErrAuth, a.keyID)
	}
	if mac.err != nil && (e.cfg.AuthEnabled || !errors.Is(mac.err, auth.ErrUntrusted)) {
		// With authentication off, trust is not required: an ephemeral
		// association keeps the key its peer chose.
		return mac.err
	}
	if mac.keyID != a.keyID {
		return fmt.Errorf("%w: key %d used, key %d required", ErrAuth, mac.keyID, a.keyID)
	}
	return nil
}

// mobilize is NEWPS: an ephemeral symmetric passive association for a
// mode-1 packet from an unknown peer, only when authentication is off or
// the packet carries a valid MAC of a trusted key, and within MaxEphemeral.
func (e *Engine) mobilize(in Incoming, p *packet.Packet, mac macResult) {
	if e.cfg.AuthEnabled && (!mac.present || mac.err != nil) {
		e.stats.AuthFailures++
		return
	}
	n := 0
	for _, a := range e.assocs {
		if a.ephemeral {
			n++
		}
	}
	if n >= e.cfg.maxEphemeral() {
		e.stats.NoAssociation++
		return
	}
	pc := PeerConfig{
		Key:     fmt.Sprintf("ephemeral %v vpn %s", in.Src, in.VPN),
		Address: in.Src,
		VPN:     in.VPN,
		Version: int(p.Version),
		MinPoll: max(minPollLimit, min(p.Poll, maxPollLimit)),
	}
	pc.MaxPoll = max(pc.MinPoll, defaultMaxPoll)
	if mac.present && mac.err == nil {
		pc.KeyID = mac.keyID
	} else if mac.present && !mac.nak && !e.cfg.AuthEnabled {
		// Authentication off: sign with the peer's key when we have it,
		// trusted or not, so that a peer requiring it accepts us.
		if errors.Is(mac.err, auth.ErrUntrusted) {
			pc.KeyID = mac.keyID
		}
	}
	a := newAssociation(pc, e.now, 1)
	a.ephemeral = true
	a.hmode = packet.ModeSymmetricPassive
	a.ifIndex = inIfIndex(in)
	e.assocs = append(e.assocs, a)
	e.addrsStale = true
	e.event(EventMobilize, a, "symmetric passive, mobilized by a symmetric active packet")
	e.process(a, in, p, mac)
}

// process runs the on-wire tests (RFC 5905 §8, A.5.1 and A.5.1.1 packet)
// and hands a good sample to the clock filter.
func (e *Engine) process(a *association, in Incoming, p *packet.Packet, mac macResult) {
	if err := e.authOK(a, mac); err != nil {
		a.lastError = err.Error()
		a.counts.AuthErrors++
		e.stats.AuthFailures++
		return
	}
	a.counts.Received++
	if in.Dst.IsValid() {
		a.localAddr = in.Dst.Addr()
		// A packet from the address and port it came to is our own:
		// the association's peer is this host (another port of the
		// same address is another NTP speaker).
		a.self = in.Src == in.Dst
	}
	rx := packet.TimestampFromTime(in.RxTime)
	t := e.now
	dup := a.duplicate(in.Data, p)
	if p.TransmitTime != 0 && !dup {
		defer e.passivePoll(a, p, t)
	}
	switch {
	case p.TransmitTime == 0:
		a.lastError = fmt.Errorf("%w: zero transmit timestamp", ErrInvalid).Error()
		a.counts.Invalid++
		e.stats.BogusOrDuplicate++
		return
	case dup:
		a.lastError = ErrDuplicate.Error()
		a.counts.Duplicate++
		e.stats.BogusOrDuplicate++
		return
	case p.OriginTime == 0 && a.hmode != packet.ModeClient:
		// The peer has not heard from us yet: remember its timestamps
		// so that our next packet lets it compute a sample.
		a.orgKey, a.org, a.rec, a.remoteRx = sentKeyOf(in.Data), p.TransmitTime, rx, 0
		a.lastError = fmt.Errorf("%w: origin timestamp zero", ErrUnsync).Error()
		return
	case p.OriginTime != a.xmt && (a.localNtpRx == 0 || p.OriginTime != a.localNtpRx):
		// Neither the answer to our last packet in basic mode (RFC 5905
		// §8) nor in interleaved mode (RFC 9769: its origin is the
		// receive timestamp we sent).
		if a.hmode != packet.ModeClient {
			// Symmetric modes must resynchronize after a lost packet
			// (in basic mode: the peer's receive timestamp is not
			// one of our packets').
			a.orgKey, a.org, a.rec, a.remoteRx = sentKeyOf(in.Data), p.TransmitTime, rx, 0
		}
		a.lastError = ErrBogus.Error()
		a.counts.Bogus++
		e.stats.BogusOrDuplicate++
		return
	}
	interleaved := p.OriginTime != a.xmt
	if interleaved && a.hmode != packet.ModeClient && p.ReceiveTime.SubSeconds(p.TransmitTime) <= 0 {
		// RFC 9769 §4: the peer received our packet after it sent the
		// one whose transmit timestamp this is; otherwise a packet was
		// missed and the timestamps do not belong together.
		a.orgKey, a.org, a.rec, a.remoteRx = sentKeyOf(in.Data), p.TransmitTime, rx, 0
		a.lastError = ErrBogus.Error()
		a.counts.Bogus++
		e.stats.BogusOrDuplicate++
		return
	}
	prevRemoteRx, prevRec, prevRecPhase := a.remoteRx, a.rec, a.recPhase
	a.orgKey, a.org, a.rec, a.remoteRx = sentKeyOf(in.Data), p.TransmitTime, rx, p.ReceiveTime
	a.recPhase = e.disc.phaseAt(t)
	// An interleaved packet's origin is the receive timestamp our last
	// packet carried, which every packet we sent since the peer's
	// previous one carried too: its receive timestamp is the arrival of
	// our last packet only when we sent one alone (RFC 9769 §3, §4).
	paired := !interleaved || a.txSinceRx == 1
	a.prevTxCount, a.txSinceRx = a.txSinceRx, 0
	a.rxInterleaved = interleaved
	switch {
	case interleaved:
		a.peerXleaves = true
		a.counts.Interleaved++
	case a.sentInterleaved && !a.peerXleaves && (a.hmode != packet.ModeClient || a.prevTxCount == 1):
		// A server answers in interleaved form only when the request's
		// origin is its receive timestamp of the client's previous
		// request, the one it kept the reply's departure for (RFC 9769
		// §3). After a lost reply (two requests since the last reply)
		// the client's origin names an older request and a supporting
		// server answers in basic mode: no sign that it declines.
		if a.basicAnswers++; a.basicAnswers >= xleaveDeclined(a.hmode) && !a.xleaveOff {
			a.xleaveOff = true
			e.log.Debug("peer answers in basic mode: interleaved mode off", "assoc", a.key)
		}
	}
	// The exchange an interleaved packet completes is the previous one:
	// keep this one's departure for the next packet, unless it gave its
	// sample already in basic mode (RFC 9769: never use an exchange
	// twice), it is not known which of our packets the peer received,
	// or the peer was not synchronized (a packet the tests below reject:
	// its clock may have moved since).
	sampled, usable := false, false
	left, leftPhase := a.localTx, a.xmtPhase // our last packet's departure
	if left == 0 {
		left = p.OriginTime
	}
	defer func() {
		if (interleaved || !sampled) && paired && usable {
			a.prevLocalTx, a.prevPhase = left, leftPhase
		} else {
			a.prevLocalTx = 0
		}
	}()
	if a.hmode == packet.ModeClient {
		// A reply is accepted once (replay protection).
		a.xmt, a.localNtpRx = 0, 0
	}
	if a.ifIndex == 0 {
		// It answers our last packet: a link-local peer is on this link.
		a.ifIndex = inIfIndex(in)
	}
	if code, ok := p.IsKoD(); ok {
		e.kiss(a, p, code)
		if code == "INIT" {
			// An unsynchronized peer's ordinary packet (stratum 0,
			// RFC 5905 §7.4 INIT): it is alive.
			e.heard(a, t)
		}
		return
	}
	a.leap, a.stratum = p.Leap, p.Stratum
	if p.Leap == packet.LeapUnsync || p.Stratum >= maxStratum {
		a.lastError = ErrUnsync.Error()
		a.counts.Unsync++
		// A valid packet of an unsynchronized peer gives no sample but
		// sets the reach register (RFC 5905 §13): a peer that counts as
		// unreachable backs its poll off, and two symmetric peers of
		// which one is not yet synchronized would then exchange too
		// few packets for it ever to follow the other.
		e.heard(a, t)
		return
	}
	rd, rdisp := p.RootDelay.Seconds(), p.RootDispersion.Seconds()
	// The reference time must not be later than the packet's departure,
	// which an interleaved packet does not carry (its transmit timestamp
	// is the previous packet's).
	if rd/2+rdisp >= maxDisp || !interleaved && p.ReferenceTime.Sub(p.TransmitTime) > 0 {
		a.lastError = fmt.Errorf("%w: root distance or reference time", ErrInvalid).Error()
		a.counts.Invalid++
		return
	}
	a.ppoll, a.precision = p.Poll, p.Precision
	a.rootDelay, a.rootDisp = rd, rdisp
	a.refID, a.refTime, a.version = p.ReferenceID, p.ReferenceTime, p.Version
	e.heard(a, t)
	a.lastError = ""
	usable = true

	// On-wire calculation (RFC 5905 §8): differences first, era-safe.
	// T1 is when our packet really left (StampTransmit, Transmitted),
	// not the transmit timestamp it carried. An interleaved packet
	// completes the previous exchange (RFC 9769 §3, §4): our packet
	// before, the peer's arrival time of it, the departure of its
	// answer (carried now) and our arrival time of that.
	t1, t2, t3, t4 := left, p.ReceiveTime, p.TransmitTime, rx
	ph1, ph4 := leftPhase, 0.0
	if interleaved {
		t1, t2, t4 = a.prevLocalTx, prevRemoteRx, prevRec
		ph1, ph4 = a.prevPhase, prevRecPhase
		if t1 == 0 || t2 == 0 || t4 == 0 {
			a.lastError = "interleaved mode: no sample yet (the previous exchange is not known)"
			return
		}
	}
	offset := (t2.SubSeconds(t1) + t3.SubSeconds(t4)) / 2
	disp := math.Ldexp(1, int(p.Precision)) + e.prec + phi*math.Max(0, t4.SubSeconds(t1))
	var co clockOut
	e.disc.adjust(t, &co) // bring the phase accounting to t
	e.applyClock(co)
	// Our own slews between T1 and T4 (a fast one corrects tens of ms in
	// a second) are no part of the path's delay, whose half bounds the
	// offset's error (§11.2): take them out, but not the frequency
	// correction, which keeps the clock's rate true over the exchange.
	// How a slew was spread over the exchange is known only as well as
	// its timing, so the delay is then widened by twice the slew: its
	// half, the sample's error bound, covers any spread.
	if !interleaved {
		ph4 = e.disc.phaseAt(t)
	}
	rtt := t4.SubSeconds(t1)
	slewed := ph4 - ph1 - e.disc.freq*rtt
	delay := math.Max(rtt-slewed-t3.SubSeconds(t2), e.prec) + 2*math.Abs(slewed)
	if a.xmtBusy || e.disc.slewBusy() {
		a.lastError = "clock slewing: sample not used"
		return
	}
	// The offset is the mean of two clock differences, at T1 and at T4:
	// it belongs to their midpoint, long before T4 in symmetric mode
	// where the peer may answer a poll interval later (and before this
	// packet's arrival in interleaved mode).
	age := math.Max(0, rx.SubSeconds(t1)-math.Max(0, t4.SubSeconds(t1))/2)
	ts := t - age
	// Each half of the offset saw our clock with the correction of its
	// instant: the correction to undo is the mean of those at T1 and T4.
	corr := (ph1 + ph4) / 2
	a.filter.add(filterSample{T: ts, Offset: offset, Delay: delay, Dispersion: disp, Correction: corr, Basic: !interleaved}, e.prec, e.filterFreq())
	if e.disc.state == stateSYNC && a.hmode == packet.ModeClient {
		// Only with a measured frequency: before, the offsets drift at
		// the clock's whole frequency error, and any trend of the
		// delays would pass for asymmetry. Only in client mode: in the
		// symmetric modes the peer holds a packet up to a poll
		// interval (T3−T2), and its frequency error over that time
		// moves offset and delay together as an asymmetry would.
		a.asym.add(offset+corr, ts, delay, e.disc.freq)
	}
	a.burstGot++
	sampled = true

	// Use a sample only once and never one older than the last used
	// (A.5.2); the popcorn spike suppressor drops a sample whose offset
	// jumps by more than SGATE jitters within two poll intervals, once
	// the filter holds enough samples for its jitter to mean something.
	// While the discipline measures the frequency (NSET, FREQ) every new
	// sample is used: the fit needs points, not the filter's minimum.
	f := &a.filter
	measuring := e.usesNewest()
	useT, delay := f.BestT, f.Delay
	if measuring {
		useT, delay = f.Stages[0].T, f.Stages[0].Delay
	}
	if useT <= a.lastUsed {
		return
	}
	cur := e.offsetNow(a, t)
	if !measuring && a.lastUsed != 0 && f.valid >= 3 && math.Abs(cur-a.usedOff) > sgate*f.Jitter &&
		useT-a.lastUsed < 2*math.Ldexp(1, int(a.hpoll)) {
		a.lastError = "popcorn spike suppressed"
		return
	}
	if k := a.asym.slope(); measuring && k != 0 {
		// The offset is corrected for the path's asymmetry (offsetNow),
		// and its excess delay no longer measures its error as RFC 5905
		// §8 bounds it: the discipline weighs samples by their delay
		// and reads their noise from it (half a sample's excess, a
		// quarter of the median excess for the best), which would
		// weigh corrected samples down for an error they no longer
		// carry. So the excess is scaled to what is left: the share
		// the slope does not explain (1−2|k|), and at least as much as
		// makes a quarter of the median excess the residual scatter of
		// the corrected offsets (the quiet direction's noise). In
		// chrony's 011-asymjitter: RMS 99 → 62 µs (chrony 82.5 µs) at
		// 745 s between packets (chrony 467 s); scaled to 1−2|k| alone
		// the discipline took the corrected offsets for noiseless and
		// polled every 64 s.
		ref := math.Min(f.Delay, a.asym.leastDelay())
		scale := 1 - 2*math.Abs(k)
		if m := a.asym.medianExcess(); m > 0 {
			scale = math.Min(1, math.Max(scale, 4*a.asym.residual()/m))
		}
		delay = ref + math.Max(0, delay-ref)*scale
	}
	a.lastUsed, a.usedOff, a.lastDelay = useT, cur, delay
	e.clockSelect(t)
}

// duplicate is the duplicate test (RFC 5905 §8, A.5.1.1) as interleaved
// mode needs it (RFC 9769): a packet whose transmit timestamp is that of
// the peer's last packet is a copy of it only when its origin and receive
// timestamps are too. The transmit timestamp of a packet in interleaved
// form is when the peer's previous packet left, and where the peer takes
// that time when it writes the packet (a kernel that stamps as the send
// call runs, a simulation) it equals the one the previous packet carried.
func (a *association) duplicate(data []byte, p *packet.Packet) bool {
	return p.TransmitTime == a.org && sentKeyOf(data) == a.orgKey
}

// heard records a valid packet of the peer at t in the reach register
// (RFC 5905 §13) and reschedules the poll.
func (e *Engine) heard(a *association, t float64) {
	if a.reach == 0 {
		e.event(EventReachable, a, "")
		// Reachable again: the poll interval backed off while it was
		// not (§13, A.5.7.1 unreach) drops to the minimum until the
		// filter holds enough samples (poll), or a source heard again
		// in a short window would be polled too rarely in it to fill
		// its filter (§10) and count.
		a.unreach = 0
		a.resumePoll = a.hpoll
		a.hpoll = a.minPoll
	}
	a.reach |= 1
	a.lastRx, a.heard = t, true
	if a.burst == 0 {
		a.pollUpdate(a.hpoll)
	}
}

// passivePoll is how a symmetric passive association times its packets
// (RFC 5905 §13 poll process and burst, §9.2 symmetric modes). It
// transmits at its own poll interval, min(hpoll, ppoll), as the RFC has
// it, with two refinements for the peer's sake:
//
//   - It answers a burst at once. The active side starts with a burst of
//     packets BTIME (2 s) apart; a passive side answering only at its poll
//     gives it one sample per poll interval, eight polls before its filter
//     is full and the root distance fit (§11.2). A packet that arrives
//     less than half the peer's poll interval after the previous one, or
//     that mobilized the association, is part of a burst and is answered
//     at once, as a server answers a client: one ordinary mode-2 packet
//     per packet received, at most one per second and within the
//     server's rate limit (Config.RateLimit), the size of any other
//     packet of the association (no amplification). The active side gets
//     a sample with the round trip of a client exchange.
//   - Its poll keeps half a poll interval away from the peer's. Two
//     symmetric peers whose polls fall at the same instant send crossing
//     packets, each echoing the other's previous transmit timestamp: both
//     fail the origin test (bogus) at every poll until their clocks drift
//     apart, for hundreds of seconds. So after each packet of the peer
//     the next poll is set half a poll interval later.
//
// Neither shifts the reach register: only the scheduled polls do.
func (e *Engine) passivePoll(a *association, p *packet.Packet, t float64) {
	prev := a.lastPkt
	a.lastPkt = t
	ppoll := max(minPollLimit, min(p.Poll, maxPollLimit))
	burst := prev == 0 || t-prev < math.Ldexp(1, int(ppoll))/2
	// Only the peer's own poll (mode 1: it is symmetric active too) can
	// coincide with ours. A mode-2 packet answers one of ours: a peer
	// that keeps no association (chronyd answers symmetric polls so)
	// replies within the round trip, and taking that for a coinciding
	// poll would halve our poll interval at every exchange.
	if a.hmode == packet.ModeSymmetricActive && p.Mode == packet.ModeSymmetricActive && !burst && !a.stopped && a.burst == 0 {
		a.keepPhaseApart(ppoll, t)
	}
	if a.hmode != packet.ModeSymmetricPassive || a.stopped || !e.has(a) {
		return
	}
	if burst && (a.promptAt == 0 || t-a.promptAt >= 1) && e.allowPrompt(a) {
		a.promptAt = t
		e.transmit(a, t)
	}
	a.ppoll = ppoll
	a.outdate = t
	a.pollUpdate(a.hpoll)
	a.nextdate = t + (a.nextdate-t)/2
}

// keepPhaseApart keeps a symmetric active association's polls away from
// its peer's when both sides are active: a peer packet (not of a burst)
// that arrives less than a quarter poll interval after our last poll
// means the two polls nearly coincide, and the next poll is moved to half
// an interval after it. Two peers polling in near lockstep send packets
// that cross or follow each other closely: crossing packets are bogus for
// each other (RFC 5905 §8 origin test), and in interleaved mode (RFC 9769
// §4) a packet that does not follow one of the peer's carries no
// timestamps of a completed exchange. The side whose poll came first
// moves (the other sees the first's packet three quarters of an interval
// after its own poll), so the polls end up half an interval apart, as a
// symmetric passive association keeps them (passivePoll). Both sides
// move only when their polls are closer than the path's delay, which a
// random start (firstPoll) makes unlikely.
func (a *association) keepPhaseApart(ppoll int8, t float64) {
	p := max(min(a.hpoll, ppoll), a.minPoll)
	interval := math.Ldexp(1, int(p))
	if since := t - a.outdate; since >= 0 && since < interval/4 {
		a.nextdate = t + interval/2
	}
}

// allowPrompt passes a prompt answer through the server's rate limiter
// (RFC 5905 §9.2 FXMIT limits), as a reply to a client would be: a
// burst (BTIME 2 s) stays within the default limits.
func (e *Engine) allowPrompt(a *association) bool {
	ok, _ := e.rl.allow(a.addr.Addr(), e.now)
	return ok
}

func (e *Engine) has(a *association) bool {
	for _, b := range e.assocs {
		if b == a {
			return true
		}
	}
	return false
}

// usesNewest reports whether the system process takes every new sample
// (frequency measurement and regression mode, which weigh samples by
// delay themselves) rather than the filter's minimum-delay choice.
func (e *Engine) usesNewest() bool {
	return e.disc.state == stateNSET || e.disc.state == stateFREQ || e.disc.est.fits()
}

// offsetNow is the association's offset at t: the filter's choice (or the
// newest sample while the frequency is measured), projected to t with the
// frequency estimate and net of the corrections applied since.
func (e *Engine) offsetNow(a *association, t float64) float64 {
	f := &a.filter
	u := f.Offset
	if e.usesNewest() {
		// The newest sample, corrected for the path's jitter
		// asymmetry to its least recent delay (asymmetry).
		u = f.Newest
		if k := a.asym.slope(); k != 0 {
			u -= k * math.Max(0, f.newestValid().Delay-math.Min(f.Delay, a.asym.leastDelay()))
		}
	}
	return u + e.projectionFreq(f)*(t-f.t) - e.disc.phase
}

// projectionFreq is the rate at which the offset of the uncorrected clock
// to a source changes, s/s, for projecting its samples to another time:
// the discipline's frequency once it has measured one, and before that
// the slope of the source's own samples (clockFilter.ownSlope, as the
// filter projects its stages with). Projected with none, the offsets of
// sources sampled at different times differ by the clock's whole
// frequency error times the time between their samples: with a clock 5 %
// off, three servers polled 0.2 s apart (pollSeparation) were 10 ms
// apart, all falsetickers to each other (RFC 5905 §11.2.1), and their
// combined offset fed the first frequency fit with ms of noise.
func (e *Engine) projectionFreq(f *clockFilter) float64 {
	if fr := e.filterFreq(); !math.IsNaN(fr) {
		return fr
	}
	return f.ownSlope()
}

// kiss acts on a Kiss-o'-Death (RFC 5905 §7.4).
func (e *Engine) kiss(a *association, p *packet.Packet, code string) {
	a.counts.KoD++
	switch p.ReferenceID {
	case packet.KissDeny, packet.KissRstr:
		e.event(EventKoD, a, code)
		e.demobilize(a, "kiss-o'-death "+code)
	case packet.KissRate:
		e.event(EventKoD, a, code)
		a.lastError = "kiss-o'-death RATE: backing off"
		a.pollUpdate(max(a.hpoll, p.Poll) + 1)
	default:
		a.leap, a.stratum = packet.LeapUnsync, maxStratum
		a.lastError = fmt.Errorf("%w: kiss code %s", ErrUnsync, code).Error()
	}
}

// serve is FXMIT: the stateless server reply to a client request, rate
// limited, never longer than the request.
func (e *Engine) serve(in Incoming, p *packet.Packet, mac macResult) {
	ok, kod := e.rl.allow(in.Src.Addr(), e.now)
	if !ok {
		e.stats.RateLimited++
		if kod {
			e.reply(in, p, packet.KissRate, macResult{})
		}
		return
	}
	if mac.present && !e.macAccepted(mac) {
		e.stats.AuthFailures++ // answered with a crypto-NAK
	}
	e.reply(in, p, 0, mac)
}

// macAccepted tells whether a request's MAC lets the server sign its reply
// (RFC 5905 §9.2): valid, or only untrusted while authentication is off.
func (e *Engine) macAccepted(mac macResult) bool {
	return mac.err == nil || (!e.cfg.AuthEnabled && errors.Is(mac.err, auth.ErrUntrusted))
}

// reply builds a mode-4 reply, or a KoD when kiss is not 0.
func (e *Engine) reply(in Incoming, p *packet.Packet, kiss uint32, mac macResult) {
	data, xleave, ok := e.appendReply(make([]byte, 0, packet.HeaderLen+packet.MaxV4MACLen), &in, &p.Header, kiss, mac)
	if !ok {
		return
	}
	e.countReply(kiss)
	e.out.Packets = append(e.out.Packets, Outgoing{
		Data: data, Dst: in.Src, Src: in.Dst.Addr(), IfIndex: in.IfIndex, VPN: in.VPN, TxTimestamp: xleave,
	})
}

// countReply counts a server reply about to be handed to the caller.
func (e *Engine) countReply(kiss uint32) {
	e.stats.Sent++
	e.stats.ServerReplies++
	if kiss != 0 {
		e.stats.KoDSent++
	}
}

// appendReply appends to b the mode-4 reply to req (a KoD when kiss is not
// 0); ok is false when there is none to send: signing failed, or it would
// be longer than the request (never amplify). xleave tells that req is in
// interleaved form: the reply's departure is wanted (Transmitted).
func (e *Engine) appendReply(b []byte, in *Incoming, req *packet.Header, kiss uint32, mac macResult) (_ []byte, xleave, ok bool) {
	h := e.header(e.now)
	h.Version = req.Version
	h.Mode = packet.ModeServer
	h.Poll = req.Poll
	// The receive timestamp's low-order bit is 1 and the transmit
	// timestamp's 0, so that a request in interleaved form (its origin
	// is one of our receive timestamps) is known by that bit (see
	// xmit.go). The transmit timestamp is the receive timestamp until
	// StampTransmit / StampReply writes the time the reply leaves.
	rx := packet.TimestampFromTime(in.RxTime) | 1
	h.OriginTime = req.TransmitTime
	h.ReceiveTime = rx
	h.TransmitTime = rx &^ 1
	xleave = kiss == 0 && req.Version == 4 && req.OriginTime&1 == 1 && req.ReceiveTime != req.TransmitTime
	if xleave {
		// RFC 9769 §3: a request in interleaved form. Answer in
		// interleaved mode if we know when our reply to the request it
		// names left, and keep this reply's departure for the next.
		client := in.Src.Addr()
		if tx, ok := e.xleave.take(client, req.OriginTime); ok {
			h.OriginTime, h.TransmitTime = req.ReceiveTime, tx&^1
		}
		e.xleave.expect(client, rx)
	}
	if kiss != 0 {
		h.Leap, h.Stratum, h.ReferenceID = packet.LeapUnsync, 0, kiss
		h.RootDelay, h.RootDispersion, h.ReferenceTime = 0, 0, 0
	}
	start := len(b)
	b = h.AppendHeader(b)
	switch {
	case kiss != 0 || !mac.present:
	case e.macAccepted(mac):
		tr, err := e.keys.Sign(b[start:], mac.keyID)
		if err != nil {
			return b[:start], false, false
		}
		b = append(b, tr...)
	default:
		// RFC 5905 §7.4: a request that fails authentication gets a
		// crypto-NAK.
		b = append(b, 0, 0, 0, 0)
	}
	if len(b)-start > len(in.Data) {
		return b[:start], false, false // never amplify
	}
	return b, xleave, true
}

// ServeResult says what Serve did with a datagram.
type ServeResult int

const (
	// ServePass: not a plain client request for the stateless server
	// (another mode, a MAC or extension fields, a source that has an
	// association, a bad header): give it to Handle, which decides.
	ServePass ServeResult = iota
	// ServeDrop: a client request that gets no reply (rate limited
	// without a KoD).
	ServeDrop
	// ServeReply: the reply (mode 4, or a RATE or DENY KoD) is the
	// returned slice; send it to in.Src from in.Dst's address, after
	// StampReply immediately before the send.
	ServeReply
	// ServeReplyTx: as ServeReply, to a request in interleaved form
	// (RFC 9769 §3): also report when the reply left (Transmitted, from
	// the kernel's transmit timestamp), which the client's next request
	// asks for.
	ServeReplyTx
)

// Serve is Handle's fast path for the stateless server (RFC 5905 §9.2
// FXMIT), for a caller that answers clients in batches: for a 48-octet
// client request (mode 3, no MAC, no extension field) from a source with no
// association it decides as Handle would — access (DENY KoD), rate limit
// (RATE KoD or drop), reply — and appends the reply to buf without
// allocating. Everything else is ServePass: Handle's, and not counted. It
// changes only the engine's time (monotonic, as Handle), the rate
// limiter's state and the Statistics of what it decided.
func (e *Engine) Serve(in *Incoming, buf []byte) ([]byte, ServeResult) {
	b := in.Data
	if len(b) != packet.HeaderLen || in.RxTime.IsZero() || !in.Src.IsValid() {
		return buf, ServePass
	}
	req := packet.Header{
		Version: (b[0] >> 3) & 7, Mode: packet.Mode(b[0] & 7), Poll: int8(b[2]),
		OriginTime:   packet.Timestamp(binary.BigEndian.Uint64(b[24:32])),
		ReceiveTime:  packet.Timestamp(binary.BigEndian.Uint64(b[32:40])),
		TransmitTime: packet.Timestamp(binary.BigEndian.Uint64(b[40:48])),
	}
	src := in.Src.Addr()
	if req.Mode != packet.ModeClient || req.Version < 1 || req.Version > 4 ||
		in.Src.Port() == 0 || src.IsUnspecified() || src.IsMulticast() || e.hasAssocAt(in.Src, in.VPN) {
		return buf, ServePass
	}
	if t := e.t(in.RxTime); t > e.now {
		e.now = t
	}
	// Counted as Handle counts (plain increments: the caller holds the
	// engine as for Handle).
	e.stats.Received++
	e.stats.ClientRequests++
	kiss := uint32(0)
	if e.denied(*in) {
		e.stats.AccessDenied++
		kiss = packet.KissDeny
	} else if ok, kod := e.rl.allow(src, e.now); !ok {
		e.stats.RateLimited++
		if !kod {
			return buf, ServeDrop
		}
		kiss = packet.KissRate
	}
	out, xleave, ok := e.appendReply(buf, in, &req, kiss, macResult{})
	if !ok {
		return buf, ServeDrop
	}
	e.countReply(kiss)
	if xleave {
		return out, ServeReplyTx
	}
	return out, ServeReply
}
