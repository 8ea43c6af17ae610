//go:build linux

package wirelab

import (
	"context"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/testtool"
)

// On a real path without jitter (1 ms each way through the delay line,
// minpoll and maxpoll 4, iburst) the agent keeps time close to chronyd on
// an identical path in the same run (both against the same reference
// chronyd serving the host clock, both in interleaved mode), over the time
// both are synchronized after the settling time (80 s, after the start's
// transient, which the time to sync reports): its mean error is within
// ±40 µs of the host clock, and its RMS error at most twice chronyd's plus
// 20 µs. These are regression bounds, twice the project's aim: they catch
// the bias this test was written for (+70..+80 µs, T1 read long before
// the packet left) and hold on a loaded 2-core host, where the lab itself
// adds up to +27 µs of asymmetry (chronyd beside the agent shows it too)
// and the agent's start — its first frequency fitted across the switch
// from basic to interleaved mode — still swings by tens of µs where
// chronyd's does not. The aim — mean within ±20 µs, RMS within 2×
// chronyd's — is logged here and is a row of make bench.
func TestRealPathZeroJitterAgentBesideChronyd(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-path measurement runs for about 3 minutes")
	}
	testtool.RequireRoot(t)
	testtool.Require(t, "ip")
	cfg := Config{
		Path:     Path{BaseDelay: time.Millisecond},
		Duration: 170 * time.Second,
		Settle:   80 * time.Second,
		MinPoll:  4,
		MaxPoll:  4,
		IBurst:   true,
		Chronyd:  testtool.Require(t, "chronyd"),
		Chronyc:  testtool.Require(t, "chronyc"),
		Seed:     1,
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Duration+time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	from := res.BothSynced(cfg.Settle)
	a, c := res.Agent.Figures(from), res.Chronyd.Figures(from)
	t.Logf("from %v on, both synchronized:", from)
	t.Logf("ntpagent: %s", a)
	t.Logf("chronyd:  %s", c)
	t.Logf("reference probe: %s", res.Probe.Figures(from))
	t.Logf("delay lines: agent %s; chronyd %s", res.AgentLine, res.ChronydLine)
	t.Logf("agent: %s", res.AgentTimestamps)
	if a.N < 45 {
		t.Fatalf("both synchronized for only %d s of %v", a.N, cfg.Duration-cfg.Settle)
	}
	strict := a.Mean <= 20*time.Microsecond && a.Mean >= -20*time.Microsecond && a.RMS <= 2*c.RMS
	t.Logf("aim (mean within ±20 µs of the host clock, RMS within 2× chronyd's): met=%v", strict)
	if a.Mean > 40*time.Microsecond || a.Mean < -40*time.Microsecond {
		t.Errorf("agent's mean error %v, want within ±40 µs (chronyd on the same path: %v)", a.Mean, c.Mean)
	}
	if a.RMS > 2*c.RMS+20*time.Microsecond {
		t.Errorf("agent's RMS error %v, want at most twice chronyd's %v plus 20 µs", a.RMS, c.RMS)
	}
	for _, d := range append(res.AgentDatagrams, res.ChronydDatagrams...) {
		if d.Late > 100*time.Microsecond {
			t.Logf("late datagram: %s", d)
		}
	}
	if t.Failed() {
		t.Logf("agent: %s\nchronyd: %s", describe(res.Agent), describe(res.Chronyd))
	}
}
