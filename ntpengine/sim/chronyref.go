package sim

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ChronyFigures are chrony's own figures for one run of one of its
// simulation tests (or of this project's scenarios for its harness), as
// scripts/chrony-sim-reference.sh summarizes them: per seed the worst
// client, mean over seeds.
type ChronyFigures struct {
	// Seeds measured; Passed: those whose check_sync passed.
	Seeds, Passed int
	// SyncTime (s), RMS and maximum offset (s), mean offset over seeds
	// and clients (s), RMS frequency error (s/s).
	SyncTime, TimeRMS, TimeMax, TimeMean, FreqRMS float64
}

// chronyFigureColumns are the columns of the summary ReadChronyFigures
// takes, in the order of its fields.
var chronyFigureColumns = []string{"seeds", "sync_ok", "sync_mean", "rms_offset_mean", "max_offset", "mean_offset", "rms_freq_mean"}

// ReadChronyFigures reads the summary TSV of
// scripts/chrony-sim-reference.sh: "#" comment lines, a header naming the
// columns, one row per run of a test, keyed by the column key
// (ChronyCase.RefKey). Runs chronyd refused (NA) are left out.
func ReadChronyFigures(r io.Reader) (map[string]ChronyFigures, error) {
	refs := map[string]ChronyFigures{}
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
			for _, need := range append([]string{"key"}, chronyFigureColumns...) {
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
		var v [7]float64
		measured := true
		for i, name := range chronyFigureColumns {
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
		refs[get("key")] = ChronyFigures{Seeds: int(v[0]), Passed: int(v[1]),
			SyncTime: v[2], TimeRMS: v[3], TimeMax: v[4], TimeMean: v[5], FreqRMS: v[6]}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("chrony figures: %w", err)
	}
	return refs, nil
}
