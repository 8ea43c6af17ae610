package sim

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// A host that reads its clock for T1 and sends the packet L later looks to
// the on-wire offset (RFC 5905 §8) as if the request took L longer than
// the reply: the engine steers its clock L/2 ahead. With kernel transmit
// timestamps (L = 0) there is no bias.
func TestSendLatencyBiasesTheClockByHalfOfIt(t *testing.T) {
	for _, c := range []struct {
		latency, wantMean float64
	}{
		{0, 0},
		{200e-6, 100e-6},
	} {
		t.Run(fmt.Sprintf("send latency %g s", c.latency), func(t *testing.T) {
			w, err := Parse(strings.NewReader(fmt.Sprintf(`
duration 1200
measure after 400
link * * delay 1e-3 jitter 1e-6
node ref stratum 1
node client send-latency %g measured
server client ref minpoll 4 maxpoll 6 iburst
`, c.latency)))
			if err != nil {
				t.Fatal(err)
			}
			if w.Nodes[1].SendLatency != c.latency {
				t.Fatalf("parsed send latency %v, want %v", w.Nodes[1].SendLatency, c.latency)
			}
			out, err := RunWorld(w, 1)
			if err != nil {
				t.Fatal(err)
			}
			f := out.Measured[0]
			t.Logf("mean offset %.1f µs, RMS %.1f µs", f.MeanOffset*1e6, f.RMSOffset*1e6)
			if f.Samples == 0 || math.Abs(f.MeanOffset-c.wantMean) > 10e-6 {
				t.Errorf("mean offset %.1f µs over %d samples, want %.1f µs", f.MeanOffset*1e6, f.Samples, c.wantMean*1e6)
			}
		})
	}
}

func TestSendLatencyOutOfRangeIsRefused(t *testing.T) {
	for _, v := range []string{"-1e-6", "1", "NaN"} {
		_, err := Parse(strings.NewReader("duration 10\nnode a stratum 1\nnode b send-latency " + v + " measured\nserver b a\n"))
		if err == nil {
			t.Errorf("send-latency %s accepted", v)
		}
	}
}
