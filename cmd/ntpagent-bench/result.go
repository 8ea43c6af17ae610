//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Result is one measure of one server, written as a JSON line.
type Result struct {
	Server  string  `json:"server"`  // "ntpagent", "netconfd", "chronyd", "go-bench"
	Measure string  `json:"measure"` // a key of the report's rows
	Unit    string  `json:"unit"`    // "ms", "1/s", "MiB", "ns"
	Median  float64 `json:"median"`
	P90     float64 `json:"p90,omitempty"`
	N       int     `json:"n"`
	Note    string  `json:"note,omitempty"`
}

// Measure keys shared by the NETCONF suite, the NTP generator and the report.
const (
	mConnect    = "connect"
	mEdit100    = "edit-commit-100"
	mEdit1000   = "edit-commit-1000"
	mGet100     = "get-config-100"
	mGet1000    = "get-config-1000"
	mGetAll1000 = "get-1000"
	// get-data of <operational> with origin, 1,000 peers: the configuration
	// only, and everything (RFC 8526).
	mGetData1000    = "get-data-config-origin-1000"
	mGetDataAll1000 = "get-data-operational-origin-1000"
	mGetNacm1000    = "get-config-nacm-1000"
	// mGetNacmOpen1000 is the same get-config by an unrestricted user,
	// taken in the same step.
	mGetNacmOpen1000 = "get-config-nacm-open-1000"
	mThroughput      = "get-config-rate"
	mNTPRate         = "ntp-replies"
	mNTPCPU          = "ntp-cpu-per-reply"
	mRSSIdle         = "rss-idle"
	mRSS128          = "rss-128"
	mRSS1000         = "rss-1000"
	mGetConfigSize   = "get-config-100-bytes"
	mError           = "error" // Note says why a server dropped out
)

// durations summarizes timed samples as milliseconds.
func durations(server, measure string, d []time.Duration) Result {
	ms := make([]float64, len(d))
	for i, x := range d {
		ms[i] = float64(x) / float64(time.Millisecond)
	}
	med, p90 := quantiles(ms)
	return Result{Server: server, Measure: measure, Unit: "ms", Median: med, P90: p90, N: len(d)}
}

// quantiles returns the median and the 90th percentile (nearest rank).
func quantiles(v []float64) (median, p90 float64) {
	if len(v) == 0 {
		return 0, 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		median = s[n/2]
	} else {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	// Nearest rank: the smallest value with at least 90% of samples ≤ it.
	r := (90*n + 99) / 100
	return median, s[max(r, 1)-1]
}

func writeResults(w io.Writer, rs []Result) error {
	enc := json.NewEncoder(w)
	for _, r := range rs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// readResults reads JSON lines from files; later results replace earlier
// ones with the same server and measure.
func readResults(paths []string) ([]Result, error) {
	var out []Result
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for line := 1; sc.Scan(); line++ {
			t := strings.TrimSpace(sc.Text())
			if t == "" {
				continue
			}
			var r Result
			if err := json.Unmarshal([]byte(t), &r); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s:%d: %w", p, line, err)
			}
			out = slices.DeleteFunc(out, func(x Result) bool { return x.Server == r.Server && x.Measure == r.Measure })
			out = append(out, r)
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return out, nil
}

// readRSS returns VmRSS of a process in MiB from /proc/PID/status.
func readRSS(pid int) (float64, error) {
	v, err := readStatusKB(pid, "VmRSS")
	return v[0] / 1024, err
}

// readStatusKB returns the named kB fields of /proc/PID/status, in kB.
func readStatusKB(pid int, names ...string) ([]float64, error) {
	out := make([]float64, len(names))
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return out, fmt.Errorf("rss: %w", err)
	}
	found := 0
	for line := range strings.Lines(string(b)) {
		for i, n := range names {
			rest, ok := strings.CutPrefix(line, n+":")
			if !ok {
				continue
			}
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return out, fmt.Errorf("rss: unexpected %s line %q", n, line)
			}
			kb, err := strconv.ParseFloat(f[0], 64)
			if err != nil {
				return out, fmt.Errorf("rss: %w", err)
			}
			out[i] = kb
			found++
		}
	}
	if found != len(names) {
		return out, fmt.Errorf("rss: not all of %v in /proc/%d/status", names, pid)
	}
	return out, nil
}
