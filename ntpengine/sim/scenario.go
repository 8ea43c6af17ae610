package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine"
)

// Scenario is one simulated setup, with the parameters of chrony's
// test/simulation/test.common.
type Scenario struct {
	Name          string
	Duration      float64 // s
	InitialOffset float64 // clock − true at start, s
	FreqOffset    float64 // s/s
	Wander        float64 // s/s per second (1 ppb/s = 1e-9)
	BaseDelay     float64 // one-way, s
	Jitter        float64 // one-way exponential mean, s
	Loss          float64
	MinPoll       int8 // 0 → 6
	MaxPoll       int8 // 0 → 10
	// Symmetric makes the measured engine a symmetric active peer of its
	// reference instead of a client.
	Symmetric bool
	// IBurst configures the measured engines' associations with iburst
	// (ntpengine.PeerConfig.IBurst): a burst of 8 packets while a source
	// is unreachable, at start and after a step.
	IBurst bool
	// Topology selects the setup: "" one engine and one reference;
	// "pair" two engines as symmetric peers, each with its own
	// reference; "stop" one engine with three references, the system
	// peer's reference stops answering at StopAt.
	Topology string
	StopAt   float64
	// Discipline of the measured engines.
	Discipline ntpengine.DisciplineMode
	// MaxSlewRate is the slew rate of the simulated clocks in ppm, which
	// the engines are told (Config.MaxSlewRate); 0 → chrony's 83,333 ppm
	// (DefaultSlewRate). 500 is adjtime(3), as clock.System slews.
	MaxSlewRate float64
	// UnstatedSlewRate leaves Config.MaxSlewRate at 0 (the engines assume
	// adjtime's 500 ppm whatever the clocks do), as a caller that forgets
	// to pass clock.MaxSlewRate would.
	UnstatedSlewRate bool
	// SendLatency is the measured engines' delay from transmit timestamp
	// to wire, s (NodeSpec.SendLatency); 0 with kernel timestamps.
	SendLatency float64
	// InitialFrequencyPPM, when not nil, is given to the measured engines
	// (Config.InitialFrequencyPPM), as a drift file read at start would:
	// -FreqOffset·1e6 is the exact correction of their clocks.
	InitialFrequencyPPM *float64
	// MeasureAfter is chrony's max_sync_time: RMS and max figures are
	// over the samples after it; 0 → 210 s.
	MeasureAfter float64
	// Observe, when not nil, is called once per simulated second with the
	// measured nodes, after the figures' sample (for traces).
	Observe func(t float64, measured []*Node)
}

// Default is chrony's default simulation scenario: initial offset 0.1 s,
// frequency offset +100 ppm, wander 1 ppb/s, base delay 100 µs, jitter
// 100 µs, 10,000 s, default polling.
//
// It differs from chrony's in one respect: the engine's sources have
// iburst. chrony updates its clock from its third sample at the minimum
// poll; the engine's clock filter (RFC 5905 §10) needs several samples
// before a source passes the root distance test (§11.2), eight polls
// without a start burst, which chrony's 210 s sync limit does not allow.
func Default() Scenario {
	return Scenario{
		Name: "default", Duration: 10000, InitialOffset: 0.1, FreqOffset: 100e-6,
		Wander: 1e-9, BaseDelay: 1e-4, Jitter: 1e-4, IBurst: true,
	}
}

// Result holds the figures of one run, for the measured engine(s): the
// worst of them when there are several.
type Result struct {
	SyncTime  float64 // s; +Inf if never synchronized
	RMSOffset float64 // s, after MeasureAfter (chrony's max_sync_time)
	MaxOffset float64 // s, after MeasureAfter
	RMSFreq   float64 // s/s, after MeasureAfter
	Steps     int
	Sent      int
	// PacketsPerHour is the rate of datagrams a measured engine sent,
	// averaged over the run and the measured engines.
	PacketsPerHour float64
	Nodes          []*Node // measured nodes
	Net            *Network
}

// Epoch is the true time at which simulations start.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// World is the scenario in the scenario language: the same nodes,
// links and engine settings (the "stop" topology's dynamic outage is an
// Observe hook).
func (s Scenario) World() (World, error) {
	w := World{Name: s.Name, Duration: s.Duration,
		Link:       Link{BaseDelay: s.BaseDelay, Jitter: s.Jitter, Loss: s.Loss},
		Discipline: s.Discipline, MaxSlewRate: s.MaxSlewRate, UnstatedSlewRate: s.UnstatedSlewRate,
		Measure: Measure{After: s.MeasureAfter}}
	ref := func(name string) NodeSpec { return NodeSpec{Name: name, LocalStratum: 1} }
	client := func(name string, sources ...Source) NodeSpec {
		for i := range sources {
			sources[i].MinPoll, sources[i].MaxPoll, sources[i].IBurst = s.MinPoll, s.MaxPoll, s.IBurst
		}
		return NodeSpec{Name: name, Offset: s.InitialOffset, Freq: s.FreqOffset, Wander: s.Wander,
			Sources: sources, Measured: true, InitialFrequencyPPM: s.InitialFrequencyPPM, SendLatency: s.SendLatency}
	}
	var stopRefs []string
	switch s.Topology {
	case "":
		w.Nodes = []NodeSpec{ref("ref"), client("client", Source{Node: "ref", Peer: s.Symmetric})}
	case "pair":
		w.Nodes = []NodeSpec{ref("ref-a"), ref("ref-b"),
			client("a", Source{Node: "ref-a", Peer: s.Symmetric}, Source{Node: "b", Peer: true}),
			client("b", Source{Node: "ref-b", Peer: s.Symmetric}, Source{Node: "a", Peer: true})}
	case "stop":
		var sources []Source
		for i := range 3 {
			name := fmt.Sprintf("ref-%d", i)
			w.Nodes = append(w.Nodes, ref(name))
			sources = append(sources, Source{Node: name, Peer: s.Symmetric})
			stopRefs = append(stopRefs, name)
		}
		w.Nodes = append(w.Nodes, client("client", sources...))
	default:
		return World{}, fmt.Errorf("%w: unknown topology %q", ErrWorld, s.Topology)
	}
	stopped := false
	w.Observe = func(t float64, net *Network) {
		if stopRefs != nil && !stopped && t >= s.StopAt {
			// The reference that is the system peer at StopAt goes down
			// (the first one if there is none).
			stopped = true
			c := net.Node("client")
			sp := c.Engine.Status(c.Clock.Now()).SystemPeerAddr
			for i, name := range stopRefs {
				if r := net.Node(name); r.Addr == sp || !sp.IsValid() && i == 0 {
					r.DownAt = t
				}
			}
		}
		if s.Observe != nil {
			var measured []*Node
			for i, spec := range w.Nodes {
				if spec.Measured {
					measured = append(measured, net.nodes[i])
				}
			}
			s.Observe(t, measured)
		}
	}
	return w, nil
}

// Run simulates s with the given seed.
func Run(s Scenario, seed uint64) (Result, error) {
	w, err := s.World()
	if err != nil {
		return Result{}, err
	}
	out, err := RunWorld(w, seed)
	if err != nil {
		return Result{}, err
	}
	res := Result{Net: out.Net, Sent: out.Net.Sent}
	for i, spec := range w.Nodes {
		if spec.Measured {
			nd := out.Net.nodes[i]
			res.Nodes = append(res.Nodes, nd)
			res.PacketsPerHour += float64(nd.Sent) / s.Duration * 3600
		}
	}
	res.PacketsPerHour /= float64(len(res.Nodes))
	for _, f := range out.Measured {
		sync := f.SyncTime
		if !f.Synced {
			sync = math.Inf(1)
		}
		res.SyncTime = math.Max(res.SyncTime, sync)
		res.RMSOffset = math.Max(res.RMSOffset, f.RMSOffset)
		res.RMSFreq = math.Max(res.RMSFreq, f.RMSFreq)
		res.MaxOffset = math.Max(res.MaxOffset, f.MaxOffset)
		res.Steps += f.Steps
	}
	return res, nil
}

// Stats is mean ± standard deviation over seeds.
type Stats struct{ Mean, SD float64 }

// Summary aggregates runs over seeds.
type Summary struct {
	Scenario                     Scenario
	Seeds                        int
	SyncTime, RMSOffset, RMSFreq Stats
	PacketsPerHour               Stats
	MaxOffset                    float64
	NeverSynced                  int
}

// RunSeeds runs s for seeds 1..n.
func RunSeeds(s Scenario, n int) (Summary, error) {
	var sync, rms, freq, pph []float64
	sum := Summary{Scenario: s, Seeds: n}
	for seed := 1; seed <= n; seed++ {
		r, err := Run(s, uint64(seed))
		if err != nil {
			return sum, err
		}
		if math.IsInf(r.SyncTime, 1) {
			sum.NeverSynced++
		} else {
			sync = append(sync, r.SyncTime)
		}
		rms = append(rms, r.RMSOffset)
		freq = append(freq, r.RMSFreq)
		pph = append(pph, r.PacketsPerHour)
		sum.MaxOffset = math.Max(sum.MaxOffset, r.MaxOffset)
	}
	sum.SyncTime, sum.RMSOffset, sum.RMSFreq = stats(sync), stats(rms), stats(freq)
	sum.PacketsPerHour = stats(pph)
	return sum, nil
}

func stats(x []float64) Stats {
	if len(x) == 0 {
		return Stats{math.NaN(), math.NaN()}
	}
	var m float64
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	var v float64
	for _, y := range x {
		v += (y - m) * (y - m)
	}
	if len(x) > 1 {
		v /= float64(len(x) - 1)
	}
	return Stats{m, math.Sqrt(v)}
}
