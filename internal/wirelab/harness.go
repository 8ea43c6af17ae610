//go:build linux

package wirelab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ntpagent/ntpagent/agent"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/ntpengine/ntpclock"
)

// ReferencePort is the reference chronyd's NTP port in the far namespace.
const ReferencePort = 123

// chronydAcquisitionPort is the chronyd client's one source port, so that
// its delay line sees one client.
const chronydAcquisitionPort = 10123

// probeAcquisitionPort is the reference probe's source port.
const probeAcquisitionPort = 10124

// Config is one measurement: both clients on identical paths to one
// reference for Duration.
type Config struct {
	// ID names the lab's namespaces; concurrent measurements need
	// different IDs.
	ID string
	// Path is each direction of each client's delay line.
	Path Path
	// Duration is how long the clients run and are sampled (once a second).
	Duration time.Duration
	// Settle is when the figures' statistics start (the time to sync is
	// counted from the start).
	Settle time.Duration
	// MinPoll and MaxPoll of both clients (0: 4 and 6).
	MinPoll, MaxPoll uint8
	// AgentClient makes the agent a client of the reference (a
	// unicast-server, RFC 5905 mode 3, as the chronyd client is) instead
	// of a symmetric active peer (a unicast-peer, mode 1, which chronyd
	// answers without an association).
	AgentClient bool
	// IBurst starts both clients with a burst (chronyd's iburst, the
	// agent's unicast-peer iburst).
	IBurst bool
	// AgentOffset and AgentFrequencyError start the agent's virtual clock
	// off the host clock (ntpclock.NewVirtualOffHost). chronyd cannot start
	// off it: a comparison of the two wants them zero.
	AgentOffset         time.Duration
	AgentFrequencyError float64
	// ChronydBasic runs the chronyd client in basic mode (RFC 5905), as
	// chronyd runs without its xleave option: the reference's T3 is then
	// read before its send call, and its client reads half of that
	// latency low. By default the client has xleave (interleaved mode,
	// RFC 9769: kernel timestamps at both ends), as the agent does by
	// itself, so that the two compare protocol for protocol.
	ChronydBasic bool
	// Seed draws the delay lines' delays and losses. Both clients' lines
	// draw the same sequence: the n-th datagram each way of one client is
	// held as long as the n-th of the other, so that the two compare on
	// the same path draw for draw, not only on the same distribution.
	Seed uint64
	// Chronyd and Chronyc are the programs' paths.
	Chronyd, Chronyc string
	// Dir is a folder for chronyd's files (a temporary one when empty).
	Dir string
	// Logger gets the agent's log (nil: discarded).
	Logger *slog.Logger
}

// Sample is one reading of a client's clock against the host clock.
type Sample struct {
	At           time.Duration // since the clients started
	Offset       time.Duration // the client's clock minus the host clock
	FrequencyPPM float64       // its frequency estimate's error against the host clock
	Synced       bool          // the client says it is synchronized
}

// Series is one client's samples.
type Series struct {
	Name    string
	Samples []Sample
	// Measurements are the offset samples the client took of the
	// reference (none for the probe).
	Measurements []Measurement
}

// Result is what Run measured.
type Result struct {
	Config Config
	// Start is when the clients started: Sample.At and Measurement.At
	// count from it.
	Start          time.Time
	Agent, Chronyd Series
	// AgentLine and ChronydLine are the delay lines' counts over the
	// datagrams from Settle on (the figures' window), AgentDatagrams and
	// ChronydDatagrams their records of every datagram.
	AgentLine, ChronydLine           DelayLineStats
	AgentDatagrams, ChronydDatagrams []Datagram
	// Probe is the reference's own error: a chronyd client beside it in
	// the far namespace, on its loopback, with no delay line and in
	// interleaved mode (xleave: kernel timestamps at both ends), polling
	// once a second. What the reference serves differs from the host
	// clock by about Probe's mean, and both clients inherit it.
	Probe Series
	// AgentTimestamps says, at the end, how the agent took its transmit
	// timestamps and whether its session with the reference was in
	// interleaved mode (RFC 9769).
	AgentTimestamps string
}

func (c *Config) defaults() {
	if c.MinPoll == 0 {
		c.MinPoll = 4
	}
	if c.MaxPoll == 0 {
		c.MaxPoll = 6
	}
	if c.ID == "" {
		c.ID = strconv.Itoa(os.Getpid())
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Run builds a lab, starts the reference, the delay lines and both clients,
// samples both clients once a second for Duration, then stops and removes
// everything. It needs root, ip, chronyd and chronyc.
func Run(ctx context.Context, cfg Config) (res Result, err error) {
	cfg.defaults()
	if err := cfg.Path.check(); err != nil {
		return Result{}, err
	}
	if cfg.Chronyd == "" || cfg.Chronyc == "" {
		return Result{}, errors.New("wirelab: Config.Chronyd and Config.Chronyc are required")
	}
	res.Config = cfg
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "ntpagent-wirelab-")
		if err != nil {
			return res, fmt.Errorf("wirelab: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	}
	lab, err := NewLab(ctx, cfg.ID)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, lab.Close()) }()
	wake, err := awake.hold()
	if err != nil {
		return res, err
	}
	defer wake()

	ref, err := startChronyd(ctx, cfg.Chronyd, cfg.Chronyc, lab.Far, cfg.Dir, "reference", fmt.Sprintf(
		"local stratum 1\nbindaddress %s\nport %d\nallow all\n", ReferenceAddr, ReferencePort))
	if err != nil {
		return res, err
	}
	defer ref.stop()
	server := netip.AddrPortFrom(ReferenceAddr, ReferencePort)
	agentLine, err := lab.NewDelayLine(ctx, server, cfg.Path, cfg.Seed)
	if err != nil {
		return res, err
	}
	defer agentLine.Close()
	chronyLine, err := lab.NewDelayLine(ctx, server, cfg.Path, cfg.Seed)
	if err != nil {
		return res, err
	}
	defer chronyLine.Close()

	options := ""
	if cfg.IBurst {
		options += " iburst"
	}
	if !cfg.ChronydBasic {
		options += " xleave"
	}
	client, err := startChronyd(ctx, cfg.Chronyd, cfg.Chronyc, lab.Near, cfg.Dir, "client", fmt.Sprintf(
		"server %s port %d minpoll %d maxpoll %d%s\nport 0\nacquisitionport %d\nbindacqaddress %s\nlogdir %s\nlog measurements\n",
		LineAddr, chronyLine.Addr().Port(), cfg.MinPoll, cfg.MaxPoll, options, chronydAcquisitionPort, ClientAddr,
		filepath.Join(cfg.Dir, "client")))
	if err != nil {
		return res, err
	}
	defer client.stop()
	probe, err := startChronyd(ctx, cfg.Chronyd, cfg.Chronyc, lab.Far, cfg.Dir, "probe", fmt.Sprintf(
		"server %s port %d minpoll 0 maxpoll 0 xleave iburst\nport 0\nacquisitionport %d\nbindacqaddress %s\n",
		ReferenceAddr, ReferencePort, probeAcquisitionPort, FarLineAddr))
	if err != nil {
		return res, err
	}
	defer probe.stop()
	start := time.Now()
	res.Start = start

	vclock, err := ntpclock.NewVirtualOffHost(cfg.AgentOffset, cfg.AgentFrequencyError)
	if err != nil {
		return res, err
	}
	ag, err := agent.New(agent.Options{
		Clock:  vclock,
		Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")},
		Logger: cfg.Logger,
	})
	if err != nil {
		return res, fmt.Errorf("wirelab: %w", err)
	}
	runCtx, stopAgent := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); ag.Run(runCtx) }()
	defer func() { stopAgent(); wg.Wait() }()
	if err := ag.Apply(ctx, agentConfig(lab.Near, agentLine.Addr(), cfg)); err != nil {
		return res, fmt.Errorf("wirelab: configure the agent: %w", err)
	}

	res.Agent.Name, res.Chronyd.Name, res.Probe.Name = "ntpagent", "chronyd", "reference probe"
	var filter agentFilter
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Since(start) < cfg.Duration {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-tick.C:
		}
		at := time.Since(start)
		st := ag.State().GetNtp().GetStatus()
		if st.VirtualClockOffset == nil {
			return res, errors.New("wirelab: the agent shows no virtual-clock-offset")
		}
		res.Agent.Measurements = append(res.Agent.Measurements, filter.newSamples(at, ag.State().GetNtp().GetSessions())...)
		res.Agent.Samples = append(res.Agent.Samples, Sample{
			At:           at,
			Offset:       time.Duration(math.Round(*st.VirtualClockOffset * 1e6)),
			FrequencyPPM: st.GetFrequency() + cfg.AgentFrequencyError,
			Synced:       st.ClockState == gen.NtpagentNtp_Ntp_Status_ClockState_synchronized,
		})
		off, ppm, synced, err := client.trueError(ctx)
		if err != nil {
			return res, err
		}
		res.Chronyd.Samples = append(res.Chronyd.Samples, Sample{At: at, Offset: off, FrequencyPPM: ppm, Synced: synced})
		if off, ppm, synced, err = probe.trueError(ctx); err != nil {
			return res, err
		}
		res.Probe.Samples = append(res.Probe.Samples, Sample{At: at, Offset: off, FrequencyPPM: ppm, Synced: synced})
	}
	// chronyd's log is complete once it stopped.
	client.stop()
	if res.Chronyd.Measurements, err = client.measurements(LineAddr, start); err != nil {
		return res, err
	}
	res.Agent.withErrors()
	res.Chronyd.withErrors()
	settled := start.Add(cfg.Settle)
	res.AgentLine, res.ChronydLine = agentLine.StatsSince(settled), chronyLine.StatsSince(settled)
	res.AgentDatagrams, res.ChronydDatagrams = agentLine.Datagrams(), chronyLine.Datagrams()
	ntp := ag.State().GetNtp()
	res.AgentTimestamps = "transmit-timestamping " + ntp.GetStatus().GetTransmitTimestamping().String()
	for _, sess := range ntp.GetSessions().Session {
		res.AgentTimestamps += fmt.Sprintf(", session %s interleaved %v", sess.GetAddress(), sess.GetInterleaved())
	}
	return res, nil
}

// agentConfig is the agent's configuration: the reference behind the
// agent's delay line as its one unicast peer (or unicast server), in the
// vpn-instance named after the near namespace.
func agentConfig(ns string, line netip.AddrPort, cfg Config) *gen.Device {
	root := &gen.Device{}
	port, iburst := line.Port(), cfg.IBurst
	if !cfg.AgentClient {
		up := root.GetOrCreateNtp().GetOrCreateUnicastPeer(line.Addr().String(), ns)
		up.Port, up.Minpoll, up.Maxpoll = &port, &cfg.MinPoll, &cfg.MaxPoll
		if iburst {
			up.Iburst = &iburst
		}
		return root
	}
	us := root.GetOrCreateNtp().GetOrCreateUnicastServer(line.Addr().String(), ns)
	us.Port, us.Minpoll, us.Maxpoll = &port, &cfg.MinPoll, &cfg.MaxPoll
	if iburst {
		us.Iburst = &iburst
	}
	return root
}
