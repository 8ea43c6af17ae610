package ntpengine

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAsymmetrySlope: the offset-per-excess-delay slope of a path (RFC 5905
// §8: an exchange is off by half the difference of its directions' excess
// delays) is found when one direction carries the jitter, and is 0 on a
// symmetric path, where correcting by a noisy estimate would only add
// noise.
func TestAsymmetrySlope(t *testing.T) {
	for _, tc := range []struct {
		name             string
		jitUp, jitDown   float64
		wantMin, wantMax float64
	}{
		{"RFC5905 §8 jitter only on the request: slope near +1/2", 1e-3, 0, 0.45, 0.5},
		{"RFC5905 §8 jitter only on the reply: slope near −1/2", 0, 1e-3, -0.5, -0.45},
		{"RFC5905 §8 symmetric jitter: no correction", 1e-3, 1e-3, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var s asymmetry
			for range 200 {
				x, y := tc.jitUp*r.ExpFloat64(), tc.jitDown*r.ExpFloat64()
				s.add((x-y)/2, 0, 2e-4+x+y, 0)
			}
			if got := s.slope(); got < tc.wantMin || got > tc.wantMax {
				t.Errorf("slope %v, want in [%v, %v]", got, tc.wantMin, tc.wantMax)
			}
		})
	}
	var s asymmetry
	for i := range asymMinSamples - 1 {
		s.add(float64(i)*1e-4, 0, float64(i)*2e-4, 0)
	}
	if s.slope() != 0 || math.IsNaN(s.slope()) {
		t.Errorf("slope %v before %d samples", s.slope(), asymMinSamples)
	}
}

// TestAsymmetrySlopeUnderAMovingFrequencyEstimate: hours into a run, at
// 1024 s polls, the discipline's frequency estimate moves by hundredths
// of a ppm between samples. The change of offset between two samples
// must be taken net of one frequency over their interval: taken as a
// change of offset−freq·t, with each term's own estimate, it carries
// Δfreq·t (0.01 ppm × 80,000 s = 0.8 ms, more than the path's jitter)
// and the slope of a path with all its jitter on the reply (RFC 5905 §8)
// is lost.
func TestAsymmetrySlopeUnderAMovingFrequencyEstimate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const trueFreq = -99.8e-6
	var s asymmetry
	for i := range 100 {
		ts := 50000 + float64(i)*1024
		y := 1e-3 * r.ExpFloat64()
		u := -y/2 - trueFreq*ts
		s.add(u, ts, 2e-4+y, -trueFreq+1e-8*r.NormFloat64())
	}
	if got := s.slope(); got < -0.5 || got > -0.45 {
		t.Errorf("slope %v, want in [-0.5, -0.45]", got)
	}
}

// TestNewestIgnoresDummyStage: after polls without reply the filter gets a
// dummy stage (RFC 5905 A.5.7.1); the newest offset, which the default
// discipline and selection use, stays that of the newest real sample
// (projected with the frequency), not the dummy's zero.
func TestNewestIgnoresDummyStage(t *testing.T) {
	f := newClockFilter()
	for i := range 4 {
		f.add(filterSample{T: float64(i * 64), Offset: 0.2, Delay: 3e-4, Dispersion: 1e-6}, 1e-6, 0)
	}
	f.add(filterSample{T: 4 * 64, Delay: maxDisp, Dispersion: maxDisp}, 1e-6, 0)
	if math.Abs(f.Newest-0.2) > 1e-9 || f.newestValid().Delay != 3e-4 {
		t.Errorf("newest %v (delay %v) after a dummy stage, want 0.2 (3e-4)", f.Newest, f.newestValid().Delay)
	}
}
