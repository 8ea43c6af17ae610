package sim

import (
	"fmt"
	"math"

	"github.com/ntpagent/ntpagent/ntpengine"
)

// ChronyParams are the settings of chrony's simulation harness
// (test/simulation/test.common) that its tests change, with the same
// meaning; ChronyDefaults has its defaults. World builds the same network:
// Servers primary servers (nodes 1..Servers, stratum 1, clocks exact but
// for falsetickers), then Servers per further stratum up to ServerStrata
// (each a client of every server one stratum up), then Clients clients of
// the last servers; with Peers, the first Peers nodes of a stratum are
// also each other's symmetric peers. Nodes are named n1, n2, … in that
// order, as chrony numbers them (192.168.123.N).
type ChronyParams struct {
	Limit             float64 // simulated seconds
	PrimaryTimeOffset float64 // clock error of the primary servers, s
	TimeOffset        float64 // initial clock error of the clients, s
	// FreqOffset of every node but the primary servers, s/s; FreqRamp is
	// its change per second (a frequency expression "(sum x)").
	FreqOffset, FreqRamp float64
	Wander               float64 // s/s per second
	BaseDelay, Jitter    float64 // one-way, s
	JitterAsymmetry      float64
	ServerStrata         int
	Servers, Clients     int
	Peers                int
	// Falsetickers: primary server i ≤ Falsetickers has a clock i seconds
	// ahead.
	Falsetickers int
	// PrimaryStratum is the stratum the primary servers serve at
	// (chrony's "local stratum N"); 0 → 1.
	PrimaryStratum           uint8
	ServerStart, ClientStart float64
	// Poll options: of the servers' sources, of the clients' servers, of
	// the clients' peers, and of a client's peer with a lower (L) or
	// higher (R) number, which override ClientPeer when set.
	ServerServer, ClientServer, ClientPeer, ClientLPeer, ClientRPeer Polls
	// IBurst gives every source of the servers and clients iburst, which
	// chrony's scripts do not use but for 102-iburst. ChronyCases runs
	// every other case twice: as chrony's script (without) and with the
	// engine's start burst (variant "+iburst"), where the lower bound of
	// chrony's sync time window (min_sync_time, which chrony's scripts
	// set for a start without iburst; its own iburst test expects 4–6 s)
	// is not asserted.
	IBurst bool
	// ClientDriftPPM, when not nil, is the clients' frequency correction
	// read at start (chrony's driftfile; Config.InitialFrequencyPPM).
	ClientDriftPPM *float64
	// ClientMakeStep is the clients' Config.MakeStep (chrony's makestep
	// directive in client_conf).
	ClientMakeStep ntpengine.MakeStep
	Limits         ChronyLimits
}

// Polls are the minpoll and maxpoll options of a source; 0: the engine's
// default.
type Polls struct{ Min, Max int8 }

func (p Polls) or(q Polls) Polls {
	if p.Min != 0 {
		q.Min = p.Min
	}
	if p.Max != 0 {
		q.Max = p.Max
	}
	return q
}

// ChronyLimits are the pass limits of chrony's check_sync and
// check_packet_interval.
type ChronyLimits struct {
	TimeMax, FreqMax, TimeRMS, FreqRMS float64
	MinSyncTime, MaxSyncTime           float64
	ClientMinMeanOutInterval           float64
	ClientMaxMinOutInterval            float64
}

// ChronyDefaults are test.common's defaults.
func ChronyDefaults() ChronyParams {
	return ChronyParams{
		Limit: 10000, TimeOffset: 0.1, FreqOffset: 1e-4, Wander: 1e-9,
		BaseDelay: 1e-4, Jitter: 1e-4, ServerStrata: 1, Servers: 1, Clients: 1,
		Limits: ChronyLimits{TimeMax: 1e-3, FreqMax: 5e-4, TimeRMS: 3e-4, FreqRMS: 1e-5,
			MinSyncTime: 120, MaxSyncTime: 210, ClientMaxMinOutInterval: math.Inf(1)},
	}
}

// NodeName is the name World gives chrony's node number i (from 1).
func NodeName(i int) string { return fmt.Sprintf("n%d", i) }

// World builds the network test.common builds from these settings.
func (p ChronyParams) World(name string) World {
	w := World{Name: name, Duration: p.Limit,
		Link:    Link{BaseDelay: p.BaseDelay, Jitter: p.Jitter, Asymmetry: p.JitterAsymmetry},
		Measure: Measure{After: p.Limits.MaxSyncTime, TimeMax: p.Limits.TimeMax, FreqMax: p.Limits.FreqMax}}
	stratum := p.PrimaryStratum
	if stratum == 0 {
		stratum = 1
	}
	node := 0
	add := func(n NodeSpec) {
		node++
		n.Name = NodeName(node)
		w.Nodes = append(w.Nodes, n)
	}
	for i := 1; i <= p.Servers; i++ {
		off := p.PrimaryTimeOffset
		if i <= p.Falsetickers {
			off = float64(i)
		}
		add(NodeSpec{Offset: off, LocalStratum: stratum, Start: p.ServerStart})
	}
	peers := func(first, own, count int, l, r, common Polls) []Source {
		var s []Source
		for i := 1; i <= p.Peers; i++ {
			if i == own || i > count {
				continue
			}
			o := r.or(common)
			if i < own {
				o = l.or(common)
			}
			s = append(s, Source{Node: NodeName(first + i), Peer: true, MinPoll: o.Min, MaxPoll: o.Max, IBurst: p.IBurst})
		}
		return s
	}
	servers := func(first int, o Polls) []Source {
		var s []Source
		for i := 1; i <= p.Servers; i++ {
			s = append(s, Source{Node: NodeName(first + i), MinPoll: o.Min, MaxPoll: o.Max, IBurst: p.IBurst})
		}
		return s
	}
	for st := 2; st <= p.ServerStrata; st++ {
		for i := 1; i <= p.Servers; i++ {
			src := append(servers(p.Servers*(st-2), p.ServerServer),
				peers(p.Servers*(st-1), i, p.Servers, Polls{}, Polls{}, Polls{})...)
			add(NodeSpec{Freq: p.FreqOffset, FreqRamp: p.FreqRamp, Wander: p.Wander, Start: p.ServerStart, Sources: src})
		}
	}
	for i := 1; i <= p.Clients; i++ {
		src := append(servers(p.Servers*(p.ServerStrata-1), p.ClientServer),
			peers(p.Servers*p.ServerStrata, i, p.Clients, p.ClientLPeer, p.ClientRPeer, p.ClientPeer)...)
		add(NodeSpec{Offset: p.TimeOffset, Freq: p.FreqOffset, FreqRamp: p.FreqRamp, Wander: p.Wander,
			Start: p.ClientStart, Sources: src, Measured: true, InitialFrequencyPPM: p.ClientDriftPPM, MakeStep: p.ClientMakeStep})
	}
	return w
}

// checkStat is clknetsim's check_stat: min ≤ v ≤ max with a relative
// tolerance of 1e-6 and an absolute one of tol; an infinite v passes a
// minimum and fails a finite maximum.
func checkStat(v, lo, hi, tol float64) bool {
	okLo := math.IsInf(v, 1) || v+v/1e6+tol >= lo
	okHi := math.IsInf(hi, 1) || !math.IsInf(v, 1) && v-v/1e6-tol <= hi
	return okLo && okHi
}

// SyncViolations lists how f breaks chrony's check_sync limits (empty:
// it passes).
//
// The lower bound of the sync window is checked on the client's own
// clock (Figures.SyncTimerTime), the upper one in true time. chrony's
// scripts set the lower bound at the time of the sample that can first
// correct the clock: the third at the minimum poll (two polls, 120 s at
// 64 s polls; 2^(poll+1) in 101-poll). Both chrony and this engine time
// their polls on the clock they discipline (RFC 5905 §13: the poll timer
// runs in local time; there is no other), and a client clock 100 ppm
// fast counts two polls of 2^14 s 3.3 s short in true time, so a
// correction completed within a second of the third sample lands before
// a bound in true time. chrony meets that bound only because its own
// correction ends minutes after that sample (33,150 s at poll 14): the
// bound is about polls counted, and the client counts them on its clock.
// The upper bound is how long a user waits, in true time.
func (l ChronyLimits) SyncViolations(f Figures) []string {
	var v []string
	if !checkStat(f.SyncTimerTime, l.MinSyncTime, math.Inf(1), 0) || !checkStat(f.SyncTime, 0, l.MaxSyncTime, 0) {
		never := ""
		if !f.Synced {
			never = " (never synchronized)"
		}
		v = append(v, fmt.Sprintf("%s: sync time %.0f s%s not in [%.0f, %.0f] s", f.Name, f.SyncTime, never, l.MinSyncTime, l.MaxSyncTime))
	}
	for _, c := range []struct {
		what     string
		val, lim float64
	}{
		{"max |offset|", f.MaxOffset, l.TimeMax}, {"max |freq|", f.MaxFreq, l.FreqMax},
		{"RMS offset", f.RMSOffset, l.TimeRMS}, {"RMS freq", f.RMSFreq, l.FreqRMS},
	} {
		if !checkStat(c.val, 0, c.lim, 0) {
			v = append(v, fmt.Sprintf("%s: %s %.3g > %.3g", f.Name, c.what, c.val, c.lim))
		}
	}
	return v
}

// PacketIntervalViolations lists how the nodes of a world built by
// p.World break chrony's check_packet_interval.
func (p ChronyParams) PacketIntervalViolations(net *Network) []string {
	var v []string
	tol := 10 * p.Jitter
	minOut := 1.8 // chrony's iburst interval
	if p.Servers > 1 {
		minOut = 0.18 // chrony's sampling separation
	}
	for i, nd := range net.nodes {
		ps := &nd.Packets
		in, out := ps.MeanInInterval(), ps.MeanOutInterval()
		ok := checkStat(in, 0.1, math.Inf(1), 0) && checkStat(out, 0.1, math.Inf(1), 0)
		if i < p.Servers {
			ok = ok && checkStat(in, 0, out, tol)
		}
		if i >= p.Servers*p.ServerStrata {
			ok = ok && checkStat(out, p.Limits.ClientMinMeanOutInterval, in, tol) &&
				checkStat(ps.MinOutInterval, minOut, p.Limits.ClientMaxMinOutInterval, 0)
		}
		if !ok {
			v = append(v, fmt.Sprintf("%s: mean in %.3g s, mean out %.3g s, min out %.3g s", nd.Name, in, out, ps.MinOutInterval))
		}
	}
	return v
}
