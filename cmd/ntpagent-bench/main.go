//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

const usage = `usage: ntpagent-bench COMMAND [flags]

commands:
  netconf   time one NETCONF server (connect, edit+commit, get-config, rate, RSS)
  ntp       server-mode NTP load against one UDP address
  realpath  true clock error of ntpagent and chronyd on a real path (namespaces, delay lines; root)
  replay    the simulator on the delays of real-path runs (realpath -dump files)
  gobench   turn 'go test -bench' output (stdin) into result lines
  footprint start time with 1,000 peers, memory breakdown and heap allocation sites, stripped binary
  starttime time another server's starts, exec until its Unix socket accepts (-- COMMAND ARGS...)
  startupxml print a configuration file of the bench's N peers (netconfd --startup)
  report    print the markdown table from result files
  freeport  print free loopback ports (TCP and UDP both free)
  waitport  wait until a loopback TCP or UDP port is bound

Results are JSON lines on stdout (or -o FILE).`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var err error
	switch os.Args[1] {
	case "netconf":
		err = cmdNETCONF(ctx, log, os.Args[2:])
	case "ntp":
		err = cmdNTP(ctx, os.Args[2:])
	case "realpath":
		err = cmdRealPath(ctx, log, os.Args[2:])
	case "replay":
		err = cmdReplay(os.Args[2:])
	case "gobench":
		err = cmdGoBench(os.Args[2:])
	case "footprint":
		err = cmdFootprint(ctx, log, os.Args[2:])
	case "starttime":
		err = cmdStartTime(ctx, os.Args[2:])
	case "startupxml":
		err = cmdStartupXML(os.Args[2:])
	case "report":
		err = cmdReport(os.Args[2:])
	case "freeport":
		err = cmdFreePort(os.Args[2:])
	case "waitport":
		err = cmdWaitPort(ctx, os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ntpagent-bench:", err)
		os.Exit(1)
	}
}

// output opens -o or stdout.
func output(path string) (io.WriteCloser, error) {
	if path == "" || path == "-" {
		return nopCloser{os.Stdout}, nil
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// loopbackOnly refuses an address that is not on loopback: the bench sends
// nothing anywhere else.
func loopbackOnly(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s is not a loopback address", hostport)
	}
	return nil
}

// targetSpec is one -target flag: name=N,addr=HOST:PORT,user=U[,pid=P].
type targetSpec struct {
	name, addr, user string
	pid              int
}

func parseTarget(v string) (targetSpec, error) {
	var t targetSpec
	for field := range strings.SplitSeq(v, ",") {
		k, val, ok := strings.Cut(field, "=")
		if !ok {
			return t, fmt.Errorf("target %q: want key=value, got %q", v, field)
		}
		switch k {
		case "name":
			t.name = val
		case "addr":
			t.addr = val
		case "user":
			t.user = val
		case "pid":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return t, fmt.Errorf("target %q: bad pid %q", v, val)
			}
			t.pid = n
		default:
			return t, fmt.Errorf("target %q: unknown key %q", v, k)
		}
	}
	if t.name == "" || t.addr == "" || t.user == "" {
		return t, fmt.Errorf("target %q: name, addr and user are required", v)
	}
	return t, loopbackOnly(t.addr)
}

func cmdNETCONF(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("netconf", flag.ContinueOnError)
	var targets multiFlag
	fs.Var(&targets, "target", "name=NAME,addr=HOST:PORT,user=USER[,pid=PID] of one server (repeatable; pid enables RSS)")
	keyFile := fs.String("key", "", "private key file (OpenSSH format)")
	password := fs.String("password", "", "password (when no key is given)")
	pause := fs.Duration("hello-pause", 500*time.Millisecond, "pause after our hello before the first rpc (not timed)")
	chunked := fs.Bool("base11", true, "offer base:1.1 chunked framing")
	connects := fs.Int("connect-runs", 20, "connect samples")
	gets := fs.Int("get-runs", 200, "get-config samples with 100 peers (a quarter of them with 1,000)")
	edits := fs.Int("edit-runs", 60, "edit+commit samples with 100 peers (half of them with 1,000)")
	dur := fs.Duration("duration", 5*time.Second, "duration of the get-config rate loop of each server")
	sessions := fs.Int("sessions", 2, "sessions of the get-config rate loop")
	timeout := fs.Duration("timeout", 60*time.Second, "bound of one operation")
	outPath := fs.String("o", "", "append results to this file")
	viewsOn := fs.String("views-on", "ntpagent", "the target whose views (Huawei, ...) are measured too; empty: none")
	nacmOn := fs.String("nacm-on", "ntpagent", "the target whose access control (RFC 8341) is measured too; empty: none")
	dump := fs.String("dump", "", "write each server's get-config reply (100 peers) into this folder")
	only := fs.String("only", "", "comma-separated measures to take (e.g. get-config-100,get-config-rate); empty: all")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(targets) == 0 {
		return errors.New("netconf: at least one -target")
	}
	if *connects < 1 || *gets < 1 || *edits < 1 || *sessions < 1 || *sessions > 16 || *dur <= 0 || *dur > 10*time.Minute {
		return errors.New("netconf: runs ≥ 1, sessions 1..16, duration up to 10m")
	}
	var auth []ssh.AuthMethod
	if *keyFile != "" {
		signer, err := readKey(*keyFile)
		if err != nil {
			return err
		}
		auth = append(auth, ssh.PublicKeys(signer))
	}
	if *password != "" {
		auth = append(auth, ssh.Password(*password))
	}
	if len(auth) == 0 {
		return errors.New("netconf: -key or -password is required")
	}
	var ts []*Target
	var pids []int
	for _, v := range targets {
		spec, err := parseTarget(v)
		if err != nil {
			return err
		}
		ts = append(ts, &Target{
			Name: spec.name, Addr: spec.addr, HelloPause: *pause, Framing11: *chunked, Timeout: *timeout, MaxMessage: 64 << 20,
			SSH: &ssh.ClientConfig{
				User: spec.user, Auth: auth, Timeout: *timeout,
				// The servers are started by the bench script on loopback
				// with host keys made for this run: no known_hosts to check.
				HostKeyCallback: ssh.InsecureIgnoreHostKey(),
			},
		})
		pids = append(pids, spec.pid)
	}
	cfg := SuiteConfig{
		ConnectRuns: *connects, GetRuns: *gets, EditRuns: *edits, Throughput: *dur, Sessions: *sessions,
		SettleForRSS: time.Second, Log: log, MaxRPCsPerRun: 10_000_000, DumpDir: *dump, ViewsOn: *viewsOn, NacmOn: *nacmOn,
	}
	if *only != "" {
		cfg.Only = map[string]bool{}
		for m := range strings.SplitSeq(*only, ",") {
			cfg.Only[strings.TrimSpace(m)] = true
		}
	}
	rs, err := RunNETCONF(ctx, ts, pids, cfg)
	w, oerr := output(*outPath)
	if oerr != nil {
		return errors.Join(err, oerr)
	}
	defer w.Close()
	if werr := writeResults(w, rs); werr != nil {
		return errors.Join(err, werr)
	}
	return err
}

// readKey reads a private key file (OpenSSH format).
func readKey(path string) (ssh.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return signer, nil
}

func cmdNTP(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ntp", flag.ContinueOnError)
	var targets multiFlag
	fs.Var(&targets, "target", "name=NAME,addr=HOST:PORT[,pid=PID] of one NTP server on loopback (repeatable); with pid, its CPU time per reply too")
	senders := fs.Int("senders", 2, "sender goroutines (one socket each)")
	window := fs.Int("window", 32, "requests in flight per sender")
	warm := fs.Duration("warmup", 300*time.Millisecond, "warm-up of each round, not counted")
	dur := fs.Duration("duration", 5*time.Second, "counted time per server, over all rounds")
	rounds := fs.Int("rounds", 5, "the servers take turns this many times")
	outPath := fs.String("o", "", "append results to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(targets) == 0 {
		return errors.New("ntp: at least one -target")
	}
	if *senders < 1 || *senders > 64 || *window < 1 || *window > 1024 || *dur <= 0 || *dur > 10*time.Minute || *rounds < 1 || *rounds > 100 {
		return errors.New("ntp: senders 1..64, window 1..1024, duration up to 10m, rounds 1..100")
	}
	var loads []NTPLoad
	for _, v := range targets {
		var name, addr string
		pid := 0
		for field := range strings.SplitSeq(v, ",") {
			k, val, _ := strings.Cut(field, "=")
			switch k {
			case "name":
				name = val
			case "addr":
				addr = val
			case "pid":
				n, err := strconv.Atoi(val)
				if err != nil || n <= 0 {
					return fmt.Errorf("ntp: target %q: bad pid %q", v, val)
				}
				pid = n
			default:
				return fmt.Errorf("ntp: target %q: unknown key %q", v, k)
			}
		}
		if name == "" || addr == "" {
			return fmt.Errorf("ntp: target %q: name and addr are required", v)
		}
		if err := loopbackOnly(addr); err != nil {
			return err
		}
		ua, err := net.ResolveUDPAddr("udp4", addr)
		if err != nil {
			return err
		}
		loads = append(loads, NTPLoad{Name: name, Addr: ua, Senders: *senders, Window: *window, Warmup: *warm, Duration: *dur, Timeout: 50 * time.Millisecond, PID: pid})
	}
	rs, err := RunNTPRounds(ctx, loads, *rounds)
	w, oerr := output(*outPath)
	if oerr != nil {
		return errors.Join(err, oerr)
	}
	defer w.Close()
	return errors.Join(err, writeResults(w, rs))
}

func cmdFootprint(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("footprint", flag.ContinueOnError)
	agentBin := fs.String("agent", "bin/ntpagent", "daemon binary")
	stripped := fs.String("stripped", "", "the daemon built with -ldflags='-s -w' (size, linked modules)")
	mainPkg := fs.String("pkg", "github.com/ntpagent/ntpagent/cmd/ntpagent", "the daemon's main package (import chains to gRPC and protobuf)")
	keyFile := fs.String("key", "", "private key file (OpenSSH format) given to the daemon's admin")
	starts := fs.Int("starts", 10, "timed starts with 1,000 peers in running")
	settle := fs.Duration("settle", time.Second, "pause after a start before reading memory")
	top := fs.Int("top", 15, "heap allocation sites listed")
	work := fs.String("work", "", "an empty folder for state folders, logs and dumps (required)")
	detailPath := fs.String("detail", "", "write the breakdown and allocation sites (markdown) here")
	outPath := fs.String("o", "", "append results to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *starts < 1 || *starts > 100 || *top < 1 || *top > 100 || *settle < 0 || *settle > time.Minute {
		return errors.New("footprint: starts 1..100, top 1..100, settle up to 1m")
	}
	if *work == "" || *keyFile == "" {
		return errors.New("footprint: -work and -key are required")
	}
	signer, err := readKey(*keyFile)
	if err != nil {
		return err
	}
	detail := io.Discard
	if *detailPath != "" {
		f, err := os.Create(*detailPath)
		if err != nil {
			return err
		}
		defer f.Close()
		detail = f
	}
	rs, err := RunFootprint(ctx, FootprintConfig{Agent: *agentBin, Stripped: *stripped, MainPackage: *mainPkg, Work: *work, Key: signer,
		Starts: *starts, Settle: *settle, Top: *top, Log: log}, detail)
	w, oerr := output(*outPath)
	if oerr != nil {
		return errors.Join(err, oerr)
	}
	defer w.Close()
	return errors.Join(err, writeResults(w, rs))
}

func cmdStartTime(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("starttime", flag.ContinueOnError)
	name := fs.String("name", "netconfd", "server name of the results")
	socket := fs.String("unix", "", "the Unix socket the server listens on (required)")
	dir := fs.String("dir", "", "its working directory")
	runs := fs.Int("runs", 10, "timed starts, after one untimed")
	note := fs.String("note", "exec → its socket accepting, 1,000 peers in its startup", "note of the result")
	outPath := fs.String("o", "", "append results to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *socket == "" || fs.NArg() == 0 || *runs < 1 || *runs > 100 {
		return errors.New("starttime: -unix SOCKET, runs 1..100 and -- COMMAND ARGS...")
	}
	rs, err := RunStartTime(ctx, StartTimeConfig{Name: *name, Command: fs.Args(), Dir: *dir, Socket: *socket, Runs: *runs, Note: *note})
	w, oerr := output(*outPath)
	if oerr != nil {
		return errors.Join(err, oerr)
	}
	defer w.Close()
	return errors.Join(err, writeResults(w, rs))
}

func cmdStartupXML(args []string) error {
	fs := flag.NewFlagSet("startupxml", flag.ContinueOnError)
	n := fs.Int("peers", 1000, "peers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 0 || *n > 10000 {
		return errors.New("startupxml: peers 0..10000")
	}
	_, err := io.WriteString(os.Stdout, startupXML(*n))
	return err
}

func cmdGoBench(args []string) error {
	fs := flag.NewFlagSet("gobench", flag.ContinueOnError)
	outPath := fs.String("o", "", "append results to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rs, err := ParseGoBench(os.Stdin)
	if err != nil {
		return err
	}
	w, err := output(*outPath)
	if err != nil {
		return err
	}
	defer w.Close()
	return writeResults(w, rs)
}

func cmdReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	var missing multiFlag
	fs.Var(&missing, "missing", "SERVER=REASON for a server that was not measured (repeatable)")
	var notes multiFlag
	fs.Var(&notes, "note", "a line for the notes under the table (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rs, err := readResults(fs.Args())
	if err != nil {
		return err
	}
	why := map[string]string{}
	for _, m := range missing {
		k, v, _ := strings.Cut(m, "=")
		why[k] = v
	}
	return WriteReport(os.Stdout, rs, machine(), why, notes)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// machine reads the CPU model, CPU count and kernel of this host.
func machine() Machine {
	m := Machine{Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), CPU: "unknown CPU", Kernel: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "model name":
				if m.CPU == "unknown CPU" {
					m.CPU = strings.TrimSpace(v)
				}
			case "processor":
				m.NProc++
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func cmdFreePort(args []string) error {
	fs := flag.NewFlagSet("freeport", flag.ContinueOnError)
	n := fs.Int("n", 1, "how many ports")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *n > 64 {
		return errors.New("freeport: -n 1..64")
	}
	ports, err := freePorts(*n)
	if err != nil {
		return err
	}
	var ss []string
	for _, p := range ports {
		ss = append(ss, strconv.Itoa(p))
	}
	fmt.Println(strings.Join(ss, " "))
	return nil
}

// freePorts returns n different loopback ports free for both TCP and UDP.
func freePorts(n int) ([]int, error) {
	// Hold every listener until all are chosen so that the ports differ.
	var held []io.Closer
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	var ports []int
	for tries := 0; len(ports) < n && tries < 100*n; tries++ {
		ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, err
		}
		held = append(held, ln)
		port := ln.Addr().(*net.TCPAddr).Port
		uc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			continue
		}
		held = append(held, uc)
		ports = append(ports, port)
	}
	if len(ports) < n {
		return nil, errors.New("freeport: no free ports")
	}
	return ports, nil
}

func cmdWaitPort(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("waitport", flag.ContinueOnError)
	network := fs.String("net", "tcp", "tcp or udp")
	timeout := fs.Duration("timeout", 20*time.Second, "give up after")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("waitport: one HOST:PORT")
	}
	addr := fs.Arg(0)
	if err := loopbackOnly(addr); err != nil {
		return err
	}
	deadline := time.Now().Add(*timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if portBound(*network, addr) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("waitport: nothing on %s/%s after %s", addr, *network, *timeout)
}

// portBound tells whether something listens on addr: a TCP connect succeeds,
// or for UDP binding the address fails with EADDRINUSE.
func portBound(network, addr string) bool {
	if network == "udp" {
		ua, err := net.ResolveUDPAddr("udp4", addr)
		if err != nil {
			return false
		}
		c, err := net.ListenUDP("udp4", ua)
		if err != nil {
			return errors.Is(err, syscall.EADDRINUSE)
		}
		c.Close()
		return false
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
