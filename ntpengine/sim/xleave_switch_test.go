package sim

import (
	"fmt"
	"strings"
	"testing"
)

// TestBasicToInterleavedSwitchIsNotFrequency: a server whose basic-mode
// replies carry a pre-send transmit timestamp (T3 read 30 µs before the
// packet leaves) and whose interleaved replies carry the exact departure
// (RFC 9769 §3) gives its client first samples 15 µs off and then exact
// ones. The step between them is the samples' quality changing, not the
// clock drifting: a client whose clock is right must keep it within a few
// µs, on a path without jitter, through its start and the switch (RFC 5905
// §10: the clock filter keeps samples of one kind). Rows with and without
// iburst.
func TestBasicToInterleavedSwitchIsNotFrequency(t *testing.T) {
	for _, iburst := range []string{"", "iburst"} {
		t.Run("RFC 9769 §3 "+iburst, func(t *testing.T) {
			w, err := Parse(strings.NewReader(fmt.Sprintf(`
duration 400
measure after 1
link * * delay 1e-3 jitter 0
node ref stratum 1 send-latency 30e-6 tx-timestamps
node client measured tx-timestamps
server client ref minpoll 4 maxpoll 4 %s
`, iburst)))
			if err != nil {
				t.Fatal(err)
			}
			out, err := RunWorld(w, 1)
			if err != nil {
				t.Fatal(err)
			}
			f := out.Measured[0]
			t.Logf("sync %.0f s, mean %+.2f µs, RMS %.2f µs, max %.2f µs, RMS freq %.3f ppm",
				f.SyncTime, f.MeanOffset*1e6, f.RMSOffset*1e6, f.MaxOffset*1e6, f.RMSFreq*1e6)
			if f.Samples == 0 || f.MaxOffset > 2e-6 {
				t.Errorf("true error up to %.2f µs after the switch to interleaved mode over %d samples, want ≤ 2 µs",
					f.MaxOffset*1e6, f.Samples)
			}
		})
	}
}
