package ntpengine

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine/auth"
	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// pollExponents runs the poll process of an unreachable association n
// times and returns its poll exponent after each poll.
func pollExponents(e *Engine, a *association, n int) []int8 {
	var out []int8
	t := a.nextdate
	for i := 0; i < n; i++ {
		a.burst, a.bursted = 0, true // no initial burst in these tests
		e.poll(a, t)
		out = append(out, a.hpoll)
		t = a.nextdate
	}
	return out
}

// TestUnsyncPollCap: unsync max-poll-interval / dec-step (while unsynchronized
// no association polls slower than 2^max-poll-interval; each poll without
// synchronization lowers the exponent by dec-step, down to minpoll).
func TestUnsyncPollCap(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		start  int8
		synced bool
		want   []int8
	}{
		{"unsynchronized: capped, then dec-step per poll down to minpoll",
			Config{UnsyncMaxPoll: 8, UnsyncDecStep: 1}, 10, false, []int8{8, 7, 6, 5, 4, 4}},
		{"dec-step 2", Config{UnsyncMaxPoll: 9, UnsyncDecStep: 2}, 10, false, []int8{8, 6, 4, 4}},
		{"unset: poll unchanged while unreachable (below the unreach threshold)", Config{}, 10, false, []int8{10, 10, 10}},
		{"synchronized: no cap", Config{UnsyncMaxPoll: 8, UnsyncDecStep: 1}, 10, true, []int8{10, 10, 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Peers = []PeerConfig{{Key: "p1", Address: peerAddr, MinPoll: 4, MaxPoll: 10}}
			e := mustNew(t, cfg)
			a := e.assocs[0]
			a.hpoll = tc.start
			if tc.synced {
				other := &association{key: "sys"}
				e.sys.peer, e.sys.synced = other, true
			}
			if got := pollExponents(e, a, len(tc.want)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("poll exponents %v, want %v", got, tc.want)
			}
		})
	}
}

// TestReachAndBackoff: RFC 5905 §13 reach register and unreachable back-off.
func TestReachAndBackoff(t *testing.T) {
	e := mustNew(t, Config{Peers: []PeerConfig{{Key: "p1", Address: peerAddr, MinPoll: 6, MaxPoll: 8}}})
	a := e.assocs[0]
	a.reach = 0xff
	got := pollExponents(e, a, 8+unreachLim+3)
	if a.reach != 0 {
		t.Errorf("reach %08b after 8+ silent polls", a.reach)
	}
	if got[7+unreachLim-1] != 6 || got[7+unreachLim] != 7 || got[len(got)-1] != 8 {
		t.Errorf("RFC5905 §13 back-off after UNREACH polls: %v", got)
	}
}

// TestSporadicSourceKeepsBackedOffPoll: a source heard again after being
// unreachable that is silent at the next poll keeps the poll it had backed
// off to (RFC 5905 §13 unreach) once the discipline holds the frequency,
// and gets no iburst; one that answers two polls running is reachable
// again and polls at the system poll.
func TestSporadicSourceKeepsBackedOffPoll(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answers  bool // the poll after the reply is answered
		sync     bool // the discipline holds the frequency
		want     int8
		resuming bool
	}{
		{"silent after one reply: back-off resumed", false, true, 10, true},
		{"answers two polls running: reachable again", true, true, 6, false},
		{"frequency not yet known: system poll", false, false, 6, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustNew(t, Config{Peers: []PeerConfig{{Key: "p1", Address: peerAddr, MinPoll: 6, MaxPoll: 10, IBurst: true}}})
			a := e.assocs[0]
			if tc.sync {
				e.disc.state = stateSYNC
			}
			a.hpoll, a.reach, a.bursted = 10, 0, true
			e.heard(a, 1000) // a reply after the register emptied
			if a.hpoll != a.minPoll || a.resumePoll != 10 {
				t.Fatalf("heard again: poll %d (want the minimum), resume %d", a.hpoll, a.resumePoll)
			}
			e.poll(a, a.nextdate)
			if tc.answers {
				e.heard(a, a.outdate+0.1)
			}
			e.poll(a, a.nextdate)
			if a.hpoll != tc.want || (a.resumePoll != 0) != tc.resuming {
				t.Errorf("poll %d resume %d, want poll %d (resuming %v)", a.hpoll, a.resumePoll, tc.want, tc.resuming)
			}
			// The register empties again: no iburst to a sporadic source.
			for a.reach != 0 {
				e.poll(a, a.nextdate)
			}
			if tc.resuming && a.burst != 0 {
				t.Errorf("iburst of %d packets to a sporadic source", a.burst)
			}
		})
	}
}

// TestInitialBurst: RFC 5905 §13 iburst, 8 packets 2 s apart, and one more
// for every reply lost, up to 16; burst, 8 packets at every poll; neither
// unless configured.
func TestInitialBurst(t *testing.T) {
	all := func(int) bool { return true }
	for _, tc := range []struct {
		name          string
		iburst, burst bool
		answer        func(i int) bool // whether the i-th packet (from 0) is answered
		end           float64          // s simulated
		want          int
	}{
		{"RFC5905 §13 iburst, every packet answered: BCOUNT packets", true, false, all, 60, burstCount},
		{"RFC5905 §13 iburst, no reply: one more packet per lost reply, at most 16", true, false, func(int) bool { return false }, 60, burstMax},
		{"RFC5905 §13 iburst, every third reply lost: 8 answers in 11 packets", true, false, func(i int) bool { return i%3 != 2 }, 60, 11},
		{"RFC5905 §13 no iburst: one packet per poll from the start", false, false, all, 140, 3},
		{"RFC5905 §13 burst: BCOUNT packets at every poll once reachable", false, true, all, 140, 1 + burstCount},
		{"RFC5905 §13 iburst and burst: a burst at start and at every poll", true, true, all, 140, 2 * burstCount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc := peerCfg(AssocClient)
			pc.IBurst, pc.Burst = tc.iburst, tc.burst
			e := mustNew(t, Config{Peers: []PeerConfig{pc}})
			var times []float64
			for s := 0.0; s < tc.end; s++ {
				for _, o := range e.Tick(at(s)).Packets {
					req, err := packet.Unmarshal(o.Data)
					if err != nil {
						t.Fatal(err)
					}
					if tc.answer(len(times)) {
						deliver(e, serverReply(req, packet.ModeServer, s, 0, 0.001), s+0.002, nil)
					}
					times = append(times, s)
				}
			}
			spacing := burstInterval
			if !tc.iburst {
				spacing = 64 // minpoll 6
			}
			if len(times) != tc.want || times[1]-times[0] != spacing {
				t.Errorf("transmissions at %v, want %d", times, tc.want)
			}
		})
	}
}

// TestPreempt: preemptible associations (demobilized when unreachable or
// repeatedly rejected while more than maxclock exist; persistent ones never).
func TestPreempt(t *testing.T) {
	mk := func(preempt bool) *Engine {
		return mustNew(t, Config{MaxClock: 1, Peers: []PeerConfig{
			{Key: "a", Address: netip.MustParseAddrPort("192.0.2.1:123"), Preempt: preempt},
			{Key: "b", Address: netip.MustParseAddrPort("192.0.2.2:123")},
		}})
	}
	run := func(e *Engine, from, to float64) []Event {
		var ev []Event
		for s := from; s < to; s++ {
			ev = append(ev, e.Tick(at(s)).Events...)
		}
		return ev
	}
	has := func(ev []Event, k EventKind, key string) bool {
		for _, x := range ev {
			if x.Kind == k && x.AssocKey == key {
				return true
			}
		}
		return false
	}
	t.Run("unreachable preemptible association demobilized above maxclock", func(t *testing.T) {
		e := mk(true)
		ev := run(e, 0, 64*(unreachLim+4))
		if !has(ev, EventPreempt, "a") || !session(t, e, "a").Stopped {
			t.Fatal("not preempted")
		}
		if session(t, e, "b").Stopped || has(ev, EventPreempt, "b") {
			t.Error("persistent association preempted")
		}
		// A configured peer comes back after the back-off.
		ev = run(e, 64*(unreachLim+4), 64*(unreachLim+4)+1100)
		if !has(ev, EventRetry, "a") {
			t.Error("no retry after back-off")
		}
	})
	t.Run("persistent associations are never demobilized", func(t *testing.T) {
		e := mk(false)
		ev := run(e, 0, 64*(unreachLim+10))
		if has(ev, EventPreempt, "a") || has(ev, EventPreempt, "b") {
			t.Error("persistent association preempted")
		}
	})
	t.Run("not above maxclock: kept", func(t *testing.T) {
		e := mustNew(t, Config{MaxClock: 2, Peers: []PeerConfig{
			{Key: "a", Address: netip.MustParseAddrPort("192.0.2.1:123"), Preempt: true},
			{Key: "b", Address: netip.MustParseAddrPort("192.0.2.2:123")},
		}})
		if has(run(e, 0, 64*(unreachLim+4)), EventPreempt, "a") {
			t.Error("preempted at maxclock")
		}
	})
	t.Run("repeatedly rejected by selection: demobilized", func(t *testing.T) {
		e := mk(true)
		a := assoc(e, "a")
		a.reach, a.rejectCount = 0xff, preemptRejects
		a.burst, a.bursted = 0, true
		e.poll(a, a.nextdate)
		if !a.stopped {
			t.Error("not preempted")
		}
	})
}

// TestReconfigure: unchanged associations keep their state, changed ones
// restart, removed ones stop, new ones start; bad config changes nothing.
func TestReconfigure(t *testing.T) {
	pa := PeerConfig{Key: "a", Address: netip.MustParseAddrPort("192.0.2.1:123"), Mode: AssocClient}
	pb := PeerConfig{Key: "b", Address: netip.MustParseAddrPort("192.0.2.2:123"), Mode: AssocClient}
	pc := PeerConfig{Key: "c", Address: netip.MustParseAddrPort("192.0.2.3:123"), Mode: AssocClient}
	e := mustNew(t, Config{Peers: []PeerConfig{pa, pb}})
	assoc(e, "a").reach = 0x0f
	assoc(e, "b").reach = 0x0f
	pb2 := pb
	pb2.MaxPoll = 12
	r, err := e.Reconfigure(Config{Peers: []PeerConfig{pa, pb2, pc}}, at(100))
	if err != nil {
		t.Fatal(err)
	}
	if assoc(e, "a").reach != 0x0f {
		t.Error("unchanged association lost its state")
	}
	if assoc(e, "b").reach != 0 || assoc(e, "b").maxPoll != 12 {
		t.Error("changed association not restarted")
	}
	if assoc(e, "c") == nil || len(r.Events) != 3 {
		t.Errorf("events %+v", r.Events)
	}
	if _, err := e.Reconfigure(Config{Peers: []PeerConfig{pc}}, at(101)); err != nil || len(e.assocs) != 1 {
		t.Errorf("removal: %v, %d associations", err, len(e.assocs))
	}
	bad := Config{Peers: []PeerConfig{pc, pc}}
	if _, err := e.Reconfigure(bad, at(102)); !errorsIs(err, ErrConfig) || len(e.assocs) != 1 {
		t.Errorf("bad config: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := PeerConfig{Key: "a", Address: peerAddr}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"empty key", Config{Peers: []PeerConfig{{Address: peerAddr}}}},
		{"duplicate key", Config{Peers: []PeerConfig{ok, ok}}},
		{"no address", Config{Peers: []PeerConfig{{Key: "a"}}}},
		{"multicast address", Config{Peers: []PeerConfig{{Key: "a", Address: netip.MustParseAddrPort("224.0.1.1:123")}}}},
		{"version 5", Config{Peers: []PeerConfig{{Key: "a", Address: peerAddr, Version: 5}}}},
		{"minpoll > maxpoll", Config{Peers: []PeerConfig{{Key: "a", Address: peerAddr, MinPoll: 9, MaxPoll: 8}}}},
		{"maxpoll 18", Config{Peers: []PeerConfig{{Key: "a", Address: peerAddr, MaxPoll: 18}}}},
		{"unknown key id", Config{Peers: []PeerConfig{{Key: "a", Address: peerAddr, KeyID: 9}}}},
		{"max-poll-interval without dec-step", Config{UnsyncMaxPoll: 8}},
		{"local stratum 16", Config{LocalStratum: 16}},
		{"bad key", Config{Keys: []auth.Key{{ID: 0}}}},
		{"negative max slew rate", Config{MaxSlewRate: -1}},
		{"max slew rate above 500,000 ppm", Config{MaxSlewRate: 500001}},
		{"max slew rate NaN", Config{MaxSlewRate: math.NaN()}},
		{"make-step threshold negative", Config{MakeStep: MakeStep{Threshold: -0.01, Updates: 1}}},
		{"make-step threshold NaN", Config{MakeStep: MakeStep{Threshold: math.NaN(), Updates: 1}}},
		{"make-step updates without threshold", Config{MakeStep: MakeStep{Updates: 3}}},
		{"make-step updates below -1", Config{MakeStep: MakeStep{Threshold: 0.01, Updates: -2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg, t0); !errorsIs(err, ErrConfig) {
				t.Errorf("New = %v", err)
			}
		})
	}
}

var _ = packet.HeaderLen

// TestNextDeadline: ticking at NextDeadline is enough to run every poll.
func TestNextDeadline(t *testing.T) {
	e := mustNew(t, Config{Peers: []PeerConfig{peerCfg(AssocClient)}})
	now := t0
	sent := 0
	for i := 0; i < 50; i++ {
		next := e.NextDeadline()
		if !next.After(now) && i > 0 {
			t.Fatalf("deadline %v not after %v", next, now)
		}
		now = next
		sent += len(e.Tick(now).Packets)
	}
	// Every deadline but the first (the initial frequency command) is a
	// poll: the burst, then the poll interval backing off to maxpoll.
	if sent < 48 || now.Sub(t0) > 50*1024*time.Second {
		t.Errorf("%d packets by %v", sent, now.Sub(t0))
	}
}

// TestBurstAfterStep: RFC 5905 A.5.5.4 clears every association after a
// step; one configured with iburst starts again with its initial burst, so
// that its filter refills in seconds, not in four poll intervals, but no
// sooner than the burst's spacing after its last packet; one without
// iburst keeps polling at its poll interval. (The textbook discipline
// steps at its first sample; the default one measures the frequency
// first and keeps the filters across that step: startup.go.)
func TestBurstAfterStep(t *testing.T) {
	for _, iburst := range []bool{true, false} {
		pc := peerCfg(AssocClient)
		pc.IBurst, pc.MinPoll, pc.MaxPoll = iburst, 4, 4
		e := mustNew(t, Config{Peers: []PeerConfig{pc}, Discipline: DisciplineRFC})
		clk := 0.0 // our clock's error after the step (s)
		stepped := -1.0
		var after []float64
		for s := 0.0; s < 400; s++ {
			r := e.Tick(at(s + clk))
			for _, o := range r.Packets {
				req, err := packet.Unmarshal(o.Data)
				if err != nil {
					t.Fatal(err)
				}
				if stepped >= 0 {
					after = append(after, s)
				}
				// The server is 100 s ahead of our clock until the step.
				rd := deliver(e, serverReply(req, packet.ModeServer, s+clk, 100-clk, 0.001), s+clk+0.002, nil)
				for _, c := range rd.Clock {
					if c.Op == ClockStep {
						clk += c.Step.Seconds()
						stepped = s
					}
				}
			}
		}
		if stepped < 0 {
			t.Fatalf("iburst %v: no step", iburst)
		}
		switch {
		case len(after) < 2:
			t.Errorf("iburst %v: stepped at %v; transmissions after: %v", iburst, stepped, after)
		case iburst && (len(after) < burstCount || after[1]-after[0] != burstInterval || after[0]-stepped > 2):
			t.Errorf("iburst: stepped at %v; transmissions after: %v, want a burst of %d 2 s apart", stepped, after, burstCount)
		case !iburst && after[1]-after[0] != 16:
			t.Errorf("no iburst: stepped at %v; transmissions after: %v, want one per 16 s poll", stepped, after)
		}
	}
}

// TestPollSeparation: polls of different associations are at least
// pollSeparation apart, even when their bursts start together (chrony's
// sampling separation; its simulation tests require 0.18 s).
func TestPollSeparation(t *testing.T) {
	var peers []PeerConfig
	for i := range 5 {
		peers = append(peers, PeerConfig{Key: "p" + string(rune('a'+i)), Mode: AssocClient, IBurst: true,
			Address: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i)}), 123)})
	}
	e := mustNew(t, Config{Peers: peers})
	for _, a := range e.assocs {
		a.nextdate = 1 // all due at once
	}
	now := at(0)
	var times []time.Duration
	for i := 0; i < 200 && now.Sub(t0) < 60*time.Second; i++ {
		now = e.NextDeadline()
		for range e.Tick(now).Packets {
			times = append(times, now.Sub(t0))
		}
	}
	if len(times) < 5*burstCount {
		t.Fatalf("%d packets", len(times))
	}
	for i := 1; i < len(times); i++ {
		if gap := times[i] - times[i-1]; gap < time.Duration(pollSeparation*1e9)-time.Microsecond {
			t.Fatalf("packets %d and %d %v apart: %v", i-1, i, gap, times)
		}
	}
}

// TestBurstAfterStepKeepsItsSpacing: the burst that follows a step (RFC
// 5905 A.5.5.4 clears the associations; IBurst starts them again) comes a
// second after the step, but never sooner than the burst's spacing after
// the packet before it, so that a step right after a send does not put
// two packets a second apart (chrony's tests require 1.8 s between a
// client's packets).
func TestBurstAfterStepKeepsItsSpacing(t *testing.T) {
	pc := peerCfg(AssocClient)
	pc.IBurst, pc.MinPoll, pc.MaxPoll = true, 4, 4
	e := mustNew(t, Config{Peers: []PeerConfig{pc}, Discipline: DisciplineRFC})
	clk := 0.0 // clock − true time, s
	var sent []float64
	stepIndex := -1
	for i := 0; i < 100; i++ {
		now := e.NextDeadline()
		s := now.Sub(t0).Seconds() - clk // true time
		if s > 60 {
			break
		}
		for _, o := range e.Tick(now).Packets {
			sent = append(sent, s)
			req, err := packet.Unmarshal(o.Data)
			if err != nil {
				t.Fatal(err)
			}
			// The server is 100 s ahead until the step; its reply takes 2 ms.
			rd := deliver(e, serverReply(req, packet.ModeServer, s+clk, 100-clk, 0.001), s+clk+0.002, nil)
			for _, c := range rd.Clock {
				if c.Op == ClockStep {
					clk += c.Step.Seconds()
					stepIndex = len(sent) - 1
				}
			}
		}
	}
	if stepIndex < 0 || stepIndex+1 >= len(sent) {
		t.Fatalf("no step followed by packets: %v", sent)
	}
	if gap := sent[stepIndex+1] - sent[stepIndex]; gap < burstInterval-1e-6 {
		t.Errorf("the burst after the step left %.3f s after the packet before it, want at least %v s (sent at %v)", gap, burstInterval, sent)
	}
}

// TestActivePeersKeepPollsApart: two symmetric active peers whose polls
// fall 50 ms apart (both started with the same random first poll, one 50
// ms later) move apart to about half a poll interval (keepPhaseApart):
// polls that nearly coincide make crossing or closely following packets,
// bogus (RFC 5905 §8) or useless for interleaved mode (RFC 9769 §4). Each
// side then gets a valid packet at every poll of the other.
func TestActivePeersKeepPollsApart(t *testing.T) {
	aAddr, bAddr := ourAddr, peerAddr
	cfg := func(key string, addr netip.AddrPort) Config {
		return Config{LocalStratum: 1, Rand: rand.New(rand.NewPCG(5, 5)),
			Peers: []PeerConfig{{Key: key, Address: addr, MinPoll: 4, MaxPoll: 4}}}
	}
	a, err := New(cfg("b", bAddr), t0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(cfg("a", aAddr), at(0.05))
	if err != nil {
		t.Fatal(err)
	}
	w := testWire{oneWay: 1e-3}
	var flying []inFlight
	var sentA, sentB []float64
	const step, duration = 0.005, 400.0
	for now := 0.0; now < duration; now += step {
		var due []inFlight
		due, flying = arrived(flying, now)
		for _, f := range due {
			e := a
			if f.dst == bAddr {
				e = b
			}
			for _, o := range e.Handle(Incoming{Data: f.data, Src: f.src, Dst: f.dst, RxTime: at(f.arrive)}).Packets {
				flying = append(flying, w.send(e, o, f.dst, f.arrive))
			}
		}
		for _, o := range a.Tick(at(now)).Packets {
			flying = append(flying, w.send(a, o, aAddr, now))
			sentA = append(sentA, now)
		}
		for _, o := range b.Tick(at(now)).Packets {
			flying = append(flying, w.send(b, o, bAddr, now))
			sentB = append(sentB, now)
		}
	}
	// From the second half of the run on, b's packets fall between
	// a quarter and three quarters of a's poll interval after a's.
	const interval = 16.0
	for _, ta := range sentA {
		if ta < duration/2 {
			continue
		}
		for _, tb := range sentB {
			if gap := tb - ta; gap >= 0 && gap < interval && (gap < interval/4 || gap > 3*interval/4) {
				t.Errorf("a polled at %.2f s, b %.2f s later (poll interval %.0f s)", ta, gap, interval)
			}
		}
	}
	for _, s := range []AssociationStatus{session(t, a, "b"), session(t, b, "a")} {
		if s.Counts.Bogus > 2 {
			t.Errorf("%s: %d bogus packets of %d", s.Key, s.Counts.Bogus, s.Counts.Received)
		}
	}
}

// TestFirstPollToServerAtOnce: RFC 5905 §13 starts the poll process at
// mobilization, and a server is polled at once (several start together
// are spread by pollSeparation); a symmetric active peer first polls 1 to
// 3 s after the start (firstPoll: peers started together must not poll
// in lockstep).
func TestFirstPollToServerAtOnce(t *testing.T) {
	e := mustNew(t, Config{Peers: []PeerConfig{
		{Key: "s1", Address: peerAddr, Mode: AssocClient},
		{Key: "s2", Address: otherSrc, Mode: AssocClient},
		{Key: "p", Address: netip.MustParseAddrPort("192.0.2.9:123"), Mode: AssocSymmetric},
	}})
	first := map[string]float64{}
	for now := 0.0; now < 4; now += 0.1 {
		for _, o := range e.Tick(at(now)).Packets {
			if _, ok := first[o.AssocKey]; !ok {
				first[o.AssocKey] = now
			}
		}
	}
	if first["s1"] > 0.05 || first["s2"] > pollSeparation+0.15 {
		t.Errorf("first polls of the servers at %.1f s and %.1f s, want at once and one separation later", first["s1"], first["s2"])
	}
	if p, ok := first["p"]; !ok || p < 1 || p > 3.1 {
		t.Errorf("first poll of the symmetric peer at %.1f s (sent %v), want 1..3 s", p, ok)
	}
}

// TestActivePeerAnsweredStatelesslyKeepsItsPollInterval: a symmetric
// active association whose peer answers each poll at once in mode 2
// without an association of its own (as chronyd does) keeps its poll
// interval: the replies follow our polls within the round trip, which
// keepPhaseApart must not take for the peer's own coinciding polls.
func TestActivePeerAnsweredStatelesslyKeepsItsPollInterval(t *testing.T) {
	pc := peerCfg(AssocSymmetric)
	pc.MinPoll, pc.MaxPoll = 4, 4
	e := mustNew(t, Config{Peers: []PeerConfig{pc}})
	var times []float64
	for s := 0.0; s < 400; s += 0.5 {
		for _, o := range e.Tick(at(s)).Packets {
			req, err := packet.Unmarshal(o.Data)
			if err != nil {
				t.Fatal(err)
			}
			h := serverReply(req, packet.ModeSymmetricPassive, s, 0, 0.001)
			h.Poll = req.Poll // a stateless answer carries the request's poll
			deliver(e, h, s+0.002, nil)
			times = append(times, s)
		}
	}
	if len(times) < 10 {
		t.Fatalf("only %d polls in 400 s: %v", len(times), times)
	}
	for i := 1; i < len(times); i++ {
		if gap := times[i] - times[i-1]; gap < 16 {
			t.Errorf("poll %d came %.1f s after the one before (poll interval 16 s): %v", i, gap, times)
			break
		}
	}
}

// An engine started without peers and then given one (as the daemon
// applies running to the engine it started) polls it as one started
// with it: at its minimum poll once the start burst is over (RFC 5905
// A.5.5.6), not at the minimum of the defaults it was started with.
func TestPeersConfiguredAfterTheStartPollAtTheirMinimum(t *testing.T) {
	peer := PeerConfig{Key: "p1", Address: peerAddr, Mode: AssocClient, MinPoll: 4, MaxPoll: 6}
	for _, tc := range []struct {
		name  string
		start Config
	}{
		{"started with the peer", Config{Peers: []PeerConfig{peer}}},
		{"started empty, then configured", Config{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustNew(t, tc.start)
			if _, err := e.Reconfigure(Config{Peers: []PeerConfig{peer}}, at(0)); err != nil {
				t.Fatal(err)
			}
			if got := e.Status(at(0)).Poll; got != 4 {
				t.Fatalf("system poll %d before any update, want the peer's minimum 4", got)
			}
			// Every poll answered: once the peer is reachable its
			// poll follows the system's, which must be the minimum
			// (16 s) and not the default's 64 s.
			var times []float64
			from := 0.0
			for range 10 {
				req, _, s := pollOnce(t, e, from)
				deliver(e, serverReply(req, packet.ModeServer, s, 0, 0.001), s+0.002, nil)
				times = append(times, s)
				from = s + 1
			}
			for i := 1; i < len(times); i++ {
				if gap := times[i] - times[i-1]; gap > 16.5 {
					t.Fatalf("polls at %v: %.0f s apart, want at most 16 s (minpoll 4)", times, gap)
				}
			}
		})
	}
}
