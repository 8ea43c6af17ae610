package sim

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine"
)

// Link is the path from one node to another, one direction.
type Link struct {
	BaseDelay float64 // s
	Jitter    float64 // mean of the exponential extra delay, s
	// Asymmetry is chrony's jitter_asymmetry: the jitter of a packet to a
	// node added later is (1+2·Asymmetry)·Jitter, to a node added earlier
	// (1−2·Asymmetry)·Jitter. Servers come before their clients, so a
	// positive value makes replies noisier than requests.
	Asymmetry float64
	Loss      float64 // probability a packet is lost
}

// jitterTo is the mean exponential delay of a packet from node index i
// to node index j.
func (l Link) jitterTo(i, j int) float64 {
	switch {
	case l.Asymmetry == 0 || i == j:
		return l.Jitter
	case j > i:
		return (1 + 2*l.Asymmetry) * l.Jitter
	}
	return (1 - 2*l.Asymmetry) * l.Jitter
}

// Outage drops the packets sent from From to To (nil: any node) at true
// times in [Start, End), repeated every Every seconds when Every > 0
// (the window is then taken modulo Every). With PassEvery > 0 the window
// is ignored and only every PassEvery-th matching packet passes.
type Outage struct {
	From, To   *Node
	Start, End float64
	Every      float64
	PassEvery  int
	count      int
}

func (o *Outage) matches(from, to *Node) bool {
	return (o.From == nil || o.From == from) && (o.To == nil || o.To == to)
}

// drops tells whether a matching packet sent at t is dropped.
func (o *Outage) drops(t float64) bool {
	if o.PassEvery > 0 {
		o.count++
		return o.count%o.PassEvery != 0
	}
	if o.Every > 0 {
		t = math.Mod(t, o.Every)
	}
	return t >= o.Start && t < o.End
}

// PacketStats are a node's datagram counts and intervals, as clknetsim
// counts them: a datagram is outgoing when handed to the network (lost
// or not) and incoming when delivered.
type PacketStats struct {
	Out, In                       int
	firstOut, lastOut             float64
	firstIn, lastIn               float64
	MinOutInterval, MinInInterval float64 // s; +Inf below two datagrams
}

func (p *PacketStats) count(out bool, t float64) {
	n, first, last, minInt := &p.In, &p.firstIn, &p.lastIn, &p.MinInInterval
	if out {
		n, first, last, minInt = &p.Out, &p.firstOut, &p.lastOut, &p.MinOutInterval
	}
	switch {
	case *n == 0:
		*first, *minInt = t, math.Inf(1)
	default:
		*minInt = math.Min(*minInt, t-*last)
	}
	*n++
	*last = t
}

// MeanOutInterval is the mean interval between outgoing datagrams, s;
// +Inf below two.
func (p *PacketStats) MeanOutInterval() float64 { return meanInterval(p.Out, p.firstOut, p.lastOut) }

// MeanInInterval is the mean interval between incoming datagrams, s;
// +Inf below two.
func (p *PacketStats) MeanInInterval() float64 { return meanInterval(p.In, p.firstIn, p.lastIn) }

func meanInterval(n int, first, last float64) float64 {
	if n < 2 {
		return math.Inf(1)
	}
	return (last - first) / float64(n-1)
}

// TimedEvent is an engine event with the true time it happened.
type TimedEvent struct {
	At float64
	ntpengine.Event
}

// Node is one host: a clock and an engine.
type Node struct {
	Name  string
	Addr  netip.AddrPort
	Clock *Clock
	// Engine is nil until the node starts (Start).
	Engine *ntpengine.Engine
	// Wander is the standard deviation of the per-second frequency
	// random walk (s/s per step); FreqRamp a constant frequency change
	// per second (s/s per s).
	Wander, FreqRamp float64
	// Start is the true time at which the engine is built; the clock
	// runs from the beginning.
	Start float64
	// DownAt, when > 0, is the true time after which the node neither
	// sends nor answers.
	DownAt float64
	// SendLatency delays the node's packets after their transmit
	// timestamps, s (NodeSpec.SendLatency).
	SendLatency float64
	// TxTimestamps: the engine is told when each packet left
	// (NodeSpec.TxTimestamps).
	TxTimestamps bool
	// Steps counts the steps the engine commanded.
	Steps int
	// Sent counts the datagrams the node sent.
	Sent    int
	Packets PacketStats
	// Events are the engine's events, in order.
	Events []TimedEvent
	index  int
	// nextTick is the true time of the engine's next deadline.
	nextTick float64
	mk       func(now time.Time) (*ntpengine.Engine, error)
	jumps    []ClockJump
}

func (n *Node) down(t float64) bool { return n.DownAt > 0 && t >= n.DownAt }

type delivery struct {
	at  float64
	seq uint64
	to  *Node
	in  ntpengine.Incoming
}

type queue []delivery

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(delivery)) }
func (q *queue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// Network is the simulated world: true time, nodes and links.
type Network struct {
	epoch   time.Time
	now     float64
	rng     *rand.Rand
	nodes   []*Node
	byAddr  map[netip.AddrPort]*Node
	links   map[[2]*Node]Link
	deflink Link
	outages []*Outage
	q       queue
	seq     uint64
	// Sent counts datagrams handed to links.
	Sent int
	// observeDelivery, when not nil, sees every datagram put on a link
	// with its delay (tests).
	observeDelivery func(from, to *Node, delay float64)
	// delays, when not nil, replays recorded delays (World.Delays).
	delays func(from, to *Node, at float64) (float64, bool)
	// SlewRate is the slew rate of the clocks of nodes added from now on,
	// s/s; 0 → DefaultSlewRate.
	SlewRate float64
	// MaxFrequency is the frequency range of the clocks of nodes added
	// from now on, s/s; 0 → DefaultMaxFrequency.
	MaxFrequency float64
}

// NewNetwork creates an empty network whose true time starts at epoch.
func NewNetwork(seed uint64, epoch time.Time, defaultLink Link) *Network {
	return &Network{
		epoch: epoch, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		byAddr: map[netip.AddrPort]*Node{}, links: map[[2]*Node]Link{}, deflink: defaultLink,
	}
}

// Now is the true time in seconds since the start.
func (n *Network) Now() float64 { return n.now }

// Rand returns the network's random source (for seeding engines).
func (n *Network) Rand() *rand.Rand { return n.rng }

// Nodes returns the nodes in the order they were added.
func (n *Network) Nodes() []*Node { return n.nodes }

// AddNode adds a host with a clock of the given initial error (clock −
// true, s), frequency error (s/s) and wander, whose engine mk builds
// from the node's clock time at once.
func (n *Network) AddNode(name string, offset, freq, wander float64, mk func(now time.Time) (*ntpengine.Engine, error)) (*Node, error) {
	nd := n.addNode(name, offset, freq, wander, mk)
	return nd, n.start(nd)
}

// addNode adds a host whose engine is built when true time reaches
// its Start.
func (n *Network) addNode(name string, offset, freq, wander float64, mk func(now time.Time) (*ntpengine.Engine, error)) *Node {
	i := len(n.nodes)
	addr := addrOf(i)
	nd := &Node{Name: name, Addr: addr, Wander: wander, index: i, mk: mk}
	nd.Clock = &Clock{net: n, err: offset, trueAt: n.now, freqErr: freq, slewRate: n.SlewRate, maxFreq: n.MaxFrequency, origin: n.now + offset}
	if nd.Clock.slewRate <= 0 {
		nd.Clock.slewRate = DefaultSlewRate
	}
	if nd.Clock.maxFreq <= 0 {
		nd.Clock.maxFreq = DefaultMaxFrequency
	}
	n.nodes = append(n.nodes, nd)
	n.byAddr[addr] = nd
	return nd
}

// addrOf is the address of the i-th node added (from 0).
func addrOf(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte((i + 1) >> 8), byte(i + 1)}), 123)
}

func (n *Network) start(nd *Node) error {
	e, err := nd.mk(nd.Clock.Now())
	if err != nil {
		return fmt.Errorf("sim: node %s: %w", nd.Name, err)
	}
	nd.Engine = e
	return nil
}

// SetLink sets the link from a to b.
func (n *Network) SetLink(a, b *Node, l Link) { n.links[[2]*Node{a, b}] = l }

// AddOutage adds a rule that drops packets.
func (n *Network) AddOutage(o Outage) { n.outages = append(n.outages, &o) }

func (n *Network) link(a, b *Node) Link {
	if l, ok := n.links[[2]*Node{a, b}]; ok {
		return l
	}
	return n.deflink
}

// apply hands a Ready to the network and the node's clock.
func (n *Network) apply(from *Node, r ntpengine.Ready) {
	for _, c := range r.Clock {
		switch c.Op {
		case ntpengine.ClockStep:
			from.Clock.Step(c.Step)
			from.Steps++
		case ntpengine.ClockSetFrequency:
			from.Clock.SetFrequency(c.FrequencyPPM)
		case ntpengine.ClockSlew:
			from.Clock.Slew(c.Slew)
		}
	}
	for _, ev := range r.Events {
		from.Events = append(from.Events, TimedEvent{At: n.now, Event: ev})
	}
	if from.down(n.now) {
		return
	}
	for _, p := range r.Packets {
		n.send(from, p, false)
	}
}

// send puts one datagram of from on the link to its destination. A node
// with TxTimestamps does what the agent does around the send: the engine
// stamps the packet (StampTransmit; StampReply for a reply of Serve)
// immediately before it leaves, and learns when it left (Transmitted,
// as the kernel's transmit timestamp) where it asked for that.
func (n *Network) send(from *Node, p ntpengine.Outgoing, served bool) {
	to := n.byAddr[p.Dst]
	if to == nil {
		return
	}
	if from.TxTimestamps {
		now := from.Clock.Now()
		if served {
			ntpengine.StampReply(p.Data, now)
		} else {
			from.Engine.StampTransmit(&p, now)
		}
		if p.TxTimestamp {
			left := now.Add(time.Duration(from.SendLatency * 1e9))
			from.Engine.Transmitted(ntpengine.Transmitted{Data: p.Data, Dst: p.Dst, TxTime: left, Source: ntpengine.TxKernel})
		}
	}
	l := n.link(from, to)
	n.Sent++
	from.Sent++
	from.Packets.count(true, n.now)
	if n.dropped(from, to, l) {
		return
	}
	d, replayed := 0.0, false
	if n.delays != nil {
		d, replayed = n.delays(from, to, n.now)
	}
	if !replayed {
		d = l.BaseDelay + l.jitterTo(from.index, to.index)*n.rng.ExpFloat64()
	}
	if n.observeDelivery != nil {
		n.observeDelivery(from, to, d)
	}
	n.seq++
	heap.Push(&n.q, delivery{at: n.now + from.SendLatency + d, seq: n.seq, to: to, in: ntpengine.Incoming{
		Data: p.Data, Src: from.Addr, Dst: to.Addr,
	}})
}

// tick runs a node's engine at the current true time.
func (n *Network) tick(nd *Node) {
	n.apply(nd, nd.Engine.Tick(nd.Clock.Now()))
	n.schedule(nd)
}

// schedule sets when the node's engine must tick next: its deadline in
// true time (the clock's rate error over the wait is below a
// microsecond), or never within this second if the deadline is now.
func (n *Network) schedule(nd *Node) {
	wait := nd.Engine.NextDeadline().Sub(nd.Clock.Now()).Seconds()
	nd.nextTick = n.now + wait
	if wait <= 0 {
		nd.nextTick = math.Inf(1)
	}
}

func (n *Network) dropped(from, to *Node, l Link) bool {
	drop := false
	for _, o := range n.outages {
		if o.matches(from, to) && o.drops(n.now) {
			drop = true
		}
	}
	// The loss draw is taken for every packet so that an outage does not
	// shift the random sequence of the rest of the run.
	if l.Loss > 0 && n.rng.Float64() < l.Loss {
		drop = true
	}
	return drop
}

// Run advances true time by whole seconds up to end. At each second t
// it first moves the clocks (wander, scheduled jumps) and builds the
// engines of the nodes that start, then calls
// sample (if not nil) with t — so that a sample is taken before the
// engines act at t, as clknetsim samples before it resumes its nodes,
// from t = 0 on — then ticks the engines and delivers the packets
// that arrive before t+1. The last call of sample is at end, after
// which nothing more runs.
func (n *Network) Run(end float64, sample func(t float64)) error {
	for {
		for _, nd := range n.nodes {
			nd.Clock.advance(n.now)
			if nd.Wander != 0 || nd.FreqRamp != 0 {
				// Per-second frequency random walk (chrony test.common
				// wander) and ramp (a frequency expression "(sum x)").
				nd.Clock.freqErr += nd.FreqRamp + nd.Wander*n.rng.NormFloat64()
			}
			for len(nd.jumps) > 0 && nd.jumps[0].At <= n.now {
				nd.Clock.err += nd.jumps[0].By
				nd.jumps = nd.jumps[1:]
			}
		}
		for _, nd := range n.nodes {
			if nd.Engine == nil && nd.Start <= n.now {
				if err := n.start(nd); err != nil {
					return err
				}
			}
		}
		if sample != nil {
			sample(n.now)
		}
		if n.now >= end {
			return nil
		}
		for _, nd := range n.nodes {
			if nd.Engine != nil {
				n.tick(nd)
			}
		}
		next := math.Floor(n.now) + 1
		for {
			// The next event before next: a delivery or an engine's
			// deadline, deliveries first at equal times.
			var due *Node
			at := next
			if n.q.Len() > 0 && n.q[0].at < at {
				at = n.q[0].at
			}
			for _, nd := range n.nodes {
				if nd.Engine != nil && nd.nextTick < at {
					due, at = nd, nd.nextTick
				}
			}
			if at >= next {
				break
			}
			n.now = at
			if due != nil {
				n.tick(due)
				continue
			}
			d := heap.Pop(&n.q).(delivery)
			if d.to.Engine == nil || d.to.down(n.now) {
				continue
			}
			d.to.Packets.count(false, n.now)
			d.in.RxTime = d.to.Clock.Now()
			if d.to.TxTimestamps {
				// The agent's fast path for client requests (Serve).
				reply, res := d.to.Engine.Serve(&d.in, nil)
				switch res {
				case ntpengine.ServeDrop:
					continue
				case ntpengine.ServeReply, ntpengine.ServeReplyTx:
					n.send(d.to, ntpengine.Outgoing{Data: reply, Dst: d.in.Src, TxTimestamp: res == ntpengine.ServeReplyTx}, true)
					continue
				}
			}
			n.apply(d.to, d.to.Engine.Handle(d.in))
			n.schedule(d.to)
		}
		n.now = next
	}
}
