package sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ntpagent/ntpagent/ntpengine"
)

// ChronyCase is one run of one of chrony's simulation tests
// (test/simulation/NNN-name in chrony's repository) ported to this
// engine: the harness settings, what the test's delay expressions and
// configuration add to them, and which of chrony's checks apply with
// which expected outcome.
type ChronyCase struct {
	Test    string // chrony's test, e.g. "009-sourceselection"
	Variant string // the run within it, as "name=value" of the script's loop; "" if one
	// Run is the number of the run in chrony's script (its run_test
	// calls in order, from 1; 108-peer's second run is its IPv6 repeat).
	Run int
	// RefKey is the key of the run in chrony's own figures
	// (scripts/chrony-sim-reference.sh): the test, and the script's loop
	// variable as the script writes it after a slash.
	RefKey string
	Params ChronyParams
	// Adjust adds to the world what test.common does not build (delay
	// expressions that drop packets, extra sources).
	Adjust func(*World)
	// SyncFails: chrony's test expects check_sync to fail ("check_sync &&
	// test_fail").
	SyncFails bool
	// PacketInterval: chrony's test runs check_packet_interval.
	PacketInterval bool
	// ChronyIBurst: chrony's script itself gives the sources iburst, so
	// the whole sync time window holds.
	ChronyIBurst bool
	// NoMinSyncTime: the lower bound of the sync time window is not
	// asserted, because the engine deliberately synchronizes sooner than
	// chrony; Differs says why.
	NoMinSyncTime bool
	// Differs says where this port departs from chrony's test and why
	// ("" where it does not).
	Differs string
}

// Key is the row key: test, and variant after a slash.
func (c ChronyCase) Key() string {
	if c.Variant == "" {
		return c.Test
	}
	return c.Test + "/" + c.Variant
}

// World is the case's network.
func (c ChronyCase) World() World {
	w := c.Params.World(c.Key())
	if c.Adjust != nil {
		c.Adjust(&w)
	}
	return w
}

// ChronyRun is the outcome of one run of a case with chrony's checks.
type ChronyRun struct {
	Outcome
	// SyncViolations are check_sync's failures over the clients;
	// IntervalViolations check_packet_interval's (when it applies).
	SyncViolations, IntervalViolations []string
}

// Simulate runs the case with a seed and applies chrony's checks (the
// expected outcome is the caller's to judge: see SyncFails).
func (c ChronyCase) Simulate(seed uint64, observe func(t float64, net *Network)) (ChronyRun, error) {
	w := c.World()
	w.Observe = observe
	out, err := RunWorld(w, seed)
	if err != nil {
		return ChronyRun{}, fmt.Errorf("%s: %w", c.Key(), err)
	}
	r := ChronyRun{Outcome: out}
	l := c.Params.Limits
	if c.NoMinSyncTime || c.Params.IBurst && !c.ChronyIBurst {
		l.MinSyncTime = 0
	}
	for _, f := range out.Measured {
		r.SyncViolations = append(r.SyncViolations, l.SyncViolations(f)...)
	}
	if c.PacketInterval {
		r.IntervalViolations = c.Params.PacketIntervalViolations(out.Net)
	}
	return r, nil
}

// ChronySummary is a case's figures over seeds, aggregated as chrony's
// reference figures are (scripts/chrony-sim-reference.sh): per seed the
// worst client counts (the largest sync time, RMS offset and RMS
// frequency), then mean and sample standard deviation over the seeds;
// maxima are over every sample of every client and seed.
type ChronySummary struct {
	Case  ChronyCase
	Seeds int
	// Passed counts the seeds whose check_sync gave the result chrony's
	// test expects and whose check_packet_interval (where the test runs
	// it) passed; the test's own further checks are not counted.
	Passed                     int
	SyncTime, TimeRMS, FreqRMS Stats
	SyncTimeMax                float64
	TimeMax, FreqMax           float64
	// TimeMean is the mean offset over every client and seed (a bias).
	TimeMean float64
	// NeverSynced counts clients (over seeds) whose last sample was
	// outside the thresholds.
	NeverSynced int
	// PacketInterval is the mean outgoing packet interval of the
	// clients, averaged.
	PacketInterval float64
}

// Summarize runs the case on seeds 1..n.
func (c ChronyCase) Summarize(n int) (ChronySummary, error) {
	var runs []ChronyRun
	for seed := uint64(1); seed <= uint64(n); seed++ {
		r, err := c.Simulate(seed, nil)
		if err != nil {
			return ChronySummary{}, err
		}
		runs = append(runs, r)
	}
	return c.summarize(runs), nil
}

func (c ChronyCase) summarize(runs []ChronyRun) ChronySummary {
	s := ChronySummary{Case: c, Seeds: len(runs)}
	var sync, rms, freq []float64
	var clients, intervals int
	for _, r := range runs {
		if (len(r.SyncViolations) > 0) == c.SyncFails && len(r.IntervalViolations) == 0 {
			s.Passed++
		}
		var worst Figures
		for _, f := range r.Measured {
			worst.SyncTime = math.Max(worst.SyncTime, f.SyncTime)
			worst.RMSOffset = math.Max(worst.RMSOffset, f.RMSOffset)
			worst.RMSFreq = math.Max(worst.RMSFreq, f.RMSFreq)
			s.TimeMax, s.FreqMax = math.Max(s.TimeMax, f.MaxOffset), math.Max(s.FreqMax, f.MaxFreq)
			s.SyncTimeMax = math.Max(s.SyncTimeMax, f.SyncTime)
			s.TimeMean += f.MeanOffset
			clients++
			if !f.Synced {
				s.NeverSynced++
			}
			if iv := f.Packets.MeanOutInterval(); !math.IsInf(iv, 1) {
				s.PacketInterval += iv
				intervals++
			}
		}
		sync, rms, freq = append(sync, worst.SyncTime), append(rms, worst.RMSOffset), append(freq, worst.RMSFreq)
	}
	s.SyncTime, s.TimeRMS, s.FreqRMS = stats(sync), stats(rms), stats(freq)
	if clients > 0 {
		s.TimeMean /= float64(clients)
	}
	s.PacketInterval /= float64(intervals)
	if intervals == 0 {
		s.PacketInterval = math.Inf(1)
	}
	return s
}

// String states the summary in one line.
func (s ChronySummary) String() string {
	return fmt.Sprintf("%d seeds, %d pass chrony's checks: sync %.0f ± %.0f s (max %.0f, %d clients never), "+
		"RMS offset %.3g ± %.2g s, max offset %.3g s, mean offset %.3g s, RMS freq %.3g ± %.2g, max freq %.3g, "+
		"packet interval %.3g s", s.Seeds, s.Passed, s.SyncTime.Mean, s.SyncTime.SD, s.SyncTimeMax, s.NeverSynced,
		s.TimeRMS.Mean, s.TimeRMS.SD, s.TimeMax, s.TimeMean, s.FreqRMS.Mean, s.FreqRMS.SD, s.FreqMax, s.PacketInterval)
}

// stepDiffers is why the sync time of a large initial offset is shorter
// than chrony's window.
const stepDiffers = "the engine steps an offset above 128 ms (RFC 5905 STEPT, §10), where chrony " +
	"without makestep slews it at 83,333 ppm for 1200 s; the lower bound of chrony's window " +
	"(which checks that long slew) is not asserted, the upper bound is"

// chronyMakeStep is chrony's "makestep 1e-2 1" of 101-poll and 102-iburst:
// the first update steps an offset above 10 ms.
func chronyMakeStep() ntpengine.MakeStep { return ntpengine.MakeStep{Threshold: 1e-2, Updates: 1} }

// ChronyCases are chrony's simulation tests ported to this engine, one
// case per run of each test. Scenario parameters and pass limits are
// chrony's.
func ChronyCases() []ChronyCase {
	var cs []ChronyCase
	d := ChronyDefaults()
	add := func(c ChronyCase) { cs = append(cs, c) }

	add(ChronyCase{Test: "001-defaults", Run: 1, RefKey: "001-defaults", Params: d, PacketInterval: true})

	p := d
	p.Limits.TimeRMS = 5e-4
	p.ServerStrata, p.Servers, p.Clients, p.ClientStart = 3, 4, 5, 2000
	p.Limits.MinSyncTime, p.Limits.MaxSyncTime = 2100, 2300
	add(ChronyCase{Test: "002-largenetwork", Run: 1, RefKey: "002-largenetwork", Params: p, PacketInterval: true})

	for i, f := range []struct {
		v    float64
		text string
	}{{-5e-2, "-5e-2"}, {-5e-3, "-5e-3"}, {5e-3, "5e-3"}, {5e-2, "5e-2"}} {
		p := d
		p.Limits.MaxSyncTime = 1000
		p.FreqOffset = f.v
		// Adjusted so that the offset is close to 0 at the first clock
		// update (chrony's comment).
		p.TimeOffset = -(f.v * 130)
		add(ChronyCase{Test: "003-largefreqoffset", Run: i + 1, RefKey: "003-largefreqoffset/freq_offset=" + f.text,
			Variant: fmt.Sprintf("freq_offset=%g", f.v), Params: p, PacketInterval: true})
	}

	for i, o := range []struct {
		v    float64
		text string
	}{{-1e2, "-1e2"}, {1e2, "1e2"}} {
		p := d
		p.Limits.MinSyncTime, p.Limits.MaxSyncTime = 1300, 1400
		p.TimeOffset = o.v
		add(ChronyCase{Test: "004-largetimeoffset", Run: i + 1, RefKey: "004-largetimeoffset/time_offset=" + o.text,
			Variant: fmt.Sprintf("time_offset=%g", o.v), Params: p,
			PacketInterval: true, NoMinSyncTime: true, Differs: stepDiffers})
	}

	p = d
	p.TimeOffset, p.Jitter = 1, 1e-1
	p.Limits.TimeMax, p.Limits.FreqMax, p.Limits.TimeRMS, p.Limits.FreqRMS = 5e-1, 2e-1, 1e-1, 5e-3
	add(ChronyCase{Test: "006-largejitter", Run: 1, RefKey: "006-largejitter", Params: p, PacketInterval: true})

	p = d
	p.Wander = 1e-7
	p.Limits.TimeMax, p.Limits.FreqMax, p.Limits.TimeRMS, p.Limits.FreqRMS = 5e-3, 5e-3, 1e-3, 1e-4
	add(ChronyCase{Test: "007-largewander", Run: 1, RefKey: "007-largewander", Params: p, PacketInterval: true})

	for _, n := range []int{1, 2, 3, 4} {
		p := d
		p.BaseDelay, p.Servers, p.Falsetickers = 1e-3, 5, n
		add(ChronyCase{Test: "009-sourceselection", Run: n, RefKey: fmt.Sprintf("009-sourceselection/falsetickers=%d", n), Variant: fmt.Sprintf("falsetickers=%d", n), Params: p,
			PacketInterval: true, SyncFails: n >= 3})
	}
	p = d
	p.BaseDelay, p.Servers = 1e-3, 3
	add(ChronyCase{Test: "009-sourceselection", Run: 5, RefKey: "009-sourceselection/falsetickers=0", Variant: "asymmetric-delay", Params: p,
		// base_delay (+ 1e-3 (equal 0.1 to 2) (equal 0.1 to 3)): 0.1 s
		// more on every packet to servers 2 and 3.
		Adjust: func(w *World) {
			for _, to := range []string{NodeName(2), NodeName(3)} {
				w.Links = append(w.Links, LinkRule{To: to, Link: Link{BaseDelay: w.Link.BaseDelay + 0.1, Jitter: w.Link.Jitter}})
			}
		}})

	p = d
	p.Jitter, p.JitterAsymmetry, p.Limit, p.Limits.MaxSyncTime = 5e-4, 0.47, 100000, 2000
	add(ChronyCase{Test: "011-asymjitter", Run: 1, RefKey: "011-asymjitter", Params: p, PacketInterval: true})

	p = d
	p.Limits.TimeMax, p.Limits.FreqMax, p.Limits.TimeRMS, p.Limits.FreqRMS = 1e-1, 1e-2, 2e-3, 2e-5
	p.Limit = 100000
	add(ChronyCase{Test: "014-intermittent", Run: 1, RefKey: "014-intermittent/run=1", Variant: "window", Params: p,
		// Packets pass only for 1200 s every 10,000 s (all links).
		Adjust: func(w *World) {
			w.Outages = append(w.Outages, OutageRule{Start: 1200 - 0.1, End: 10000, Every: 10000})
		}})
	p.Limits.TimeMax, p.Limits.FreqMax, p.Limits.TimeRMS, p.Limits.MaxSyncTime = 1e-2, 1e-4, 5e-3, 22000
	add(ChronyCase{Test: "014-intermittent", Run: 2, RefKey: "014-intermittent/run=2", Variant: "every-20th", Params: p,
		// Only every 20th request of the client (node 2) passes.
		Adjust: func(w *World) {
			w.Outages = append(w.Outages, OutageRule{From: NodeName(2), To: NodeName(1), PassEvery: 20})
		}})

	p = d
	p.FreqOffset = 1e-4
	p.Limits.MinSyncTime, p.Limits.MaxSyncTime = 4, 6
	// The drift file says 100 ppm fast, the clock's true error: the
	// correction is −100 ppm.
	drift := -100.0
	p.ClientDriftPPM = &drift
	p.IBurst = true
	p.ClientMakeStep = chronyMakeStep()
	add(ChronyCase{Test: "102-iburst", Run: 1, RefKey: "102-iburst", Params: p, PacketInterval: true, ChronyIBurst: true})

	for poll := int8(3); poll <= 14; poll++ {
		p := d
		p.Wander, p.Jitter = 0, 1e-6
		p.Limits.TimeMax, p.Limits.FreqMax, p.Limits.TimeRMS, p.Limits.FreqRMS = 1e-5, 1e-5, 5e-6, 5e-6
		p.ClientServer = Polls{poll, poll}
		pp := math.Ldexp(1, int(poll))
		p.Limit = pp * 10
		p.Limits.MinSyncTime, p.Limits.MaxSyncTime = pp*2, math.Floor(pp*21/10)+1
		p.Limits.ClientMaxMinOutInterval, p.Limits.ClientMinMeanOutInterval = pp*1.1, pp*0.99
		p.ClientMakeStep = chronyMakeStep()
		add(ChronyCase{Test: "101-poll", Run: int(poll), RefKey: fmt.Sprintf("101-poll/poll=%d", poll), Variant: fmt.Sprintf("poll=%d", poll), Params: p, PacketInterval: true,
			Differs: "chrony's polls 1, 2 and the subsecond polls -7..-1 are below this engine's " +
				"minpoll range 3..17 (RFC 5905 MINPOLL 4, extended down to 3) and are not ported"})
	}

	p = d
	p.Clients, p.Peers = 2, 2
	p.Limits.FreqMax, p.Limits.MaxSyncTime = 1e-3, 1000
	p.ClientServer, p.ClientPeer = Polls{6, 6}, Polls{6, 6}
	add(ChronyCase{Test: "108-peer", Run: 1, RefKey: "108-peer/run=1", Variant: "alternating", Params: p,
		// Requests of node 2 to the server are dropped in the second
		// 1000 s of every 2000 s, those of node 3 in the first: each
		// client has the server only half of the time and must follow
		// the other client as its peer for the rest.
		Adjust: func(w *World) {
			w.Outages = append(w.Outages,
				OutageRule{From: NodeName(2), To: NodeName(1), Start: 1000 - 0.1, End: 2000, Every: 2000},
				OutageRule{From: NodeName(3), To: NodeName(1), Start: 0, End: 1000 + 0.1, Every: 2000})
		}})
	for i, r := range []struct {
		l, r Polls
		sync float64
	}{{Polls{3, 6}, Polls{3, 6}, 400}, {Polls{3, 3}, Polls{6, 6}, 450}, {Polls{6, 6}, Polls{3, 3}, 450},
		{Polls{3, 6}, Polls{6, 6}, 450}, {Polls{6, 6}, Polls{3, 6}, 450}} {
		p := p
		p.Limits.FreqMax = d.Limits.FreqMax
		p.ClientPeer, p.ClientLPeer, p.ClientRPeer = Polls{}, r.l, r.r
		p.Limits.MaxSyncTime, p.Limit = r.sync, r.sync*10
		add(ChronyCase{Test: "108-peer", Run: i + 3, RefKey: fmt.Sprintf("108-peer/polls=%d,%d,%d,%d", r.l.Min, r.l.Max, r.r.Min, r.r.Max), Variant: fmt.Sprintf("polls=%d,%d,%d,%d", r.l.Min, r.l.Max, r.r.Min, r.r.Max), Params: p,
			// Node 3 never reaches the server: it has only its peer.
			Adjust: func(w *World) {
				w.Outages = append(w.Outages, OutageRule{From: NodeName(3), To: NodeName(1), Start: 0, End: math.Inf(1)})
			},
			Differs: "chrony's rows with peer polls -2 and 2 are below this engine's minpoll 3 and are not ported"})
	}

	p = d
	p.Limits.MaxSyncTime, p.BaseDelay, p.Jitter, p.Wander = 2000, 1e-5, 1e-5, 0
	p.FreqOffset, p.FreqRamp = 0, 1e-10
	p.Limits.TimeRMS = 2e-4
	p.ClientServer = Polls{Max: 6}
	add(ChronyCase{Test: "118-maxdelay", Run: 1, RefKey: "118-maxdelay/options=maxpoll 6 maxdelay 3e-5 maxdelayratio 2.0 maxdelaydevratio 2.0", Variant: "maxdelay=3e-5", Params: p, PacketInterval: true,
		Differs: "the engine has no maxdelay, maxdelayratio or maxdelaydevratio option: only its clock " +
			"filter (the minimum-delay sample of the last eight, RFC 5905 §10) screens delays; chrony's " +
			"runs that expect maxdelay 2e-5 to prevent synchronization and the minpoll 2 maxdelayquant run " +
			"are not ported"})

	p = d
	p.Clients, p.Peers, p.Jitter, p.Limit, p.Limits.MaxSyncTime = 2, 2, 1e-5, 20000, 10000
	p.ClientServer, p.ClientPeer = Polls{Max: 8}, Polls{Max: 8}
	add(ChronyCase{Test: "125-packetloss", Run: 1, RefKey: "125-packetloss/options=maxpoll 8", Variant: "maxpoll=8", Params: p,
		// 33 % of all packets are lost, and all of node 3's to the server.
		Adjust: func(w *World) {
			w.Link.Loss = 0.33
			w.Outages = append(w.Outages, OutageRule{From: NodeName(3), To: NodeName(1), Start: 0, End: math.Inf(1)})
		},
		Differs: "the engine has no xleave option: interleaved mode (RFC 9769) is on where the host gives " +
			"transmit timestamps, which the next run does"})
	add(ChronyCase{Test: "125-packetloss", Run: 2, RefKey: "125-packetloss/options=maxpoll 8 xleave", Variant: "xleave", Params: p,
		// As run 1, with interleaved mode: every node reports when its
		// packets left (kernel transmit timestamps).
		Adjust: func(w *World) {
			w.Link.Loss = 0.33
			w.Outages = append(w.Outages, OutageRule{From: NodeName(3), To: NodeName(1), Start: 0, End: math.Inf(1)})
			for i := range w.Nodes {
				w.Nodes[i].TxTimestamps = true
			}
		},
		Differs: "chrony's xleave option is the engine's interleaved mode, on where the host gives transmit timestamps (NodeSpec.TxTimestamps)"})

	add(ChronyCase{Test: "138-syncloop", Run: 1, RefKey: "138-syncloop", Params: d,
		// Both nodes have both as servers (each itself too); node 1 is
		// also a local stratum-1 reference.
		Adjust: func(w *World) {
			ib := w.Nodes[1].Sources[0].IBurst
			both := []Source{{Node: NodeName(1), IBurst: ib}, {Node: NodeName(2), IBurst: ib}}
			w.Nodes[0].Sources = append([]Source(nil), both...)
			w.Nodes[1].Sources = append([]Source(nil), both...)
		}})

	p = d
	p.Limit, p.Servers = 5000, 2
	p.ClientServer = Polls{6, 6}
	unreach := "the engine has no maxunreach or minsamples option: a source whose reach register is " +
		"empty (8 polls without reply) fails the fitness test (RFC 5905 §11.2), the nearest " +
		"equivalent of a small maxunreach"
	adjust150 := func(w *World) {
		// Requests of the client to server 1 are dropped from 2000 s;
		// server 2 is 0.5 s away each way.
		w.Outages = append(w.Outages, OutageRule{From: NodeName(3), To: NodeName(1), Start: 2000 - 0.1, End: math.Inf(1)})
		far := Link{BaseDelay: w.Link.BaseDelay + 0.5, Jitter: w.Link.Jitter}
		w.Links = append(w.Links, LinkRule{From: NodeName(2), Link: far}, LinkRule{To: NodeName(2), Link: far})
	}
	add(ChronyCase{Test: "150-maxunreach", Run: 1, RefKey: "150-maxunreach/run=1", Variant: "maxunreach=default", Params: p, PacketInterval: true,
		Adjust: adjust150, Differs: unreach + "; chrony keeps the unreachable server 1 selected, this engine switches to server 2"})
	add(ChronyCase{Test: "150-maxunreach", Run: 2, RefKey: "150-maxunreach/run=2", Variant: "maxunreach=10", Params: p, PacketInterval: true,
		Adjust: adjust150, Differs: unreach})

	for i, s := range []uint8{3, 5} {
		p := d
		p.PrimaryStratum = s
		add(ChronyCase{Test: "151-stratumlimit", Run: i + 1, RefKey: fmt.Sprintf("151-stratumlimit/s=%d", s), Variant: fmt.Sprintf("stratum=%d", s), Params: p, PacketInterval: true,
			Differs: "the engine has no minstratum or maxstratum option: chrony's runs with servers at " +
				"stratum 2 and 6, which those options reject, are not ported; a server of any " +
				"stratum below 16 (RFC 5905 MAXSTRAT) is used"})
	}
	cs = append(cs, RealPathCases()...)
	// The same runs with the engine's start burst, except 101-poll's,
	// which are about the polling interval a burst changes.
	n := len(cs)
	for _, c := range cs[:n] {
		if c.ChronyIBurst || c.Test == "101-poll" {
			continue
		}
		c.Params.IBurst = true
		c.Variant = strings.TrimPrefix(c.Variant+"+iburst", "+")
		cs = append(cs, c)
	}
	return cs
}

// realPathJitters are the jitters of RealPathCases, s, as the scenario's
// script writes them (scripts/chronysim/900-realpath): 1e-5 and 2.4e-5
// stand for the real lab's "zero" jitter (its floor), then 100 µs and 1 ms.
var realPathJitters = []string{"1e-5", "2.4e-5", "1e-4", "1e-3"}

// RealPathCases are this project's scenario 900-realpath, run by chronyd
// in chrony's own harness (scripts/chronysim/900-realpath) and here alike:
// the path of the real-wire measurements beside chronyd (internal/wirelab)
// — one stratum-1 server, one client polling it with minpoll 4, maxpoll 6,
// iburst and interleaved mode (chronyd's xleave: kernel transmit
// timestamps at both ends), base delay 1 ms and exponential jitter J each
// way, both clocks exact at start and without wander (the lab's truth is
// the host clock), 300 s with the figures from 120 s. Synchronized means
// within 1 ms (the lab's time to sync).
func RealPathCases() []ChronyCase {
	var cs []ChronyCase
	for i, j := range realPathJitters {
		p := ChronyDefaults()
		p.Limit, p.TimeOffset, p.FreqOffset, p.Wander, p.BaseDelay = 300, 0, 0, 0, 1e-3
		p.Jitter, _ = strconv.ParseFloat(j, 64)
		p.ClientServer, p.IBurst = Polls{4, 6}, true
		p.Limits.MinSyncTime, p.Limits.MaxSyncTime, p.Limits.TimeRMS = 0, 120, 1e-3
		cs = append(cs, ChronyCase{Test: "900-realpath", Run: i + 1, RefKey: "900-realpath/jitter=" + j,
			Variant: "jitter=" + j, Params: p, ChronyIBurst: true,
			Adjust: func(w *World) {
				for i := range w.Nodes {
					w.Nodes[i].TxTimestamps = true
				}
			},
			Differs: "not one of chrony's tests: this project's scenario in chrony's harness " +
				"(scripts/chronysim/900-realpath)"})
	}
	return cs
}
