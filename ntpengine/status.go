package ntpengine

import (
	"math"
	"net/netip"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// Status is the system state for /ntp/status and `display ntp status`.
type Status struct {
	Synchronized   bool
	ClockState     string // discipline state: NSET, FSET, FREQ, SPIK, SYNC, or PANIC
	Leap           packet.Leap
	Stratum        uint8 // 16 when unsynchronized
	ReferenceID    uint32
	Reference      string // refid as text: dotted IPv4, hex for IPv6 hashes, or ASCII
	Offset         time.Duration
	FrequencyPPM   float64
	Jitter         time.Duration
	Wander         float64 // frequency wander, ppm
	Precision      int8
	Poll           int8
	RootDelay      time.Duration
	RootDispersion time.Duration
	ReferenceTime  time.Time
	SystemPeer     string // association key, empty if none
	SystemPeerAddr netip.AddrPort
	// FrequencySettled tells whether FrequencyPPM is worth saving for the
	// next start (a drift file, Config.InitialFrequencyPPM): the clock is
	// synchronized, the discipline is in SYNC (not after a spike or a
	// panic) and has taken at least 8 updates there since its last step
	// or frequency measurement, and the standard error of the frequency
	// estimate is at most Config.SettledFrequencyPPM (1 ppm by default):
	// that of the regression fit, or for DisciplineRFC the wander (the
	// RMS of its frequency changes). Never save the frequency while this
	// is false.
	FrequencySettled bool
	// UnsyncReason says why the clock is not synchronized; "" when
	// Synchronized.
	UnsyncReason UnsyncReason
}

func secs(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// Status returns the system variables at clock time now.
func (e *Engine) Status(now time.Time) Status {
	t := math.Max(e.t(now), e.now)
	s := Status{
		Synchronized: e.synchronized(),
		ClockState:   e.disc.state.String(),
		Leap:         e.sys.leap,
		Stratum:      e.sys.stratum,
		FrequencyPPM: e.disc.freq * 1e6,
		Wander:       e.disc.wander * 1e6,
		Precision:    e.cfg.precision(),
		Poll:         e.disc.poll,
	}
	if e.sys.panicked {
		s.ClockState = "PANIC"
	}
	if !s.Synchronized {
		s.UnsyncReason = e.unsyncReason()
	}
	s.FrequencySettled = s.Synchronized && !e.sys.panicked && e.disc.settled()
	if s.Synchronized {
		s.ReferenceID = e.sys.refID
		s.Reference = refIDText(e.sys.refID, e.sys.peer.addr.Addr())
		s.Offset = secs(e.sys.offset)
		s.Jitter = secs(e.sys.jitter)
		s.RootDelay = secs(e.sys.rootDelay)
		s.RootDispersion = secs(e.rootDispAt(t))
		s.ReferenceTime = e.sys.refTime
		s.SystemPeer = e.sys.peer.key
		s.SystemPeerAddr = e.sys.peer.addr
	} else if e.cfg.LocalStratum > 0 {
		s.Leap, s.Stratum, s.Reference = packet.LeapNone, e.cfg.LocalStratum, "LOCL"
		s.ReferenceID = 0x4c4f434c
	}
	return s
}

func refIDText(id uint32, peer netip.Addr) string {
	if peer.Unmap().Is4() {
		return netip.AddrFrom4([4]byte{byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}).String()
	}
	return packet.RefIDString(id)
}

// AssociationStatus is the state of one association as
// /ntp/sessions/session and `display ntp sessions` show it (the YANG and the
// CLI keep VRP's word, session; the engine's is association).
type AssociationStatus struct {
	Key        string
	Address    netip.AddrPort
	VPN        string
	LocalMode  string // symmetric-active, symmetric-passive, client
	Configured bool
	Preempt    bool
	Prefer     bool
	KeyID      uint32
	Reach      uint8
	Stratum    uint8
	Poll       int8          // host poll exponent
	PeerPoll   int8          // peer's poll exponent
	Now        time.Duration // since the last valid packet; -1 if none
	Offset     time.Duration // filter offset corrected for our own slewing since
	Delay      time.Duration
	Dispersion time.Duration
	Jitter     time.Duration
	RootDelay  time.Duration
	RootDisp   time.Duration
	RefID      uint32
	Selection  string // sys.peer, candidate, outlier, falseticker, reject
	// SelectionReason says why the association is not a candidate
	// (Selection reject, falseticker or outlier), "" when it is one.
	SelectionReason string
	LastError       string
	Stopped         bool // demobilized by KoD or preempted (see LastError)
	Filter          [nstage]filterSample
	// LocalAddress is our address as the peer sees it: the destination
	// of its last authentic packet (invalid until one arrives).
	LocalAddress netip.Addr
	Counts       PacketCounts
	// Interleaved tells that the peer's last valid packet was in
	// interleaved mode (RFC 9769): its transmit timestamp is when its
	// previous packet really left.
	Interleaved bool
	// TxSource says how the departure of our last packet was taken
	// (kernel, user-space; empty: not reported, the engine's own time).
	TxSource TxSource
}

// PacketCounts are an association's packet counters. They survive a
// restart of the association (preemption retry), not a change of its
// configuration (a new association).
type PacketCounts struct {
	// Sent counts the packets the engine handed to the caller to send.
	Sent uint64
	// Received counts the packets of the peer that passed the access and
	// authentication tests, whatever the later tests said.
	Received uint64
	// AuthErrors counts packets that failed the authentication test
	// (RFC 5905 §8 / A.5.1 AUTH: no MAC, a wrong key, a bad digest).
	AuthErrors uint64
	// The RFC 5905 §8 packet tests that failed, among Received (Denied:
	// the access test, before authentication).
	Duplicate uint64 // the transmit timestamp was seen before
	Bogus     uint64 // the origin timestamp is not our last transmit
	Invalid   uint64 // zero transmit timestamp, root distance or reference time out of range
	Unsync    uint64 // the peer is unsynchronized (leap 3 or stratum 16)
	Denied    uint64 // the source is denied (access test)
	KoD       uint64 // Kiss-o'-Death packets received
	// Interleaved counts the packets of the peer in interleaved form
	// (RFC 9769) that passed the packet tests.
	Interleaved uint64
}

// Associations returns the status of every association, configured ones first in
// configuration order, at clock time now.
func (e *Engine) Associations(now time.Time) []AssociationStatus {
	t := math.Max(e.t(now), e.now)
	out := make([]AssociationStatus, 0, len(e.assocs))
	for _, a := range e.assocs {
		s := AssociationStatus{
			Key: a.key, Address: a.addr, VPN: a.vpn, LocalMode: a.localMode(),
			Configured: !a.ephemeral, Preempt: a.cfg.Preempt, Prefer: a.cfg.Prefer, KeyID: a.keyID,
			Reach: a.reach, Stratum: a.stratum, Poll: a.hpoll, PeerPoll: a.ppoll, Now: -1,
			Selection: a.status, SelectionReason: a.selReason, LastError: a.lastError, Stopped: a.stopped, Filter: a.filter.Stages,
			RootDelay: secs(a.rootDelay), RootDisp: secs(a.rootDisp), RefID: a.refID,
			LocalAddress: a.localAddr, Counts: a.counts,
			Interleaved: a.rxInterleaved, TxSource: a.localTxSource,
		}
		if a.heard {
			s.Now = secs(t - a.lastRx)
		}
		if a.filter.valid > 0 {
			s.Offset = secs(e.offsetNow(a, t))
			s.Delay = secs(a.filter.Delay)
			s.Dispersion = secs(a.filter.Dispersion + phi*math.Max(0, t-a.filter.t))
			s.Jitter = secs(a.filter.Jitter)
		}
		out = append(out, s)
	}
	return out
}

// UnsyncReason says why the clock is not synchronized (Status.UnsyncReason);
// "" when it is.
type UnsyncReason string

// The reasons, from the least to the most advanced stage of
// synchronization they stand for. When selection finds no candidate, the
// reason is that of the association that came furthest (the largest in
// this order).
const (
	// UnsyncNoSources: no association is configured or mobilized.
	UnsyncNoSources UnsyncReason = "no-sources"
	// UnsyncUnreachable: no source has answered in the last eight polls
	// (RFC 5905 §13 reach register).
	UnsyncUnreachable UnsyncReason = "no-reachable-sources"
	// UnsyncSourcesUnsynchronized: every reachable source is itself
	// unsynchronized (leap 3 or stratum 16, RFC 5905 §7.3).
	UnsyncSourcesUnsynchronized UnsyncReason = "sources-unsynchronized"
	// UnsyncAcquiring: sources answer, but their clock filters are still
	// filling (RFC 5905 §10) or the discipline is still measuring the
	// frequency (§11.3) or a clock step was just made.
	UnsyncAcquiring UnsyncReason = "acquiring"
	// UnsyncDistance: every source with full clock filter has a root
	// distance above MAXDIST (RFC 5905 §11.2 fitness test).
	UnsyncDistance UnsyncReason = "root-distance-exceeded"
	// UnsyncUnauthenticated: the only sources that would qualify fail
	// authentication (an untrusted key) or are unauthenticated
	// ephemeral passive peers, which Config.AllowUnauthenticatedPassive
	// keeps out of selection.
	UnsyncUnauthenticated UnsyncReason = "unauthenticated"
	// UnsyncTimingLoop: the only sources that would qualify are
	// synchronized to this system (RFC 5905 §11.2.1 stratum/refid loop
	// test): following them would make a timing loop.
	UnsyncTimingLoop UnsyncReason = "timing-loop"
	// UnsyncNoMajority: candidates exist but no majority of them agree
	// (RFC 5905 §11.2.1): each is a falseticker to the others, and the
	// clock is not steered by any.
	UnsyncNoMajority UnsyncReason = "no-majority"
	// UnsyncPanic: the offset exceeds the panic threshold (RFC 5905
	// §11.3 PANICT); the discipline does not steer the clock.
	UnsyncPanic UnsyncReason = "panic"
)
