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
				s.add((x-y)/2, 2e-4+x+y)
			}
			if got := s.slope(); got < tc.wantMin || got > tc.wantMax {
				t.Errorf("slope %v, want in [%v, %v]", got, tc.wantMin, tc.wantMax)
			}
		})
	}
	var s asymmetry
	for i := range asymMinSamples - 1 {
		s.add(float64(i)*1e-4, float64(i)*2e-4)
	}
	if s.slope() != 0 || math.IsNaN(s.slope()) {
		t.Errorf("slope %v before %d samples", s.slope(), asymMinSamples)
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
