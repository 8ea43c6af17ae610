//go:build linux

package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/wirelab"
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

// Several runs: each figure is the median over the runs, and the RMS
// row's note lists every run's.
func TestRealPathRunsMedian(t *testing.T) {
	var runs []realPathRun
	for _, us := range []time.Duration{30, 10, 20} {
		runs = append(runs, realPathRun{f: wirelab.Figures{N: 60, RMS: us * time.Microsecond, Mean: -us * time.Microsecond, FrequencyRMS: float64(us) / 10}})
	}
	rs := realPathResults("ntpagent", 0, runs)
	want := map[string]float64{realMeasure(mRealRMS, 0): 20, realMeasure(mRealMean, 0): -20, realMeasure(mRealFreq, 0): 2, realMeasure(mRealSync, 0): 0}
	for _, r := range rs {
		if w, ok := want[r.Measure]; !ok || math.Abs(r.Median-w) > 1e-9 || r.N != 3 {
			t.Errorf("%s: %v (n=%d), want %v over 3 runs", r.Measure, r.Median, r.N, w)
		}
	}
	if !strings.Contains(rs[0].Note, "median of 3 runs: 30.0, 10.0, 20.0 µs") {
		t.Errorf("RMS note %q lacks every run's figure", rs[0].Note)
	}
}

// The jitters are Go durations; a bad one is refused.
func TestParseJitters(t *testing.T) {
	got, err := parseJitters("0, 100us,1ms")
	if err != nil || len(got) != 3 || got[1] != 100*time.Microsecond || got[2] != time.Millisecond {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", "x", "-1ms", "1s"} {
		if _, err := parseJitters(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
