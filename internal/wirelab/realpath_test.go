//go:build linux

package wirelab

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/testtool"
)

// On a real path without jitter (1 ms each way through the delay line,
// minpoll and maxpoll 4, iburst) the agent is measured beside chronyd on an
// identical path in the same run (both against the same reference chronyd
// serving the host clock, both in interleaved mode), over the time both
// are synchronized after the settling time (80 s, after the start's
// transient, which the time to sync reports). Its mean error beyond
// ±60 µs fails the test: that is the bias it was written for (+69..+82 µs,
// T1 read long before the packet left). The regression bounds — mean
// within ±40 µs, RMS at most twice chronyd's plus 20 µs — are a known
// failure in some runs since the discipline's start-up changes, and skip
// with their figures unless NTPAGENT_REALPATH_STRICT=1; the aim — mean
// within ±20 µs, RMS within 2× chronyd's — is logged and is a row of make
// bench.
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
	t.Logf("ntpagent's %s; chronyd's %s", res.Agent.SampleFigures(from), res.Chronyd.SampleFigures(from))
	t.Logf("reference probe: %s", res.Probe.Figures(from))
	t.Logf("delay lines: agent %s; chronyd %s", res.AgentLine, res.ChronydLine)
	t.Logf("agent: %s", res.AgentTimestamps)
	if a.N < 45 {
		t.Fatalf("both synchronized for only %d s of %v", a.N, cfg.Duration-cfg.Settle)
	}
	for _, d := range append(res.AgentDatagrams, res.ChronydDatagrams...) {
		if d.Late > 100*time.Microsecond {
			t.Logf("late datagram: %s", d)
		}
	}
	// The gross bias this test was written for (+69..+82 µs: T1 read long
	// before the packet left) always fails it.
	if a.Mean > 60*time.Microsecond || a.Mean < -60*time.Microsecond {
		t.Logf("agent: %s\nchronyd: %s", describe(res.Agent), describe(res.Chronyd))
		t.Fatalf("agent's mean error %v, want within ±60 µs (chronyd on the same path: %v)", a.Mean, c.Mean)
	}
	aim := a.Mean <= 20*time.Microsecond && a.Mean >= -20*time.Microsecond && a.RMS <= 2*c.RMS
	t.Logf("aim (mean within ±20 µs of the host clock, RMS within 2× chronyd's): met=%v", aim)
	var misses []string
	if a.Mean > 40*time.Microsecond || a.Mean < -40*time.Microsecond {
		misses = append(misses, fmt.Sprintf("mean error %v, want within ±40 µs (chronyd: %v)", a.Mean, c.Mean))
	}
	if a.RMS > 2*c.RMS+20*time.Microsecond {
		misses = append(misses, fmt.Sprintf("RMS error %v, want at most twice chronyd's %v plus 20 µs", a.RMS, c.RMS))
	}
	if len(misses) == 0 {
		return
	}
	t.Logf("agent: %s\nchronyd: %s", describe(res.Agent), describe(res.Chronyd))
	// A known failure (README, Known limits): since the discipline fits
	// its first frequency at the third sample, the agent's start leaves
	// it 1–2 ppm off in some runs and its error at +30..+40 µs for the
	// test's window. NTPAGENT_REALPATH_STRICT=1 makes it fail the test.
	if os.Getenv("NTPAGENT_REALPATH_STRICT") == "" {
		t.Skipf("known failure of the agent's start at zero jitter: %s", strings.Join(misses, "; "))
	}
	t.Errorf("agent's %s", strings.Join(misses, "; agent's "))
}
