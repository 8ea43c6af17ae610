package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunPrintsTable(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-seeds", "2", "-run", "jitter", "-duration", "1000"}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// Header plus the jitter sweep rows of issue 5: 10 µs, 100 µs, 1 ms, 10 ms.
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
