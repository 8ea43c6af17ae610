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
	rms, mean, err := simOnDraws(res, res.AgentDatagrams, false, 100*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if mean < 95*time.Microsecond || mean > 105*time.Microsecond || rms-mean > 5*time.Microsecond {
		t.Errorf("mean %v, RMS %v; want the path bias, 100 µs, with no spread", mean, rms)
	}
	res.AgentDatagrams = nil
	if _, mean, _ := simOnDraws(res, res.AgentDatagrams, false, 100*time.Second, nil); mean > 5*time.Microsecond || mean < -5*time.Microsecond {
		t.Errorf("without a record (the link's draws, no jitter): mean %v, want about 0", mean)
	}
}

// By time, a simulated datagram takes the delay of the recorded one that
// arrived nearest to when it is sent.
func TestNearestHeldIsTheDatagramNearestInTime(t *testing.T) {
	start := time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC)
	var ds []wirelab.Datagram
	for i := 1; i <= 3; i++ {
		ds = append(ds, wirelab.Datagram{Arrived: start.Add(time.Duration(10*i) * time.Second), Held: time.Duration(i) * time.Millisecond})
	}
	for _, c := range []struct {
		at   float64
		want float64
	}{{0, 1e-3}, {14, 1e-3}, {16, 2e-3}, {25.1, 3e-3}, {100, 3e-3}} {
		if got, ok := nearestHeld(ds, start, c.at); !ok || got != c.want {
			t.Errorf("at %g s: %g, %v; want %g", c.at, got, ok, c.want)
		}
	}
	if _, ok := nearestHeld(nil, start, 5); ok {
		t.Error("no datagrams: want none")
	}
}
