package ntpengine

import (
	"math"
	"testing"
)

// The frequency fit's history (clockFilter.history) leaves out basic-mode
// samples whose delay shows the peer's send latency once interleaved
// samples (RFC 9769 §3) are in the filter, and keeps the others.
func TestFilterHistoryLeavesOutBasicSamplesWithSendLatency(t *testing.T) {
	const delay, latency = 2e-3, 30e-6
	for _, c := range []struct {
		name string
		// samples, oldest first: basic mode or not, delay excess
		basic  []bool
		excess []float64
		want   []float64 // times of the points in the history
	}{
		{"RFC 9769 §3 basic samples with a longer delay go once an interleaved one came",
			[]bool{true, true, false, false}, []float64{latency, latency, 0, 0}, []float64{3, 4}},
		{"RFC 5905 §10 basic samples only: all stay",
			[]bool{true, true, true}, []float64{latency, latency, latency}, []float64{1, 2, 3}},
		{"RFC 9769 §3 basic samples within the interleaved delays stay",
			[]bool{true, true, false, false}, []float64{0, 5e-6, 10e-6, 0}, []float64{1, 2, 3, 4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newClockFilter()
			for i, b := range c.basic {
				off := 0.0
				if b {
					off = -c.excess[i] / 2
				}
				f.add(filterSample{T: float64(i + 1), Offset: off, Delay: delay + c.excess[i], Dispersion: 1e-6, Basic: b}, 1e-7, 0)
			}
			h := f.history()
			var got []float64
			for _, p := range h {
				got = append(got, p.t)
			}
			if len(got) != len(c.want) {
				t.Fatalf("history at %v, want %v", got, c.want)
			}
			for i := range got {
				if math.Abs(got[i]-c.want[i]) > 1e-9 {
					t.Fatalf("history at %v, want %v", got, c.want)
				}
			}
		})
	}
}
