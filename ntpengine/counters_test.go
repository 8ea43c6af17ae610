package ntpengine

import (
	"net/netip"
	"testing"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// TestPassivePacketsLeaveFromTheAddressThePeerSendsTo: RFC 5905 §9 — an
// association is a pair of addresses; on a multihomed host the packets of
// a symmetric passive association carry the local address its peer's
// packets arrived at, prompt answers and scheduled polls alike, and follow
// it when the peer switches to another of our addresses.
func TestPassivePacketsLeaveFromTheAddressThePeerSendsTo(t *testing.T) {
	e := mustNew(t, Config{LocalStratum: 2})
	second := netip.MustParseAddrPort("192.0.2.200:123")
	r := e.Handle(Incoming{Data: activePacket(10, 0), Src: otherSrc, Dst: ourAddr, RxTime: at(10)})
	if len(r.Packets) != 1 || r.Packets[0].Src != ourAddr.Addr() || r.Packets[0].AssocKey == "" {
		t.Fatalf("prompt answer %+v, want one association packet from %v", r.Packets, ourAddr.Addr())
	}
	key := r.Packets[0].AssocKey
	var polled Outgoing
	x := 11.0
	for ; x < 1000 && polled.AssocKey == ""; x++ {
		for _, o := range e.Tick(at(x)).Packets {
			polled = o
		}
	}
	if polled.AssocKey != key || polled.Src != ourAddr.Addr() {
		t.Fatalf("scheduled poll %+v, want one of %q from %v", polled, key, ourAddr.Addr())
	}
	// The peer now sends to our other address.
	e.Handle(Incoming{Data: activePacket(x, 0), Src: otherSrc, Dst: second, RxTime: at(x)})
	if got := session(t, e, key).LocalAddress; got != second.Addr() {
		t.Fatalf("local address %v after a packet to %v", got, second.Addr())
	}
	for y := x + 1; y < x+1000; y++ {
		if ps := e.Tick(at(y)).Packets; len(ps) > 0 {
			if ps[0].AssocKey != key || ps[0].Src != second.Addr() {
				t.Errorf("poll after the switch %+v, want one of %q from %v", ps[0], key, second.Addr())
			}
			return
		}
	}
	t.Fatal("no poll after the switch")
}

// TestConfiguredPacketsLeaveTheSourceOpen: an active association's packets
// carry no source address (the source-interface or the routing table
// decides).
func TestConfiguredPacketsLeaveTheSourceOpen(t *testing.T) {
	e := mustNew(t, Config{Peers: []PeerConfig{peerCfg(AssocSymmetric)}})
	for s := 0.0; s < 100; s++ {
		for _, o := range e.Tick(at(s)).Packets {
			if o.Src.IsValid() {
				t.Fatalf("active association packet with source %v", o.Src)
			}
		}
	}
}

// TestSessionCounters: packets sent, received, authentication errors and
// the RFC 5905 §8 test failures, per association.
func TestSessionCounters(t *testing.T) {
	pc := peerCfg(AssocSymmetric)
	pc.KeyID = 1
	e := mustNew(t, Config{Peers: []PeerConfig{pc}, Keys: testKeys, AuthEnabled: true,
		Deny: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}})
	req, _, s := pollOnce(t, e, 0)
	reply := serverReply(req, packet.ModeSymmetricPassive, s, 0, 0.01)
	e.cfg.Deny = nil
	// §8 AUTH: no MAC, then a MAC of another key, then a bad digest.
	deliver(e, reply, s+0.02, nil)
	deliver(e, reply, s+0.02, sign(t, reply, 2))
	bad := sign(t, reply, 1)
	bad[len(bad)-1] ^= 1
	deliver(e, reply, s+0.02, bad)
	// Valid, then the same packet again (§8 duplicate).
	good := sign(t, reply, 1)
	deliver(e, reply, s+0.02, good)
	deliver(e, reply, s+0.03, good)
	// §8 bogus: a fresh transmit time answering a packet we never sent.
	bogus := reply
	bogus.TransmitTime += 1 << 20
	bogus.OriginTime = 12345
	deliver(e, bogus, s+0.04, sign(t, bogus, 1))
	// §8 access: a denied source.
	e.cfg.Deny = []netip.Prefix{netip.PrefixFrom(peerAddr.Addr(), 32)}
	deliver(e, reply, s+0.05, good)
	e.cfg.Deny = nil

	got := session(t, e, pc.Key)
	want := PacketCounts{Sent: 1, Received: 3, AuthErrors: 3, Duplicate: 1, Bogus: 1, Denied: 1}
	if got.Counts != want {
		t.Errorf("counts %+v, want %+v", got.Counts, want)
	}
	if got.LocalAddress != ourAddr.Addr() {
		t.Errorf("local address %v, want %v", got.LocalAddress, ourAddr.Addr())
	}
}
