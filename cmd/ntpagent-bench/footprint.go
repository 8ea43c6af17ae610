//go:build linux

package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ntpagent/ntpagent/internal/memdump"
)

// profiledRate is the heap profile's sampling interval in bytes for the
// profiled starts (GODEBUG=memprofilerate; the default, 512 KiB, leaves a
// 10 MiB heap with a handful of samples).
const profiledRate = 4096

// Measures of the footprint step.
const (
	mStart1000      = "start-1000"
	mHeapIdle       = "heap-idle"
	mHeap1000       = "heap-1000"
	mStacksIdle     = "stacks-idle"
	mStacks1000     = "stacks-1000"
	mRSSStartIdle   = "rss-fresh-idle"
	mRSSStart1000   = "rss-fresh-1000"
	mHeapServed     = "heap-idle-served"
	mRSSServed      = "rss-fresh-idle-served"
	mBinaryStripped = "binary-stripped"
)

// FootprintConfig is one run of the footprint step.
type FootprintConfig struct {
	Agent    string // daemon binary
	Stripped string // the same daemon built with -ldflags='-s -w' ("" skips the binary rows)
	// MainPackage is the daemon's main package, whose imports show what
	// links gRPC and protobuf.
	MainPackage string
	Work        string // a folder of this run (state folders, logs, dumps)
	Key         ssh.Signer
	Starts      int           // timed starts with 1,000 peers
	Settle      time.Duration // pause after a start before reading memory
	Top         int           // heap allocation sites listed
	Log         *slog.Logger
}

// daemon is one started ntpagent.
type daemon struct {
	cmd     *exec.Cmd
	done    chan error
	netconf string // its NETCONF address
	dumpDir string
}

// startDaemon execs the agent on state and returns once its NETCONF port
// accepts a TCP connection, with the time from exec to then. env is added
// to the environment.
func startDaemon(ctx context.Context, c FootprintConfig, state, logName string, env []string) (*daemon, time.Duration, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, 0, err
	}
	d := &daemon{netconf: "127.0.0.1:" + strconv.Itoa(ports[0]), done: make(chan error, 1)}
	logf, err := os.Create(filepath.Join(c.Work, logName))
	if err != nil {
		return nil, 0, err
	}
	defer logf.Close() // the child holds its own descriptor
	d.cmd = exec.Command(c.Agent,
		"--state-dir", state,
		"--netconf-listen", d.netconf,
		"--cli-listen", "127.0.0.1:"+strconv.Itoa(ports[1]),
		"--ntp-listen", "127.0.0.1:"+strconv.Itoa(ports[2]))
	d.cmd.Env = append(append(os.Environ(), "NTPAGENT_ADMIN_PASSWORD=bench-footprint-unused"), env...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	t0 := time.Now()
	if err := d.cmd.Start(); err != nil {
		return nil, 0, err
	}
	go func() { d.done <- d.cmd.Wait() }()
	took, err := awaitAccepting(ctx, "tcp", d.netconf, t0, d.done)
	if err != nil {
		d.stop()
		return nil, 0, fmt.Errorf("daemon: %w, see %s", err, logName)
	}
	return d, took, nil
}

// awaitAccepting polls addr (every millisecond, 20 s at most) until it
// accepts a connection and returns the time since t0. done delivers the
// started process's exit; an exit ends the wait (and is put back).
func awaitAccepting(ctx context.Context, network, addr string, t0 time.Time, done chan error) (time.Duration, error) {
	deadline := t0.Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout(network, addr, time.Second)
		if err == nil {
			took := time.Since(t0)
			conn.Close()
			return took, nil
		}
		select {
		case err := <-done:
			done <- err
			return 0, fmt.Errorf("exited before %s accepted (%v)", addr, err)
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s not accepting after 20 s", addr)
		}
	}
}

// stop sends SIGTERM and waits (10 s at most, then SIGKILL).
func (d *daemon) stop() error {
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		return err
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		return errors.New("daemon did not stop within 10 s of SIGTERM")
	}
}

// rss is a process's resident memory in MiB: all of it, its anonymous
// pages (heap, stacks) and its file pages, which are its executable's
// (text and read-only data) and other files' (shared libraries).
type rss struct{ total, anon, file, exe, otherFiles float64 }

// fileResident splits the file-backed resident pages of a process
// (smaps(5): each mapping's Rss less its Anonymous pages) into those of
// its executable and those of other files, in MiB.
func fileResident(pid int) (exe, other float64, err error) {
	proc := "/proc/" + strconv.Itoa(pid)
	exePath, err := os.Readlink(proc + "/exe")
	if err != nil {
		return 0, 0, err
	}
	b, err := os.ReadFile(proc + "/smaps")
	if err != nil {
		return 0, 0, err
	}
	var path string
	var rssKB, anonKB float64
	flush := func() {
		if strings.HasPrefix(path, "/") {
			if path == exePath {
				exe += (rssKB - anonKB) / 1024
			} else {
				other += (rssKB - anonKB) / 1024
			}
		}
		rssKB, anonKB = 0, 0
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			flush()
			path = ""
			if len(f) >= 6 {
				path = strings.Join(f[5:], " ")
			}
		case len(f) == 3 && f[0] == "Rss:":
			rssKB, _ = strconv.ParseFloat(f[1], 64)
		case len(f) == 3 && f[0] == "Anonymous:":
			anonKB, _ = strconv.ParseFloat(f[1], 64)
		}
	}
	flush()
	return exe, other, nil
}

// memDump asks the daemon for its memory dump and reads it with its RSS.
func (d *daemon) memDump(ctx context.Context) (memdump.Stats, rss, error) {
	var st memdump.Stats
	stats := filepath.Join(d.dumpDir, memdump.StatsFile)
	os.Remove(stats)
	if err := d.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return st, rss{}, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(stats)
		if err == nil {
			if err := json.Unmarshal(b, &st); err != nil {
				return st, rss{}, fmt.Errorf("%s: %w", stats, err)
			}
			kb, err := readStatusKB(d.cmd.Process.Pid, "VmRSS", "RssAnon", "RssFile")
			if err != nil {
				return st, rss{}, err
			}
			exe, other, err := fileResident(d.cmd.Process.Pid)
			return st, rss{total: kb[0] / 1024, anon: kb[1] / 1024, file: kb[2] / 1024, exe: exe, otherFiles: other}, err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return st, rss{}, fmt.Errorf("no memory dump in %s after SIGUSR1 (is %s honoured?)", d.dumpDir, memdump.Env)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// footprintState is what one state (idle, 1,000 peers) measured.
type footprintState struct {
	label    string
	stats    memdump.Stats
	rss      rss
	topFlat  string // go tool pprof -top (in-use bytes by allocating function)
	topCum   string // the same, cumulative (which caller holds them)
	profiled memdump.Stats
}

// measureState starts the daemon twice on state: once as shipped (the
// memory figures) and once with a fine heap profile rate (the allocation
// sites), each with the memory dump turned on. When use is set, it runs
// after the pause, before the dump.
func measureState(ctx context.Context, c FootprintConfig, state, label string, use func(*daemon) error) (footprintState, error) {
	fs := footprintState{label: label}
	for i, rate := range []int{0, profiledRate} {
		dir := filepath.Join(c.Work, fmt.Sprintf("dump-%s-%d", label, i))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fs, err
		}
		env := []string{memdump.Env + "=" + dir}
		if rate > 0 {
			env = append(env, "GODEBUG=memprofilerate="+strconv.Itoa(rate))
		}
		d, _, err := startDaemon(ctx, c, state, fmt.Sprintf("footprint-%s-%d.log", label, i), env)
		if err != nil {
			return fs, err
		}
		d.dumpDir = dir
		time.Sleep(c.Settle)
		if use != nil {
			if err := use(d); err != nil {
				d.stop()
				return fs, err
			}
		}
		st, rss, err := d.memDump(ctx)
		d.stop()
		if err != nil {
			return fs, err
		}
		if rate == 0 {
			fs.stats, fs.rss = st, rss
			continue
		}
		fs.profiled = st
		heap := filepath.Join(dir, memdump.HeapFile)
		fs.topFlat, err = pprofTop(ctx, heap, c.Top, false)
		if err != nil {
			return fs, err
		}
		fs.topCum, err = pprofTop(ctx, heap, c.Top*2, true)
		if err != nil {
			return fs, err
		}
	}
	return fs, nil
}

// pprofTop lists the in-use bytes of a heap profile by function.
func pprofTop(ctx context.Context, profile string, n int, cum bool) (string, error) {
	args := []string{"tool", "pprof", "-top", "-sample_index=inuse_space", "-nodecount=" + strconv.Itoa(n)}
	if cum {
		args = append(args, "-cum")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, profile)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go tool pprof: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// writeUsers gives the state folder one admin with the bench's key.
func writeUsers(state string, key ssh.Signer) error {
	if err := os.MkdirAll(filepath.Join(state, "ssh"), 0o700); err != nil {
		return err
	}
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key.PublicKey())))
	b, err := json.Marshal(map[string]any{"users": []map[string]any{{"name": "admin", "role": "admin", "authorized-keys": []string{pub}}}})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(state, "ssh", "users.json"), append(b, '\n'), 0o600)
}

// loadPeersInto starts the daemon on state, commits peers 0..n-1 over
// NETCONF and stops it: running then holds them at the next start.
func loadPeersInto(ctx context.Context, c FootprintConfig, state string, n int) error {
	d, _, err := startDaemon(ctx, c, state, "footprint-load.log", nil)
	if err != nil {
		return err
	}
	defer d.stop()
	s, err := dialAdmin(ctx, c, d)
	if err != nil {
		return err
	}
	defer s.Close(true)
	return loadPeers(s, 0, n)
}

// getConfigOnce opens a NETCONF session, sends one get-config and closes
// it: the daemon has then served a manager once.
func getConfigOnce(ctx context.Context, c FootprintConfig, d *daemon) error {
	s, err := dialAdmin(ctx, c, d)
	if err != nil {
		return err
	}
	defer s.Close(true)
	_, err = s.RPC(getConfigRPC)
	return err
}

// dialAdmin opens a NETCONF session to the daemon as its admin.
func dialAdmin(ctx context.Context, c FootprintConfig, d *daemon) (*Session, error) {
	t := &Target{Name: "ntpagent", Addr: d.netconf, Framing11: true, Timeout: 60 * time.Second, MaxMessage: 64 << 20,
		SSH: &ssh.ClientConfig{User: "admin", Auth: []ssh.AuthMethod{ssh.PublicKeys(c.Key)}, Timeout: 60 * time.Second,
			// A daemon this program started on loopback with a new host key.
			HostKeyCallback: ssh.InsecureIgnoreHostKey()}}
	return dialHello(ctx, t)
}

// RunFootprint measures the daemon's memory idle and with 1,000 peers, its
// start time with 1,000 peers in running, and its stripped binary. detail
// receives the breakdown and the heap allocation sites.
func RunFootprint(ctx context.Context, c FootprintConfig, detail io.Writer) ([]Result, error) {
	const peers = 1000
	state := filepath.Join(c.Work, "state")
	if err := writeUsers(state, c.Key); err != nil {
		return nil, err
	}
	var out []Result
	c.Log.Info("footprint", "step", "idle")
	idle, err := measureState(ctx, c, state, "idle", nil)
	if err != nil {
		return nil, fmt.Errorf("idle: %w", err)
	}
	c.Log.Info("footprint", "step", "idle after one get-config")
	served, err := measureState(ctx, c, state, "idle after one get-config", func(d *daemon) error { return getConfigOnce(ctx, c, d) })
	if err != nil {
		return nil, fmt.Errorf("idle after one get-config: %w", err)
	}
	c.Log.Info("footprint", "step", "load 1,000 peers into running")
	if err := loadPeersInto(ctx, c, state, peers); err != nil {
		return nil, fmt.Errorf("loading peers: %w", err)
	}
	c.Log.Info("footprint", "step", "start time", "starts", c.Starts)
	var starts []time.Duration
	for i := range c.Starts + 1 {
		d, took, err := startDaemon(ctx, c, state, "footprint-start.log", nil)
		if err != nil {
			return nil, fmt.Errorf("start %d: %w", i, err)
		}
		if err := d.stop(); err != nil {
			return nil, fmt.Errorf("start %d: stopping: %w", i, err)
		}
		if i > 0 { // the first start warms the page cache
			starts = append(starts, took)
		}
	}
	r := durations("ntpagent", mStart1000, starts)
	r.Note = "exec → NETCONF port accepting, 1,000 peers in running"
	out = append(out, r)
	c.Log.Info("footprint", "step", "1,000 peers")
	loaded, err := measureState(ctx, c, state, "1000", nil)
	if err != nil {
		return out, fmt.Errorf("1,000 peers: %w", err)
	}
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	for _, x := range []struct {
		fs                 footprintState
		heap, stacks, rssM string
		note               string
	}{
		{idle, mHeapIdle, mStacksIdle, mRSSStartIdle, "fresh start, no peers"},
		{served, mHeapServed, "", mRSSServed, "fresh start, no peers, one NETCONF get-config served"},
		{loaded, mHeap1000, mStacks1000, mRSSStart1000, "fresh start, 1,000 peers in running"},
	} {
		out = append(out,
			Result{Server: "ntpagent", Measure: x.heap, Unit: "MiB", Median: mib(x.fs.stats.HeapObjects), N: 1, Note: x.note},
			Result{Server: "ntpagent", Measure: x.rssM, Unit: "MiB", Median: x.fs.rss.total, N: 1,
				Note: fmt.Sprintf("%s; anonymous %.1f MiB, file-backed %.1f MiB (its executable %.1f, other files %.1f)",
					x.note, x.fs.rss.anon, x.fs.rss.file, x.fs.rss.exe, x.fs.rss.otherFiles)})
		if x.stacks != "" {
			out = append(out, Result{Server: "ntpagent", Measure: x.stacks, Unit: "MiB", Median: mib(x.fs.stats.HeapStacks + x.fs.stats.OSStacks), N: 1,
				Note: fmt.Sprintf("%s; %d goroutines, %d threads", x.note, x.fs.stats.Goroutines, x.fs.stats.Threads)})
		}
	}
	var bin *binaryFacts
	if c.Stripped != "" {
		b, err := readBinary(c.Stripped)
		if err != nil {
			return out, err
		}
		if len(b.flagged) > 0 {
			b.chains, err = importChains(ctx, c.MainPackage, []string{"google.golang.org/grpc", "google.golang.org/protobuf"})
			if err != nil {
				return out, err
			}
		}
		bin = &b
		out = append(out, Result{Server: "ntpagent", Measure: mBinaryStripped, Unit: "MiB", Median: float64(b.size) / (1 << 20), N: 1, Note: b.note()})
	}
	writeFootprintDetail(detail, starts, []footprintState{idle, served, loaded}, bin)
	return out, nil
}

// binaryFacts are the size of the stripped daemon and the modules of
// concern it links.
type binaryFacts struct {
	size    int64
	flagged []string // module paths of gRPC and protobuf found in its build information
	chains  []string // the shortest import chain from the daemon's main package to each
}

// readBinary reads the size and the build information (`go version -m`).
func readBinary(path string) (binaryFacts, error) {
	var b binaryFacts
	fi, err := os.Stat(path)
	if err != nil {
		return b, err
	}
	b.size = fi.Size()
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return b, fmt.Errorf("%s: %w", path, err)
	}
	for _, m := range info.Deps {
		if m.Path == "google.golang.org/grpc" || m.Path == "google.golang.org/protobuf" || m.Path == "github.com/golang/protobuf" {
			b.flagged = append(b.flagged, m.Path+" "+m.Version)
		}
	}
	return b, nil
}

// importChains finds, in `go list -deps` of the main package, the shortest
// import chain to the first package of each target module.
func importChains(ctx context.Context, mainPkg string, targets []string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mainPkg)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	imports := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) > 0 {
			imports[f[0]] = f[1:]
		}
	}
	// Breadth first from the main package: the first package met under a
	// target module ends the shortest chain to it.
	var chains []string
	for _, mod := range targets {
		from := map[string]string{mainPkg: ""}
		queue := []string{mainPkg}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			if p == mod || strings.HasPrefix(p, mod+"/") {
				var chain []string
				for q := p; q != ""; q = from[q] {
					chain = append([]string{q}, chain...)
				}
				chains = append(chains, strings.Join(chain, " → "))
				break
			}
			for _, q := range imports[p] {
				if _, seen := from[q]; !seen {
					from[q] = p
					queue = append(queue, q)
				}
			}
		}
	}
	return chains, nil
}

func (b binaryFacts) note() string {
	if len(b.flagged) == 0 {
		return "links neither gRPC nor protobuf"
	}
	return "links " + strings.Join(b.flagged, ", ")
}

// writeFootprintDetail writes the markdown detail of the footprint step.
func writeFootprintDetail(w io.Writer, starts []time.Duration, states []footprintState, bin *binaryFacts) {
	fmt.Fprintf(w, "# ntpagent footprint (%s, load average %s)\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), machine().LoadAvg)
	var ss []string
	for _, d := range starts {
		ss = append(ss, fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)))
	}
	fmt.Fprintf(w, "Start, exec → NETCONF port accepting, 1,000 peers in running (ms): %s\n\n", strings.Join(ss, " "))
	if bin != nil {
		fmt.Fprintf(w, "Binary built with -ldflags='-s -w': %.1f MiB; %s.\n\n", float64(bin.size)/(1<<20), bin.note())
		for _, c := range bin.chains {
			fmt.Fprintf(w, "- imported through %s\n", c)
		}
		if len(bin.chains) > 0 {
			fmt.Fprintln(w)
		}
	}
	mib := func(b uint64) string { return fmt.Sprintf("%.2f", float64(b)/(1<<20)) }
	fmt.Fprintln(w, "Memory after a garbage collection (runtime/metrics, MiB), daemon as shipped:")
	fmt.Fprintln(w)
	fmt.Fprint(w, "| class |")
	for _, s := range states {
		fmt.Fprintf(w, " %s |", s.label)
	}
	fmt.Fprint(w, "\n|---|")
	for range states {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	rows := []struct {
		name string
		v    func(memdump.Stats) string
	}{
		{"heap objects (live)", func(m memdump.Stats) string { return mib(m.HeapObjects) }},
		{"heap unused (in spans, fragmentation)", func(m memdump.Stats) string { return mib(m.HeapUnused) }},
		{"heap free, not returned to the OS", func(m memdump.Stats) string { return mib(m.HeapFree) }},
		{"heap returned to the OS", func(m memdump.Stats) string { return mib(m.HeapReleased) }},
		{"goroutine stacks", func(m memdump.Stats) string { return mib(m.HeapStacks) }},
		{"OS thread stacks", func(m memdump.Stats) string { return mib(m.OSStacks) }},
		{"runtime metadata (GC, spans)", func(m memdump.Stats) string { return mib(m.Metadata) }},
		{"profiling buckets", func(m memdump.Stats) string { return mib(m.ProfilingBuckets) }},
		{"other runtime", func(m memdump.Stats) string { return mib(m.Other) }},
		{"total mapped by the runtime", func(m memdump.Stats) string { return mib(m.Total) }},
		{"goroutines (count)", func(m memdump.Stats) string { return strconv.FormatUint(m.Goroutines, 10) }},
		{"OS threads created (count)", func(m memdump.Stats) string { return strconv.Itoa(m.Threads) }},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "| %s |", r.name)
		for _, s := range states {
			fmt.Fprintf(w, " %s |", r.v(s.stats))
		}
		fmt.Fprintln(w)
	}
	for _, r := range []struct {
		name string
		v    func(rss) float64
	}{
		{"RSS (VmRSS)", func(r rss) float64 { return r.total }},
		{"RSS anonymous (RssAnon)", func(r rss) float64 { return r.anon }},
		{"RSS file-backed (RssFile)", func(r rss) float64 { return r.file }},
		{"— of the daemon's executable (smaps)", func(r rss) float64 { return r.exe }},
		{"— of other files: shared libraries (smaps)", func(r rss) float64 { return r.otherFiles }},
	} {
		fmt.Fprintf(w, "| %s |", r.name)
		for _, s := range states {
			fmt.Fprintf(w, " %.2f |", r.v(s.rss))
		}
		fmt.Fprintln(w)
	}
	for _, s := range states {
		fmt.Fprintf(w, "\n## Heap in use by allocating function, %s (GODEBUG=memprofilerate=%d; heap objects in that run %s MiB)\n\n```\n%s```\n",
			s.label, profiledRate, mib(s.profiled.HeapObjects), s.topFlat)
		fmt.Fprintf(w, "\nCumulative (who holds it):\n\n```\n%s```\n", s.topCum)
	}
}
