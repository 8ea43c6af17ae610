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

// Link is one direction between two nodes.
type Link struct {
	BaseDelay float64 // s
	Jitter    float64 // mean of the exponential extra delay, s
	Loss      float64 // probability a packet is lost
}

// Node is one host: a clock and an engine.
type Node struct {
	Name   string
	Addr   netip.AddrPort
	Clock  *Clock
	Engine *ntpengine.Engine
	// Wander is the standard deviation of the per-second frequency
	// random walk (s/s per step).
	Wander float64
	// DownAt, when > 0, is the true time after which the node neither
	// sends nor answers.
	DownAt float64
	Steps  int
	// Sent counts the datagrams the node sent.
	Sent int
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
	epoch    time.Time
	now      float64
	rng      *rand.Rand
	nodes    []*Node
	byAddr   map[netip.AddrPort]*Node
	links    map[[2]*Node]Link
	deflink  Link
	q        queue
	seq      uint64
	onSecond func(t float64)
	// Sent counts datagrams handed to links.
	Sent int
	// SlewRate is the slew rate of the clocks of nodes added from now on,
	// s/s; 0 → DefaultSlewRate.
	SlewRate float64
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

// AddNode adds a host with a clock of the given initial error (clock −
// true, s), frequency error (s/s) and wander. Its engine is built by
// mk from the node's clock time.
func (n *Network) AddNode(name string, offset, freq, wander float64, mk func(now time.Time) (*ntpengine.Engine, error)) (*Node, error) {
	addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(len(n.nodes) >> 8), byte(len(n.nodes) + 1)}), 123)
	nd := &Node{Name: name, Addr: addr, Wander: wander}
	nd.Clock = &Clock{net: n, err: offset, trueAt: n.now, freqErr: freq, slewRate: n.SlewRate}
	if nd.Clock.slewRate <= 0 {
		nd.Clock.slewRate = DefaultSlewRate
	}
	e, err := mk(nd.Clock.Now())
	if err != nil {
		return nil, fmt.Errorf("sim: node %s: %w", name, err)
	}
	nd.Engine = e
	n.nodes = append(n.nodes, nd)
	n.byAddr[addr] = nd
	return nd, nil
}

// SetLink sets the link from a to b.
func (n *Network) SetLink(a, b *Node, l Link) { n.links[[2]*Node{a, b}] = l }

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
	if from.down(n.now) {
		return
	}
	for _, p := range r.Packets {
		to := n.byAddr[p.Dst]
		if to == nil {
			continue
		}
		l := n.link(from, to)
		n.Sent++
		from.Sent++
		if l.Loss > 0 && n.rng.Float64() < l.Loss {
			continue
		}
		d := l.BaseDelay + l.Jitter*n.rng.ExpFloat64()
		n.seq++
		heap.Push(&n.q, delivery{at: n.now + d, seq: n.seq, to: to, in: ntpengine.Incoming{
			Data: p.Data, Src: from.Addr, Dst: to.Addr,
		}})
	}
}

// Run advances true time by whole seconds up to end, calling sample (if
// not nil) after each second's tick.
func (n *Network) Run(end float64, sample func(t float64)) {
	for n.now < end {
		// Per-second frequency random walk (chrony test.common wander).
		for _, nd := range n.nodes {
			if nd.Wander != 0 {
				nd.Clock.advance(n.now)
				nd.Clock.freqErr += nd.Wander * n.rng.NormFloat64()
			}
		}
		for _, nd := range n.nodes {
			n.apply(nd, nd.Engine.Tick(nd.Clock.Now()))
		}
		if sample != nil {
			sample(n.now)
		}
		next := math.Floor(n.now) + 1
		for n.q.Len() > 0 && n.q[0].at < next {
			d := heap.Pop(&n.q).(delivery)
			n.now = d.at
			if d.to.down(n.now) {
				continue
			}
			d.in.RxTime = d.to.Clock.Now()
			n.apply(d.to, d.to.Engine.Handle(d.in))
		}
		n.now = next
	}
}
