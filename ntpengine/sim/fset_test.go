package sim

import (
	"math"
	"testing"

	"github.com/ntpagent/ntpagent/ntpengine"
)

// startup runs s and returns, in simulated seconds, when the measured
// engine's discipline first reached SYNC and the states it went through.
func startup(t *testing.T, s Scenario, seed uint64) (Result, float64, map[string]bool) {
	t.Helper()
	firstSync := math.Inf(1)
	seen := map[string]bool{}
	s.Observe = func(now float64, m []*Node) {
		st := m[0].Engine.Status(m[0].Clock.Now())
		seen[st.ClockState] = true
		if st.ClockState == "SYNC" && math.IsInf(firstSync, 1) {
			firstSync = now
		}
	}
	r, err := Run(s, seed)
	if err != nil {
		t.Fatal(err)
	}
	return r, firstSync, seen
}

// TestFrequencyFileStartsInFSET: RFC 5905 A.5.5.6 — an engine started with
// the frequency its clock needs (as a drift file gives it) goes from FSET
// to SYNC at its first update, never through FREQ, and is within 1 ms of
// true time sooner than one that measures the frequency from NSET. With
// the textbook discipline the difference is the 900 s stepout of FREQ.
func TestFrequencyFileStartsInFSET(t *testing.T) {
	for _, mode := range []ntpengine.DisciplineMode{ntpengine.DisciplineRegression, ntpengine.DisciplineRFC} {
		for seed := uint64(1); seed <= 3; seed++ {
			s := Default()
			s.Duration = 1500
			s.Discipline = mode
			nset, nsetSync, _ := startup(t, s, seed)
			f := -s.FreqOffset * 1e6
			s.InitialFrequencyPPM = &f
			fset, fsetSync, seen := startup(t, s, seed)
			if seen["FREQ"] || seen["NSET"] || !seen["FSET"] {
				t.Errorf("mode %d seed %d: states %v, want FSET then SYNC without FREQ", mode, seed, seen)
			}
			if !(fsetSync < nsetSync) || !(fset.SyncTime < nset.SyncTime) {
				t.Errorf("mode %d seed %d: SYNC state at %.0f s (NSET start %.0f s), within 1 ms at %.0f s (NSET start %.0f s)",
					mode, seed, fsetSync, nsetSync, fset.SyncTime, nset.SyncTime)
			}
			if fset.Steps != 0 || fset.MaxOffset > 200e-6 {
				t.Errorf("mode %d seed %d: %d steps, max offset %.1f µs after 210 s", mode, seed, fset.Steps, fset.MaxOffset*1e6)
			}
		}
	}
}

// TestFrequencyFileSettles: with the default scenario the engine's
// frequency becomes worth saving (Status.FrequencySettled) within the
// first hour of simulated time, and is then within 1 ppm of the clock's
// true correction; it is never settled while unsynchronized.
func TestFrequencyFileSettles(t *testing.T) {
	s := Default()
	s.Duration = 3600
	settledAt := math.Inf(1)
	var freqAt float64
	var bad []string
	s.Observe = func(now float64, m []*Node) {
		st := m[0].Engine.Status(m[0].Clock.Now())
		if st.FrequencySettled && !st.Synchronized {
			bad = append(bad, st.ClockState)
		}
		if st.FrequencySettled && math.IsInf(settledAt, 1) {
			settledAt, freqAt = now, st.FrequencyPPM
		}
	}
	if _, err := Run(s, 1); err != nil {
		t.Fatal(err)
	}
	if math.IsInf(settledAt, 1) {
		t.Fatal("frequency never settled in 3600 s")
	}
	if math.Abs(freqAt+s.FreqOffset*1e6) > 1 {
		t.Errorf("settled at %.0f s with %.3f ppm, true correction %.3f ppm", settledAt, freqAt, -s.FreqOffset*1e6)
	}
	if len(bad) > 0 {
		t.Errorf("settled while unsynchronized (%v)", bad[0])
	}
}
