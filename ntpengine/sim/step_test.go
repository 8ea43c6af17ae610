package sim

import (
	"testing"
)

// TestOneStepWithMeasuredFrequency: RFC 5905 §11.3 — a clock that starts
// more than the step threshold (128 ms) off is stepped once, by the
// offset fitted when the frequency measurement (FREQ) ends, and the
// associations keep their filters across that step (their samples are
// stored with the correction in force, so our own step leaves them valid):
// the clock is within 1 ms no later than the default
// scenario's 0.1 s start is, with no second burst (a burst is eight
// packets; the runs may differ by a poll or two where the discipline
// lengthens the poll, so fewer than half a burst more) and no second
// step.
func TestOneStepWithMeasuredFrequency(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		base := Default()
		base.Duration = 1000
		slewed, err := Run(base, seed)
		if err != nil {
			t.Fatal(err)
		}
		for _, off := range []float64{1, -30, 500} {
			s := base
			s.InitialOffset = off
			r, err := Run(s, seed)
			if err != nil {
				t.Fatal(err)
			}
			if r.Steps != 1 || r.SyncTime > slewed.SyncTime || r.Nodes[0].Sent >= slewed.Nodes[0].Sent+4 {
				t.Errorf("seed %d, %+g s: %d steps, within 1 ms after %.0f s (%.0f s from 0.1 s), %d packets (%d)",
					seed, off, r.Steps, r.SyncTime, slewed.SyncTime, r.Nodes[0].Sent, slewed.Nodes[0].Sent)
			}
		}
	}
}

// TestLongFixedPollFirstUpdate: with a fixed poll of 2^13 s, no burst, a
// clock 100 ppm off and precise samples (chrony's 101-poll), the clock
// filter lets the first update through after four samples (RFC 5905
// §11.2 root distance), one step corrects the 2.5 s gained by then, and
// the clock is within 10 µs from that step on: the frequency measured
// while the clock ran free is converted to true seconds, and so are the
// times of the samples the steady-state fit goes on with.
func TestLongFixedPollFirstUpdate(t *testing.T) {
	s := Default()
	s.MinPoll, s.MaxPoll, s.IBurst = 13, 13, false
	s.Jitter, s.Wander = 1e-6, 0
	pp := 8192.0
	s.Duration = 10 * pp
	var last float64
	s.Observe = func(now float64, m []*Node) {
		if e := m[0].Clock.Error(); e > 10e-6 || e < -10e-6 {
			last = now
		}
	}
	r, err := Run(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	if last > 3*pp+10 || r.Steps != 1 {
		t.Errorf("last |error| > 10 µs at %.0f s (%.1f polls), %d steps", last, last/pp, r.Steps)
	}
}
