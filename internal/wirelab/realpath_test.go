package wirelab

import (
	"context"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/testtool"
)

// On a real path without jitter (1 ms each way through the delay line,
// minpoll 4, maxpoll 6, iburst) the agent's clock has no bias beyond ±20 µs
// against the host clock, and its RMS error is within twice chronyd's on
// an identical path in the same run (both against the same reference
// chronyd serving the host clock).
func TestRealPathZeroJitterAgentBesideChronyd(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-path measurement runs for about 3 minutes")
	}
	testtool.RequireRoot(t)
	testtool.Require(t, "ip")
	cfg := Config{
		Path:     Path{BaseDelay: time.Millisecond},
		Duration: 170 * time.Second,
		Settle:   60 * time.Second,
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
	a, c := res.Agent.Figures(cfg.Settle), res.Chronyd.Figures(cfg.Settle)
	t.Logf("ntpagent: %s", a)
	t.Logf("chronyd:  %s", c)
	t.Logf("delay lines: agent %+v, chronyd %+v", res.AgentLine, res.ChronydLine)
	t.Logf("agent: %s", res.AgentTimestamps)
	for _, s := range []Series{res.Agent, res.Chronyd} {
		if last := s.Samples[len(s.Samples)-1]; !last.Synced {
			t.Fatalf("%s is not synchronized at the end: %s", s.Name, describe(s))
		}
	}
	if a.Mean > 20*time.Microsecond || a.Mean < -20*time.Microsecond {
		t.Errorf("agent's mean error %v, want within ±20 µs", a.Mean)
	}
	if a.RMS > 2*c.RMS {
		t.Errorf("agent's RMS error %v, want at most twice chronyd's %v", a.RMS, c.RMS)
	}
	if t.Failed() {
		t.Logf("agent: %s\nchronyd: %s", describe(res.Agent), describe(res.Chronyd))
	}
}
