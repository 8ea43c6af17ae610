package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/ntpengine/sim"
)

func TestRunPrintsTable(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-seeds", "2", "-run", "jitter", "-duration", "1000"}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// Header plus the jitter sweep rows: 10 µs, 100 µs, 1 ms, 10 ms.
	if len(lines) < 5 || !strings.Contains(lines[0], "RMS offset") {
		t.Fatalf("output:\n%s", out.String())
	}
	for _, j := range []string{"jitter 10us", "jitter 100us", "jitter 1ms", "jitter 10ms"} {
		if !strings.Contains(out.String(), j) {
			t.Errorf("no row %q", j)
		}
	}
	if err := run([]string{"-seeds", "0"}, &out); err == nil {
		t.Error("-seeds 0 accepted")
	}
	out.Reset()
	if err := run([]string{"-seeds", "1", "-run", "jitter 10us", "-duration", "500", "-markdown"}, &out); err != nil {
		t.Fatal(err)
	}
	md := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(md) != 3 || !strings.HasPrefix(md[0], "| scenario |") || !strings.HasPrefix(md[1], "| --- |") ||
		!strings.HasPrefix(md[2], "| jitter 10us | 1 |") || strings.Count(md[2], "|") != 9 {
		t.Errorf("markdown output:\n%s", out.String())
	}
}

// TestChronyTableWithChronyFigures: -chrony prints one row per ported run
// of a chrony test with its pass count and limits, and chrony's own
// figures (read from the reference script's summary) beside ours with the
// ratio of the RMS offsets.
func TestChronyTableWithChronyFigures(t *testing.T) {
	ref := filepath.Join(t.TempDir(), "chrony.tsv")
	tsv := "# chrony's figures\n" +
		"key\ttest\trun\tseeds\tsync_mean\trms_offset_mean\tmax_offset\tmean_offset\trms_freq_mean\tsync_ok\n" +
		"001-defaults\t001-defaults\t1\t20\t150.0\t8.0e-05\t4.0e-04\t-5.0e-06\t1.0e-07\t20/20\n" +
		"151-stratumlimit/s=3\t151-stratumlimit\t1\t20\tNA\tNA\tNA\tNA\tNA\t0/20\n"
	if err := os.WriteFile(ref, []byte(tsv), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"-chrony", "-seeds", "2", "-run", "001-defaults", "-chrony-figures", ref, "-markdown"}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// chrony's run, then the same with iburst (without chrony's lower
	// sync bound), both beside chrony's figures.
	if len(lines) != 4 || !strings.HasPrefix(lines[2], "| 001-defaults | 1 | 2 | ") ||
		!strings.Contains(lines[2], "| 20/20, 150, 80.0, 400 |") || !strings.Contains(lines[2], "| 120..210 s, 300 us, 1000 us |") ||
		!strings.HasPrefix(lines[3], "| 001-defaults/iburst | 1 | 2 | ") || !strings.Contains(lines[3], "| 0..210 s, 300 us, 1000 us |") ||
		!strings.Contains(lines[3], "| 20/20, 150, 80.0, 400 |") {
		t.Fatalf("output:\n%s", out.String())
	}
	cells := strings.Split(lines[2], "|")
	ratio, err := strconv.ParseFloat(strings.TrimSpace(cells[len(cells)-2]), 64)
	rms, err2 := strconv.ParseFloat(strings.Fields(cells[6])[0], 64)
	if err != nil || err2 != nil || math.Abs(ratio-rms/80) > 0.01 {
		t.Errorf("ratio %v for RMS %v µs against chrony's 80 µs (%v, %v)", ratio, rms, err, err2)
	}
	if err := os.WriteFile(ref, []byte("key\ttest\trun\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-chrony", "-seeds", "1", "-run", "001", "-chrony-figures", ref}, &out); err == nil ||
		!strings.Contains(err.Error(), `no column "seeds"`) {
		t.Errorf("a summary without its columns: %v", err)
	}
}

// TestWorldFile: -world runs a world in the text form and prints its
// measured nodes; a bad file is refused with the line at fault.
func TestWorldFile(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
	for name, text := range map[string]string{
		good: "duration 600\nnode s stratum 1\nnode c offset 0.1 measured\nserver c s iburst\n",
		bad:  "duration 600\nnode c\nserver c nowhere\n",
	} {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := run([]string{"-world", good, "-seeds", "2"}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "RMS offset") || !strings.HasPrefix(strings.TrimSpace(lines[1]), "c") {
		t.Errorf("output:\n%s", out.String())
	}
	if err := run([]string{"-world", bad}, &out); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("bad world: %v", err)
	}
}

// TestREADMEWorldParses: the example world in README.md is valid text.
func TestREADMEWorldParses(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "## The scenario language")
	_, rest, ok2 := strings.Cut(rest, "```\n")
	text, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("no example world in README.md")
	}
	w, err := sim.Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Nodes) != 3 || len(w.Outages) != 2 || w.Duration != 10000 {
		t.Errorf("parsed %+v", w)
	}
}
