package sim

import (
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/ntpengine"
)

// TestSlowerSymmetricPeerStaysReachable: a symmetric peer sends at its own
// poll interval, which its minpoll may hold above ours (RFC 5905 A.5.7.2),
// and answers none of our packets; the reach register (§13) then counts
// the peer's polls, not ours. n3 polls n2 every 8 s, n2 sends every 64 s:
// n3 must never call n2 unreachable once heard, and must follow it.
func TestSlowerSymmetricPeerStaysReachable(t *testing.T) {
	w, err := Parse(strings.NewReader(`
duration 2000
node n1 stratum 1
node n2 offset 0.01 freq 1e-5 wander 1e-9
node n3 offset 0.1 freq 1e-4 wander 1e-9 measured
server n2 n1 minpoll 6 maxpoll 6 iburst
peer n2 n3 minpoll 6 maxpoll 6
peer n3 n2 minpoll 3 maxpoll 3 iburst
`))
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= 5; seed++ {
		out, err := RunWorld(w, seed)
		if err != nil {
			t.Fatal(err)
		}
		n3 := out.Net.Node("n3")
		if n := events(n3, ntpengine.EventUnreachable, "n2"); n != 0 {
			t.Errorf("seed %d: n3 found n2 unreachable %d times", seed, n)
		}
		f := out.Measured[0]
		if !f.Synced || f.SyncTime > 600 {
			t.Errorf("seed %d: n3 synchronized %v at %.0f s, want by 600 s", seed, f.Synced, f.SyncTime)
		}
	}
}
