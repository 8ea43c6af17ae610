package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/ntpagent/ntpagent/ntpengine/sim"
)

// chronyRef is chrony's own figures for one run of one of its tests, as
// scripts/chrony-sim-reference.sh summarizes them.
type chronyRef struct {
	seeds, passed                       int
	syncTime, timeRMS, timeMax, freqRMS float64
}

// refColumns are the columns of the reference summary that the table
// uses: per seed the worst client, mean over seeds (and sync_ok, the
// seeds whose check_sync passed).
var refColumns = []string{"seeds", "sync_ok", "sync_mean", "rms_offset_mean", "max_offset", "rms_freq_mean"}

// readChronyRef reads the summary TSV of scripts/chrony-sim-reference.sh:
// "#" comment lines, a header naming the columns, one row per run of a
// test, keyed by the column key (sim.ChronyCase.RefKey).
func readChronyRef(r io.Reader) (map[string]chronyRef, error) {
	refs := map[string]chronyRef{}
	sc := bufio.NewScanner(r)
	var col map[string]int
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.HasPrefix(text, "#") || strings.TrimSpace(text) == "" {
			continue
		}
		f := strings.Split(text, "\t")
		if col == nil {
			col = map[string]int{}
			for i, name := range f {
				col[name] = i
			}
			for _, need := range append([]string{"key"}, refColumns...) {
				if _, ok := col[need]; !ok {
					return nil, fmt.Errorf("chrony figures: no column %q in the header", need)
				}
			}
			continue
		}
		get := func(name string) string {
			if i := col[name]; i < len(f) {
				return f[i]
			}
			return ""
		}
		var v [6]float64
		measured := true
		for i, name := range refColumns {
			// sync_ok is "passed/seeds"; NA marks a run chronyd refused.
			text, _, _ := strings.Cut(get(name), "/")
			if text == "NA" {
				measured = false
				break
			}
			x, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return nil, fmt.Errorf("chrony figures: line %d: %s %q is not a number", line, name, get(name))
			}
			v[i] = x
		}
		if !measured {
			continue
		}
		refs[get("key")] = chronyRef{seeds: int(v[0]), passed: int(v[1]),
			syncTime: v[2], timeRMS: v[3], timeMax: v[4], freqRMS: v[5]}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("chrony figures: %w", err)
	}
	return refs, nil
}

// chronyTable prints one row per ported chrony test run: this engine's
// figures over seeds with chrony's pass limits, and chrony's own figures
// beside them when refFile names its summary.
func chronyTable(out io.Writer, header, row func(...string), seeds int, only, refFile string) error {
	// Several files: a later one's figures replace an earlier one's for
	// the runs it has (chrony HEAD's figures of the tests 4.3 lacks).
	refs := map[string]chronyRef{}
	for _, name := range strings.Split(refFile, ",") {
		if name == "" {
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("chrony figures: %w", err)
		}
		more, err := readChronyRef(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for k, v := range more {
			refs[k] = v
		}
	}
	var cases []sim.ChronyCase
	for _, c := range sim.ChronyCases() {
		if only == "" || strings.Contains(c.Key(), only) {
			cases = append(cases, c)
		}
	}
	sums := make([]sim.ChronySummary, len(cases))
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	work := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				sums[i], errs[i] = cases[i].Summarize(seeds)
			}
		}()
	}
	for i := range cases {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	header("chrony test", "run", "seeds", "pass", "sync time (s)", "RMS offset (us)", "max offset (us)", "mean offset (us)",
		"RMS freq (ppm)", "limits: sync, RMS, max", "chrony: pass, sync (s), RMS (us), max (us)", "RMS / chrony's")
	pm := func(st sim.Stats, scale float64, f func(float64) string) string {
		return f(st.Mean*scale) + " ± " + f(st.SD*scale)
	}
	whole := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	ppm := func(v float64) string { return fmt.Sprintf("%.3f", v) }
	for _, s := range sums {
		c, l := s.Case, s.Case.Params.Limits
		minSync := l.MinSyncTime
		if c.NoMinSyncTime || c.Params.IBurst && !c.ChronyIBurst {
			minSync = 0
		}
		expect := ""
		if c.SyncFails {
			expect = " (expected to fail)"
		}
		limits := fmt.Sprintf("%g..%g s, %g us, %g us%s", minSync, l.MaxSyncTime, l.TimeRMS*1e6, l.TimeMax*1e6, expect)
		sync := pm(s.SyncTime, 1, whole)
		if s.NeverSynced > 0 {
			sync += fmt.Sprintf(" (%d never)", s.NeverSynced)
		}
		ref, ratio := "-", "-"
		if r, ok := refs[c.RefKey]; ok {
			ref = fmt.Sprintf("%d/%d, %.0f, %.1f, %.0f", r.passed, r.seeds, r.syncTime, r.timeRMS*1e6, r.timeMax*1e6)
			if r.timeRMS > 0 {
				ratio = fmt.Sprintf("%.2f", s.TimeRMS.Mean/r.timeRMS)
			}
		}
		row(c.Key(), strconv.Itoa(c.Run), strconv.Itoa(s.Seeds), fmt.Sprintf("%d/%d", s.Passed, s.Seeds), sync,
			pm(s.TimeRMS, 1, us), us(s.TimeMax), us(s.TimeMean), pm(s.FreqRMS, 1e6, ppm), limits, ref, ratio)
	}
	return nil
}

// us prints seconds in microseconds, large values without decimals.
func us(v float64) string {
	if math.Abs(v) >= 1e-3 {
		return fmt.Sprintf("%.0f", v*1e6)
	}
	return fmt.Sprintf("%.1f", v*1e6)
}

// worldTable runs the world in file on seeds 1..n and prints one row per
// measured node and seed.
func worldTable(header, row func(...string), file string, n int) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("world: %w", err)
	}
	w, err := sim.Parse(f)
	f.Close()
	if err != nil {
		return err
	}
	header("node", "seed", "sync time (s)", "RMS offset (us)", "max offset (us)", "mean offset (us)", "RMS freq (ppm)", "steps", "packets out")
	for seed := uint64(1); seed <= uint64(n); seed++ {
		o, err := sim.RunWorld(w, seed)
		if err != nil {
			return err
		}
		for _, m := range o.Measured {
			sync := fmt.Sprintf("%.0f", m.SyncTime)
			if !m.Synced {
				sync = "never"
			}
			row(m.Name, strconv.FormatUint(seed, 10), sync, us(m.RMSOffset), us(m.MaxOffset), us(m.MeanOffset),
				fmt.Sprintf("%.3f", m.RMSFreq*1e6), strconv.Itoa(m.Steps), strconv.Itoa(m.Packets.Out))
		}
	}
	return nil
}
