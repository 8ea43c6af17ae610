package sim

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// exampleWorld is chrony's 108-peer in the text form: two clients that
// lose the server in turn, each the other's symmetric peer.
const exampleWorld = `
name 108-peer alternating
duration 3000
measure after 1000 time-max 1e-3 freq-max 1e-3
link * * delay 1e-4 jitter 1e-4
node n1 stratum 1
node n2 offset 0.1 freq 1e-4 wander 1e-9 measured
node n3 offset 0.1 freq 1e-4 wander 1e-9 measured
server n2 n1 minpoll 6 maxpoll 6
peer   n2 n3 minpoll 6 maxpoll 6
server n3 n1 minpoll 6 maxpoll 6
peer   n3 n2 minpoll 6 maxpoll 6
outage n2 n1 999.9 2000 every 2000   # n2's requests lost in the second half
outage n3 n1 0 1000.1 every 2000     # n3's in the first
`

// TestParseIsTheStructForm: the text form and the struct built by
// ChronyParams describe the same world.
func TestParseIsTheStructForm(t *testing.T) {
	w, err := Parse(strings.NewReader(exampleWorld))
	if err != nil {
		t.Fatal(err)
	}
	var c ChronyCase
	for _, cc := range ChronyCases() {
		if cc.Key() == "108-peer/alternating" {
			c = cc
		}
	}
	want := c.World()
	want.Duration, want.Name = 3000, "108-peer alternating"
	if len(w.Nodes) != len(want.Nodes) || w.Link != want.Link || len(w.Outages) != len(want.Outages) || w.Measure != want.Measure {
		t.Fatalf("parsed %+v\nwant %+v", w, want)
	}
	for i := range w.Nodes {
		a, b := w.Nodes[i], want.Nodes[i]
		if a.Name != b.Name || a.Offset != b.Offset || a.Freq != b.Freq || a.Wander != b.Wander ||
			a.LocalStratum != b.LocalStratum || a.Measured != b.Measured || len(a.Sources) != len(b.Sources) {
			t.Errorf("node %d: parsed %+v, want %+v", i, a, b)
			continue
		}
		for j := range a.Sources {
			if a.Sources[j] != b.Sources[j] {
				t.Errorf("node %s source %d: parsed %+v, want %+v", a.Name, j, a.Sources[j], b.Sources[j])
			}
		}
	}
	for i := range w.Outages {
		if w.Outages[i] != want.Outages[i] {
			t.Errorf("outage %d: parsed %+v, want %+v", i, w.Outages[i], want.Outages[i])
		}
	}
	x, err := RunWorld(w, 3)
	if err != nil {
		t.Fatal(err)
	}
	y, err := RunWorld(want, 3)
	if err != nil {
		t.Fatal(err)
	}
	if x.Measured[0] != y.Measured[0] || x.Measured[1] != y.Measured[1] {
		t.Errorf("same world, same seed, different figures:\n%+v\n%+v", x.Measured, y.Measured)
	}
}

// TestParseRefusesBadInput: every malformed statement is an error naming
// its line, and nothing is returned with it.
func TestParseRefusesBadInput(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"unknown statement", "duration 10\nfly n1", "line 2: unknown statement"},
		{"undeclared node", "duration 10\nnode a\nserver a b", `node "b" is not declared`},
		{"duplicate node", "duration 10\nnode a\nnode a", "declared twice"},
		{"bad number", "duration ten", `"ten" is not a number`},
		{"missing value", "duration 10\nnode a offset", "offset needs a value"},
		{"unknown option", "duration 10\nnode a colour red", `unknown option "colour"`},
		{"stratum range", "duration 10\nnode a stratum 16", "not an integer in 1..15"},
		{"no duration", "node a", "duration 0 s"},
		{"no nodes", "duration 10", "0 nodes"},
		{"zero delay", "duration 10\nnode a\nlink * * delay 0", "must be > 0"},
		{"loss above 1", "duration 10\nnode a\nlink * a loss 2", "out of range"},
		{"empty window", "duration 10\nnode a\noutage * * 5 5", "window [5, 5)"},
		{"outage garbage", "duration 10\nnode a\noutage * * 1 2 every 3 x", `unexpected "x"`},
		{"jumps out of order", "duration 10\nnode a jump 5 1 jump 2 1", "not in time order"},
		{"measure after end", "duration 10\nnode a\nmeasure after 10", "measure after 10 s"},
		{"start after end", "duration 10\nnode a start 20", "start 20 s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Parse(strings.NewReader(tc.text))
			if err == nil || !errors.Is(err, ErrWorld) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
			if w.Nodes != nil || w.Duration != 0 {
				t.Errorf("returned %+v with the error", w)
			}
		})
	}
}

// TestWorldDeterministicPerSeed: a world's figures depend on the seed
// only.
func TestWorldDeterministicPerSeed(t *testing.T) {
	w := ChronyCases()[0].World()
	a, _ := RunWorld(w, 5)
	b, _ := RunWorld(w, 5)
	c, _ := RunWorld(w, 6)
	if a.Measured[0] != b.Measured[0] {
		t.Error("same seed, different figures")
	}
	if a.Measured[0].RMSOffset == c.Measured[0].RMSOffset {
		t.Error("different seeds, same figures")
	}
}

// TestOutageWindows: an outage drops exactly the packets of its
// direction sent inside its (periodic) window, and pass-every lets every
// n-th through.
func TestOutageWindows(t *testing.T) {
	o := Outage{Start: 999.9, End: 2000, Every: 2000}
	for _, c := range []struct {
		t    float64
		drop bool
	}{{0, false}, {999.8, false}, {999.9, true}, {1999.9, true}, {2000, false}, {3000, true}, {4100, false}} {
		if got := o.drops(c.t); got != c.drop {
			t.Errorf("drops(%v) = %v, want %v", c.t, got, c.drop)
		}
	}
	p := Outage{PassEvery: 20}
	passed := 0
	for range 100 {
		if !p.drops(0) {
			passed++
		}
	}
	if passed != 5 {
		t.Errorf("pass-every 20 let %d of 100 through, want 5", passed)
	}
}

// TestLinkPerDirection: chrony's jitter_asymmetry gives packets toward a
// later node (server → client) (1+2a)·jitter and toward an earlier one
// (1−2a)·jitter; per-direction rules and outages reach only their
// direction. Measured as the mean delay of the datagrams a node got.
func TestLinkPerDirection(t *testing.T) {
	w := clientOfServer(t, 2000, "delay 1e-3 jitter 1e-3 asymmetry 0.4")
	net, err := w.Build(1)
	if err != nil {
		t.Fatal(err)
	}
	var up, down, nUp, nDown float64
	net.observeDelivery = func(from, to *Node, delay float64) {
		if from.Name == "c" {
			up, nUp = up+delay, nUp+1
		} else {
			down, nDown = down+delay, nDown+1
		}
	}
	if err := net.Run(w.Duration, nil); err != nil {
		t.Fatal(err)
	}
	up, down = up/nUp-1e-3, down/nDown-1e-3
	// Means of ~130 exponential samples: within 30 % of 0.2 ms and 1.8 ms.
	if math.Abs(up-0.2e-3) > 0.06e-3 || math.Abs(down-1.8e-3) > 0.54e-3 {
		t.Errorf("mean jitter client→server %.3g s, server→client %.3g s; want 0.2 ms and 1.8 ms", up, down)
	}
}

// TestLateStartAndJump: a node that starts late has no engine before its
// start while its clock runs; a jump moves a clock at its time.
func TestLateStartAndJump(t *testing.T) {
	w, err := Parse(strings.NewReader(`
duration 100
node s stratum 1 jump 50 0.25
node c freq 1e-4 start 40 measured
server c s
`))
	if err != nil {
		t.Fatal(err)
	}
	var before, after float64
	w.Observe = func(tt float64, net *Network) {
		s, c := net.Node("s"), net.Node("c")
		if tt == 39 && c.Engine != nil || tt == 41 && c.Engine == nil {
			t.Errorf("t=%v: engine %v", tt, c.Engine)
		}
		if tt == 39 && math.Abs(c.Clock.Error()-39e-4) > 1e-9 {
			t.Errorf("clock error %v at 39 s before start, want 3.9 ms", c.Clock.Error())
		}
		switch tt {
		case 49:
			before = s.Clock.Error()
		case 50:
			after = s.Clock.Error()
		}
	}
	if _, err := RunWorld(w, 1); err != nil {
		t.Fatal(err)
	}
	if before != 0 || after != 0.25 {
		t.Errorf("reference clock error %v before the jump, %v after; want 0 and 0.25", before, after)
	}
}

// BenchmarkTenNodes10000s: a 10,000 s world of ten nodes (three servers,
// seven clients of all three) must simulate in well under a second.
func BenchmarkTenNodes10000s(b *testing.B) {
	p := ChronyDefaults()
	p.Servers, p.Clients = 3, 7
	w := p.World("ten nodes")
	for i := 0; b.Loop(); i++ {
		if _, err := RunWorld(w, uint64(i+1)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestChronyCasesAreDistinctRuns: every ported case names a run of its
// chrony test, and no two name the same one (the key of chrony's figures).
func TestChronyCasesAreDistinctRuns(t *testing.T) {
	seen := map[string]map[int]string{}
	for _, c := range ChronyCases() {
		if c.Run < 1 {
			t.Errorf("%s: no run number", c.Key())
		}
		test := c.Test
		if c.Params.IBurst && !c.ChronyIBurst {
			test += " with iburst"
		}
		if seen[test] == nil {
			seen[test] = map[int]string{}
		}
		if other, dup := seen[test][c.Run]; dup {
			t.Errorf("%s and %s are both run %d", other, c.Key(), c.Run)
		}
		seen[test][c.Run] = c.Key()
	}
	for test := range seen {
		if strings.HasSuffix(test, " with iburst") {
			delete(seen, test)
		}
	}
	if len(seen) != 18 {
		t.Errorf("%d chrony tests ported, want the 16 of the list, 102-iburst and this project's 900-realpath", len(seen))
	}
}

// TestChronyCasesHaveDistinctReferenceKeys: every case names its row in
// chrony's own figures, each a different one.
func TestChronyCasesHaveDistinctReferenceKeys(t *testing.T) {
	seen := map[string]string{}
	for _, c := range ChronyCases() {
		if !strings.HasPrefix(c.RefKey, c.Test) {
			t.Errorf("%s: reference key %q is not of its test", c.Key(), c.RefKey)
		}
		key := fmt.Sprint(c.RefKey, c.Params.IBurst)
		if other, dup := seen[key]; dup {
			t.Errorf("%s and %s share the reference key %q", other, c.Key(), c.RefKey)
		}
		seen[key] = c.Key()
	}
}

// TestTxTimestampsGiveInterleavedMode: a node with TxTimestamps is driven
// as the agent drives the engine (Serve for client requests, StampTransmit
// and StampReply before the send, Transmitted after it), so a client and
// its server use interleaved mode (RFC 9769) by themselves; without the
// reports they stay in basic mode.
func TestTxTimestampsGiveInterleavedMode(t *testing.T) {
	for _, tx := range []bool{true, false} {
		text := "duration 300\nnode s stratum 1 send-latency 1e-5\nnode c measured send-latency 1e-5\nserver c s minpoll 4 maxpoll 4\n"
		if tx {
			text = strings.ReplaceAll(text, "send-latency 1e-5", "send-latency 1e-5 tx-timestamps")
		}
		w, err := Parse(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		o, err := RunWorld(w, 1)
		if err != nil {
			t.Fatal(err)
		}
		c := o.Net.Node("c")
		ss := c.Engine.Associations(c.Clock.Now())
		if len(ss) != 1 || ss[0].Interleaved != tx || ss[0].Reach == 0 {
			t.Errorf("tx-timestamps %v: sessions %+v", tx, ss)
		}
	}
}

// TestChronyCasesIBurstReachesEverySource: a case runs with iburst on
// every source of its clients exactly when its parameters say so.
func TestChronyCasesIBurstReachesEverySource(t *testing.T) {
	for _, c := range ChronyCases() {
		for _, n := range c.World().Nodes {
			if !n.Measured {
				continue
			}
			for _, s := range n.Sources {
				if s.IBurst != c.Params.IBurst {
					t.Errorf("%s: %s's source %s has iburst %v", c.Key(), n.Name, s.Node, s.IBurst)
				}
			}
		}
	}
}

// World.Delays replays recorded delays datagram by datagram, each
// direction in order, told when each is sent, and the link draws once
// the record runs out.
func TestWorldReplaysRecordedDelays(t *testing.T) {
	w := clientOfServer(t, 200, "delay 0.001 jitter 0.0005")
	const recorded = 5
	var sent [2]int
	var last float64
	w.Delays = func(from, to string, at float64) (float64, bool) {
		if at < last {
			t.Errorf("a datagram sent at %g s after one at %g s", at, last)
		}
		last = at
		dir := 0
		if from == "s" {
			dir = 1
		}
		if sent[dir] >= recorded {
			return 0, false
		}
		sent[dir]++
		return []float64{1.4e-3, 1e-3}[dir], true // 200 µs more up than down
	}
	net, err := w.Build(1)
	if err != nil {
		t.Fatal(err)
	}
	var got [][3]float64
	net.observeDelivery = func(from, to *Node, delay float64) {
		got = append(got, [3]float64{float64(from.index), float64(to.index), delay})
	}
	if err := net.Run(w.Duration, nil); err != nil {
		t.Fatal(err)
	}
	if last < 100 {
		t.Errorf("the last replayed datagram was sent at %g s, want the time it was sent (past 100 s of a 200 s run)", last)
	}
	var ups, downs []float64
	for _, g := range got {
		if g[0] == 1 {
			ups = append(ups, g[2])
		} else {
			downs = append(downs, g[2])
		}
	}
	if len(ups) <= recorded || len(downs) <= recorded {
		t.Fatalf("%d up, %d down: want more than the %d recorded each way", len(ups), len(downs), recorded)
	}
	for i := range recorded {
		if ups[i] != 1.4e-3 || downs[i] != 1e-3 {
			t.Errorf("datagram %d: %g up, %g down, want the recorded 1.4 ms and 1 ms", i, ups[i], downs[i])
		}
	}
	if ups[recorded] == 1.4e-3 || downs[recorded] == 1e-3 || ups[recorded] < 1e-3 || downs[recorded] < 1e-3 {
		t.Errorf("after the record: %g up, %g down, want the link's draws", ups[recorded], downs[recorded])
	}
}

// clientOfServer is a world of a stratum-1 server s and a measured client
// c polling it every 16 s, for duration seconds, on the link described by
// link (the text form's words after "link * *").
func clientOfServer(t *testing.T, duration float64, link string) World {
	t.Helper()
	w, err := Parse(strings.NewReader(fmt.Sprintf(`duration %g
link * * %s
node s stratum 1
node c measured
server c s minpoll 4 maxpoll 4
`, duration, link)))
	if err != nil {
		t.Fatal(err)
	}
	return w
}
