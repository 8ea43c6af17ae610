package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
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
	// InitialFrequencyPPM, when not nil, is given to the measured engines
	// (Config.InitialFrequencyPPM), as a drift file read at start would:
	// -FreqOffset·1e6 is the exact correction of their clocks.
	InitialFrequencyPPM *float64
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

// Result holds the figures of one run, for the measured engine(s).
type Result struct {
	SyncTime  float64 // s; +Inf if never synchronized
	RMSOffset float64 // s, after 420 s
	MaxOffset float64 // s, after 420 s
	RMSFreq   float64 // s/s, after 420 s
	Steps     int
	Sent      int
	// PacketsPerHour is the rate of datagrams a measured engine sent,
	// averaged over the run and the measured engines.
	PacketsPerHour float64
	Nodes          []*Node // measured nodes
	Net            *Network
}

// measureFrom is where RMS and max figures start (chrony: 420 s).
const measureFrom = 420

// Epoch is the true time at which simulations start.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type acc struct {
	lastBad     float64
	n           int
	sumO2, maxO float64
	sumF2       float64
}

func (a *acc) add(t, off, freq float64) {
	if math.Abs(off) > 1e-3 || math.Abs(freq) > 500e-6 {
		a.lastBad = t
	}
	if t >= measureFrom {
		a.n++
		a.sumO2 += off * off
		a.sumF2 += freq * freq
		a.maxO = math.Max(a.maxO, math.Abs(off))
	}
}

// Run simulates s with the given seed.
func Run(s Scenario, seed uint64) (Result, error) {
	net := NewNetwork(seed, epoch, Link{BaseDelay: s.BaseDelay, Jitter: s.Jitter, Loss: s.Loss})
	net.SlewRate = s.MaxSlewRate * 1e-6
	slewPPM := net.SlewRate * 1e6
	if slewPPM <= 0 {
		slewPPM = DefaultSlewRate * 1e6
	}
	if s.UnstatedSlewRate {
		slewPPM = 0
	}
	ref := func(name string) (*Node, error) {
		return net.AddNode(name, 0, 0, 0, func(now time.Time) (*ntpengine.Engine, error) {
			return ntpengine.New(ntpengine.Config{LocalStratum: 1, Precision: -24,
				Rand: rand.New(rand.NewPCG(seed, 7)), RateLimit: ntpengine.RateLimit{Interval: -1}}, now)
		})
	}
	peer := func(key string, to *Node, symmetric bool) ntpengine.PeerConfig {
		m := ntpengine.AssocClient
		if symmetric {
			m = ntpengine.AssocSymmetric
		}
		return ntpengine.PeerConfig{Key: key, Address: to.Addr, Mode: m, MinPoll: s.MinPoll, MaxPoll: s.MaxPoll, IBurst: s.IBurst}
	}
	client := func(name string, peers ...ntpengine.PeerConfig) (*Node, error) {
		r := rand.New(rand.NewPCG(seed, uint64(len(name))))
		return net.AddNode(name, s.InitialOffset, s.FreqOffset, s.Wander, func(now time.Time) (*ntpengine.Engine, error) {
			return ntpengine.New(ntpengine.Config{Peers: peers, Rand: r, Discipline: s.Discipline, MaxSlewRate: slewPPM,
				InitialFrequencyPPM: s.InitialFrequencyPPM}, now)
		})
	}
	var measured []*Node
	switch s.Topology {
	case "":
		r, err := ref("ref")
		if err != nil {
			return Result{}, err
		}
		c, err := client("client", peer("ref", r, s.Symmetric))
		if err != nil {
			return Result{}, err
		}
		measured = []*Node{c}
	case "pair":
		ra, err := ref("ref-a")
		if err != nil {
			return Result{}, err
		}
		rb, err := ref("ref-b")
		if err != nil {
			return Result{}, err
		}
		// Addresses are assigned in order: a is node 3, b node 4.
		addrA := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 3}), 123)
		addrB := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 4}), 123)
		pa := ntpengine.PeerConfig{Key: "peer-b", Address: addrB, MinPoll: s.MinPoll, MaxPoll: s.MaxPoll, IBurst: s.IBurst}
		pb := ntpengine.PeerConfig{Key: "peer-a", Address: addrA, MinPoll: s.MinPoll, MaxPoll: s.MaxPoll, IBurst: s.IBurst}
		a, err := client("a", peer("ref-a", ra, s.Symmetric), pa)
		if err != nil {
			return Result{}, err
		}
		b, err := client("b", peer("ref-b", rb, s.Symmetric), pb)
		if err != nil {
			return Result{}, err
		}
		if a.Addr != addrA || b.Addr != addrB {
			return Result{}, fmt.Errorf("sim: unexpected addresses %v %v", a.Addr, b.Addr)
		}
		measured = []*Node{a, b}
	case "stop":
		var peers []ntpengine.PeerConfig
		var refs []*Node
		for i := range 3 {
			r, err := ref(fmt.Sprintf("ref-%d", i))
			if err != nil {
				return Result{}, err
			}
			refs = append(refs, r)
			peers = append(peers, peer(r.Name, r, s.Symmetric))
		}
		c, err := client("client", peers...)
		if err != nil {
			return Result{}, err
		}
		measured = []*Node{c}
		stopped := false
		defer func() { _ = stopped }()
		// The reference that is the system peer at StopAt goes down.
		net.onSecond = func(t float64) {
			if stopped || t < s.StopAt {
				return
			}
			stopped = true
			sp := c.Engine.Status(c.Clock.Now()).SystemPeerAddr
			for _, r := range refs {
				if r.Addr == sp || !sp.IsValid() && r == refs[0] {
					r.DownAt = t
				}
			}
		}
	default:
		return Result{}, fmt.Errorf("sim: unknown topology %q", s.Topology)
	}
	accs := make([]acc, len(measured))
	net.Run(s.Duration, func(t float64) {
		if net.onSecond != nil {
			net.onSecond(t)
		}
		for i, nd := range measured {
			accs[i].add(t, nd.Clock.Error(), nd.Clock.FrequencyError())
		}
		if s.Observe != nil {
			s.Observe(t, measured)
		}
	})
	res := Result{Nodes: measured, Net: net, Sent: net.Sent}
	for _, nd := range measured {
		res.PacketsPerHour += float64(nd.Sent) / s.Duration * 3600 / float64(len(measured))
	}
	for i, a := range accs {
		sync := a.lastBad + 1
		if a.lastBad >= s.Duration-1 {
			sync = math.Inf(1)
		}
		// Report the worst of the measured engines.
		res.SyncTime = math.Max(res.SyncTime, sync)
		if a.n > 0 {
			res.RMSOffset = math.Max(res.RMSOffset, math.Sqrt(a.sumO2/float64(a.n)))
			res.RMSFreq = math.Max(res.RMSFreq, math.Sqrt(a.sumF2/float64(a.n)))
		}
		res.MaxOffset = math.Max(res.MaxOffset, a.maxO)
		res.Steps += measured[i].Steps
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
