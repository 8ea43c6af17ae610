package ntpengine_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine"
	"github.com/ntpagent/ntpagent/ntpengine/sim"
)

// TestSymmetricPeersFormNoLoop: two devices are each other's symmetric
// peers and one of them, A, also has a stratum-1 reference. B follows A;
// A never follows B, whose reference id names A (RFC 5905 §11.2.1 loop
// test, §7.3 refid), neither while the reference answers nor after it
// stops; when A loses its reference, the status says that a timing loop
// is what keeps it unsynchronized.
func TestSymmetricPeersFormNoLoop(t *testing.T) {
	for seed := uint64(1); seed <= uint64(seedsFor()); seed++ {
		epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		net := sim.NewNetwork(seed, epoch, sim.Link{BaseDelay: 1e-4, Jitter: 1e-4})
		add := func(name string, offset float64, cfg ntpengine.Config) *sim.Node {
			cfg.Rand = rand.New(rand.NewPCG(seed, uint64(len(name))))
			cfg.MaxSlewRate = sim.DefaultSlewRate * 1e6
			n, err := net.AddNode(name, offset, 0, 0, func(now time.Time) (*ntpengine.Engine, error) { return ntpengine.New(cfg, now) })
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		ref := add("ref", 0, ntpengine.Config{LocalStratum: 1, RateLimit: ntpengine.RateLimit{Interval: -1}})
		// The simulator numbers addresses in order: ref, a, b.
		addrA := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 2}), 123)
		addrB := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 3}), 123)
		a := add("a", 0.05, ntpengine.Config{Peers: []ntpengine.PeerConfig{
			{Key: "ref", Address: ref.Addr, Mode: ntpengine.AssocClient, IBurst: true},
			{Key: "b", Address: addrB, Mode: ntpengine.AssocSymmetric, IBurst: true}}})
		b := add("b", -0.05, ntpengine.Config{Peers: []ntpengine.PeerConfig{
			{Key: "a", Address: addrA, Mode: ntpengine.AssocSymmetric, IBurst: true}}})
		if a.Addr != addrA || b.Addr != addrB {
			t.Fatalf("addresses %v %v", a.Addr, b.Addr)
		}
		ref.DownAt = 3000
		var reason ntpengine.UnsyncReason
		net.Run(14000, func(tt float64) {
			if st := a.Engine.Status(a.Clock.Now()); tt > 3000 && !st.Synchronized && reason == "" {
				reason = st.UnsyncReason
			}
			if tt == 2999 {
				if st := b.Engine.Status(b.Clock.Now()); st.SystemPeer != "a" || st.Stratum != 3 {
					t.Errorf("seed %d: b follows %q at stratum %d, want a at 3", seed, st.SystemPeer, st.Stratum)
				}
				if s := sessionByKey(a.Engine.Associations(a.Clock.Now()), "b"); s.Selection != ntpengine.StatusReject || s.SelectionReason == "" {
					t.Errorf("seed %d: a's session with b: %s (%s), want reject as a loop", seed, s.Selection, s.SelectionReason)
				}
			}
		})
		for _, ev := range a.Events {
			if ev.Kind == ntpengine.EventSysPeer && ev.AssocKey == "b" {
				t.Errorf("seed %d: a selected b at %.0f s: a timing loop", seed, ev.At)
			}
		}
		if reason != ntpengine.UnsyncTimingLoop {
			t.Errorf("seed %d: a lost its reference; unsynchronized because %q, want %q", seed, reason, ntpengine.UnsyncTimingLoop)
		}
	}
}
