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
// scenario's 0.1 s start is, with no second burst and no
// second step.
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
			if r.Steps != 1 || r.SyncTime > slewed.SyncTime || r.PacketsPerHour > slewed.PacketsPerHour+1 {
				t.Errorf("seed %d, %+g s: %d steps, within 1 ms after %.0f s (%.0f s from 0.1 s), %.0f packets/h (%.0f)",
					seed, off, r.Steps, r.SyncTime, slewed.SyncTime, r.PacketsPerHour, slewed.PacketsPerHour)
			}
		}
	}
}
