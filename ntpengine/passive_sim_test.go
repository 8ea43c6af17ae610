package ntpengine_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine"
	"github.com/ntpagent/ntpagent/ntpengine/sim"
)

// TestUnauthenticatedPassiveNotSelected reproduces the three-attacker case:
// with authentication off, three hosts whose clocks are 10 s ahead send
// mode-1 packets claiming stratum 1 to a device that has one configured
// peer. RFC 5905 §9.2 mobilizes an ephemeral symmetric passive association
// for each; in selection (§11.2.1) the three agree and outvote the
// configured peer. With Config.AllowUnauthenticatedPassive false (the
// default) they are answered and shown but never selected: the configured
// peer stays the system peer and the clock is never stepped. With it true
// the old behaviour returns and the clock is stepped by +10 s.
func TestUnauthenticatedPassiveNotSelected(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("RFC5905 §9.2 allow-unauthenticated-passive=%v", allow), func(t *testing.T) {
			epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			net := sim.NewNetwork(1, epoch, sim.Link{BaseDelay: 1e-4, Jitter: 1e-4})
			stratum1 := func(name string, offset float64, peers []ntpengine.PeerConfig) *sim.Node {
				n, err := net.AddNode(name, offset, 0, 0, func(now time.Time) (*ntpengine.Engine, error) {
					return ntpengine.New(ntpengine.Config{LocalStratum: 1, Precision: -24, Peers: peers,
						Rand: rand.New(rand.NewPCG(1, uint64(len(name)))), RateLimit: ntpengine.RateLimit{Interval: -1}}, now)
				})
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			ref := stratum1("peer", 0, nil)
			victim, err := net.AddNode("victim", 0.05, 20e-6, 1e-9, func(now time.Time) (*ntpengine.Engine, error) {
				return ntpengine.New(ntpengine.Config{AllowUnauthenticatedPassive: allow, MaxSlewRate: sim.DefaultSlewRate * 1e6,
					Rand:  rand.New(rand.NewPCG(1, 99)),
					Peers: []ntpengine.PeerConfig{{Key: "configured", Address: ref.Addr, Mode: ntpengine.AssocSymmetric, IBurst: true}}}, now)
			})
			if err != nil {
				t.Fatal(err)
			}
			// Each attacker is a stratum-1 server 10 s ahead that sends
			// the victim mode-1 packets (a symmetric active association
			// the victim has not configured).
			toVictim := []ntpengine.PeerConfig{{Key: "victim", Address: victim.Addr, Mode: ntpengine.AssocSymmetric, IBurst: true}}
			for i := range 3 {
				stratum1(fmt.Sprintf("attacker%d", i), 10, toVictim)
			}
			maxErr := 0.0
			net.Run(3000, func(tt float64) {
				if tt > 600 {
					maxErr = math.Max(maxErr, math.Abs(victim.Clock.Error()))
				}
			})
			now := victim.Clock.Now()
			st := victim.Engine.Status(now)
			passive := 0
			for _, s := range victim.Engine.Associations(now) {
				if s.Configured {
					continue
				}
				passive++
				if !allow && (s.Selection != ntpengine.StatusReject || !strings.Contains(s.SelectionReason, "unauthenticated")) {
					t.Errorf("%s: %s (%s), want reject as unauthenticated", s.Key, s.Selection, s.SelectionReason)
				}
				if s.Reach == 0 || s.Counts.Sent == 0 {
					t.Errorf("%s: not answered (reach %o, %d sent)", s.Key, s.Reach, s.Counts.Sent)
				}
			}
			if passive != 3 {
				t.Fatalf("%d ephemeral passive associations, want 3", passive)
			}
			if !allow {
				if victim.Steps != 0 || st.SystemPeer != "configured" || !st.Synchronized || maxErr > 1e-3 {
					t.Errorf("%d steps, system peer %q, synchronized %v, max error %.6f s", victim.Steps, st.SystemPeer, st.Synchronized, maxErr)
				}
				return
			}
			if victim.Steps == 0 || math.Abs(victim.Clock.Error()-10) > 0.01 {
				t.Errorf("allowed: %d steps, clock error %.3f s, want stepped to the attackers' +10 s", victim.Steps, victim.Clock.Error())
			}
		})
	}
}
