package sim

import (
	"testing"

	"github.com/ntpagent/ntpagent/ntpengine"
)

// TestServersAgreeBeforeTheFrequencyIsKnown: three servers polled 0.2 s
// apart (pollSeparation) by a clock 5 % fast (chrony's 003-largefreqoffset
// with three servers). Before the discipline has measured the frequency
// the sources' offsets are projected to a common time with their own
// slopes (projectionFreq): projected with none they differ by 10 ms, are
// falsetickers to each other (RFC 5905 §11.2.1) and their combined offset
// misleads the first frequency fit (RMS 0.2 to 1.4 ms, max 8 ms). Now the
// clock meets chrony's default limits from its first update on, and
// never finds its servers disagreeing.
func TestServersAgreeBeforeTheFrequencyIsKnown(t *testing.T) {
	runText(t, 5, `
duration 3000
node s1 stratum 1
node s2 stratum 1
node s3 stratum 1
node c offset 0.1 freq 0.05 wander 1e-9 measured
server c s1
server c s2
server c s3
`, func(seed uint64, w World, out Outcome) {
		f := out.Measured[0]
		if !f.Synced || f.SyncTime > 210 || f.RMSOffset > 300e-6 || f.MaxOffset > 1e-3 {
			t.Errorf("seed %d: synchronized %v at %.0f s, RMS %.1f µs, max %.1f µs after 210 s",
				seed, f.Synced, f.SyncTime, f.RMSOffset*1e6, f.MaxOffset*1e6)
		}
		for _, e := range out.Net.Node("c").Events {
			if e.Kind == ntpengine.EventNoSysPeer {
				t.Errorf("seed %d: lost its sources at %.0f s: %s", seed, e.At, e.Message)
			}
		}
	})
}
