package sim

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine"
)

// World is a declarative simulation: nodes, the associations between
// them, the links that carry their packets and the outages of those
// links. It can say what chrony's test/simulation/test.common says with
// clknetsim: several servers in strata, clients and symmetric peers,
// per-node clock errors, per-link and per-direction delay and jitter,
// falsetickers (a reference whose clock is off), loss, links that drop
// packets during given windows, a node that starts late and a reference
// whose clock steps. Link needs a base delay; the zero value of every
// other optional field is chrony's neutral setting. Parse reads the same
// from text.
type World struct {
	Name string
	// Duration is the simulated true time, s (chrony's limit).
	Duration float64
	Nodes    []NodeSpec
	// Link is the default path between any two nodes, each direction.
	Link Link
	// Links override Link for some directions; a later rule wins.
	Links []LinkRule
	// Outages drop packets on top of any link's loss.
	Outages []OutageRule
	// Measure says how the figures are taken.
	Measure Measure
	// Discipline, MaxSlewRate, UnstatedSlewRate: as Scenario's, for the
	// engines of nodes that have sources.
	Discipline       ntpengine.DisciplineMode
	MaxSlewRate      float64
	UnstatedSlewRate bool
	// MaxFrequency is the frequency range of the clocks, ppm, which the
	// engines are told (Config.FrequencyLimitPPM); 0 → a virtual
	// clock's, DefaultMaxFrequency.
	MaxFrequency float64
	// Observe, when not nil, is called once per simulated second after
	// the figures' sample, before the engines act.
	Observe func(t float64, net *Network)
	// Delays, when not nil, gives the delay of each datagram from the
	// node named from to the node named to, sent at true time at (s from
	// the start), in place of the link's draw (a recorded path replayed
	// datagram by datagram); with ok false the link draws it.
	Delays func(from, to string, at float64) (delay float64, ok bool)
}

// NodeSpec is one host.
type NodeSpec struct {
	Name string
	// Offset is the clock's error (clock − true) at time 0, s; Freq its
	// frequency error, s/s; FreqRamp a constant change of Freq per
	// second; Wander the standard deviation of its per-second random
	// walk (chrony: freq = freq_offset + Σ wander·N(0,1)).
	Offset, Freq, FreqRamp, Wander float64
	// Start is the true time the engine starts at (the clock runs from
	// 0, as clknetsim's nodeN_start).
	Start float64
	// Jumps step the clock behind the engine's back (a reference that
	// steps).
	Jumps []ClockJump
	// LocalStratum makes the node serve its own clock at this stratum
	// while it has no system peer: a reference (chrony's local stratum).
	LocalStratum uint8
	Sources      []Source
	// Measured nodes are the ones the figures are taken of (chrony's
	// clients).
	Measured bool
	// InitialFrequencyPPM is Config.InitialFrequencyPPM (a drift file).
	InitialFrequencyPPM *float64
	// MakeStep is Config.MakeStep (chrony's makestep).
	MakeStep ntpengine.MakeStep
	// SendLatency is the time from the transmit timestamp the node's
	// engine writes (T1 of a poll, T3 of a reply) to its packet leaving,
	// s: the scheduling and send path of a host that reads its clock
	// before the send system call. Its packets are delivered that much
	// later; their timestamps do not change. 0: the timestamps are the
	// kernel's, taken as the packet leaves.
	SendLatency float64
	// TxTimestamps: the host tells its engine when each packet left
	// (Engine.Transmitted, as a kernel transmit timestamp), which
	// interleaved mode (RFC 9769) needs.
	TxTimestamps bool
}

// ClockJump adds By seconds to a clock at true time At.
type ClockJump struct{ At, By float64 }

// Source is an association of a node with another node.
type Source struct {
	Node string
	// Peer makes it a symmetric active association (chrony's peer)
	// instead of a client one (server).
	Peer             bool
	MinPoll, MaxPoll int8 // 0: the engine's defaults
	// IBurst is ntpengine.PeerConfig.IBurst: a burst while the source
	// is unreachable (at start, after a step).
	IBurst bool
}

// LinkRule sets the link of the directions From → To; an empty name
// matches any node.
type LinkRule struct {
	From, To string
	Link
}

// OutageRule drops the packets From → To (empty: any node) as Outage
// says.
type OutageRule struct {
	From, To   string
	Start, End float64
	Every      float64
	PassEvery  int
}

// Measure holds the thresholds of chrony's figures. Zero values are
// chrony's defaults.
type Measure struct {
	// After is the end of the start-up window (chrony's max_sync_time,
	// clknetsim -r): RMS and maximum figures are over the samples after
	// it. 0 → 210 s.
	After float64
	// TimeMax and FreqMax are the thresholds of the sync time (chrony's
	// time_max_limit and freq_max_limit). 0 → 1 ms and 500 ppm.
	TimeMax, FreqMax float64
}

func (m Measure) after() float64   { return orDefault(m.After, 210) }
func (m Measure) timeMax() float64 { return orDefault(m.TimeMax, 1e-3) }
func (m Measure) freqMax() float64 { return orDefault(m.FreqMax, 500e-6) }

func orDefault(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}

// Figures are one node's results over a run, with chrony's definitions
// (test.common check_sync with clknetsim's statistics).
type Figures struct {
	Name string
	// SyncTime is one second after the last one-second sample (from
	// t = 0) with |offset| > TimeMax or |frequency| > FreqMax, 0 if none
	// (clknetsim's find_sync with chrony's smoothing 1.0): Duration+1
	// when the last sample of the run was such a sample, and Synced is
	// then false.
	SyncTime float64
	Synced   bool
	// SyncTimerTime is SyncTime as the node's own clock counts it
	// (Clock.TimerTime at the last such sample, plus one second): the
	// measure of chrony's lower sync bound (ChronyLimits.SyncViolations).
	SyncTimerTime float64
	// RMS and maximum |offset| and |frequency| (the total rate error,
	// slewing included, Clock.TotalFrequency) over the samples after
	// Measure.After.
	RMSOffset, MaxOffset, RMSFreq, MaxFreq float64
	// MeanOffset is the mean offset over the same samples (a bias).
	MeanOffset float64
	Samples    int
	// Steps is how many times the engine stepped the clock.
	Steps   int
	Packets PacketStats
}

type accumulator struct {
	m                 Measure
	lastBad           float64 // -1: none
	lastBadTimer      float64 // Clock.TimerTime at lastBad
	n                 int
	sumO, sumO2, maxO float64
	sumF2, maxF       float64
	badAtEnd          bool
}

func (a *accumulator) add(t, timer, off, freq float64) {
	bad := math.Abs(off) > a.m.timeMax() || math.Abs(freq) > a.m.freqMax()
	if bad {
		a.lastBad, a.lastBadTimer = t, timer
	}
	a.badAtEnd = bad
	if t > a.m.after() {
		a.n++
		a.sumO += off
		a.sumO2 += off * off
		a.sumF2 += freq * freq
		a.maxO = math.Max(a.maxO, math.Abs(off))
		a.maxF = math.Max(a.maxF, math.Abs(freq))
	}
}

func (a *accumulator) figures(nd *Node) Figures {
	f := Figures{Name: nd.Name, SyncTime: a.lastBad + 1, SyncTimerTime: a.lastBadTimer + 1, Synced: !a.badAtEnd, Samples: a.n, MaxOffset: a.maxO,
		MaxFreq: a.maxF, Steps: nd.Steps, Packets: nd.Packets}
	if a.n > 0 {
		f.MeanOffset = a.sumO / float64(a.n)
		f.RMSOffset = math.Sqrt(a.sumO2 / float64(a.n))
		f.RMSFreq = math.Sqrt(a.sumF2 / float64(a.n))
	}
	return f
}

// Outcome is the result of one run of a World.
type Outcome struct {
	// Measured are the figures of the measured nodes, in the order of
	// World.Nodes.
	Measured []Figures
	// Net is the network at the end of the run (nodes, engines, events).
	Net *Network
}

// Node returns the node named name, or nil.
func (n *Network) Node(name string) *Node {
	for _, nd := range n.nodes {
		if nd.Name == name {
			return nd
		}
	}
	return nil
}

// Errors from World validation; test with errors.Is.
var ErrWorld = errors.New("sim: invalid world")

// Validate checks the world: it names what is wrong and changes nothing.
func (w *World) Validate() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: "+f, append([]any{ErrWorld}, a...)...) }
	if !(w.Duration >= 1 && w.Duration <= 1e7) {
		return bad("duration %v s not in [1, 1e7]", w.Duration)
	}
	if len(w.Nodes) == 0 || len(w.Nodes) > 250 {
		return bad("%d nodes, want 1..250", len(w.Nodes))
	}
	names := map[string]bool{}
	for _, n := range w.Nodes {
		if n.Name == "" || names[n.Name] {
			return bad("node name %q empty or repeated", n.Name)
		}
		names[n.Name] = true
	}
	known := func(name string) bool { return name == "" || names[name] }
	for _, n := range w.Nodes {
		if !(n.SendLatency >= 0 && n.SendLatency < 1) {
			return bad("node %s: send latency %v s not in [0, 1)", n.Name, n.SendLatency)
		}
		for _, v := range []float64{n.Offset, n.Freq, n.FreqRamp, n.Wander, n.Start} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return bad("node %s: a clock setting is not a finite number", n.Name)
			}
		}
		if n.Start < 0 || n.Start >= w.Duration || n.Wander < 0 {
			return bad("node %s: start %v s or wander %v out of range", n.Name, n.Start, n.Wander)
		}
		if n.LocalStratum > 15 {
			return bad("node %s: local stratum %d not in 1..15", n.Name, n.LocalStratum)
		}
		for _, s := range n.Sources {
			if !names[s.Node] {
				return bad("node %s: source %q is not a node", n.Name, s.Node)
			}
		}
		if !slices.IsSortedFunc(n.Jumps, func(a, b ClockJump) int { return cmp.Compare(a.At, b.At) }) {
			return bad("node %s: clock jumps not in time order", n.Name)
		}
	}
	checkLink := func(where string, l Link) error {
		if !(l.BaseDelay > 0) || !(l.Jitter >= 0) || !(l.Loss >= 0 && l.Loss <= 1) || !(math.Abs(l.Asymmetry) <= 0.5) {
			return bad("%s: delay %v s (must be > 0), jitter %v, asymmetry %v or loss %v out of range",
				where, l.BaseDelay, l.Jitter, l.Asymmetry, l.Loss)
		}
		return nil
	}
	if err := checkLink("default link", w.Link); err != nil {
		return err
	}
	for _, r := range w.Links {
		if !known(r.From) || !known(r.To) {
			return bad("link %q → %q: unknown node", r.From, r.To)
		}
		if err := checkLink(fmt.Sprintf("link %q → %q", r.From, r.To), r.Link); err != nil {
			return err
		}
	}
	for _, o := range w.Outages {
		if !known(o.From) || !known(o.To) {
			return bad("outage %q → %q: unknown node", o.From, o.To)
		}
		if o.PassEvery < 0 || o.Every < 0 || o.PassEvery == 0 && !(o.End > o.Start) {
			return bad("outage %q → %q: window [%v, %v) every %v, pass-every %d", o.From, o.To, o.Start, o.End, o.Every, o.PassEvery)
		}
	}
	if w.Measure.After < 0 || w.Measure.After >= w.Duration || w.Measure.TimeMax < 0 || w.Measure.FreqMax < 0 {
		return bad("measure after %v s (duration %v s), thresholds %v s, %v", w.Measure.After, w.Duration,
			w.Measure.TimeMax, w.Measure.FreqMax)
	}
	return nil
}

// Build makes the world's network for a seed, without running it.
func (w *World) Build(seed uint64) (*Network, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	net := NewNetwork(seed, epoch, w.Link)
	net.SlewRate = w.MaxSlewRate * 1e-6
	net.MaxFrequency = w.MaxFrequency * 1e-6
	slewPPM := net.SlewRate * 1e6
	if slewPPM <= 0 {
		slewPPM = DefaultSlewRate * 1e6
	}
	if w.UnstatedSlewRate {
		slewPPM = 0
	}
	// Addresses follow the order of the nodes (Network.addNode).
	nodes := make(map[string]*Node, len(w.Nodes))
	for i, spec := range w.Nodes {
		cfg := ntpengine.Config{LocalStratum: spec.LocalStratum,
			Rand:      rand.New(rand.NewPCG(seed, uint64(i+1))),
			RateLimit: ntpengine.RateLimit{Interval: -1}}
		if len(spec.Sources) == 0 {
			cfg.Precision = -24
		} else {
			cfg.Discipline, cfg.MaxSlewRate, cfg.InitialFrequencyPPM = w.Discipline, slewPPM, spec.InitialFrequencyPPM
			cfg.MakeStep = spec.MakeStep
			cfg.FrequencyLimitPPM = w.MaxFrequency
			if cfg.FrequencyLimitPPM == 0 {
				cfg.FrequencyLimitPPM = DefaultMaxFrequency * 1e6
			}
		}
		for _, s := range spec.Sources {
			mode := ntpengine.AssocClient
			if s.Peer {
				mode = ntpengine.AssocSymmetric
			}
			cfg.Peers = append(cfg.Peers, ntpengine.PeerConfig{Key: s.Node, Address: nodeAddr(w, s.Node),
				Mode: mode, MinPoll: s.MinPoll, MaxPoll: s.MaxPoll, IBurst: s.IBurst})
		}
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("%w: node %s: %w", ErrWorld, spec.Name, err)
		}
		nd := net.addNode(spec.Name, spec.Offset, spec.Freq, spec.Wander, func(now time.Time) (*ntpengine.Engine, error) {
			return ntpengine.New(cfg, now)
		})
		nd.FreqRamp, nd.Start, nd.jumps = spec.FreqRamp, spec.Start, slices.Clone(spec.Jumps)
		nd.SendLatency, nd.TxTimestamps = spec.SendLatency, spec.TxTimestamps
		nodes[spec.Name] = nd
	}
	for _, r := range w.Links {
		for _, a := range net.nodes {
			for _, b := range net.nodes {
				if (r.From == "" || r.From == a.Name) && (r.To == "" || r.To == b.Name) {
					net.SetLink(a, b, r.Link)
				}
			}
		}
	}
	if w.Delays != nil {
		net.delays = func(from, to *Node, at float64) (float64, bool) { return w.Delays(from.Name, to.Name, at) }
	}
	for _, o := range w.Outages {
		net.AddOutage(Outage{From: nodes[o.From], To: nodes[o.To], Start: o.Start, End: o.End, Every: o.Every, PassEvery: o.PassEvery})
	}
	return net, nil
}

// nodeAddr is the address Build gives the node named name.
func nodeAddr(w *World, name string) netip.AddrPort {
	i := slices.IndexFunc(w.Nodes, func(n NodeSpec) bool { return n.Name == name })
	return addrOf(i)
}

// RunWorld simulates w with the given seed.
func RunWorld(w World, seed uint64) (Outcome, error) {
	net, err := w.Build(seed)
	if err != nil {
		return Outcome{}, err
	}
	var measured []*Node
	for i, spec := range w.Nodes {
		if spec.Measured {
			measured = append(measured, net.nodes[i])
		}
	}
	accs := make([]accumulator, len(measured))
	for i := range accs {
		accs[i].m, accs[i].lastBad, accs[i].lastBadTimer = w.Measure, -1, -1
	}
	err = net.Run(w.Duration, func(t float64) {
		for i, nd := range measured {
			accs[i].add(t, nd.Clock.TimerTime(), nd.Clock.Error(), nd.Clock.TotalFrequency())
		}
		if w.Observe != nil {
			w.Observe(t, net)
		}
	})
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Net: net}
	for i, nd := range measured {
		out.Measured = append(out.Measured, accs[i].figures(nd))
	}
	return out, nil
}
