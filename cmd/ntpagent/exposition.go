package main

import (
	"bufio"
	"io"
	"maps"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// exposition is one scrape of /metrics in Prometheus's text format,
// version 0.0.4: a "# HELP" and a "# TYPE" line per metric family, then
// one line per sample, `name{label="value",...} value`. Families are
// written in name order and the samples of a family in the order of their
// label values, labels by name, so that two scrapes of the same state are
// the same text.
type exposition struct {
	families map[string]*family
}

// metricDesc describes a metric family: its name, its help text, its type
// (gauge or counter) and the names of its labels.
type metricDesc struct {
	name, help, typ string
	labels          []string
}

type family struct {
	desc    metricDesc
	samples []sample
}

type sample struct {
	labels string // `{a="x",b="y"}` or ""
	value  float64
}

// exposition's content type, as Prometheus's scrapers expect it.
const expositionContentType = "text/plain; version=0.0.4; charset=utf-8"

// newDesc describes a family whose name says its type: a name ending in
// _total counts (a counter), any other is a gauge.
func newDesc(name, help string, labels ...string) metricDesc {
	if strings.HasSuffix(name, "_total") {
		return counterDesc(name, help, labels...)
	}
	return gaugeDesc(name, help, labels...)
}

func gaugeDesc(name, help string, labels ...string) metricDesc {
	return metricDesc{name: name, help: help, typ: "gauge", labels: labels}
}

func counterDesc(name, help string, labels ...string) metricDesc {
	return metricDesc{name: name, help: help, typ: "counter", labels: labels}
}

// add records one sample of d; values are its label values, in the order
// of d's label names.
func (e *exposition) add(d metricDesc, v float64, values ...string) {
	if e.families == nil {
		e.families = map[string]*family{}
	}
	f := e.families[d.name]
	if f == nil {
		f = &family{desc: d}
		e.families[d.name] = f
	}
	f.samples = append(f.samples, sample{labels: labelText(d.labels, values), value: v})
}

// labelText renders label pairs sorted by name, values escaped (a
// backslash, a double quote and a line feed).
func labelText(names, values []string) string {
	if len(names) == 0 {
		return ""
	}
	order := make([]int, len(names))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(names[a], names[b]) })
	var b strings.Builder
	b.WriteByte('{')
	for n, i := range order {
		if n > 0 {
			b.WriteByte(',')
		}
		v := ""
		if i < len(values) {
			v = values[i]
		}
		b.WriteString(names[i])
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(v))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

// formatValue writes a sample value as the format has it: Go's shortest
// representation, and +Inf, -Inf, NaN.
func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// write writes the scrape.
func (e *exposition) write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, n := range slices.Sorted(maps.Keys(e.families)) {
		f := e.families[n]
		slices.SortStableFunc(f.samples, func(a, b sample) int { return strings.Compare(a.labels, b.labels) })
		bw.WriteString("# HELP " + n + " " + helpEscaper.Replace(f.desc.help) + "\n")
		bw.WriteString("# TYPE " + n + " " + f.desc.typ + "\n")
		for _, s := range f.samples {
			bw.WriteString(n + s.labels + " " + formatValue(s.value) + "\n")
		}
	}
	return bw.Flush()
}

// The Go runtime's and the process's own metrics, under the names
// Prometheus's Go client gives them (go_*, process_*), so that existing
// dashboards read them.
var (
	goGoroutines   = gaugeDesc("go_goroutines", "Number of goroutines that currently exist.")
	goThreads      = gaugeDesc("go_threads", "Number of OS threads created.")
	goInfo         = gaugeDesc("go_info", "Information about the Go environment.", "version")
	goHeapAlloc    = gaugeDesc("go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and still in use.")
	goHeapInuse    = gaugeDesc("go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use.")
	goHeapIdle     = gaugeDesc("go_memstats_heap_idle_bytes", "Number of heap bytes waiting to be used.")
	goHeapReleased = gaugeDesc("go_memstats_heap_released_bytes", "Number of heap bytes released to OS.")
	goHeapObjects  = gaugeDesc("go_memstats_heap_objects", "Number of allocated objects.")
	goStackInuse   = gaugeDesc("go_memstats_stack_inuse_bytes", "Number of bytes in use by the stack allocator.")
	goSys          = gaugeDesc("go_memstats_sys_bytes", "Number of bytes obtained from system.")
	goNextGC       = gaugeDesc("go_memstats_next_gc_bytes", "Number of heap bytes when next garbage collection will take place.")
	goMallocs      = counterDesc("go_memstats_mallocs_total", "Total number of mallocs.")
	goFrees        = counterDesc("go_memstats_frees_total", "Total number of frees.")
	goGCCycles     = counterDesc("go_gc_cycles_total", "Number of completed garbage collection cycles.")
	procCPU        = counterDesc("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.")
	procResident   = gaugeDesc("process_resident_memory_bytes", "Resident memory size in bytes.")
	procVirtual    = gaugeDesc("process_virtual_memory_bytes", "Virtual memory size in bytes.")
	procOpenFDs    = gaugeDesc("process_open_fds", "Number of open file descriptors.")
	procMaxFDs     = gaugeDesc("process_max_fds", "Maximum number of open file descriptors.")
	procStartTime  = gaugeDesc("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
)

// userHZ is the unit of the times in /proc/PID/stat (USER_HZ, clock ticks
// per second): 100 on every Linux architecture Go runs on.
const userHZ = 100

// addRuntime adds the Go runtime's metrics.
func (e *exposition) addRuntime() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	e.add(goGoroutines, float64(runtime.NumGoroutine()))
	e.add(goThreads, float64(pprof.Lookup("threadcreate").Count()))
	e.add(goInfo, 1, runtime.Version())
	e.add(goHeapAlloc, float64(ms.HeapAlloc))
	e.add(goHeapInuse, float64(ms.HeapInuse))
	e.add(goHeapIdle, float64(ms.HeapIdle))
	e.add(goHeapReleased, float64(ms.HeapReleased))
	e.add(goHeapObjects, float64(ms.HeapObjects))
	e.add(goStackInuse, float64(ms.StackInuse))
	e.add(goSys, float64(ms.Sys))
	e.add(goNextGC, float64(ms.NextGC))
	e.add(goMallocs, float64(ms.Mallocs))
	e.add(goFrees, float64(ms.Frees))
	e.add(goGCCycles, float64(ms.NumGC))
}

// addProcess adds the process's metrics from /proc (proc(5)); where
// /proc is not there (off Linux) it adds only what the system call
// answers.
func (e *exposition) addProcess() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		e.add(procMaxFDs, float64(lim.Cur))
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		e.add(procOpenFDs, float64(len(fds)))
	}
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14, stime 15, starttime 22,
	// vsize 23, rss 24 (pages).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	field := func(n int) float64 {
		if n-3 >= len(f) {
			return 0
		}
		v, _ := strconv.ParseFloat(f[n-3], 64)
		return v
	}
	e.add(procCPU, (field(14)+field(15))/userHZ)
	e.add(procVirtual, field(23))
	e.add(procResident, field(24)*float64(os.Getpagesize()))
	if boot, ok := bootTime(); ok {
		e.add(procStartTime, float64(boot.Unix())+field(22)/userHZ)
	}
}

// bootTime reads the host's boot time (btime of /proc/stat).
func bootTime() (time.Time, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return time.Unix(s, 0), err == nil
		}
	}
	return time.Time{}, false
}
