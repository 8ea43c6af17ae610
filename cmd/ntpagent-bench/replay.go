//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ntpagent/ntpagent/internal/wirelab"
	"github.com/ntpagent/ntpagent/ntpengine/sim"
)

// simOnDraws runs the simulator on the delays a real-path run's line gave
// datagrams (the agent's line's, or chronyd's), datagram by datagram in
// each direction (the kernel's transmit timestamps at the line less its
// receive timestamps): the same engine on the same path draws with exact
// timestamps, so what differs from the wire is the host's. Past the
// record the link draws.
// The simulated agent is a client of the reference whatever it was on the
// wire: the reference chronyd answers a symmetric active peer as it
// answers a client, one reply per request, while the simulator's
// reference (the engine) would mobilize a passive association that sends
// a packet of its own and takes every later reply's draw out of turn.
// With byTime each simulated datagram takes the delay of the recorded one
// (same direction) that arrived nearest to the time it is sent, rather
// than the next in order: for another client's line at zero jitter,
// whose asymmetry is the host's, drifting over minutes, while that
// client's exchanges came at other times (a start burst of four, not
// eight). With jitter the line's draws are independent, and in order
// each simulated exchange has one of its own (by time a burst would
// reuse a draw).
// It returns the simulated RMS and mean error from settle on; trace, when
// not nil, is called each simulated second with the agent's clock error
// (s) and frequency error (s/s).
func simOnDraws(res wirelab.Result, datagrams []wirelab.Datagram, byTime bool, settle time.Duration, trace func(t, err, freq float64)) (rms, mean time.Duration, err error) {
	var up, down []wirelab.Datagram
	for _, d := range datagrams {
		if d.Up {
			up = append(up, d)
		} else {
			down = append(down, d)
		}
	}
	p := res.Config.Path
	tx := " tx-timestamps"
	text := fmt.Sprintf(`duration %g
measure after %g
link * * delay %g jitter %g
node ref stratum 1%s
node agent measured%s
server agent ref minpoll %d maxpoll %d%s
`, res.Config.Duration.Seconds(), settle.Seconds(), p.BaseDelay.Seconds(), max(p.Jitter.Seconds(), 0), tx, tx,
		res.Config.MinPoll, res.Config.MaxPoll, map[bool]string{true: " iburst"}[res.Config.IBurst])
	w, err := sim.Parse(strings.NewReader(text))
	if err != nil {
		return 0, 0, fmt.Errorf("replay: sim: %w", err)
	}
	w.Delays = func(from, _ string, at float64) (float64, bool) {
		q := &down
		if from == "agent" {
			q = &up
		}
		if byTime {
			return nearestHeld(*q, res.Start, at)
		}
		if len(*q) == 0 {
			return 0, false
		}
		d := (*q)[0]
		*q = (*q)[1:]
		return d.Held.Seconds(), true
	}
	if trace != nil {
		w.Observe = func(t float64, net *sim.Network) {
			c := net.Nodes()[1].Clock
			trace(t, c.Error(), c.FrequencyError())
		}
	}
	out, err := sim.RunWorld(w, 1)
	if err != nil {
		return 0, 0, fmt.Errorf("replay: sim: %w", err)
	}
	f := out.Measured[0]
	return time.Duration(math.Round(f.RMSOffset * 1e9)), time.Duration(math.Round(f.MeanOffset * 1e9)), nil
}

// nearestHeld is the delay of the datagram in ds (in the order they
// arrived) that arrived nearest to at seconds after start; ok false
// when there is none.
func nearestHeld(ds []wirelab.Datagram, start time.Time, at float64) (float64, bool) {
	t := start.Add(time.Duration(at * 1e9))
	i, _ := slices.BinarySearchFunc(ds, t, func(d wirelab.Datagram, t time.Time) int { return d.Arrived.Compare(t) })
	switch {
	case len(ds) == 0:
		return 0, false
	case i == len(ds) || i > 0 && t.Sub(ds[i-1].Arrived) < ds[i].Arrived.Sub(t):
		i--
	}
	return ds[i].Held.Seconds(), true
}

// cmdReplay reads the dumps of real-path runs (realpath -dump) and prints,
// for each, the agent's and chronyd's figures on the wire beside the
// simulator's on the same draws (simOnDraws): on the agent's line's, the
// engine's prediction of the wire agent; on chronyd's line's, the engine
// on the very delays chronyd had — the two clients compared draw for draw
// (at zero jitter each line's draws are the host's own noise, not the
// same for both lines).
func cmdReplay(args []string) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	settle := fs.Duration("settle", 120*time.Second, "statistics from this time on")
	every := fs.Int("trace", 0, "also print the clients' error and frequency error every N seconds, the simulated agent's beside the wire's")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("replay: name the dump files (realpath -dump)")
	}
	fmt.Println("| run | jitter | ntpagent on the wire: RMS · mean | chronyd on the wire | ntpsim on the agent's draws | ntpsim on chronyd's draws |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, name := range fs.Args() {
		b, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		var res wirelab.Result
		if err := json.Unmarshal(b, &res); err != nil {
			return fmt.Errorf("replay: %s: %w", name, err)
		}
		var trace func(t, e, f float64)
		if *every > 0 {
			fmt.Printf("%s: t, then error µs and frequency error ppm of ntpagent, chronyd, ntpsim on the same draws\n", name)
			trace = func(t, e, f float64) {
				i := int(t)
				if i%*every != 0 || i >= len(res.Agent.Samples) || i >= len(res.Chronyd.Samples) {
					return
				}
				a, c := res.Agent.Samples[i], res.Chronyd.Samples[i]
				fmt.Printf("%4d  %9.1f %8.3f  %9.1f %8.3f  %9.1f %8.3f\n", i,
					float64(a.Offset)/1e3, a.FrequencyPPM, float64(c.Offset)/1e3, c.FrequencyPPM, e*1e6, f*1e6)
			}
		}
		rms, mean, err := simOnDraws(res, res.AgentDatagrams, false, *settle, trace)
		if err != nil {
			return fmt.Errorf("replay: %s: %w", name, err)
		}
		crms, cmean, err := simOnDraws(res, res.ChronydDatagrams, res.Config.Path.Jitter == 0, *settle, nil)
		if err != nil {
			return fmt.Errorf("replay: %s: %w", name, err)
		}
		a, c := res.Agent.Figures(*settle), res.Chronyd.Figures(*settle)
		fmt.Printf("| %s | %v | %.1f · %+.1f µs | %.1f · %+.1f µs | %.1f · %+.1f µs | %.1f · %+.1f µs |\n", name, res.Config.Path.Jitter,
			float64(a.RMS)/1e3, float64(a.Mean)/1e3, float64(c.RMS)/1e3, float64(c.Mean)/1e3,
			float64(rms)/1e3, float64(mean)/1e3, float64(crms)/1e3, float64(cmean)/1e3)
	}
	return nil
}
