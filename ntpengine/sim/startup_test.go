package sim

import (
	"math"
	"testing"
)

// TestRealPathPollHeldAtStart: on the real-wire path (1 ms of jitter each
// way, minpoll 4, maxpoll 6) the first frequency estimates are tens of
// ppm off, and the poll interval stays at its minimum (16 s) until the
// estimate is known (RFC 5905 A.5.5.6 poll adjustment, gated by the
// frequency's standard error): for at least the first 250 s, as chrony
// keeps its 16 s updates on that path, with the error of the frequency
// estimate below 3 ppm when it first grows. That is the estimate's
// (Status.FrequencyPPM against the clock's intrinsic error), not the
// clock's rate at that instant: a small offset is slewed through the
// frequency for a few seconds after each update.
func TestRealPathPollHeldAtStart(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		s := RealPath1ms()
		s.Duration = 1200
		first, ferr := math.Inf(1), 0.0
		s.Observe = func(now float64, m []*Node) {
			if math.IsInf(first, 1) && m[0].Engine.Status(m[0].Clock.Now()).Poll > s.MinPoll {
				first, ferr = now, m[0].Clock.freqErr+m[0].Engine.Status(m[0].Clock.Now()).FrequencyPPM*1e-6
			}
		}
		if _, err := Run(s, seed); err != nil {
			t.Fatal(err)
		}
		if first < 250 || math.Abs(ferr) > 3e-6 {
			t.Errorf("seed %d: poll grew at %.0f s with the frequency %.2f ppm off", seed, first, ferr*1e6)
		}
	}
}
