//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/ntpagent/ntpagent/internal/wirelab"
	"github.com/ntpagent/ntpagent/ntpengine/sim"
)

// Real-path measures, one per jitter: "realpath-rms/J", "realpath-mean/J",
// "realpath-sync/J" (J as Go prints the duration: 0s, 100µs, 1ms).
const (
	mRealRMS  = "realpath-rms"
	mRealMean = "realpath-mean"
	mRealSync = "realpath-sync"
)

func realMeasure(m string, j time.Duration) string { return m + "/" + j.String() }

// realPathJitters are the jitters of the report's real-path rows.
var realPathJitters = []time.Duration{0, 100 * time.Microsecond, time.Millisecond}

// realPathBaseDelay is the delay lines' base delay each way.
const realPathBaseDelay = time.Millisecond

// cmdRealPath measures the agent and chronyd on the real path of
// internal/wirelab at each jitter, all jitters at once (each in its own
// lab), and the simulator's prediction for the same path.
func cmdRealPath(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("realpath", flag.ContinueOnError)
	dur := fs.Duration("duration", 300*time.Second, "how long each lab runs")
	settle := fs.Duration("settle", 120*time.Second, "statistics from this time on")
	seeds := fs.Int("sim-seeds", 20, "seeds of the simulator's prediction")
	sendLatency := fs.Duration("sim-send-latency", 0, "the simulated agent's delay from its transmit timestamp to the wire")
	userSpace := fs.Bool("sim-user-space", false, "the simulated nodes have no kernel transmit timestamps (basic mode; the send latency biases the agent)")
	outPath := fs.String("o", "", "append results to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dur < time.Minute || *dur > time.Hour || *settle < 0 || *settle >= *dur || *seeds < 1 || *seeds > 100 {
		return errors.New("realpath: duration 1m..1h, settle below it, sim-seeds 1..100")
	}
	if os.Geteuid() != 0 {
		return errors.New("realpath: network namespaces need root")
	}
	chronyd, err1 := exec.LookPath("chronyd")
	chronyc, err2 := exec.LookPath("chronyc")
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("realpath: %w", err)
	}
	var (
		mu  sync.Mutex
		rs  []Result
		wg  sync.WaitGroup
		bad []error
	)
	for i, j := range realPathJitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := wirelab.Config{
				ID:   fmt.Sprintf("b%d-%d", os.Getpid(), i),
				Path: wirelab.Path{BaseDelay: realPathBaseDelay, Jitter: j}, Duration: *dur, Settle: *settle,
				Seed: uint64(i+1) * 1000, Chronyd: chronyd, Chronyc: chronyc, IBurst: true,
			}
			log.Info("real path", "jitter", j, "duration", *dur)
			res, err := wirelab.Run(ctx, cfg)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				bad = append(bad, fmt.Errorf("jitter %v: %w", j, err))
				return
			}
			probe := res.Probe.Figures(*settle)
			for i, s := range []wirelab.Series{res.Agent, res.Chronyd} {
				f := s.Figures(*settle)
				line := []wirelab.DelayLineStats{res.AgentLine, res.ChronydLine}[i]
				log.Info("real path", "jitter", j, "client", s.Name, "figures", f.String(), "delay_line", line.String())
				r := realPathResults(s.Name, j, f)
				r[0].Note += fmt.Sprintf("; its delay line (from %v on): %s; the reference served host time %+.1f µs off (probe)",
					*settle, line, float64(probe.Mean)/1e3)
				rs = append(rs, r...)
			}
		}()
	}
	for _, j := range realPathJitters {
		r, err := simPrediction(j, *dur, *settle, *sendLatency, *userSpace, *seeds)
		if err != nil {
			return err
		}
		rs = append(rs, r...)
	}
	wg.Wait()
	w, err := output(*outPath)
	if err != nil {
		return err
	}
	defer w.Close()
	return errors.Join(errors.Join(bad...), writeResults(w, rs))
}

func realPathResults(server string, j time.Duration, f wirelab.Figures) []Result {
	sync := f.SyncTime.Seconds()
	note := fmt.Sprintf("max %.1f µs, n=%d, frequency error RMS %.3f ppm", float64(f.MaxAbs)/1e3, f.N, f.FrequencyRMS)
	if f.Never {
		note += "; not within 1 ms at the end"
	}
	return []Result{
		{Server: server, Measure: realMeasure(mRealRMS, j), Unit: "µs", Median: float64(f.RMS) / 1e3, N: f.N, Note: note},
		{Server: server, Measure: realMeasure(mRealMean, j), Unit: "µs", Median: float64(f.Mean) / 1e3, N: f.N},
		{Server: server, Measure: realMeasure(mRealSync, j), Unit: "s", Median: sync, N: 1},
	}
}

// simPrediction runs the simulator on the lab's path (the agent a
// symmetric active peer of a stratum-1 reference, base delay 1 ms each
// way, exponential jitter j, minpoll 4, maxpoll 6, iburst, clocks
// starting right, both with transmit timestamps as the kernel gives them
// — interleaved mode — and the agent's packets leaving sendLatency after
// their timestamps) for seeds seeds: mean over seeds of each figure, the
// spread in Note. With sendLatency and without kernel timestamps (-sim-
// send-latency with -sim-user-space) the timestamps are that much early.
func simPrediction(j, dur, settle, sendLatency time.Duration, userSpace bool, seeds int) ([]Result, error) {
	tx := " tx-timestamps"
	if userSpace {
		tx = ""
	}
	text := fmt.Sprintf(`duration %g
measure after %g
link * * delay %g jitter %g
node ref stratum 1%s
node agent send-latency %g measured%s
peer agent ref minpoll 4 maxpoll 6 iburst
`, dur.Seconds(), settle.Seconds(), realPathBaseDelay.Seconds(), j.Seconds(), tx, sendLatency.Seconds(), tx)
	w, err := sim.Parse(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("realpath: sim: %w", err)
	}
	var rms, mean, syncT []float64
	for seed := range seeds {
		out, err := sim.RunWorld(w, uint64(seed+1))
		if err != nil {
			return nil, fmt.Errorf("realpath: sim: %w", err)
		}
		f := out.Measured[0]
		rms, mean, syncT = append(rms, f.RMSOffset*1e6), append(mean, f.MeanOffset*1e6), append(syncT, f.SyncTime)
	}
	spread := func(v []float64) (float64, string) {
		m, sd := meanSD(v)
		return m, fmt.Sprintf("± %.1f over %d seeds", sd, len(v))
	}
	r, rn := spread(rms)
	m, mn := spread(mean)
	s, sn := spread(syncT)
	return []Result{
		{Server: "ntpsim", Measure: realMeasure(mRealRMS, j), Unit: "µs", Median: r, N: seeds, Note: rn},
		{Server: "ntpsim", Measure: realMeasure(mRealMean, j), Unit: "µs", Median: m, N: seeds, Note: mn},
		{Server: "ntpsim", Measure: realMeasure(mRealSync, j), Unit: "s", Median: s, N: seeds, Note: sn},
	}, nil
}

func meanSD(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)))
}
