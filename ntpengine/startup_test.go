package ntpengine

import (
	"math"
	"testing"
)

// TestFilterJitterBeforeFrequency: RFC 5905 §10 — the filter jitter is the
// RMS difference of the stages' offsets. Before the discipline has a
// frequency (NSET, FREQ), the filter projects its stages with their own
// slope (a NaN frequency): a clock 100 ppm off polled every 2^13 s then
// shows the jitter of its samples, not the 0.8 s it drifts per poll,
// which would keep the root distance above MAXDIST (§11.2) for ever.
func TestFilterJitterBeforeFrequency(t *testing.T) {
	fill := func(freq float64) clockFilter {
		f := newClockFilter()
		for i := range 4 {
			ts := float64(i) * 8192
			noise := 1e-6 * float64(i%2*2-1)
			f.add(filterSample{T: ts, Offset: 0.1 - 100e-6*ts + noise, Delay: 1e-3, Dispersion: 1e-6}, 1e-7, freq)
		}
		return f
	}
	if f := fill(math.NaN()); f.Jitter > 5e-6 || math.Abs(f.ownSlope()+100e-6) > 1e-9 {
		t.Errorf("own slope: jitter %.3g s, slope %.4g ppm", f.Jitter, f.ownSlope()*1e6)
	}
	if f := fill(0); f.Jitter < 0.5 {
		t.Errorf("no frequency: jitter %.3g s, want the drift between samples", f.Jitter)
	}
	e, err := New(Config{}, at(0))
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(e.filterFreq()) {
		t.Errorf("NSET: filter frequency %v, want NaN (own slope)", e.filterFreq())
	}
	e.disc.state, e.disc.freq = stateSYNC, 12e-6
	if e.filterFreq() != 12e-6 {
		t.Errorf("SYNC: filter frequency %v, want the discipline's", e.filterFreq())
	}
}
