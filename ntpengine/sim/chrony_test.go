package sim

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/ntpengine"
)

// chronySeeds is how many seeds each ported case runs: 20 as the ntpsim
// table, 3 under -short.
func chronySeeds() int {
	if testing.Short() {
		return 3
	}
	return 20
}

// caseCheck is a test's own check of one run, beyond check_sync and
// check_packet_interval; it returns what is wrong.
type caseCheck func(c ChronyCase, r ChronyRun) []string

// runChrony runs every case of chrony's test name on chronySeeds seeds
// with chrony's checks and the test's own, one subtest per case.
func runChrony(t *testing.T, name string, check caseCheck) {
	t.Helper()
	found := false
	for _, c := range ChronyCases() {
		if c.Test != name {
			continue
		}
		found = true
		t.Run(strings.TrimPrefix(c.Key(), name+"/"), func(t *testing.T) {
			t.Parallel()
			if c.Params.IBurst && !c.ChronyIBurst {
				t.Logf("differs from chrony's test: the sources have iburst, and chrony's min_sync_time is not asserted (see ChronyParams.IBurst)")
			}
			if c.Differs != "" {
				t.Logf("differs from chrony's test: %s", c.Differs)
			}
			var fails []string
			var runs []ChronyRun
			for seed := uint64(1); seed <= uint64(chronySeeds()); seed++ {
				r, err := c.Simulate(seed, nil)
				if err != nil {
					t.Fatal(err)
				}
				runs = append(runs, r)
				var bad []string
				if c.SyncFails {
					if len(r.SyncViolations) == 0 {
						bad = append(bad, "check_sync passed; chrony's test expects it to fail")
					}
				} else {
					bad = append(bad, r.SyncViolations...)
				}
				bad = append(bad, r.IntervalViolations...)
				if check != nil {
					bad = append(bad, check(c, r)...)
				}
				for _, b := range bad {
					fails = append(fails, fmt.Sprintf("seed %d: %s", seed, b))
				}
			}
			sum := c.summarize(runs).String()
			t.Logf("%s", sum)
			if why := knownFailures[c.Key()]; why != "" && os.Getenv("SIM_STRICT") == "" {
				if len(fails) > 0 {
					t.Skipf("fails on the current engine (%s): %s; first of %d failures against chrony's limits: %s",
						why, sum, len(fails), strings.Join(fails[:min(3, len(fails))], "; "))
				}
				t.Logf("listed in knownFailures but passes: remove it from the list")
			}
			for i, f := range fails {
				if i == 10 {
					t.Errorf("... %d more", len(fails)-10)
					break
				}
				t.Error(f)
			}
		})
	}
	if !found {
		t.Fatalf("no ported case of %s", name)
	}
}

// knownFailures are the cases that fail on the current engine, with what
// they wait for. They are skipped with their measured figures and the
// limits they break (with SIM_STRICT=1 in the environment they fail
// instead); chrony's limits are never loosened.
var knownFailures = map[string]string{}

// events counts a node's events of a kind.
func events(nd *Node, k ntpengine.EventKind, assocKey string) int {
	n := 0
	for _, e := range nd.Events {
		if e.Kind == k && (assocKey == "" || e.AssocKey == assocKey) {
			n++
		}
	}
	return n
}

// sourceSelection is chrony's check_source_selection for every client:
// the client selected a source, and never lost all sources after
// selecting one (chrony's "no majority" and "no selectable sources").
func sourceSelection(r ChronyRun) []string {
	var bad []string
	for i, spec := range r.Net.nodes {
		_ = spec
		nd := r.Net.nodes[i]
		if !isClient(r, nd) {
			continue
		}
		if events(nd, ntpengine.EventSysPeer, "") == 0 {
			bad = append(bad, nd.Name+": never selected a source")
		}
		for _, e := range nd.Events {
			if e.Kind == ntpengine.EventNoSysPeer && e.Message != "clock stepped" {
				bad = append(bad, fmt.Sprintf("%s: lost its sources at %.0f s (%s)", nd.Name, e.At, e.Message))
				break
			}
		}
	}
	return bad
}

func isClient(r ChronyRun, nd *Node) bool {
	for _, f := range r.Measured {
		if f.Name == nd.Name {
			return true
		}
	}
	return false
}

func TestChrony001Defaults(t *testing.T) {
	runChrony(t, "001-defaults", func(_ ChronyCase, r ChronyRun) []string { return sourceSelection(r) })
}

// TestChrony002LargeNetwork: a stratum-2 network of many clients. With
// hundreds of clock updates per run, a correction slewed by the clock at
// 83,333 ppm used to be caught by a 1-s sample now and then (max |freq|
// 0.0833). That reading is not the simulator's: chrony's harness limits
// clknetsim's get_total_freq, read every second, which includes the
// kernel frequency chrony slews with and any adjtime slew in progress;
// chrony slews small offsets over a multiple of its update interval. So
// the engine now amortizes routine corrections through the frequency
// (discipline.gentleSlew), and this limit holds as chrony's does.
func TestChrony002LargeNetwork(t *testing.T) { runChrony(t, "002-largenetwork", nil) }

func TestChrony003LargeFreqOffset(t *testing.T) {
	runChrony(t, "003-largefreqoffset", func(_ ChronyCase, r ChronyRun) []string { return sourceSelection(r) })
}

func TestChrony004LargeTimeOffset(t *testing.T) {
	runChrony(t, "004-largetimeoffset", func(_ ChronyCase, r ChronyRun) []string { return sourceSelection(r) })
}

func TestChrony006LargeJitter(t *testing.T) {
	runChrony(t, "006-largejitter", func(_ ChronyCase, r ChronyRun) []string { return sourceSelection(r) })
}

func TestChrony007LargeWander(t *testing.T) {
	runChrony(t, "007-largewander", func(_ ChronyCase, r ChronyRun) []string { return sourceSelection(r) })
}

// TestChrony009SourceSelection: falsetickers are detected while fewer than
// half of the sources (RFC 5905 §11.2.1: a majority of truechimers); with
// three or four of five no majority exists, the clock is not
// synchronized and the status says why; servers behind a large
// asymmetric delay are excluded.
func TestChrony009SourceSelection(t *testing.T) {
	runChrony(t, "009-sourceselection", func(c ChronyCase, r ChronyRun) []string {
		if !c.SyncFails {
			return sourceSelection(r)
		}
		// chrony: check_source_selection fails and the log says "no
		// majority" once.
		nd := r.Net.Node(NodeName(c.Params.Servers + 1))
		st := nd.Engine.Status(nd.Clock.Now())
		var bad []string
		if st.Synchronized {
			bad = append(bad, fmt.Sprintf("synchronized to %s with %d of 5 falsetickers", st.SystemPeer, c.Params.Falsetickers))
		} else if st.UnsyncReason != ntpengine.UnsyncNoMajority {
			bad = append(bad, fmt.Sprintf("status says %q, want %q", st.UnsyncReason, ntpengine.UnsyncNoMajority))
		}
		return bad
	})
}

func TestChrony011AsymJitter(t *testing.T) {
	runChrony(t, "011-asymjitter", func(_ ChronyCase, r ChronyRun) []string { return sourceSelection(r) })
}

// TestChrony014Intermittent: a client whose path to its server works only
// in windows (1200 s of every 10,000 s, or every 20th request) keeps
// time in between on its frequency, and selects the server again in
// each window and loses it after (chrony: "Selected source" and "no
// selectable sources" each 9..10 times in 100,000 s, 5..15 with every
// 20th request).
func TestChrony014Intermittent(t *testing.T) {
	runChrony(t, "014-intermittent", func(c ChronyCase, r ChronyRun) []string {
		lo, hi := 9, 10
		if strings.HasPrefix(c.Variant, "every-20th") {
			lo, hi = 5, 15
		}
		nd := r.Net.Node(NodeName(2))
		var bad []string
		if n := events(nd, ntpengine.EventSysPeer, ""); n < lo || n > hi {
			bad = append(bad, fmt.Sprintf("selected its source %d times, want %d..%d", n, lo, hi))
		}
		if n := events(nd, ntpengine.EventNoSysPeer, ""); n < lo || n > hi {
			bad = append(bad, fmt.Sprintf("lost its source %d times, want %d..%d", n, lo, hi))
		}
		return bad
	})
}

// TestChrony102IBurst: with iburst and the frequency from a drift file the
// clock is synchronized within 4 to 6 s (chrony's window).
func TestChrony102IBurst(t *testing.T) {
	runChrony(t, "102-iburst", func(_ ChronyCase, r ChronyRun) []string { return sourceSelection(r) })
}

func TestChrony101Poll(t *testing.T) {
	runChrony(t, "101-poll", func(_ ChronyCase, r ChronyRun) []string { return sourceSelection(r) })
}

// TestChrony108Peer: two clients that each lose the server in turn stay
// synchronized through each other as symmetric peers (RFC 5905 §9, mode
// 1/2); with one never reaching the server, it follows the other at
// every combination of peer polling intervals.
func TestChrony108Peer(t *testing.T) {
	runChrony(t, "108-peer", func(c ChronyCase, r ChronyRun) []string {
		if c.Variant == "alternating" {
			return sourceSelection(r)
		}
		return nil
	})
}

func TestChrony118MaxDelay(t *testing.T) { runChrony(t, "118-maxdelay", nil) }

// TestChrony125PacketLoss: with a third of the packets lost, and the
// second client reaching the server only through its peer, both clients
// keep time; with transmit timestamps the associations use interleaved
// mode (RFC 9769): at least a tenth of the packets each client receives
// come in interleaved form (about a fifth where a client has only its
// symmetric peer: with a third of the packets lost, and every loss costing
// the mode an exchange or two, no more is to be had).
func TestChrony125PacketLoss(t *testing.T) {
	runChrony(t, "125-packetloss", func(c ChronyCase, r ChronyRun) []string {
		if !strings.HasPrefix(c.Variant, "xleave") {
			return nil
		}
		var bad []string
		for _, name := range []string{NodeName(2), NodeName(3)} {
			nd := r.Net.Node(name)
			var received, interleaved uint64
			for _, ss := range nd.Engine.Associations(nd.Clock.Now()) {
				received += ss.Counts.Received
				interleaved += ss.Counts.Interleaved
			}
			if interleaved*10 < received {
				bad = append(bad, fmt.Sprintf("%s: %d of %d packets received in interleaved mode", name, interleaved, received))
			}
		}
		return bad
	})
}

// TestChrony138SyncLoop: two nodes that are each other's sources (node 1
// also a local stratum-1 reference) must not form a timing loop (RFC 5905
// §11.2: a peer synchronized to us is not fit): node 1 never takes node
// 2, which follows it, and neither takes itself.
func TestChrony138SyncLoop(t *testing.T) {
	runChrony(t, "138-syncloop", func(_ ChronyCase, r ChronyRun) []string {
		bad := sourceSelection(r)
		n1, n2 := r.Net.Node(NodeName(1)), r.Net.Node(NodeName(2))
		if n := events(n1, ntpengine.EventSysPeer, ""); n != 0 {
			bad = append(bad, fmt.Sprintf("n1 selected a source %d times (a loop through n2 or itself)", n))
		}
		if n := events(n2, ntpengine.EventSysPeer, NodeName(2)); n != 0 {
			bad = append(bad, fmt.Sprintf("n2 selected itself %d times", n))
		}
		if e := n1.Clock.Error(); math.Abs(e) > 1e-6 {
			bad = append(bad, fmt.Sprintf("n1's clock moved %.3g s", e))
		}
		return bad
	})
}

// TestChrony150MaxUnreach: the client follows server 1 until it becomes
// unreachable at 2000 s, then server 2 (0.5 s away each way), once each.
func TestChrony150MaxUnreach(t *testing.T) {
	runChrony(t, "150-maxunreach", func(_ ChronyCase, r ChronyRun) []string {
		bad := sourceSelection(r)
		nd := r.Net.Node(NodeName(3))
		if n := events(nd, ntpengine.EventSysPeer, NodeName(1)); n != 1 {
			bad = append(bad, fmt.Sprintf("selected server 1 %d times, want 1", n))
		}
		if n := events(nd, ntpengine.EventSysPeer, NodeName(2)); n != 1 {
			bad = append(bad, fmt.Sprintf("selected server 2 %d times, want 1", n))
		}
		return bad
	})
}

func TestChrony151StratumLimit(t *testing.T) {
	runChrony(t, "151-stratumlimit", func(_ ChronyCase, r ChronyRun) []string { return sourceSelection(r) })
}
