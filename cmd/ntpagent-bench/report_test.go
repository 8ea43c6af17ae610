//go:build linux

package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/wirelab"
)

func TestQuantiles(t *testing.T) {
	for _, tc := range []struct {
		in       []float64
		med, p90 float64
	}{
		{nil, 0, 0},
		{[]float64{5}, 5, 5},
		{[]float64{4, 1, 3, 2}, 2.5, 4},
		{[]float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 5.5, 9},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 6, 10},
	} {
		med, p90 := quantiles(tc.in)
		if med != tc.med || p90 != tc.p90 {
			t.Errorf("quantiles(%v) = %v, %v; want %v, %v", tc.in, med, p90, tc.med, tc.p90)
		}
	}
	r := durations("x", mConnect, []time.Duration{time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond})
	if r.Median != 2 || r.P90 != 3 || r.N != 3 || r.Unit != "ms" {
		t.Errorf("durations: %+v", r)
	}
}

// Peers stay on loopback and outside the reference-clock range 127.127/16
// (the host-address rule of datastore/rules); the edits parse as XML with the right count.
func TestPayloads(t *testing.T) {
	seen := map[string]bool{}
	for i := range 1000 {
		a := netip.MustParseAddr(peerAddress(i))
		if !a.IsLoopback() || netip.MustParsePrefix("127.127.0.0/16").Contains(a) || seen[a.String()] {
			t.Fatalf("peer %d: %s", i, a)
		}
		seen[a.String()] = true
	}
	edit := editPeersRPC(0, 1000, 6)
	data := `<rpc-reply xmlns="` + nsBase + `"><data>` + strings.TrimSuffix(strings.TrimPrefix(edit,
		`<edit-config><target><candidate/></target><config>`), `</config></edit-config>`) + `</data></rpc-reply>`
	if n, err := countPeers([]byte(data)); err != nil || n != 1000 {
		t.Fatalf("countPeers = %d, %v", n, err)
	}
	if _, err := countPeers([]byte(`<rpc-reply xmlns="` + nsBase + `"><ok/></rpc-reply>`)); err == nil {
		t.Error("a reply without <data> was counted")
	}
	if _, err := countPeers([]byte(`<rpc-reply><data>`)); err == nil {
		t.Error("truncated XML was counted")
	}
}

func TestReadRSSOfSelf(t *testing.T) {
	v, err := readRSS(os.Getpid())
	if err != nil || v <= 0 {
		t.Fatalf("readRSS = %v, %v", v, err)
	}
	if _, err := readRSS(-1); err == nil {
		t.Error("rss of pid -1")
	}
}

func TestReportTable(t *testing.T) {
	dir := t.TempDir()
	f1, f2 := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	var b strings.Builder
	writeResults(&b, []Result{
		{Server: "netconfd", Measure: mConnect, Unit: "ms", Median: 100, P90: 120, N: 20},
		{Server: "ntpagent", Measure: mConnect, Unit: "ms", Median: 50, P90: 60, N: 20}, // replaced below
		{Server: "netconfd", Measure: mThroughput, Unit: "1/s", Median: 2000, N: 10000},
		{Server: "ntpagent", Measure: mThroughput, Unit: "1/s", Median: 9000, N: 45000},
		{Server: "ntpagent", Measure: mError, Note: "edit: rpc-error | boom"},
	})
	os.WriteFile(f1, []byte(b.String()), 0o644)
	b.Reset()
	writeResults(&b, []Result{{Server: "ntpagent", Measure: mConnect, Unit: "ms", Median: 5, P90: 6, N: 20}})
	os.WriteFile(f2, []byte(b.String()), 0o644)
	gb, err := ParseGoBench(strings.NewReader("goos: linux\npkg: github.com/ntpagent/ntpagent/datastore/xmlcodec\n" +
		"BenchmarkGetConfig100Peers-2   \t    9000\t    150000 ns/op\t  20000 B/op\n" +
		"BenchmarkEditOnePeerWith1000-2 \t     100\t   3000000 ns/op\n" +
		"pkg: github.com/ntpagent/ntpagent/server/netconf/xmlcodec\n" +
		"BenchmarkSubtreeFilterOnePeerOf1000-2 \t 50000\t 20000 ns/op\n" +
		"BenchmarkXPathOnePeerOf1000-2 \t 50000\t 30000 ns/op\nPASS\n"))
	if err != nil || len(gb) != 4 || gb[0].Measure != "datastore/xmlcodec.BenchmarkGetConfig100Peers" || gb[0].Median != 150000 {
		t.Fatalf("ParseGoBench = %+v, %v", gb, err)
	}
	b.Reset()
	writeResults(&b, gb)
	f3 := filepath.Join(dir, "c.jsonl")
	os.WriteFile(f3, []byte(b.String()), 0o644)

	rs, err := readResults([]string{f1, f2, f3})
	if err != nil {
		t.Fatal(err)
	}
	var tb strings.Builder
	if err := WriteReport(&tb, rs, Machine{Date: "d", CPU: "c", Kernel: "k", NProc: 2, LoadAvg: "1 2 3"},
		map[string]string{"chronyd": "not installed"}, []string{"extra line"}); err != nil {
		t.Fatal(err)
	}
	table := tb.String()
	for _, want := range []string{
		"| SSH connect → server hello | 5.00 ms (p90 6.00, n=20) | netconfd: 100 ms (p90 120, n=20) | 0.050× | ≤ 0.1× netconfd **met** |",
		"| get-config of /ntp replies/s, 2 sessions | 9000/s | netconfd: 2000/s | 4.50× | ≥ 4× netconfd **met** |",
		"chronyd: not measured (not installed)",
		"failed (edit: rpc-error / boom)",
		"\n- extra line\n",
		"| go test: datastore/xmlcodec.BenchmarkGetConfig100Peers | 150 µs | — | — | ≤ 0.2 ms **met** |",
		// Two Go benchmarks compared: the XPath key path against the
		// full-key subtree filter.
		"| XPath key path selecting one peer of 1,000 (one key of two), codec | 30.0 µs | subtree filter, full key: 20.0 µs | 1.50× | ≤ 2× subtree filter, full key **met** |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if !strings.Contains(table, "BenchmarkEditOnePeerWith1000 | 3.00 ms | — | — | reported |") {
		t.Errorf("edit benchmark row:\n%s", table)
	}
}

// The real-path rows: RMS against chronyd's (≤ 1×), the bias against its
// ±20 µs limit, the time to sync and the frequency error reported; the simulator's prediction and
// each client's details among the notes. Without real-path results the
// rows are left out.
func TestReportRealPathRows(t *testing.T) {
	one := func(f wirelab.Figures) []realPathRun { return []realPathRun{{f: f, note: "its delay line"}} }
	rs := append(realPathResults("ntpagent", 0, one(wirelab.Figures{N: 50, RMS: 30 * time.Microsecond, Mean: 25 * time.Microsecond, SyncTime: 12 * time.Second, FrequencyRMS: 0.5})),
		realPathResults("chronyd", 0, one(wirelab.Figures{N: 50, RMS: 20 * time.Microsecond, Mean: -5 * time.Microsecond, SyncTime: 30 * time.Second, FrequencyRMS: 0.25}))...)
	rs = append(rs, realPathResults("ntpagent", time.Millisecond, one(wirelab.Figures{N: 50, RMS: 100 * time.Microsecond, Mean: 10 * time.Microsecond}))...)
	rs = append(rs, realPathResults("chronyd", time.Millisecond, one(wirelab.Figures{N: 50, RMS: 140 * time.Microsecond}))...)
	rs = append(rs, Result{Server: "ntpsim", Measure: realMeasure(mRealRMS, 0), Unit: "µs", Median: 1.5, N: 20, Note: "± 0.2 over 20 seeds"})
	var tb strings.Builder
	if err := WriteReport(&tb, rs, Machine{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	table := tb.String()
	for _, want := range []string{
		"| true error RMS, real path, 1 ms + jitter 0s | 30.0 µs | chronyd: 20.0 µs | 1.50× | ≤ 1× chronyd **missed** |",
		"| true error mean (bias), real path, 1 ms + jitter 0s | 25.0 µs | chronyd: -5.00 µs | — | within ±20 µs **missed** |",
		"| time until within 1 ms for good, real path, 1 ms + jitter 0s | 12.0 s | chronyd: 30.0 s | 0.400× | reported |",
		"| true error RMS, real path, 1 ms + jitter 1ms | 100 µs | chronyd: 140 µs | 0.714× | ≤ 1× chronyd **met** |",
		"| true error mean (bias), real path, 1 ms + jitter 1ms | 10.0 µs | chronyd: 0.000 µs | — | within ±20 µs **met** |",
		"- ntpsim prediction for the same path, realpath-rms/0s: 1.50 µs ± 0.2 over 20 seeds",
		"| frequency error RMS, real path, 1 ms + jitter 0s | 0.500 ppm | chronyd: 0.250 ppm | 2.00× | reported |",
		"- chronyd, realpath-rms/0s: max 0.0 µs, n=50, samples' error RMS 0.0 µs mean +0.0 µs median magnitude 0.0 µs (n=0); its delay line",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "jitter 100µs") {
		t.Errorf("rows of a jitter that was not measured:\n%s", table)
	}
}
