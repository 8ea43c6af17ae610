//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// row is one line of the report: our measure against the peer's.
type row struct {
	label   string
	measure string
	peer    string // "netconfd", "chronyd" or "" (no peer)
	// target is the ratio ntpagent/peer to meet: at most (less) or at least.
	target float64
	less   bool
	// absMax, when > 0, is a limit on |ntpagent's value| (in the row's
	// unit) instead of a ratio: a bias has no meaningful ratio.
	absMax float64
	// versus, when set, is the measure of ntpagent itself to compare
	// with (peer names it): one operation against another.
	versus string
	// atMost, when > 0, is a limit on ntpagent's value (in the row's unit)
	// instead of a ratio: a goal of its own.
	atMost float64
	// server, when set, is the server of measure and versus instead of
	// ntpagent: "go-bench" compares two Go micro-benchmarks.
	server string
}

// rows are the NETCONF and NTP rows, with the targets of issues 4 and 6.
var reportRows = []row{
	{label: "SSH connect → server hello", measure: mConnect, peer: "netconfd", target: 0.1, less: true},
	{label: "edit one peer + commit (100 peers present)", measure: mEdit100, peer: "netconfd", target: 0.4, less: true},
	{label: "edit one peer + commit (1,000 peers present)", measure: mEdit1000, peer: "netconfd", target: 0.4, less: true},
	{label: "get-config of /ntp (ntpagent-ntp), 100 peers", measure: mGet100, peer: "netconfd", target: 0.33, less: true},
	{label: "get-config of /ntp (ntpagent-ntp), 1,000 peers", measure: mGet1000, peer: "netconfd", target: 0.33, less: true},
	{label: "get-data <operational>, config with origin, 1,000 peers", measure: mGetData1000, peer: "get-config", versus: mGet1000},
	{label: "get-config of /ntp, 1,000 peers, access control with a 20-rule rule-list", measure: mGetNacm1000, peer: "unrestricted user", versus: mGetNacmOpen1000, target: 1.1, less: true},
	{label: "get of /ntp (configuration and state), 1,000 peers", measure: mGetAll1000, peer: "netconfd"},
	{label: "get-data <operational>, all with origin, 1,000 peers", measure: mGetDataAll1000, peer: "get", versus: mGetAll1000},
	{label: "get-config of /ntp replies/s, 2 sessions", measure: mThroughput, peer: "netconfd", target: 4, less: false},
	{label: "XPath key path selecting one peer of 1,000 (one key of two), codec", measure: "server/netconf/xmlcodec.BenchmarkXPathOnePeerOf1000",
		server: "go-bench", peer: "subtree filter, full key", versus: "server/netconf/xmlcodec.BenchmarkSubtreeFilterOnePeerOf1000", target: 2, less: true},
	{label: "NTP server-mode replies/s", measure: mNTPRate, peer: "chronyd", target: 1, less: false},
	{label: "NTP server CPU time per reply", measure: mNTPCPU, peer: "chronyd"},
	{label: "RSS idle", measure: mRSSIdle, peer: "netconfd"},
	{label: "RSS, 128 peers configured", measure: mRSS128, peer: "netconfd"},
	{label: "RSS, 1,000 peers configured", measure: mRSS1000, peer: "netconfd"},
	{label: "get-config of /ntp reply size, 100 peers", measure: mGetConfigSize, peer: "netconfd"},
	{label: "start: exec → NETCONF port accepting, 1,000 peers in running", measure: mStart1000, peer: "netconfd", atMost: 150},
	{label: "RSS idle, fresh start", measure: mRSSStartIdle},
	{label: "Go heap objects idle (after GC)", measure: mHeapIdle},
	{label: "goroutine + thread stacks idle", measure: mStacksIdle},
	{label: "Go heap objects idle, after one NETCONF get-config", measure: mHeapServed},
	{label: "RSS idle, after one NETCONF get-config", measure: mRSSServed},
	{label: "RSS, fresh start with 1,000 peers in running", measure: mRSSStart1000},
	{label: "Go heap objects, 1,000 peers (after GC)", measure: mHeap1000},
	{label: "goroutine + thread stacks, 1,000 peers", measure: mStacks1000},
	{label: "binary, stripped (-ldflags='-s -w')", measure: mBinaryStripped},
}

// viewRows are the rows of the agent's views: get-config and edit+commit
// through each, against the same through ntpagent-ntp (at most 2×).
func viewRows() []row {
	var out []row
	for _, vb := range viewBenches {
		out = append(out,
			row{label: "get-config through the " + vb.name + " view, 1,000 peers", measure: viewMeasure(mGet1000, vb.name),
				peer: "ntpagent-ntp", versus: mGet1000, target: 2, less: true},
			row{label: "edit one peer + commit through the " + vb.name + " view (1,000 peers present)", measure: viewMeasure(mEdit1000, vb.name),
				peer: "ntpagent-ntp", versus: mEdit1000, target: 2, less: true})
	}
	return out
}

// realPathRows are the rows of the real path (internal/wirelab) at each
// jitter: the true error's RMS against chronyd's on the same path, its
// mean (the bias, within ±20 µs), the time to stay within 1 ms and the
// frequency error's RMS.
func realPathRows() []row {
	var out []row
	for _, j := range realPathJitters {
		at := fmt.Sprintf("real path, 1 ms + jitter %v", j)
		out = append(out,
			row{label: "true error RMS, " + at, measure: realMeasure(mRealRMS, j), peer: "chronyd", target: 1, less: true},
			row{label: "true error mean (bias), " + at, measure: realMeasure(mRealMean, j), peer: "chronyd", absMax: 20},
			row{label: "time until within 1 ms for good, " + at, measure: realMeasure(mRealSync, j), peer: "chronyd"},
			row{label: "frequency error RMS, " + at, measure: realMeasure(mRealFreq, j), peer: "chronyd"},
		)
	}
	return out
}

// goBenchTargets are the absolute targets for Go micro-benchmarks
// (matched on the benchmark name), in milliseconds.
var goBenchTargets = []struct {
	re *regexp.Regexp
	ms float64
}{
	{regexp.MustCompile(`GetConfig100Peers$`), 0.2},
	{regexp.MustCompile(`GetConfig1000Peers$`), 2},
	{regexp.MustCompile(`(?i)commit`), 1},
}

// Machine describes where the run happened.
type Machine struct {
	Date, CPU, Kernel string
	NProc             int
	LoadAvg           string // /proc/loadavg's 1, 5 and 15 minute figures
}

func formatValue(r Result) string {
	switch r.Unit {
	case "ms":
		s := fmtNum(r.Median) + " ms"
		if r.N > 1 {
			s += " (p90 " + fmtNum(r.P90) + ", n=" + strconv.Itoa(r.N) + ")"
		}
		return s
	case "ns":
		if r.Median < 1e6 {
			return fmtNum(r.Median/1e3) + " µs"
		}
		return fmtNum(r.Median/1e6) + " ms"
	case "1/s":
		return fmtNum(r.Median) + "/s"
	case "MiB":
		return fmtNum(r.Median) + " MiB"
	case "bytes":
		return strconv.Itoa(int(r.Median)) + " B"
	}
	return fmtNum(r.Median) + " " + r.Unit
}

// fmtNum prints 3 significant digits, without exponent.
func fmtNum(v float64) string {
	switch a := max(v, -v); {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

// WriteReport writes the markdown table, then notes: the NTP load counts,
// why a server dropped out, and extraNotes. missing maps a server to the
// reason it was not measured (shown in its empty cells).
func WriteReport(w io.Writer, rs []Result, m Machine, missing map[string]string, extraNotes []string) error {
	find := func(server, measure string) (Result, bool) {
		for _, r := range rs {
			if r.Server == server && r.Measure == measure {
				return r, true
			}
		}
		return Result{}, false
	}
	cell := func(server, measure string) string {
		if r, ok := find(server, measure); ok {
			return formatValue(r)
		}
		if why := missing[server]; why != "" {
			return "not measured (" + why + ")"
		}
		if r, ok := find(server, mError); ok {
			why := r.Note
			if len(why) > 120 {
				why = why[:120] + "…"
			}
			return "failed (" + strings.ReplaceAll(why, "|", "/") + ")"
		}
		return "—"
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Benchmarks of %s on %d CPU (%s), Linux %s, load average %s at the end; loopback only.\n\n",
		m.Date, m.NProc, m.CPU, m.Kernel, m.LoadAvg)
	fmt.Fprintln(bw, "| measure | ntpagent | peer | ratio | target |")
	fmt.Fprintln(bw, "|---|---|---|---|---|")
	for _, x := range slices.Concat(reportRows, viewRows(), realPathRows()) {
		srv := x.server
		if srv == "" {
			srv = "ntpagent"
		}
		ours, okOurs := find(srv, x.measure)
		theirs, okTheirs := find(x.peer, x.measure)
		peerCell := cell(x.peer, x.measure)
		if x.versus != "" {
			theirs, okTheirs = find(srv, x.versus)
			peerCell = cell(srv, x.versus)
		}
		if srv != "ntpagent" && !okOurs && !okTheirs {
			continue // not measured in this run (Go benchmarks left out)
		}
		if !okOurs && !okTheirs && strings.HasPrefix(x.measure, "realpath") {
			continue // the real path was not measured (not root, or left out)
		}
		if x.peer == "" {
			fmt.Fprintf(bw, "| %s | %s | — | — | reported |\n", x.label, cell("ntpagent", x.measure))
			continue
		}
		if x.atMost > 0 {
			target := fmt.Sprintf("≤ %s %s", strconv.FormatFloat(x.atMost, 'g', -1, 64), ours.Unit)
			if okOurs {
				if ours.Median <= x.atMost {
					target += " **met**"
				} else {
					target += " **missed**"
				}
			}
			ratio := "—"
			if okOurs && okTheirs && theirs.Median != 0 {
				ratio = fmtNum(ours.Median/theirs.Median) + "×"
			}
			fmt.Fprintf(bw, "| %s | %s | %s: %s | %s | %s |\n", x.label, cell("ntpagent", x.measure), x.peer, peerCell, ratio, target)
			continue
		}
		if x.absMax > 0 {
			target := fmt.Sprintf("within ±%s %s", strconv.FormatFloat(x.absMax, 'g', -1, 64), ours.Unit)
			if okOurs {
				if math.Abs(ours.Median) <= x.absMax {
					target += " **met**"
				} else {
					target += " **missed**"
				}
			}
			fmt.Fprintf(bw, "| %s | %s | %s: %s | — | %s |\n", x.label, cell("ntpagent", x.measure), x.peer, cell(x.peer, x.measure), target)
			continue
		}
		ratio := "—"
		if okOurs && okTheirs && theirs.Median != 0 {
			ratio = fmtNum(ours.Median/theirs.Median) + "×"
		}
		target := "reported"
		if x.target > 0 {
			sign := "≥"
			if x.less {
				sign = "≤"
			}
			target = fmt.Sprintf("%s %s× %s", sign, strconv.FormatFloat(x.target, 'g', -1, 64), x.peer)
			if okOurs && okTheirs && theirs.Median != 0 {
				q := ours.Median / theirs.Median
				if x.less && q <= x.target || !x.less && q >= x.target {
					target += " **met**"
				} else {
					target += " **missed**"
				}
			}
		}
		fmt.Fprintf(bw, "| %s | %s | %s: %s | %s | %s |\n", x.label, cell(srv, x.measure), x.peer, peerCell, ratio, target)
	}
	for _, r := range rs {
		if r.Server != "go-bench" {
			continue
		}
		target := "reported"
		for _, t := range goBenchTargets {
			if t.re.MatchString(r.Measure) {
				ms := r.Median / 1e6
				verdict := "**missed**"
				if ms <= t.ms {
					verdict = "**met**"
				}
				target = fmt.Sprintf("≤ %s ms %s", strconv.FormatFloat(t.ms, 'g', -1, 64), verdict)
				break
			}
		}
		fmt.Fprintf(bw, "| go test: %s | %s | — | — | %s |\n", r.Measure, formatValue(r), target)
	}
	var notes []string
	for _, r := range rs {
		switch {
		case r.Note != "" && (r.Measure == mStacksIdle || r.Measure == mStacks1000 || r.Measure == mRSSStartIdle || r.Measure == mRSSServed || r.Measure == mRSSStart1000 || r.Measure == mBinaryStripped):
			notes = append(notes, fmt.Sprintf("- %s, %s: %s", r.Server, r.Measure, r.Note))
		case r.Server == serverOnDraws:
			notes = append(notes, fmt.Sprintf("- ntpsim on the delays the agent's line recorded (same engine, exact timestamps), %s: %s (%s)", r.Measure, formatValue(Result{Unit: r.Unit, Median: r.Median}), r.Note))
		case r.Server == serverOnChronydDraws:
			notes = append(notes, fmt.Sprintf("- ntpsim on the delays chronyd's line recorded (the engine beside chronyd draw for draw), %s: %s (%s)", r.Measure, formatValue(Result{Unit: r.Unit, Median: r.Median}), r.Note))
		case r.Note != "" && (r.Measure == mNTPRate || r.Measure == mError || strings.HasPrefix(r.Measure, mRealRMS+"/")) && r.Server != "ntpsim":
			notes = append(notes, fmt.Sprintf("- %s, %s: %s", r.Server, r.Measure, r.Note))
		case r.Server == "ntpsim":
			notes = append(notes, fmt.Sprintf("- ntpsim prediction for the same path, %s: %s %s", r.Measure, formatValue(Result{Unit: r.Unit, Median: r.Median}), r.Note))
		}
	}
	for _, n := range extraNotes {
		notes = append(notes, "- "+n)
	}
	if len(notes) > 0 {
		fmt.Fprintln(bw)
		for _, n := range notes {
			fmt.Fprintln(bw, n)
		}
	}
	return bw.Flush()
}

// benchLine matches one `go test -bench` result line.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+([0-9.]+) ns/op`)

// ParseGoBench reads `go test -bench` output; pkg lines ("pkg: X") name the
// package of the results that follow.
func ParseGoBench(r io.Reader) ([]Result, error) {
	var out []Result
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(strings.TrimSpace(p), "github.com/ntpagent/ntpagent/")
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		ns, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			return nil, fmt.Errorf("bench line %q: %w", line, err)
		}
		name := m[1]
		if pkg != "" {
			name = pkg + "." + name
		}
		out = append(out, Result{Server: "go-bench", Measure: name, Unit: "ns", Median: ns, N: n})
	}
	return out, sc.Err()
}
