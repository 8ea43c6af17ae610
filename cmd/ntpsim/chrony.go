package main

import (
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

// chronyTable prints one row per ported chrony test run: this engine's
// figures over seeds with chrony's pass limits, and chrony's own figures
// beside them when refFile names its summary.
func chronyTable(out io.Writer, header, row func(...string), seeds int, only, refFile string) error {
	// Several files: a later one's figures replace an earlier one's for
	// the runs it has (chrony HEAD's figures of the tests 4.3 lacks).
	refs := map[string]sim.ChronyFigures{}
	for _, name := range strings.Split(refFile, ",") {
		if name == "" {
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("chrony figures: %w", err)
		}
		more, err := sim.ReadChronyFigures(f)
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
			ref = fmt.Sprintf("%d/%d, %.0f, %.1f, %.0f", r.Passed, r.Seeds, r.SyncTime, r.TimeRMS*1e6, r.TimeMax*1e6)
			if r.TimeRMS > 0 {
				ratio = fmt.Sprintf("%.2f", s.TimeRMS.Mean/r.TimeRMS)
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
