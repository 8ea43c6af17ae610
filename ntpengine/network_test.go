package ntpengine

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// testNode is an engine with a simple clock: err = clock − true time,
// changing at freqErr plus the commanded correction; slews apply at once.
type testNode struct {
	e       *Engine
	addr    netip.AddrPort
	err     float64
	freqErr float64
	corr    float64
}

// network delivers packets between engines synchronously, like raft's
// newNetwork: every datagram arrives delay seconds later, in order.
type network struct {
	t     float64
	delay float64
	nodes map[netip.AddrPort]*testNode
	drop  func(from, to netip.AddrPort) bool
}

func newNetwork(delay float64) *network {
	return &network{delay: delay, nodes: map[netip.AddrPort]*testNode{}}
}

func (n *network) add(t *testing.T, addr string, err, freqErr float64, cfg Config) *testNode {
	t.Helper()
	nd := &testNode{addr: netip.MustParseAddrPort(addr), err: err, freqErr: freqErr}
	e, e2 := New(cfg, n.now(nd))
	if e2 != nil {
		t.Fatal(e2)
	}
	nd.e = e
	n.nodes[nd.addr] = nd
	return nd
}

func (n *network) now(nd *testNode) time.Time { return at(n.t + nd.err) }

type inflight struct {
	at   float64
	to   *testNode
	from netip.AddrPort
	data []byte
}

func (n *network) apply(nd *testNode, r Ready, q *[]inflight) {
	for _, c := range r.Clock {
		switch c.Op {
		case ClockStep:
			nd.err += c.Step.Seconds()
		case ClockSetFrequency:
			nd.corr = c.FrequencyPPM * 1e-6
		case ClockSlew:
			nd.err += c.Slew.Seconds()
		}
	}
	for _, p := range r.Packets {
		to := n.nodes[p.Dst]
		if to == nil || n.drop != nil && n.drop(nd.addr, p.Dst) {
			continue
		}
		*q = append(*q, inflight{at: n.t + n.delay, to: to, from: nd.addr, data: p.Data})
	}
}

// run advances true time second by second for d seconds.
func (n *network) run(d float64) {
	var q []inflight
	end := n.t + d
	for n.t < end {
		for _, nd := range n.nodes {
			n.apply(nd, nd.e.Tick(n.now(nd)), &q)
		}
		// Deliver this second's packets (and their replies) in order.
		for len(q) > 0 {
			p := q[0]
			q = q[1:]
			saved := n.t
			n.t = p.at
			n.apply(p.to, p.to.e.Handle(Incoming{Data: p.data, Src: p.from, Dst: p.to.addr, RxTime: n.now(p.to)}), &q)
			n.t = saved
		}
		n.t++
		for _, nd := range n.nodes {
			nd.err += (nd.freqErr + nd.corr)
		}
	}
}

func TestEnginesSynchronize(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode AssocMode
		keys bool
	}{
		{"RFC5905 client/server", AssocClient, false},
		{"RFC5905 symmetric active to an ephemeral passive peer", AssocSymmetric, false},
		{"RFC5905 §9.1 symmetric with SHA1 authentication on both sides", AssocSymmetric, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNetwork(0.001)
			srvCfg := Config{LocalStratum: 1}
			cliCfg := Config{Peers: []PeerConfig{{Key: "srv", Address: netip.MustParseAddrPort("10.0.0.1:123"), Mode: tc.mode}}}
			if tc.keys {
				srvCfg.AuthEnabled, srvCfg.Keys = true, testKeys
				cliCfg.AuthEnabled, cliCfg.Keys = true, testKeys
				cliCfg.Peers[0].KeyID = 1
			}
			srv := n.add(t, "10.0.0.1:123", 0, 0, srvCfg)
			cli := n.add(t, "10.0.0.2:123", 0.05, 20e-6, cliCfg)
			n.run(1500)
			st := cli.e.Status(n.now(cli))
			if !st.Synchronized || st.Stratum != 2 || st.Reference != "10.0.0.1" || st.SystemPeer != "srv" {
				t.Fatalf("status %+v", st)
			}
			if cli.err > 1e-3 || cli.err < -1e-3 {
				t.Errorf("clock error %v s", cli.err)
			}
			if tc.mode == AssocSymmetric {
				ss := srv.e.Associations(n.now(srv))
				if len(ss) != 1 || ss[0].LocalMode != "symmetric-passive" || ss[0].Reach == 0 {
					t.Errorf("server sessions %+v", ss)
				}
				if tc.keys && ss[0].KeyID != 1 {
					t.Errorf("ephemeral key %d", ss[0].KeyID)
				}
			}
		})
	}
}

func TestEnginesWrongKey(t *testing.T) {
	n := newNetwork(0.001)
	n.add(t, "10.0.0.1:123", 0, 0, Config{LocalStratum: 1, AuthEnabled: true, Keys: testKeys,
		Peers: []PeerConfig{{Key: "cli", Address: netip.MustParseAddrPort("10.0.0.2:123"), KeyID: 2}}})
	cli := n.add(t, "10.0.0.2:123", 0.05, 0, Config{AuthEnabled: true, Keys: testKeys,
		Peers: []PeerConfig{{Key: "srv", Address: netip.MustParseAddrPort("10.0.0.1:123"), KeyID: 1}}})
	n.run(600)
	if cli.e.Status(n.now(cli)).Synchronized {
		t.Fatal("synchronized to a peer signing with the wrong key")
	}
	if s := session(t, cli.e, "srv"); !strings.Contains(s.LastError, "authentication") {
		t.Errorf("last error %q", s.LastError)
	}
}

// TestStratumPropagation: RFC 5905 §11.2.3/A.5.5.4 system variables flow
// down a chain: stratum + 1, root delay accumulates, refid names the peer.
func TestStratumPropagation(t *testing.T) {
	n := newNetwork(0.002)
	n.add(t, "10.0.0.1:123", 0, 0, Config{LocalStratum: 1})
	b := n.add(t, "10.0.0.2:123", 0.01, 0, Config{LocalStratum: 0,
		Peers: []PeerConfig{{Key: "a", Address: netip.MustParseAddrPort("10.0.0.1:123"), Mode: AssocClient}}})
	c := n.add(t, "10.0.0.3:123", 0.02, 0, Config{
		Peers: []PeerConfig{{Key: "b", Address: netip.MustParseAddrPort("10.0.0.2:123"), Mode: AssocClient}}})
	n.run(2000)
	sb, sc := b.e.Status(n.now(b)), c.e.Status(n.now(c))
	if sb.Stratum != 2 || sc.Stratum != 3 || sc.Reference != "10.0.0.2" {
		t.Fatalf("strata %d %d ref %s", sb.Stratum, sc.Stratum, sc.Reference)
	}
	if sc.RootDelay < sb.RootDelay+3*time.Millisecond {
		t.Errorf("root delay %v after %v", sc.RootDelay, sb.RootDelay)
	}
	if sc.RootDispersion <= sb.RootDispersion/2 || sc.Leap != 0 {
		t.Errorf("root dispersion %v after %v", sc.RootDispersion, sb.RootDispersion)
	}
}

// TestPeerStopsAnswering: the reach register empties, the association is
// rejected and the clock is no longer disciplined by it.
func TestPeerStopsAnswering(t *testing.T) {
	n := newNetwork(0.001)
	n.add(t, "10.0.0.1:123", 0, 0, Config{LocalStratum: 1})
	cli := n.add(t, "10.0.0.2:123", 0.01, 0, Config{
		Peers: []PeerConfig{{Key: "srv", Address: netip.MustParseAddrPort("10.0.0.1:123"), Mode: AssocClient}}})
	n.run(1500)
	if !cli.e.Status(n.now(cli)).Synchronized {
		t.Fatal("not synchronized")
	}
	n.drop = func(from, _ netip.AddrPort) bool { return from.Addr() == netip.MustParseAddr("10.0.0.1") }
	n.run(20000)
	s := session(t, cli.e, "srv")
	if s.Reach != 0 || s.Selection == StatusSysPeer {
		t.Errorf("session %+v", s)
	}
}
