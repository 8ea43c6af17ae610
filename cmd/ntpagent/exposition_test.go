package main

import (
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The text format (Prometheus exposition 0.0.4): HELP and TYPE per
// family, families by name, labels by name, samples by their labels,
// label values and help texts escaped, special values spelled out.
func TestExpositionTextFormat(t *testing.T) {
	var e exposition
	peer := newDesc("x_peer_reach", "Reach of a peer.", "address", "mode")
	e.add(peer, 255, "192.0.2.2", "client")
	e.add(peer, 1, `a"b\c`+"\nd", "symmetric-active")
	e.add(newDesc("x_packets_total", `Packets, a \ and a`+"\nline."), 3)
	e.add(newDesc("x_offset_seconds", "Offset."), math.Inf(-1))
	e.add(newDesc("x_jitter_seconds", "Jitter."), math.NaN())
	e.add(newDesc("x_big", "Big."), 1e21)
	var b strings.Builder
	if err := e.write(&b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP x_big Big.
# TYPE x_big gauge
x_big 1e+21
# HELP x_jitter_seconds Jitter.
# TYPE x_jitter_seconds gauge
x_jitter_seconds NaN
# HELP x_offset_seconds Offset.
# TYPE x_offset_seconds gauge
x_offset_seconds -Inf
# HELP x_packets_total Packets, a \\ and a\nline.
# TYPE x_packets_total counter
x_packets_total 3
# HELP x_peer_reach Reach of a peer.
# TYPE x_peer_reach gauge
x_peer_reach{address="192.0.2.2",mode="client"} 255
x_peer_reach{address="a\"b\\c\nd",mode="symmetric-active"} 1
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	// Labels are written by name whatever the order the family declares.
	var e2 exposition
	e2.add(newDesc("y", "Y.", "vpn_instance", "address"), 1, "_public_", "192.0.2.1")
	b.Reset()
	e2.write(&b)
	if !strings.Contains(b.String(), `y{address="192.0.2.1",vpn_instance="_public_"} 1`) {
		t.Errorf("labels not by name:\n%s", b.String())
	}
}

// The process's own figures read from /proc agree with what the process
// knows of itself: its resident memory is positive and below its virtual
// size, its start time is before now and after the host booted, its open
// descriptors include the one this test holds open.
func TestExpositionProcessMetrics(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	f, err := os.Open("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var e exposition
	e.addProcess()
	e.addRuntime()
	var b strings.Builder
	e.write(&b)
	v := map[string]float64{}
	for line := range strings.Lines(b.String()) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, val, _ := strings.Cut(strings.TrimSpace(line), " ")
		x, err := strconv.ParseFloat(val, 64)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		v[name] = x
	}
	if r, vm := v["process_resident_memory_bytes"], v["process_virtual_memory_bytes"]; r <= 0 || r >= vm {
		t.Errorf("resident %v, virtual %v", r, vm)
	}
	boot, ok := bootTime()
	start := v["process_start_time_seconds"]
	if !ok || start < float64(boot.Unix()) || start > float64(time.Now().Unix())+1 {
		t.Errorf("start time %v, boot %v, now %v", start, boot, time.Now())
	}
	if v["process_open_fds"] < 1 || v["process_open_fds"] > v["process_max_fds"] {
		t.Errorf("open fds %v, max %v", v["process_open_fds"], v["process_max_fds"])
	}
	if v["go_goroutines"] < 1 || v["go_memstats_heap_alloc_bytes"] <= 0 || v[`go_info{version="`+runtime.Version()+`"}`] != 1 {
		t.Errorf("runtime metrics: %v", v)
	}
}
