package ntpengine

import (
	"crypto/md5"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

func TestClockFilter(t *testing.T) {
	t.Run("RFC5905 §10 minimum delay sample chosen", func(t *testing.T) {
		f := newClockFilter()
		for i, s := range []struct{ off, delay float64 }{{0.010, 0.050}, {0.002, 0.020}, {0.007, 0.090}} {
			f.add(filterSample{T: float64(i * 64), Offset: s.off, Delay: s.delay, Dispersion: 1e-6}, 1e-6, 0)
		}
		if f.Offset != 0.002 || f.Delay != 0.020 || f.BestT != 64 || f.valid != 3 {
			t.Errorf("offset %v delay %v bestT %v valid %d", f.Offset, f.Delay, f.BestT, f.valid)
		}
		// Jitter: RMS of differences to the chosen offset over m-1.
		want := math.Sqrt(((0.007-0.002)*(0.007-0.002) + (0.010-0.002)*(0.010-0.002)) / 2)
		if math.Abs(f.Jitter-want) > 1e-12 {
			t.Errorf("jitter %v want %v", f.Jitter, want)
		}
		// Dispersion: Σ disp_i / 2^(i+1) with empty stages at MAXDISP.
		if f.Dispersion < maxDisp/16 || f.Dispersion > maxDisp/8 {
			t.Errorf("dispersion %v", f.Dispersion)
		}
	})
	t.Run("RFC5905 §10 stages age by PHI per second", func(t *testing.T) {
		f := newClockFilter()
		f.add(filterSample{T: 0, Delay: 0.01, Dispersion: 0.001}, 1e-6, 0)
		f.add(filterSample{T: 1000, Delay: 0.02, Dispersion: 0.001}, 1e-6, 0)
		if got := f.Stages[1].Dispersion; math.Abs(got-(0.001+phi*1000)) > 1e-12 {
			t.Errorf("aged dispersion %v", got)
		}
	})
	t.Run("RFC5905 §10 eight stages, oldest shifted out", func(t *testing.T) {
		f := newClockFilter()
		for i := 0; i < 10; i++ {
			f.add(filterSample{T: float64(i), Offset: float64(i), Delay: 0.01 + float64(i)*1e-3, Dispersion: 1e-6}, 1e-6, 0)
		}
		if f.valid != nstage || f.Offset != 2 {
			t.Errorf("valid %d offset %v (samples 0 and 1 must be gone)", f.valid, f.Offset)
		}
	})
	dummy := func(f *clockFilter, t float64) {
		f.add(filterSample{T: t, Delay: maxDisp, Dispersion: maxDisp}, 1e-6, 0)
	}
	t.Run("dummy stages never leave fewer than three samples (departs from A.5.7.1)", func(t *testing.T) {
		// A server answering one poll in 20: five dummy stages per
		// sample would leave at most two samples in the RFC's register.
		f := newClockFilter()
		for i := 0; i < 4; i++ {
			t0 := float64(i) * 20 * 64
			f.add(filterSample{T: t0, Offset: float64(i) * 1e-4, Delay: 0.01, Dispersion: 1e-6}, 1e-6, 0)
			for k := 3; k <= 7; k++ {
				dummy(&f, t0+float64(k)*64)
			}
			if want := min(i+1, startSamples); f.valid != want {
				t.Fatalf("after sample %d and its dummy stages: %d samples, want %d", i+1, f.valid, want)
			}
		}
		if f.Stages[0].Dispersion < maxDisp {
			t.Errorf("the newest stage is a sample, want the last dummy stage: %+v", f.Stages[0])
		}
	})
	t.Run("RFC5905 A.5.7.1 dummy stages push samples out of a fuller filter, down to three", func(t *testing.T) {
		f := newClockFilter()
		for i := 0; i < nstage; i++ {
			f.add(filterSample{T: float64(i), Delay: 0.01, Dispersion: 1e-6}, 1e-6, 0)
		}
		for k := 0; k < 4; k++ {
			dummy(&f, float64(nstage+k))
		}
		if f.valid != nstage-4 {
			t.Errorf("%d samples after 4 dummy stages, want %d", f.valid, nstage-4)
		}
		for k := 0; k < 4; k++ {
			dummy(&f, float64(nstage+4+k))
		}
		if f.valid != startSamples {
			t.Errorf("%d samples after 8 dummy stages, want %d", f.valid, startSamples)
		}
	})
	t.Run("jitter floor is the precision", func(t *testing.T) {
		f := newClockFilter()
		f.add(filterSample{T: 1, Delay: 0.01, Dispersion: 1e-6}, 1e-3, 0)
		if f.Jitter != 1e-3 {
			t.Errorf("jitter %v", f.Jitter)
		}
	})
}

func cand(name string, off, dist float64) candidate {
	return candidate{a: &association{key: name}, offset: off, dist: dist, jitter: 1e-3, metric: dist}
}

func keys(c []candidate) string {
	s := ""
	for _, x := range c {
		s += x.a.key
	}
	return s
}

// TestIntersection is RFC 5905 §11.2.1 with the figure-23 style examples.
func TestIntersection(t *testing.T) {
	for _, tc := range []struct {
		name  string
		c     []candidate
		trues string
		ok    bool
	}{
		{"RFC5905 §11.2.1 three agreeing", []candidate{cand("A", 0.001, 0.01), cand("B", 0.002, 0.01), cand("C", -0.001, 0.01)}, "ABC", true},
		{"RFC5905 §11.2.1 one falseticker of three", []candidate{cand("A", 0.001, 0.01), cand("B", 0.002, 0.01), cand("C", 0.5, 0.01)}, "AB", true},
		{"RFC5905 §11.2.1 two of four far away: no majority", []candidate{cand("A", 0, 0.01), cand("B", 0.001, 0.01), cand("C", 1, 0.01), cand("D", 1.001, 0.01)}, "", false},
		{"RFC5905 §11.2.1 two disjoint: no majority", []candidate{cand("A", 0, 0.01), cand("B", 1, 0.01)}, "", false},
		{"RFC5905 §11.2.1 two overlapping with midpoints inside", []candidate{cand("A", 0, 0.02), cand("B", 0.005, 0.02)}, "AB", true},
		{"RFC5905 §11.2.1 overlap without the midpoints: both truechimers (the midpoint rule is not kept)", []candidate{cand("A", 0, 0.01), cand("B", 0.015, 0.01)}, "AB", true},
		{"RFC5905 §11.2.1 a wide interval reaching a narrow one: both truechimers", []candidate{cand("A", 0, 0.0003), cand("B", 0.2, 0.5)}, "AB", true},
		{"RFC5905 §11.2.1 single candidate", []candidate{cand("A", 0.3, 0.01)}, "A", true},
		{"RFC5905 §11.2.1 no candidates", nil, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, _, _, ok := intersect(tc.c)
			if ok != tc.ok || keys(tr) != tc.trues {
				t.Errorf("truechimers %q ok %v", keys(tr), ok)
			}
		})
	}
}

// TestCluster is RFC 5905 §11.2.2.
func TestCluster(t *testing.T) {
	five := []candidate{cand("A", 0, 0.01), cand("B", 0.0001, 0.011), cand("C", -0.0001, 0.012), cand("D", 0.004, 0.013), cand("E", -0.005, 0.014)}
	for i := range five {
		five[i].jitter = 1e-4
	}
	t.Run("RFC5905 §11.2.2 outliers cast off down to NMIN", func(t *testing.T) {
		s, out := cluster(five, nil)
		if keys(s) != "ABC" || len(out) != 2 {
			t.Errorf("survivors %q outliers %q", keys(s), keys(out))
		}
	})
	t.Run("RFC5905 §11.2.2 stops when selection jitter below peer jitter", func(t *testing.T) {
		c := append([]candidate(nil), five...)
		for i := range c {
			c[i].jitter = 0.1
		}
		if s, _ := cluster(c, nil); len(s) != 5 {
			t.Errorf("survivors %q", keys(s))
		}
	})
	t.Run("the only source at the lowest stratum never cast off", func(t *testing.T) {
		// Four stratum-3 peers agree with each other (they follow one
		// path) 50 µs from the one stratum-1 reference: RFC 5905
		// §11.2.2 alone casts the reference off.
		c := []candidate{cand("R", 0, 1e-4), cand("A", 5e-5, 1e-4), cand("B", 5.1e-5, 1e-4), cand("C", 4.9e-5, 1e-4), cand("D", 5.2e-5, 1e-4)}
		c[0].a.stratum = 1
		for i := range c {
			c[i].jitter = 1e-6
			if i > 0 {
				c[i].a.stratum = 3
			}
		}
		s, _ := cluster(c, nil)
		if len(s) != nmin || !containsKey(s, "R") {
			t.Errorf("survivors %q, want R among %d", keys(s), nmin)
		}
		c[1].a.stratum = 1
		if s, _ := cluster(c, nil); containsKey(s, "R") {
			t.Errorf("survivors %q: R is not alone at stratum 1 and is the outlier", keys(s))
		}
	})
	t.Run("the system peer cast off only reselectDist beyond the others", func(t *testing.T) {
		// Five agreeing sources tens of µs apart: which has the
		// largest selection jitter is noise, and casting off the
		// system peer for it would hop the clock from source to
		// source (A.5.5.1 clock hopping).
		c := []candidate{cand("A", 0, 1e-3), cand("B", 2e-5, 1e-3), cand("C", -2e-5, 1e-3), cand("D", 4e-5, 1e-3), cand("E", -4.5e-5, 1e-3)}
		for i := range c {
			c[i].jitter = 1e-6
		}
		if s, _ := cluster(c, nil); containsKey(s, "E") {
			t.Errorf("survivors %q: E is the outlier", keys(s))
		}
		if s, _ := cluster(c, c[4].a); len(s) != nmin || !containsKey(s, "E") {
			t.Errorf("survivors %q, want the system peer E among %d", keys(s), nmin)
		}
		// A system peer 5 ms from the others is cast off all the same.
		if s, _ := cluster(five, five[4].a); containsKey(s, "E") {
			t.Errorf("survivors %q: the system peer E, 5 ms off, kept", keys(s))
		}
	})
	t.Run("prefer peer never cast off", func(t *testing.T) {
		c := append([]candidate(nil), five...)
		c[4].prefer = true
		s, _ := cluster(c, nil)
		if len(s) != 3 || !containsKey(s, "E") {
			t.Errorf("survivors %q", keys(s))
		}
	})
}

func containsKey(c []candidate, k string) bool {
	for _, x := range c {
		if x.a.key == k {
			return true
		}
	}
	return false
}

// TestCombine is RFC 5905 §11.2.3: offsets weighted by 1/root distance.
func TestCombine(t *testing.T) {
	c := []candidate{cand("A", 0.001, 0.01), cand("B", 0.004, 0.02)}
	off, jit := combine(c, 0)
	want := (0.001/0.01 + 0.004/0.02) / (1/0.01 + 1/0.02)
	if math.Abs(off-want) > 1e-15 {
		t.Errorf("offset %v want %v", off, want)
	}
	wantJ := math.Sqrt((0.003 * 0.003 / 0.02) / (1/0.01 + 1/0.02))
	if math.Abs(jit-wantJ) > 1e-15 {
		t.Errorf("jitter %v want %v", jit, wantJ)
	}
}

// fakePeer installs an association with a filter holding one sample.
func fakePeer(e *Engine, key string, addr string, off, delay float64, stratum uint8, prefer bool) *association {
	p := PeerConfig{Key: key, Address: netip.MustParseAddrPort(addr), Prefer: prefer}
	a := newAssociation(p, 0, 1)
	a.reach, a.leap, a.stratum, a.precision = 1, 0, stratum, -20
	a.filter.add(filterSample{T: 10, Offset: off, Delay: delay, Dispersion: 1e-5}, e.prec, 0)
	for i := 0; i < 7; i++ {
		a.filter.add(filterSample{T: 10 + float64(i+1)*0.001, Offset: off, Delay: delay, Dispersion: 1e-5}, e.prec, 0)
	}
	a.lastUsed = 10
	e.assocs = append(e.assocs, a)
	return a
}

// TestSelectionStatuses runs the whole system process (§11.2) over fake
// associations and checks each status, the system peer and prefer.
func TestSelectionStatuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prefer  string
		sysPeer string
		want    map[string]string
	}{
		{"RFC5905 §11.2 lowest stratum survivor is system peer", "", "B",
			map[string]string{"A": StatusCandidate, "B": StatusSysPeer, "C": StatusCandidate, "F": StatusFalseticker, "U": StatusReject}},
		{"prefer peer is system peer when it survives", "C", "C",
			map[string]string{"A": StatusCandidate, "B": StatusCandidate, "C": StatusSysPeer, "F": StatusFalseticker}},
		{"prefer peer that is a falseticker is not used", "F", "B",
			map[string]string{"B": StatusSysPeer, "F": StatusFalseticker}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustNew(t, Config{})
			e.disc.state = stateSYNC // offsets are taken from the filter
			e.disc.setMode(DisciplineRFC)
			fakePeer(e, "A", "192.0.2.1:123", 0.0010, 0.01, 2, tc.prefer == "A")
			fakePeer(e, "B", "192.0.2.2:123", 0.0012, 0.01, 1, tc.prefer == "B")
			fakePeer(e, "C", "192.0.2.3:123", 0.0015, 0.01, 2, tc.prefer == "C")
			fakePeer(e, "F", "192.0.2.4:123", 0.9, 0.01, 1, tc.prefer == "F")
			u := fakePeer(e, "U", "192.0.2.5:123", 0.001, 0.01, 16, false) // unsynchronized
			u.leap = 3
			e.clockSelect(11)
			if e.sys.peer == nil || e.sys.peer.key != tc.sysPeer {
				t.Fatalf("system peer %v", e.sys.peer)
			}
			for k, want := range tc.want {
				if got := assoc(e, k).status; got != want {
					t.Errorf("%s: %s, want %s", k, got, want)
				}
			}
			if tc.prefer == "C" && math.Abs(e.sys.offset-0.0015) > 1e-9 {
				t.Errorf("prefer offset used alone: %v", e.sys.offset)
			}
		})
	}
}

// TestFitness is one row per fitness rule of RFC 5905 §11.2 (A.5.5.3).
func TestFitness(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(a *association)
		err  error
	}{
		{"RFC5905 §11.2 fit", func(*association) {}, nil},
		{"RFC5905 §11.2 unreachable", func(a *association) { a.reach = 0 }, ErrUnsync},
		{"RFC5905 §11.2 leap 3", func(a *association) { a.leap = 3 }, ErrUnsync},
		{"RFC5905 §11.2 stratum ≥ 16", func(a *association) { a.stratum = 16 }, ErrUnsync},
		{"RFC5905 §11.2 root distance above MAXDIST", func(a *association) { a.rootDelay = 4 }, ErrDistance},
		{"RFC5905 §9.2 unauthenticated ephemeral passive peer (not allowed by default)", func(a *association) { a.ephemeral = true }, ErrAuth},
		{"RFC5905 §11.2 loop: peer's refid is our address", func(a *association) {
			a.localAddr = netip.MustParseAddr("192.0.2.100")
			a.refID = refIDOf(a.localAddr)
		}, ErrUnsync},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustNew(t, Config{})
			a := fakePeer(e, "A", "192.0.2.1:123", 0, 0.01, 2, false)
			tc.mod(a)
			err := e.fit(a, 11)
			if tc.err == nil && err != nil || tc.err != nil && !errorsIs(err, tc.err) {
				t.Errorf("fit = %v, want %v", err, tc.err)
			}
		})
	}
}

// TestUnauthenticatedPassiveAllowed: Config.AllowUnauthenticatedPassive
// lets an unauthenticated ephemeral passive association be fit (RFC 5905
// §9.2, the behaviour before the option existed); one authenticated by a
// trusted key is fit either way.
func TestUnauthenticatedPassiveAllowed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		allow bool
		keyID uint32
		fit   bool
	}{
		{"RFC5905 §9.2 unauthenticated, not allowed", false, 0, false},
		{"RFC5905 §9.2 untrusted key, not allowed", false, 3, false},
		{"RFC5905 §9.2 trusted key", false, 1, true},
		{"RFC5905 §9.2 unauthenticated, allowed", true, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustNew(t, Config{AllowUnauthenticatedPassive: tc.allow, Keys: testKeys})
			a := fakePeer(e, "A", "192.0.2.1:123", 0, 0.01, 2, false)
			a.ephemeral, a.keyID = true, tc.keyID
			if err := e.fit(a, 11); (err == nil) != tc.fit {
				t.Errorf("fit = %v", err)
			}
		})
	}
}

// TestSystemVariables: RFC 5905 §11.2.3 / A.5.5.4 clock_update sets the
// system variables from the system peer, and our packets carry them.
func TestSystemVariables(t *testing.T) {
	e := mustNew(t, Config{})
	e.disc.state = stateSYNC
	a := fakePeer(e, "A", "192.0.2.1:123", 0.0001, 0.01, 2, false)
	a.leap = packet.LeapAdd
	a.rootDelay, a.rootDisp = 0.02, 0.003
	e.clockSelect(11)
	st := e.Status(at(11))
	if !st.Synchronized || st.Leap != packet.LeapAdd || st.Stratum != 3 || st.Reference != "192.0.2.1" {
		t.Fatalf("status %+v", st)
	}
	if st.RootDelay < 30*time.Millisecond-time.Microsecond || st.RootDispersion < 3*time.Millisecond {
		t.Errorf("root delay %v dispersion %v", st.RootDelay, st.RootDispersion)
	}
	h := e.header(11)
	if h.Leap != packet.LeapAdd || h.Stratum != 3 || h.ReferenceID != refIDOf(a.addr.Addr()) {
		t.Errorf("outgoing header %+v", h)
	}
}

func TestRefID(t *testing.T) {
	if got := refIDOf(netip.MustParseAddr("192.0.2.1")); got != 0xc0000201 {
		t.Errorf("IPv4 refid %08x", got)
	}
	// RFC 5905 §7.3: IPv6 refid is the first four octets of the MD5 of
	// the address.
	a := netip.MustParseAddr("2001:db8::1")
	b := a.As16()
	h := md5.Sum(b[:])
	if got := refIDOf(a); got != uint32(h[0])<<24|uint32(h[1])<<16|uint32(h[2])<<8|uint32(h[3]) {
		t.Errorf("IPv6 refid %08x", got)
	}
}

// TestSelectionDistance: the correctness intervals of selection are as
// wide as a sample's error can be (half its delay and the peer's root
// distance), not the RFC's MINDISP-floored root distance, so that a
// falseticker 5 ms off is told apart from three truechimers over 300 µs
// paths; and a survivor with a much longer distance is not combined.
func TestSelectionDistance(t *testing.T) {
	t.Run("RFC5905 §11.2.1 falseticker 5 ms off among three truechimers", func(t *testing.T) {
		e := mustNew(t, Config{})
		e.disc.state = stateSYNC
		e.disc.setMode(DisciplineRFC)
		fakePeer(e, "A", "192.0.2.1:123", 0.00001, 0.0003, 1, false)
		fakePeer(e, "B", "192.0.2.2:123", -0.00002, 0.0003, 1, false)
		fakePeer(e, "C", "192.0.2.3:123", 0.00003, 0.0003, 1, false)
		f := fakePeer(e, "F", "192.0.2.4:123", 0.005, 0.0003, 1, false)
		if d := e.selDist(f, 11); d > 1e-3 || d < 0.00015 {
			t.Errorf("selection distance %v s, want between delay/2 and 1 ms", d)
		}
		e.clockSelect(11)
		if f.status != StatusFalseticker || math.Abs(e.sys.offset) > 1e-4 {
			t.Errorf("F %s, system offset %v", f.status, e.sys.offset)
		}
	})
	t.Run("RFC5905 §11.2.3 a survivor beyond three times the system peer's distance is not combined", func(t *testing.T) {
		e := mustNew(t, Config{})
		e.disc.state = stateSYNC
		e.disc.setMode(DisciplineRFC)
		fakePeer(e, "A", "192.0.2.1:123", 0.0001, 0.0003, 1, false)
		fakePeer(e, "C", "192.0.2.3:123", 0.0001, 0.0003, 1, false)
		far := fakePeer(e, "B", "192.0.2.2:123", 0.0002, 0.02, 1, false)
		e.clockSelect(11)
		if far.status != StatusOutlier || far.selReason == "" || math.Abs(e.sys.offset-0.0001) > 1e-9 {
			t.Errorf("B %s (%s), system offset %v", far.status, far.selReason, e.sys.offset)
		}
	})
}

// TestFitnessAtThirdSample: RFC 5905 §10 counts an empty filter stage at
// MAXDISP, so by the RFC's root distance a source is fit (§11.2, MAXDIST)
// only at its fourth sample. A filling source is judged by its samples
// (fitDist) once it has three spanning freqMinSpan, as chrony selects at
// its third; a burst's three samples 2 s apart still wait for the fourth,
// unless the frequency came from a drift file (only an offset is needed).
func TestFitnessAtThirdSample(t *testing.T) {
	drift := 12.5
	for _, tc := range []struct {
		name    string
		samples int
		spacing float64
		drift   *float64
		fit     bool
	}{
		{"RFC5905 §11.2 two samples: filling", 2, 16, nil, false},
		{"three samples over 32 s: fit", 3, 16, nil, true},
		{"three burst samples over 4 s: filling", 3, 2, nil, false},
		{"three burst samples over 4 s, frequency from a drift file: fit", 3, 2, &drift, true},
		{"two burst samples, frequency from a drift file: filling", 2, 2, &drift, false},
		{"RFC5905 §11.2 four samples over 6 s: fit", 4, 2, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustNew(t, Config{InitialFrequencyPPM: tc.drift})
			a := newAssociation(PeerConfig{Key: "A", Address: netip.MustParseAddrPort("192.0.2.1:123")}, 0, 1)
			a.reach, a.leap, a.stratum, a.precision = 1, 0, 1, -20
			for i := 0; i < tc.samples; i++ {
				a.filter.add(filterSample{T: 10 + float64(i)*tc.spacing, Delay: 0.001, Dispersion: 1e-5}, e.prec, 0)
			}
			now := 10 + float64(tc.samples-1)*tc.spacing
			err := e.fit(a, now)
			if tc.fit && err != nil || !tc.fit && !errorsIs(err, errFilling) {
				t.Errorf("fit = %v (root distance %.3f s, without empty stages %.3f s), want fit %v", err, a.rootDist(now), a.fitDist(now, tc.drift != nil), tc.fit)
			}
		})
	}
}
