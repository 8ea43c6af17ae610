package ntpengine

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strconv"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine/auth"
	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// Incoming is one received datagram.
type Incoming struct {
	Data    []byte
	Src     netip.AddrPort // the sender
	Dst     netip.AddrPort // the local address it came to
	VPN     string
	IfIndex int
	RxTime  time.Time // the disciplined clock's time at reception
}

// Outgoing is one datagram to send.
type Outgoing struct {
	Data []byte
	Dst  netip.AddrPort
	// Src, when valid, is the address the I/O layer must send from: for
	// replies the address the request came to; for a symmetric passive
	// association's packets the address its peer sends to (RFC 5905 §9:
	// an association is a pair of addresses, and a multihomed peer
	// ignores an answer from another one). Invalid for other association
	// packets (use SourceInterface or the routing table).
	Src             netip.Addr
	IfIndex         int
	VPN             string
	SourceInterface string
	AssocKey        string // empty for server replies
	// TxTimestamp asks the caller to report when the packet left
	// (Transmitted, from the kernel's transmit timestamp where there is
	// one): association packets, and replies to requests in interleaved
	// form (RFC 9769).
	TxTimestamp bool
}

// ClockOp is the kind of a ClockCommand.
type ClockOp int

// The clock operations, as in clock.Clock.
const (
	ClockStep         ClockOp = iota + 1 // Step(Step)
	ClockSetFrequency                    // SetFrequency(FrequencyPPM)
	ClockSlew                            // Slew(Slew): amortize at Config.MaxSlewRate, replacing a slew in progress
)

// ClockCommand is one operation on the disciplined clock. Apply them in
// order.
type ClockCommand struct {
	Op           ClockOp
	Step         time.Duration
	FrequencyPPM float64
	Slew         time.Duration
}

// EventKind names an event.
type EventKind string

// Events the engine reports.
const (
	EventMobilize    EventKind = "mobilize"
	EventDemobilize  EventKind = "demobilize"
	EventReachable   EventKind = "reachable"
	EventUnreachable EventKind = "unreachable"
	EventSysPeer     EventKind = "sys-peer"
	EventNoSysPeer   EventKind = "no-sys-peer"
	EventStep        EventKind = "clock-step"
	EventSync        EventKind = "clock-sync"
	EventFreqSet     EventKind = "frequency-set"
	EventPanic       EventKind = "panic"
	EventKoD         EventKind = "kiss-o-death"
	EventPreempt     EventKind = "preempt"
	EventRetry       EventKind = "retry"
)

// Event is something worth a log line or a notification.
type Event struct {
	Kind     EventKind
	AssocKey string
	Message  string
}

// Ready is what one Handle or Tick call asks of the caller.
type Ready struct {
	Packets []Outgoing
	Clock   []ClockCommand
	Events  []Event
}

// Engine is the NTP state machine. It is not safe for concurrent use.
type Engine struct {
	cfg    Config
	keys   *auth.Keyring
	rnd    *rand.Rand
	log    *slog.Logger
	epoch  time.Time // engine time 0 on the caller's clock
	now    float64
	assocs []*association
	sys    systemVars
	disc   discipline
	rl     rateLimiter
	out    Ready
	prec   float64
	// addrs holds the (address, vpn) of every association, for Serve's
	// check that a client request comes from no association's address;
	// rebuilt when addrsStale (set wherever assocs changes).
	addrs      map[assocAddr]struct{}
	addrsStale bool
	stats      Statistics
	// lastPoll is when the poll process last ran for an association
	// (polled: ever), for pollSeparation.
	lastPoll float64
	polled   bool
	// xleave keeps the transmit timestamps of replies to clients in
	// interleaved mode (RFC 9769 §3).
	xleave serverXleave
}

type assocAddr struct {
	ap  netip.AddrPort
	vpn string
}

// hasAssocAt tells whether some association (running or stopped) has
// address ap in vpn.
func (e *Engine) hasAssocAt(ap netip.AddrPort, vpn string) bool {
	if e.addrs == nil || e.addrsStale {
		e.addrs = make(map[assocAddr]struct{}, len(e.assocs))
		for _, a := range e.assocs {
			e.addrs[assocAddr{unzoned(a.addr), a.vpn}] = struct{}{}
		}
		e.addrsStale = false
	}
	_, ok := e.addrs[assocAddr{unzoned(ap), vpn}]
	return ok
}

// unzoned is ap without its zone: hasAssocAt answers for an address on any
// link, which only sends its packet the slow way (find tells the links
// apart).
func unzoned(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().WithZone(""), ap.Port())
}

type systemVars struct {
	leap      packet.Leap
	stratum   uint8
	refID     uint32
	refTime   time.Time
	rootDelay float64
	rootDisp  float64
	dispRate  float64 // growth of rootDisp after t, s/s (rootDispersion)
	offset    float64
	jitter    float64
	peer      *association
	t         float64 // time of the last clock update
	synced    bool
	panicked  bool
	// reason is why the last selection found no system peer ("" when
	// it found one or has not run).
	reason UnsyncReason
	// holdSince is when selection first could have chosen a system
	// peer but waited for sources still acquiring (holdForSources); 0
	// when not waiting.
	holdSince float64
}

// unsyncReason is Status.UnsyncReason while the clock is not synchronized.
func (e *Engine) unsyncReason() UnsyncReason {
	switch {
	case e.sys.panicked:
		return UnsyncPanic
	case e.sys.reason != "":
		return e.sys.reason
	}
	return e.fitWhy(e.now)
}

// New builds an engine from cfg at clock time now.
func New(cfg Config, now time.Time) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	keys, _ := auth.NewKeyring(cfg.Keys)
	e := &Engine{cfg: cfg, keys: keys, epoch: now, rnd: cfg.Rand, log: cfg.Logger, stats: Statistics{Since: now}}
	if e.rnd == nil {
		e.rnd = rand.New(rand.NewPCG(1, 2))
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.prec = math.Ldexp(1, int(cfg.precision()))
	lo, hi := pollBounds(cfg.Peers)
	e.disc = newDiscipline(e.prec, lo, hi)
	e.disc.configure(&cfg)
	if f := cfg.InitialFrequencyPPM; f != nil {
		e.disc.setInitialFrequency(*f * 1e-6)
	}
	e.sys = systemVars{leap: packet.LeapUnsync, stratum: maxStratum}
	e.rl = newRateLimiter(cfg.RateLimit)
	for _, p := range cfg.Peers {
		e.assocs = append(e.assocs, newAssociation(p, 0, e.firstPoll(p.Mode)))
	}
	return e, nil
}

func pollBounds(peers []PeerConfig) (lo, hi int8) {
	if len(peers) == 0 {
		return defaultMinPoll, defaultMaxPoll
	}
	lo, hi = maxPollLimit, minPollLimit
	for _, p := range peers {
		lo = min(lo, p.minPoll())
		hi = max(hi, p.maxPoll())
	}
	return lo, hi
}

// firstPoll is when a new association of mode m first polls, after its
// start. A server is polled at once (RFC 5905 §13 has the poll process
// start at mobilization; associations that start together are spread by
// pollSeparation). A symmetric active peer first polls at a random time
// 1..3 s after the start: two devices that start together and poll in
// lockstep send packets that cross on the path, and each is then bogus
// for the other (its origin is not the transmit timestamp of our packet
// in flight, RFC 5905 §8) at every poll for as long as the lockstep
// lasts.
func (e *Engine) firstPoll(m AssocMode) float64 {
	if m == AssocClient {
		return 0
	}
	return 1 + 2*e.rnd.Float64()
}

func (e *Engine) t(now time.Time) float64 { return now.Sub(e.epoch).Seconds() }

func (e *Engine) clockTime(t float64) time.Time {
	return e.epoch.Add(time.Duration(t * 1e9))
}

// Reconfigure applies a new configuration: associations whose PeerConfig is
// unchanged keep their state; removed ones are demobilized; new and
// changed ones (re)start. Ephemeral associations are kept. A configuration
// that does not validate changes nothing.
func (e *Engine) Reconfigure(cfg Config, now time.Time) (Ready, error) {
	if err := cfg.Validate(); err != nil {
		return Ready{}, err
	}
	e.begin(now)
	keys, _ := auth.NewKeyring(cfg.Keys)
	old := map[string]*association{}
	var eph []*association
	for _, a := range e.assocs {
		if a.ephemeral {
			eph = append(eph, a)
		} else {
			old[a.key] = a
		}
	}
	var next []*association
	for _, p := range cfg.Peers {
		if a, ok := old[p.Key]; ok && reflect.DeepEqual(a.cfg, p) {
			next = append(next, a)
			delete(old, p.Key)
			continue
		}
		if a, ok := old[p.Key]; ok {
			e.event(EventDemobilize, a, "configuration changed")
			e.dropSysPeer(a)
			delete(old, p.Key)
		}
		a := newAssociation(p, e.now, e.firstPoll(p.Mode))
		next = append(next, a)
		e.event(EventMobilize, a, "configured")
	}
	for _, a := range old {
		e.event(EventDemobilize, a, "removed from configuration")
		e.dropSysPeer(a)
	}
	e.cfg = cfg
	e.keys = keys
	if cfg.Rand != nil {
		e.rnd = cfg.Rand
	}
	if cfg.Logger != nil {
		e.log = cfg.Logger
	}
	e.prec = math.Ldexp(1, int(cfg.precision()))
	e.disc.minPoll, e.disc.maxPoll = pollBounds(cfg.Peers)
	e.disc.configure(&cfg)
	if e.disc.updates == 0 {
		// No update yet: the poll starts at the minimum (RFC 5905
		// A.5.5.6), whatever the bounds were before. An engine started
		// without peers has the default bounds (6..10); a daemon applies
		// its configuration to such an engine, and a clamp of the old
		// poll would start a peer of minpoll 4 maxpoll 6 at 64 s.
		e.disc.poll = e.disc.minPoll
	} else {
		e.disc.poll = max(e.disc.minPoll, min(e.disc.maxPoll, e.disc.poll))
	}
	e.rl.configure(cfg.RateLimit)
	e.assocs = append(next, eph...)
	e.addrsStale = true
	return e.finish(), nil
}

func (e *Engine) dropSysPeer(a *association) {
	if e.sys.peer == a {
		e.sys.peer = nil
		e.unsync("system peer removed", "")
	}
}

func (e *Engine) begin(now time.Time) {
	e.out = Ready{}
	t := e.t(now)
	if t > e.now {
		e.now = t
	}
}

func (e *Engine) finish() Ready {
	r := e.out
	e.out = Ready{}
	return r
}

func (e *Engine) event(k EventKind, a *association, msg string) {
	ev := Event{Kind: k, Message: msg}
	if a != nil {
		ev.AssocKey = a.key
	}
	e.out.Events = append(e.out.Events, ev)
	e.log.Debug("ntp event", "kind", string(k), "assoc", ev.AssocKey, "msg", msg)
}

// Tick runs the clock adjustment and the poll process at now. Call it at
// NextDeadline or more often (every second is fine).
func (e *Engine) Tick(now time.Time) Ready {
	e.begin(now)
	t := e.now
	var co clockOut
	e.disc.adjust(t, &co)
	e.applyClock(co)
	for _, a := range append([]*association(nil), e.assocs...) {
		if a.stopped {
			if a.retryAt > 0 && t >= a.retryAt-1e-6 {
				b := a.backoff
				a.restart(t, e.firstPoll(a.cfg.Mode))
				a.backoff = b
				e.event(EventRetry, a, "preempted association restarted")
			}
			continue
		}
		if t >= a.nextdate-1e-6 { // float rounding of NextDeadline
			if e.polled && t < e.lastPoll+pollSeparation-1e-6 {
				a.nextdate = e.lastPoll + pollSeparation
				continue
			}
			e.poll(a, t)
			e.lastPoll, e.polled = t, true
		}
	}
	return e.finish()
}

// pollSeparation is the least time between two polls of different
// associations (chrony's sampling separation): bursts of several sources
// that start together are interleaved rather than sent as one volley,
// which a rate-limiting server or a queue on the path would punish.
const pollSeparation = 0.2

// NextDeadline is the latest clock time at which Tick must be called.
func (e *Engine) NextDeadline() time.Time {
	next := math.Inf(1)
	for _, a := range e.assocs {
		switch {
		case !a.stopped:
			next = math.Min(next, a.nextdate)
		case a.retryAt > 0:
			next = math.Min(next, a.retryAt)
		}
	}
	if e.disc.active() || !e.disc.commanded {
		next = math.Min(next, e.now+1)
	}
	if math.IsInf(next, 1) {
		next = e.now + 3600
	}
	return e.epoch.Add(time.Duration(math.Ceil(next * 1e9)))
}

func (e *Engine) applyClock(co clockOut) {
	if co.stepped {
		d := time.Duration(co.step * 1e9)
		e.out.Clock = append(e.out.Clock, ClockCommand{Op: ClockStep, Step: d})
		// The caller's clock jumps by d: move our epoch with it so that
		// engine time stays continuous.
		e.epoch = e.epoch.Add(d)
	}
	if co.doSlew {
		e.out.Clock = append(e.out.Clock, ClockCommand{Op: ClockSlew, Slew: time.Duration(co.slew * 1e9)})
	}
	if co.setFreq {
		e.out.Clock = append(e.out.Clock, ClockCommand{Op: ClockSetFrequency, FrequencyPPM: co.freq * 1e6})
	}
}

// synchronized reports whether the system clock is synchronized: a system
// peer exists and the discipline has accepted an update.
func (e *Engine) synchronized() bool { return e.sys.peer != nil && e.sys.synced }

// poll is the poll process of RFC 5905 §13 (A.5.7.1) for one association.
func (e *Engine) poll(a *association, t float64) {
	if a.burst > 0 {
		// Burst in progress (RFC 5905 §13): BCOUNT packets BTIME apart;
		// the reach register shifts only at the poll that starts it.
		a.burst--
		e.transmit(a, t)
		a.burstSent++
		if a.burst == 0 && a.burstGot+1 < burstCount && a.burstSent < burstMax {
			// Replies were lost: one more packet (the reply to this
			// one is counted as coming).
			a.burst = 1
		}
		a.outdate = t
		a.nextdate = t + burstInterval
		if a.burst == 0 {
			a.pollUpdate(a.hpoll)
		}
		return
	}
	hpoll := a.hpoll
	a.outdate = t
	if a.peerNotDue(t) {
		// A symmetric peer that polls slower than we do has sent no
		// packet since the last shift because none was due: the
		// register counts its polls (peerNotDue).
		hpoll = e.disc.poll
	} else if oreach := a.shiftReach(t); a.reach == 0 {
		if oreach != 0 {
			e.event(EventUnreachable, a, "no reply in 8 polls")
			// The system process must learn that it lost a candidate
			// (the RFC runs it only on new samples).
			defer e.clockSelect(t)
		}
		if a.unreach < unreachLim {
			a.unreach++
		} else {
			hpoll++
		}
		if a.ephemeral && a.unreach >= 8 {
			e.demobilize(a, "ephemeral association timed out")
			return
		}
	} else {
		a.unreach = 0
		if a.reach&7 == 0 {
			// Three polls without reply: age the filter with a dummy
			// stage (A.5.7.1; see keepStartSamples).
			a.filter.add(filterSample{T: t, Delay: maxDisp, Dispersion: maxDisp}, e.prec, e.filterFreq())
		}
		hpoll = e.disc.poll
		if errors.Is(e.fit(a, t), errFilling) {
			// A source that answers but has too few samples to pass
			// the distance test (§11.2) counts for nothing until it
			// has them: poll it at its minimum poll meanwhile (one
			// heard again in a short window after an outage would
			// otherwise get a sample or two at the system poll).
			hpoll = a.minPoll
		}
		switch {
		case a.resumePoll == 0:
		case a.reach&6 == 6:
			// Answered two polls running: reachable again.
			a.resumePoll = 0
		case a.reach&2 == 0 && e.disc.state == stateSYNC:
			// Heard again after being unreachable, and silent at the
			// poll after: a sporadic source. It keeps the poll it had
			// backed off to (§13, A.5.7.1 unreach), where the RFC
			// drops it to the system poll at every reply: a server
			// answering one request in 20 would otherwise be polled
			// at the minimum for good, 19 packets lost for each
			// sample, and selected and lost again every 20 polls.
			// chrony backs its poll off at every request without
			// reply likewise. Only once the discipline holds the
			// frequency: until then the clock needs the samples.
			hpoll = max(hpoll, a.resumePoll)
		}
	}
	// Preemption: see PeerConfig.Preempt.
	if (a.cfg.Preempt || a.ephemeral) && e.active() > e.cfg.maxClock() &&
		(a.unreach >= unreachLim || a.rejectCount >= preemptRejects) {
		e.preempt(a, t)
		return
	}
	// Unsync poll cap: while unsynchronized, never poll slower
	// than 2^UnsyncMaxPoll and drop by UnsyncDecStep at every poll.
	if e.cfg.UnsyncMaxPoll != 0 && !e.synchronized() {
		hpoll = min(hpoll, e.cfg.UnsyncMaxPoll, a.hpoll-e.cfg.UnsyncDecStep)
	}
	e.transmit(a, t)
	a.pollUpdate(hpoll)
	switch {
	case a.reach == 0 && a.cfg.IBurst && !a.bursted && a.resumePoll == 0:
		// iburst (RFC 5905 §13): an unreachable association sends a
		// burst so that the filter fills in seconds, not in eight
		// polls; once per period of unreachability, and not to a
		// sporadic source (resumePoll), which would be sent 8 to 16
		// packets for each sample it answers.
		a.bursted = true
		a.startBurst(t)
	case a.reach != 0 && a.cfg.Burst:
		// burst (RFC 5905 §13): BCOUNT packets at every poll while
		// the peer answers.
		a.startBurst(t)
	}
	if a.reach != 0 {
		a.bursted = false
	}
}

// startBurst makes the packet just sent at t the first of a burst.
func (a *association) startBurst(t float64) {
	a.burst = burstCount - 1
	a.burstSent, a.burstGot = 1, 0
	a.nextdate = t + burstInterval
}

// Burst parameters of RFC 5905 §13 (BCOUNT, BTIME). The initial burst
// sends BCOUNT packets, and one more for every reply lost, up to burstMax
// packets: its purpose is to fill the NSTAGE filter within seconds, and
// on a lossy path (20 % each way loses a third of the exchanges) eight
// packets leave the filter too empty for the root distance test
// (§11.2): the peer then waits several poll intervals before it counts.
const (
	burstCount    = 8
	burstInterval = 2.0
	burstMax      = 2 * burstCount
)

// preemptRejects is how many consecutive selection rounds an association
// may be rejected before it counts as useless for preemption.
const preemptRejects = 8

func (e *Engine) active() int {
	n := 0
	for _, a := range e.assocs {
		if !a.stopped {
			n++
		}
	}
	return n
}

func (e *Engine) preempt(a *association, t float64) {
	if a.ephemeral {
		e.demobilize(a, "preempted")
		return
	}
	e.dropSysPeer(a)
	if a.backoff == 0 {
		a.backoff = math.Ldexp(1, int(a.maxPoll))
	} else {
		a.backoff = math.Min(2*a.backoff, 86400)
	}
	a.stopped = true
	a.retryAt = t + a.backoff
	a.lastError = "preempted"
	a.status = StatusReject
	e.event(EventPreempt, a, fmt.Sprintf("demobilized, retry in %.0f s", a.backoff))
}

// demobilize removes an ephemeral association, or stops a configured one
// for good (KoD DENY/RSTR).
func (e *Engine) demobilize(a *association, why string) {
	e.dropSysPeer(a)
	e.event(EventDemobilize, a, why)
	if !a.ephemeral {
		a.stopped = true
		a.retryAt = 0
		a.lastError = why
		a.status = StatusReject
		return
	}
	for i, b := range e.assocs {
		if b == a {
			e.assocs = append(e.assocs[:i], e.assocs[i+1:]...)
			e.addrsStale = true
			break
		}
	}
}

// header fills the system part of an outgoing header (RFC 5905 A.5.3).
func (e *Engine) header(t float64) packet.Header {
	h := packet.Header{
		Leap:      e.sys.leap,
		Stratum:   e.sys.stratum,
		Precision: e.cfg.precision(),
	}
	switch {
	case e.synchronized():
		h.RootDelay = packet.ShortFromSeconds(e.sys.rootDelay)
		h.RootDispersion = packet.ShortFromSeconds(e.rootDispAt(t))
		h.ReferenceID = e.sys.refID
		h.ReferenceTime = packet.TimestampFromTime(e.sys.refTime)
	case e.cfg.LocalStratum > 0:
		h.Leap = packet.LeapNone
		h.Stratum = e.cfg.LocalStratum
		h.ReferenceID = 0x4c4f434c // "LOCL"
		h.ReferenceTime = packet.TimestampFromTime(e.clockTime(t))
	default:
		// Unsynchronized: stratum 16 goes on the wire as 0 with the
		// INIT kiss code (RFC 5905 §7.3, §7.4).
		h.Leap = packet.LeapUnsync
		h.Stratum = 0
		h.ReferenceID = 0x494e4954 // "INIT"
	}
	return h
}

// transmit sends the association's packet (RFC 5905 A.5.3 peer_xmit).
func (e *Engine) transmit(a *association, t float64) {
	h := e.header(t)
	h.Version = a.version
	h.Mode = a.hmode
	h.Poll = a.hpoll
	h.OriginTime = a.org
	h.ReceiveTime = a.rec
	now := packet.TimestampFromTime(e.clockTime(t))
	xmt := basicStamp(now)
	xleave := e.interleave(a)
	if xleave {
		// RFC 9769 §3, §4: the origin is the peer's receive timestamp of
		// our previous packet, the transmit timestamp when that packet
		// left.
		h.OriginTime, xmt = a.remoteRx, a.localTx
	}
	if xmt == a.xmt || xmt == h.OriginTime || xmt == h.ReceiveTime {
		// Never send the same transmit timestamp twice, nor one equal
		// to the origin or receive timestamp (a packet must not pass
		// for its own answer).
		xleave, h.OriginTime, xmt = false, a.org, basicStamp(now)
		if xmt == a.xmt {
			xmt += 2
		}
	}
	h.TransmitTime = xmt
	data := h.AppendHeader(make([]byte, 0, packet.HeaderLen+packet.MaxV4MACLen))
	if a.keyID != 0 {
		tr, err := e.keys.Sign(data, a.keyID)
		if err != nil {
			a.lastError = "auth: " + err.Error()
			return
		}
		data = append(data, tr...)
	}
	a.xmt = xmt
	a.xmtPhase = e.disc.phaseAt(t)
	a.xmtBusy = e.disc.slewBusy()
	// Until the caller says when it left (StampTransmit, Transmitted),
	// the packet left now.
	a.localTx, a.localTxSource = departure(now), ""
	a.localNtpRx = h.ReceiveTime
	a.sentInterleaved = xleave
	a.sentKey = sentKeyOf(data)
	a.txSinceRx++
	a.counts.Sent++
	e.stats.Sent++
	o := Outgoing{Data: data, Dst: a.addr, VPN: a.vpn, SourceInterface: a.cfg.SourceInterface, AssocKey: a.key, TxTimestamp: true}
	if a.ifIndex != 0 && a.addr.Addr().Is6() && a.addr.Addr().IsLinkLocalUnicast() {
		// A link-local peer is reached on the link it was heard on.
		o.IfIndex = a.ifIndex
		o.Dst = netip.AddrPortFrom(a.addr.Addr().WithZone(strconv.Itoa(a.ifIndex)), a.addr.Port())
	}
	if a.hmode == packet.ModeSymmetricPassive {
		o.Src = a.localAddr
	}
	e.out.Packets = append(e.out.Packets, o)
}

// refIDOf is the reference id naming a system peer at addr (RFC 5905 §7.3):
// the IPv4 address, or the first four octets of the MD5 of the IPv6 address.
func refIDOf(addr netip.Addr) uint32 {
	addr = addr.Unmap()
	if addr.Is4() {
		b := addr.As4()
		return binary.BigEndian.Uint32(b[:])
	}
	b := addr.As16()
	h := md5.Sum(b[:])
	return binary.BigEndian.Uint32(h[:4])
}

// syncLoop reports whether a's peer is synchronized to us (RFC 5905 §11.2
// loop test, A.5.5.3): its reference id (stratum 2 and up) names one of our
// addresses as its peers see it (§7.3: the IPv4 address, or the first four
// octets of the MD5 of the IPv6 address). Every association's local address
// in a's vpn-instance counts, not only a's own: a dual-stacked peer that is
// synchronized to us over IPv6 names our IPv6 address while our
// association with it over IPv4 knows only our IPv4 one.
func (e *Engine) syncLoop(a *association) bool {
	if a.stratum <= 1 || a.stratum >= maxStratum {
		return false
	}
	for _, b := range e.assocs {
		if b.vpn == a.vpn && b.localAddr.IsValid() && b.localRef() == a.refID {
			return true
		}
	}
	return false
}

// unsync leaves the synchronized state; reason is the UnsyncReason to
// show until the next selection ("" derives it from the associations).
func (e *Engine) unsync(why string, reason UnsyncReason) {
	if e.sys.synced {
		e.event(EventNoSysPeer, nil, why)
	}
	e.sys.reason = reason
	e.sys.synced = false
	e.sys.peer = nil
	e.sys.leap = packet.LeapUnsync
	e.sys.stratum = maxStratum
}
