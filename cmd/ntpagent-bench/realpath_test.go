//go:build linux

package main

import (
	"math"
	"testing"
	"time"
)

// The simulator's prediction for the real path models the send latency,
// the time from a packet's transmit timestamp to the wire: with timestamps
// taken before the send (user space) half of it becomes the agent's bias
// (RFC 5905 §8: T1 early), with kernel transmit timestamps (and
// interleaved mode) none of it does.
func TestSimPredictionSendLatency(t *testing.T) {
	const latency = 150 * time.Microsecond
	mean := func(userSpace bool) float64 {
		t.Helper()
		rs, err := simPrediction(0, 300*time.Second, 120*time.Second, latency, userSpace, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Measure == realMeasure(mRealMean, 0) {
				return r.Median
			}
		}
		t.Fatal("no mean in the prediction")
		return 0
	}
	if m := mean(true); math.Abs(m-latency.Seconds()*1e6/2) > 2 {
		t.Errorf("user-space timestamps: mean error %.1f µs, want half the send latency, %.0f µs", m, latency.Seconds()*1e6/2)
	}
	if m := mean(false); math.Abs(m) > 2 {
		t.Errorf("kernel timestamps: mean error %.1f µs, want 0", m)
	}
}
