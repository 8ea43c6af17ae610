//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ntpagent/ntpagent/internal/wirelab"
	"github.com/ntpagent/ntpagent/ntpengine/sim"
)

// Real-path measures, one per jitter: "realpath-rms/J", "realpath-mean/J",
// "realpath-sync/J", "realpath-freq/J" (J as Go prints the duration: 0s,
// 100µs, 1ms).
const (
	mRealRMS  = "realpath-rms"
	mRealMean = "realpath-mean"
	mRealSync = "realpath-sync"
	mRealFreq = "realpath-freq"
)

func realMeasure(m string, j time.Duration) string { return m + "/" + j.String() }

// realPathJitters are the jitters of the report's real-path rows.
var realPathJitters = []time.Duration{0, 100 * time.Microsecond, time.Millisecond}

// realPathBaseDelay is the delay lines' base delay each way.
const realPathBaseDelay = time.Millisecond

// cmdRealPath measures the agent and chronyd on the real path of
// internal/wirelab at each jitter, all jitters at once (each in its own
// lab), runs times in a row (each run drawing other delays), and the
// simulator's prediction for the same path. With more than one run each
// figure is the median over the runs, every run's in its note.
func cmdRealPath(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("realpath", flag.ContinueOnError)
	dur := fs.Duration("duration", 300*time.Second, "how long each lab runs")
	settle := fs.Duration("settle", 120*time.Second, "statistics from this time on")
	runs := fs.Int("runs", 1, "runs in a row, each with all jitters at once")
	seed := fs.Uint64("seed", 0, "added to the delay lines' seeds (each run and jitter draws its own)")
	jitterList := fs.String("jitters", "0,100us,1ms", "the jitters measured, comma-separated")
	seeds := fs.Int("sim-seeds", 20, "seeds of the simulator's prediction")
	sendLatency := fs.Duration("sim-send-latency", 0, "the simulated agent's delay from its transmit timestamp to the wire")
	userSpace := fs.Bool("sim-user-space", false, "the simulated nodes have no kernel transmit timestamps (basic mode; the send latency biases the agent)")
	outPath := fs.String("o", "", "append results to this file")
	client := fs.Bool("agent-client", false, "the agent is a client of the reference (mode 3, as chronyd), not a symmetric active peer")
	dumpDir := fs.String("dump", "", "write each lab's every reading, sample and datagram to a JSON file in this folder")
	if err := fs.Parse(args); err != nil {
		return err
	}
	jitters, err := parseJitters(*jitterList)
	if err != nil {
		return err
	}
	if *dur < time.Minute || *dur > time.Hour || *settle < 0 || *settle >= *dur || *seeds < 1 || *seeds > 100 || *runs < 1 || *runs > 20 {
		return errors.New("realpath: duration 1m..1h, settle below it, runs 1..20, sim-seeds 1..100")
	}
	if os.Geteuid() != 0 {
		return errors.New("realpath: network namespaces need root")
	}
	if *dumpDir != "" {
		// Before the labs run, not when their results are written.
		if err := os.MkdirAll(*dumpDir, 0o755); err != nil {
			return fmt.Errorf("realpath: %w", err)
		}
	}
	chronyd, err1 := exec.LookPath("chronyd")
	chronyc, err2 := exec.LookPath("chronyc")
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("realpath: %w", err)
	}
	var (
		mu      sync.Mutex
		figures = map[string][]realPathRun{}      // by client and jitter
		onDraws = map[string][][2]time.Duration{} // the simulator's RMS and mean on each run's draws, by whose line's and jitter
		bad     []error
	)
	for run := range *runs {
		var wg sync.WaitGroup
		for i, j := range jitters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cfg := wirelab.Config{
					ID:   fmt.Sprintf("b%d-%d", os.Getpid(), i),
					Path: wirelab.Path{BaseDelay: realPathBaseDelay, Jitter: j}, Duration: *dur, Settle: *settle,
					Seed: *seed + uint64(i+1)*1000 + uint64(run), Chronyd: chronyd, Chronyc: chronyc, IBurst: true, AgentClient: *client,
				}
				log.Info("real path", "jitter", j, "run", run+1, "duration", *dur, "load", loadAverage())
				res, err := wirelab.Run(ctx, cfg)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					bad = append(bad, fmt.Errorf("jitter %v: %w", j, err))
					return
				}
				if *dumpDir != "" {
					name := fmt.Sprintf("realpath-%v-run%d", j, run+1)
					if slices.Index(jitters, j) != i { // a jitter measured twice at once
						name += fmt.Sprintf("-lab%d", i+1)
					}
					if err := dumpRealPath(filepath.Join(*dumpDir, name+".json"), res); err != nil {
						bad = append(bad, err)
					}
				}
				for _, line := range []struct {
					name   string
					ds     []wirelab.Datagram
					byTime bool
				}{{serverOnDraws, res.AgentDatagrams, false}, {serverOnChronydDraws, res.ChronydDatagrams, j == 0}} {
					rms, mean, err := simOnDraws(res, line.ds, line.byTime, *settle, nil)
					if err != nil {
						bad = append(bad, err)
						return
					}
					key := line.name + "/" + j.String()
					onDraws[key] = append(onDraws[key], [2]time.Duration{rms, mean})
				}
				probe := res.Probe.Figures(*settle)
				for i, s := range []wirelab.Series{res.Agent, res.Chronyd} {
					f := s.Figures(*settle)
					line := []wirelab.DelayLineStats{res.AgentLine, res.ChronydLine}[i]
					sf := s.SampleFigures(*settle)
					log.Info("real path", "jitter", j, "run", run+1, "client", s.Name, "figures", f.String(), "samples", sf.String(),
						"delay_line", line.String(), "load", loadAverage())
					key := s.Name + "/" + j.String()
					figures[key] = append(figures[key], realPathRun{f: f, samples: sf, note: fmt.Sprintf(
						"its delay line (from %v on): %s; the reference served host time %+.1f µs off (probe)",
						*settle, line, float64(probe.Mean)/1e3)})
				}
			}()
		}
		wg.Wait()
	}
	var rs []Result
	for _, j := range jitters {
		for _, name := range []string{"ntpagent", "chronyd"} {
			if runs := figures[name+"/"+j.String()]; len(runs) > 0 {
				rs = append(rs, realPathResults(name, j, runs)...)
			}
		}
		for _, server := range []string{serverOnDraws, serverOnChronydDraws} {
			if d := onDraws[server+"/"+j.String()]; len(d) > 0 {
				rs = append(rs, onDrawsResults(server, j, d)...)
			}
		}
		r, err := simPrediction(j, *dur, *settle, *sendLatency, *userSpace, *seeds)
		if err != nil {
			return err
		}
		rs = append(rs, r...)
	}
	w, err := output(*outPath)
	if err != nil {
		return err
	}
	defer w.Close()
	return errors.Join(errors.Join(bad...), writeResults(w, rs))
}

// dumpRealPath writes a lab's result as JSON (durations in nanoseconds)
// to the file name (realpath-J-runN.json, with -labI for a jitter
// measured more than once at a time).
func dumpRealPath(name string, res wirelab.Result) error {
	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("realpath: %w", err)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		return fmt.Errorf("realpath: %w", err)
	}
	return nil
}

// parseJitters reads a comma-separated list of jitters (Go durations;
// "0" for none).
func parseJitters(list string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(list, ",") {
		j, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || j < 0 || j > 100*time.Millisecond {
			return nil, fmt.Errorf("realpath: jitter %q: want a duration in [0, 100ms]", f)
		}
		out = append(out, j)
	}
	return out, nil
}

// loadAverage is the host's 1-minute load average (/proc/loadavg), the
// load the real path shares the host with.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b) + " ?")[0]
}

// realPathRun is one client's figures of one run at one jitter.
type realPathRun struct {
	f       wirelab.Figures
	samples wirelab.SampleFigures
	note    string
}

// realPathResults are one client's results at one jitter: the median of
// each figure over the runs, every run's figures in the notes.
func realPathResults(server string, j time.Duration, runs []realPathRun) []Result {
	pick := func(digits int, v func(realPathRun) float64) (float64, string) {
		xs := make([]float64, len(runs))
		parts := make([]string, len(runs))
		for i, r := range runs {
			xs[i] = v(r)
			parts[i] = strconv.FormatFloat(xs[i], 'f', digits, 64)
		}
		med, _ := quantiles(xs)
		if len(runs) == 1 {
			return med, ""
		}
		return med, fmt.Sprintf("median of %d runs: %s", len(runs), strings.Join(parts, ", "))
	}
	rms, rmsRuns := pick(1, func(r realPathRun) float64 { return float64(r.f.RMS) / 1e3 })
	mean, meanRuns := pick(1, func(r realPathRun) float64 { return float64(r.f.Mean) / 1e3 })
	sync, syncRuns := pick(0, func(r realPathRun) float64 { return r.f.SyncTime.Seconds() })
	freq, freqRuns := pick(3, func(r realPathRun) float64 { return r.f.FrequencyRMS })
	var notes []string
	if rmsRuns != "" {
		notes = append(notes, rmsRuns+" µs")
	}
	for i, r := range runs {
		n := fmt.Sprintf("max %.1f µs, n=%d, %s", float64(r.f.MaxAbs)/1e3, r.f.N, r.samples)
		if r.f.Never {
			n += "; not within 1 ms at the end"
		}
		if len(runs) > 1 {
			n = fmt.Sprintf("run %d: %s", i+1, n)
		}
		notes = append(notes, n+"; "+r.note)
	}
	return []Result{
		{Server: server, Measure: realMeasure(mRealRMS, j), Unit: "µs", Median: rms, N: len(runs), Note: strings.Join(notes, "; ")},
		{Server: server, Measure: realMeasure(mRealMean, j), Unit: "µs", Median: mean, N: len(runs), Note: meanRuns},
		{Server: server, Measure: realMeasure(mRealSync, j), Unit: "s", Median: sync, N: len(runs), Note: syncRuns},
		{Server: server, Measure: realMeasure(mRealFreq, j), Unit: "ppm", Median: freq, N: len(runs), Note: freqRuns},
	}
}

// onDrawsResults are the simulator's figures on the runs' recorded delay
// draws (simOnDraws; server says whose line's) at jitter j: the median
// over the runs, each run's in the note, in the order of the runs.
func onDrawsResults(server string, j time.Duration, runs [][2]time.Duration) []Result {
	var out []Result
	for i, m := range []string{mRealRMS, mRealMean} {
		xs := make([]float64, len(runs))
		parts := make([]string, len(runs))
		for k, r := range runs {
			xs[k] = float64(r[i]) / 1e3
			parts[k] = strconv.FormatFloat(xs[k], 'f', 1, 64)
		}
		med, _ := quantiles(xs)
		out = append(out, Result{Server: server, Measure: realMeasure(m, j), Unit: "µs", Median: med, N: len(runs),
			Note: "each run: " + strings.Join(parts, ", ")})
	}
	return out
}

// serverOnDraws and serverOnChronydDraws name the results of the
// simulator on the delays the agent's line recorded (its prediction of
// the wire agent) and on those chronyd's line recorded (the engine beside
// chronyd draw for draw).
const (
	serverOnDraws        = "ntpsim-draws"
	serverOnChronydDraws = "ntpsim-chronyd-draws"
)

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
