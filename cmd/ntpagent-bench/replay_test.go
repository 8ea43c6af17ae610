//go:build linux

package main

import (
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/wirelab"
)

// The simulator on a run's draws replays the delays the line recorded:
// datagrams held 200 µs longer up than down put the simulated agent
// 100 µs ahead (RFC 5905 §8: the offset takes the delays as equal), as
// the line's path bias says the wire's clients were.
func TestSimOnDrawsReplaysTheLinesDelays(t *testing.T) {
	res := wirelab.Result{Config: wirelab.Config{
		Path: wirelab.Path{BaseDelay: time.Millisecond}, Duration: 200 * time.Second,
		MinPoll: 4, MaxPoll: 4, IBurst: true,
	}}
	for range 100 {
		res.AgentDatagrams = append(res.AgentDatagrams,
			wirelab.Datagram{Up: true, Held: 1200 * time.Microsecond},
			wirelab.Datagram{Held: 1000 * time.Microsecond})
	}
	rms, mean, err := simOnDraws(res, res.AgentDatagrams, 100*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if mean < 95*time.Microsecond || mean > 105*time.Microsecond || rms-mean > 5*time.Microsecond {
		t.Errorf("mean %v, RMS %v; want the path bias, 100 µs, with no spread", mean, rms)
	}
	res.AgentDatagrams = nil
	if _, mean, _ := simOnDraws(res, res.AgentDatagrams, 100*time.Second, nil); mean > 5*time.Microsecond || mean < -5*time.Microsecond {
		t.Errorf("without a record (the link's draws, no jitter): mean %v, want about 0", mean)
	}
}
