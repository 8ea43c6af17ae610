package ntpengine

import (
	"net/netip"
	"testing"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// TestLoopDetectedThroughEitherFamily: RFC 5905 §11.2 loop test with a
// dual-stacked peer configured over IPv4 and over IPv6 while we serve a
// local stratum. When the peer synchronizes to us over one family, its
// reference id names our address of that family (§7.3: the IPv4 address,
// or the first four octets of the MD5 of the IPv6 one): both of our
// associations with it must see the loop, not only the one of that family.
func TestLoopDetectedThroughEitherFamily(t *testing.T) {
	our4, our6 := netip.MustParseAddrPort("192.0.2.100:123"), netip.MustParseAddrPort("[2001:db8::100]:123")
	peer4, peer6 := netip.MustParseAddrPort("192.0.2.1:123"), netip.MustParseAddrPort("[2001:db8::1]:123")
	other := netip.MustParseAddr("203.0.113.9")
	for _, tc := range []struct {
		name     string
		refid    uint32
		wantLoop bool
	}{
		{"synchronized to us over IPv6 (refid MD5 of our IPv6 address)", refIDOf(our6.Addr()), true},
		{"synchronized to us over IPv4 (refid our IPv4 address)", refIDOf(our4.Addr()), true},
		{"synchronized to someone else", refIDOf(other), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustNew(t, Config{LocalStratum: 5, Peers: []PeerConfig{
				{Key: "p4", Address: peer4, MinPoll: 4, MaxPoll: 4},
				{Key: "p6", Address: peer6, MinPoll: 4, MaxPoll: 4},
			}})
			// Each association answers its peer's poll once, at our
			// address of its family; the peer claims stratum 6 with the
			// refid of the row.
			for _, c := range []struct {
				key       string
				peer, our netip.AddrPort
			}{{"p4", peer4, our4}, {"p6", peer6, our6}} {
				var req *packet.Packet
				var sent float64
				for s := 0.0; s < 100 && req == nil; s++ {
					for _, o := range e.Tick(at(s)).Packets {
						if o.AssocKey == c.key {
							req, _ = packet.Unmarshal(o.Data)
							sent = s
						}
					}
				}
				if req == nil {
					t.Fatalf("%s never polled", c.key)
				}
				h := serverReply(req, packet.ModeSymmetricPassive, sent, 0, 0.01)
				h.Stratum, h.ReferenceID = 6, tc.refid
				e.Handle(Incoming{Data: h.AppendHeader(nil), Src: c.peer, Dst: c.our, RxTime: at(sent + 0.02)})
				if s := session(t, e, c.key); s.Reach == 0 || s.LocalAddress != c.our.Addr() {
					t.Fatalf("%s: reach %o, local address %v; want the reply accepted at %v", c.key, s.Reach, s.LocalAddress, c.our.Addr())
				}
			}
			// The loop test of fit (one sample is too few for the
			// distance test before it, so ask it alone).
			for _, key := range []string{"p4", "p6"} {
				if loop := e.syncLoop(assoc(e, key)); loop != tc.wantLoop {
					t.Errorf("%s: loop %v, want %v", key, loop, tc.wantLoop)
				}
			}
		})
	}
}

// TestLoopIgnoresOtherVPNInstances: the same address in another
// vpn-instance is another host's.
func TestLoopIgnoresOtherVPNInstances(t *testing.T) {
	e := mustNew(t, Config{LocalStratum: 5, Peers: []PeerConfig{
		{Key: "red", Address: peerAddr, VPN: "red"},
		{Key: "blue", Address: peerAddr, VPN: "blue"},
	}})
	red, blue := assoc(e, "red"), assoc(e, "blue")
	red.localAddr = ourAddr.Addr()
	blue.stratum, blue.refID = 3, refIDOf(ourAddr.Addr())
	if e.syncLoop(blue) {
		t.Error("a refid naming our address in vpn red is a loop in vpn blue")
	}
	blue.localAddr = ourAddr.Addr()
	if !e.syncLoop(blue) {
		t.Error("no loop with the refid naming our address in the same vpn")
	}
}

// TestSourceIsThisHost: a configured source whose packets come from the
// address and port they are sent to is this host itself; it is never fit
// (RFC 5905 §11.2.1: it would be a loop of one). Another port of the same
// address is another NTP speaker.
func TestSourceIsThisHost(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  netip.AddrPort
		self bool
	}{
		{"RFC5905 §11.2.1 same address and port: this host", ourAddr, true},
		{"RFC5905 §11.2.1 same address, another port: another speaker", netip.AddrPortFrom(ourAddr.Addr(), 1123), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustNew(t, Config{LocalStratum: 3, Peers: []PeerConfig{{Key: "src", Address: tc.src, Mode: AssocClient}}})
			req, _, sent := pollOnce(t, e, 0)
			h := serverReply(req, packet.ModeServer, sent, 0, 0.0001)
			e.Handle(Incoming{Data: h.AppendHeader(nil), Src: tc.src, Dst: ourAddr, RxTime: at(sent + 0.0002)})
			a := assoc(e, "src")
			if a.reach == 0 {
				t.Fatal("reply not accepted")
			}
			if err := e.fit(a, sent+1); errorsIs(err, errSelf) != tc.self {
				t.Errorf("fit = %v", err)
			}
		})
	}
}
