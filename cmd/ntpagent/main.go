package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/ntpagent/ntpagent/agent"
	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/internal/atomicfile"
	"github.com/ntpagent/ntpagent/internal/clock"
	"github.com/ntpagent/ntpagent/internal/memdump"
	"github.com/ntpagent/ntpagent/ntpengine"
	"github.com/ntpagent/ntpagent/ntpengine/ntpclock"
	"github.com/ntpagent/ntpagent/server"
	"github.com/ntpagent/ntpagent/server/cli"
	"github.com/ntpagent/ntpagent/server/netconf"
	"github.com/ntpagent/ntpagent/yang"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "user" {
		if err := runUser(os.Args[2:], os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "ntpagent:", err)
			os.Exit(2)
		}
		return
	}
	s, err := parseSettings(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ntpagent:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, s, timeService{}, os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "ntpagent:", err)
		os.Exit(1)
	}
}

// started reports the daemon's bound addresses (for tests).
type started struct {
	SSH     []net.Addr // NETCONF, then CLI
	NTP     string
	Metrics string
	Agent   *agent.Agent
}

// timeService replaces the NTP service's clocks; the zero value is the
// daemon's own (the disciplined clock --clock chooses, the host's process
// clock). Tests give a disciplined and a process clock that both run
// faster than the host's, so that polls come sooner; the management plane
// (datastore, SSH, NETCONF) keeps the host's clock.
type timeService struct {
	ntp     ntpclock.Clock // the disciplined clock
	process clock.Clock    // the agent's process clock
}

// run starts everything, prints how to connect, and serves until ctx is
// done; then it shuts down in the reverse order.
func run(ctx context.Context, s *settings, ts timeService, stdout, stderr io.Writer, onStart func(started)) error {
	level, _ := s.level()
	var h slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	if s.LogFormat == "json" {
		h = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	}
	log := slog.New(h)

	if err := os.MkdirAll(s.StateDir, 0o700); err != nil {
		return fmt.Errorf("state folder: %w", err)
	}
	atomicfile.WarnIfShared(log, s.StateDir, s.driftPath())
	if dir := os.Getenv(memdump.Env); dir != "" {
		memdump.Serve(ctx, dir, log)
	}
	// The modules are parsed once per process (yang.Load); start that now,
	// beside opening the datastore, rather than after it: it is the
	// larger part of a start's work before the NETCONF port listens.
	go yang.Load()
	runningFrom, _ := datastore.ParseRunningFrom(s.RunningFrom) // checked with the settings
	store, err := datastore.Open(datastore.Options{Dir: filepath.Join(s.StateDir, "datastore"), Logger: log.With("component", "datastore"), Recover: s.Recover, RunningFrom: runningFrom})
	var damage *datastore.DamageError
	if errors.As(err, &damage) {
		return fmt.Errorf("%w\nTo start from the last good configuration, start once with --recover: the damaged files are moved aside (NAME.damaged-TIME), nothing is deleted, and what was lost is logged. Or restore the state folder from a backup", err)
	}
	if err != nil {
		return err
	}
	defer store.Close()

	var clk ntpclock.Clock
	switch s.Clock {
	case "system":
		sys := ntpclock.NewSystem()
		if err := sys.CheckPrivilege(); err != nil {
			return fmt.Errorf("--clock system disciplines the host clock and needs CAP_SYS_TIME: %w", err)
		}
		log.Warn("disciplining the host clock (--clock system)")
		clk = sys
	case "virtual":
		v, err := ntpclock.NewVirtualOffHost(s.VirtualClockOffset, s.VirtualClockFrequencyError)
		if err != nil {
			return err
		}
		if s.VirtualClockOffset != 0 || s.VirtualClockFrequencyError != 0 {
			log.Info("virtual clock starts off the host clock", "offset", s.VirtualClockOffset,
				"frequency_error_ppm", s.VirtualClockFrequencyError)
		}
		clk = v
	}
	if ts.ntp != nil {
		clk = ts.ntp
	}
	listen, _ := s.ntpListen()
	var resolver agent.Resolver = net.DefaultResolver
	if s.HostsFile != "" {
		resolver = agent.HostsResolver{Path: s.HostsFile, Fallback: net.DefaultResolver}
	}
	var nc notifier
	engine := ntpengine.Config{LocalStratum: uint8(s.LocalStratum), SettledFrequencyPPM: s.settledPPM}
	if s.NoRateLimit {
		engine.RateLimit.Interval = -1
	}
	ag, err := agent.New(agent.Options{
		Store: store, Clock: clk, ProcessClock: ts.process, Listen: listen, Resolver: resolver, Logger: log,
		Engine:    engine,
		DriftFile: s.driftPath(),
	})
	if err != nil {
		return err
	}
	go nc.forward(ag.Notifications())
	agentCtx, stopAgent := context.WithCancel(context.Background())
	agentDone := make(chan error, 1)
	go func() { agentDone <- ag.Run(agentCtx) }()
	defer func() {
		stopAgent()
		if err := <-agentDone; err != nil {
			log.Error("NTP service", "err", err)
		}
	}()

	// The management plane: NETCONF and the CLI over one datastore, both
	// served by the SSH server (NETCONF as its "netconf" subsystem, RFC 6242).
	schema, err := yang.Load()
	if err != nil {
		return err
	}
	views, err := daemonViews()
	if err != nil {
		return err
	}
	ncCfg := netconf.Config{Store: store, Schema: schema, Views: views, State: ag.StateProvider, Logger: log.With("component", "netconf")}
	s.netconfLimits(&ncCfg)
	ncSrv, err := netconf.New(ncCfg)
	if err != nil {
		return err
	}
	defer ncSrv.Close() // after the SSH server has closed every session
	nc.bind(ncSrv)
	pw := os.Getenv("NTPAGENT_ADMIN_PASSWORD")
	srvCfg := server.Config{
		StateDir:      filepath.Join(s.StateDir, "ssh"),
		Listen:        []string{s.NetconfListen, s.CLIListen},
		Store:         store,
		Subsystems:    map[string]server.SubsystemHandler{"netconf": netconfOverSSH(ncSrv)},
		Terminal:      cli.New(cli.Config{Store: store, State: ag.State, Policy: ncSrv.AccessPolicy, Logger: log.With("component", "cli")}),
		Logger:        log.With("component", "server"),
		AdminPassword: pw,
		Announce:      stdout,
	}
	s.sshLimits(&srvCfg)
	srv, err := server.New(srvCfg)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Close()

	var metricsAddr string
	if s.MetricsListen != "" {
		ln, err := net.Listen("tcp", s.MetricsListen)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		metricsAddr = ln.Addr().String()
		hs := &http.Server{Handler: metricsHandler(ag, ncSrv), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server", "err", err)
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			hs.Shutdown(sctx)
		}()
	}

	addrs := srv.Addrs()
	ntpAddrs := ag.LocalAddrs()
	ntpText := s.NTPListen
	if len(ntpAddrs) > 0 {
		ntpText = ntpAddrs[0].String()
	}
	printWelcome(stdout, s, addrs, ntpText, metricsAddr, pw != "")
	log.Info("ntpagent started", "netconf", addrs[0].String(), "cli", addrs[len(addrs)-1].String(),
		"ntp", ntpText, "clock", s.Clock, "state_dir", s.StateDir)
	go releaseStartGarbage(ctx, ag)
	if onStart != nil {
		onStart(started{SSH: addrs, NTP: ntpText, Metrics: metricsAddr, Agent: ag})
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		return nil
	case err := <-agentDone:
		agentDone <- err // for the deferred wait
		return fmt.Errorf("NTP service stopped: %w", err)
	}
}

// releaseStartGarbage returns the start's free heap pages to the system
// once the agent has applied running: parsing the modules, decoding the
// stored trees and the first reconcile leave a heap peak several MiB above
// what the daemon keeps, which the runtime would otherwise hold as free
// pages (it returns pages above its collection goal only, in the
// background). Once, at start; the heap of a running daemon is left to the
// runtime.
func releaseStartGarbage(ctx context.Context, ag *agent.Agent) {
	if ag.Configured(ctx) {
		debug.FreeOSMemory()
	}
}

func hostPort(a net.Addr) (string, string) {
	h, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String(), ""
	}
	return h, p
}

func printWelcome(w io.Writer, s *settings, addrs []net.Addr, ntp, metrics string, pwFromEnv bool) {
	nh, np := hostPort(addrs[0])
	ch, cp := hostPort(addrs[len(addrs)-1])
	users := filepath.Join(s.StateDir, "ssh", server.UsersFileName)
	fmt.Fprintf(w, "ntpagent is running (clock %s, state in %s)\n", s.Clock, s.StateDir)
	fmt.Fprintf(w, "  CLI:     ssh -p %s admin@%s\n", cp, ch)
	fmt.Fprintf(w, "  NETCONF: ssh -p %s -s admin@%s netconf\n", np, nh)
	fmt.Fprintf(w, "  ncclient:\n")
	fmt.Fprintf(w, "    from ncclient import manager\n")
	fmt.Fprintf(w, "    m = manager.connect(host=%s, port=%s, username='admin', password=PASSWORD,\n", strconv.Quote(nh), np)
	fmt.Fprintf(w, "                        hostkey_verify=False, allow_agent=False, look_for_keys=False)\n")
	fmt.Fprintf(w, "    print(m.get(filter=('subtree', '<ntp xmlns=\"urn:ntpagent:yang:ntpagent-ntp\"/>')).data_xml)\n")
	if pwFromEnv {
		fmt.Fprintf(w, "  credentials: user admin, password from $NTPAGENT_ADMIN_PASSWORD (at the first start; users are in %s)\n", users)
	} else {
		fmt.Fprintf(w, "  credentials: user admin; its password was printed once at the first start (set NTPAGENT_ADMIN_PASSWORD before the first start to choose it); users are in %s\n", users)
	}
	fmt.Fprintf(w, "  NTP:     %s (query it: chronyd -Q -f /dev/null 'server %s port %s iburst')\n", ntp, hostOf(ntp), portOf(ntp))
	if metrics != "" {
		fmt.Fprintf(w, "  metrics: http://%s/metrics\n", metrics)
	}
}

func hostOf(ap string) string { h, _, _ := net.SplitHostPort(ap); return h }
func portOf(ap string) string { _, p, _ := net.SplitHostPort(ap); return p }
