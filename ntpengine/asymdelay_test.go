package ntpengine_test

import (
	"testing"

	"github.com/ntpagent/ntpagent/ntpengine/sim"
)

// TestAsymmetricDelayExcluded is the last case of chrony's
// 009-sourceselection: of three servers over 1 ms links, two are behind a
// path whose request direction has 1 s more delay. Their offsets are 0.5 s
// off, inside their correctness intervals (RFC 5905 §11.2.1), so they are
// truechimers, but they must neither be the system peer nor be combined
// (§11.2.3) nor step the clock.
func TestAsymmetricDelayExcluded(t *testing.T) {
	link := func(int) sim.Link { return sim.Link{BaseDelay: 1e-3, Jitter: 1e-4} }
	asym := func(i int) sim.Link {
		l := link(i)
		if i > 0 {
			l.BaseDelay++
		}
		return l
	}
	w := world{refOffsets: []float64{0, 0, 0}, up: asym, down: link, duration: 10000, from: 210}
	for seed := uint64(1); seed <= uint64(seedsFor()); seed++ {
		f := w.run(t, seed)
		if !f.synced || f.rms > chronyTimeRMS || f.max > chronyTimeMax || f.steps != 0 || f.status.SystemPeer != "ref0" {
			t.Errorf("seed %d: RMS %.1f µs max %.1f µs synchronized %v steps %d system peer %q",
				seed, f.rms*1e6, f.max*1e6, f.synced, f.steps, f.status.SystemPeer)
		}
	}
}
