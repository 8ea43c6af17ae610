package ntpengine

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// A configured link-local IPv6 peer (no zone) matches its replies, which the
// I/O layer gives a numeric zone, on the interface it was first heard on
// (RFC 4007 §6); its later polls carry that zone; a packet from the same
// address on another link is another host's.
func TestLinkLocalPeerMatchesZonedReplies(t *testing.T) {
	peer := netip.MustParseAddrPort("[fe80::1]:123")
	us := netip.MustParseAddrPort("[fe80::2%3]:123")
	e := mustNew(t, Config{Peers: []PeerConfig{{Key: "p1", Address: peer, Mode: AssocClient}}})
	req, _, sent := pollOnce(t, e, 0)
	zoned := func(ifx int) netip.AddrPort {
		return netip.AddrPortFrom(peer.Addr().WithZone(strconv.Itoa(ifx)), peer.Port())
	}
	h := serverReply(req, packet.ModeServer, sent, 0.01, 0.005)
	// A forged reply from the same address on another link, not echoing
	// our poll, does not tie the association to that link.
	forged := h
	forged.OriginTime++
	e.Handle(Incoming{Data: forged.AppendHeader(nil), Src: zoned(4), Dst: us, IfIndex: 4, RxTime: at(sent + 0.005)})
	if a := assoc(e, "p1"); a.ifIndex != 0 || a.counts.Bogus != 1 {
		t.Fatalf("a bogus packet from another link: interface %d, bogus %d", a.ifIndex, a.counts.Bogus)
	}
	e.Handle(Incoming{Data: h.AppendHeader(nil), Src: zoned(3), Dst: us, IfIndex: 3, RxTime: at(sent + 0.01)})
	a := assoc(e, "p1")
	if a.counts.Received != 2 || a.reach == 0 {
		t.Fatalf("the zoned reply was not matched: received %d, reach %o", a.counts.Received, a.reach)
	}
	if len(e.assocs) != 1 {
		t.Fatalf("%d associations, want the configured one only", len(e.assocs))
	}
	var out Outgoing
	for s := sent + 1; s < sent+5000 && out.Data == nil; s++ {
		for _, o := range e.Tick(at(s)).Packets {
			out = o
		}
	}
	if out.Dst != zoned(3) || out.IfIndex != 3 {
		t.Errorf("next poll to %v on interface %d, want %v on 3", out.Dst, out.IfIndex, zoned(3))
	}

	tests := []struct {
		name  string
		src   netip.AddrPort
		ifx   int
		match bool
	}{
		{"same link, zone from the I/O layer", zoned(3), 3, true},
		{"same link, index only", peer, 3, true},
		{"same link, zone only", zoned(3), 0, true},
		{"another link", zoned(4), 4, false},
		{"another link, index only", peer, 4, false},
		{"another port", netip.AddrPortFrom(zoned(3).Addr(), 124), 3, false},
		{"another address", netip.MustParseAddrPort("[fe80::9%3]:123"), 3, false},
		{"another vpn-instance", zoned(3), 3, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Incoming{Src: tc.src, IfIndex: tc.ifx}
			if tc.name == "another vpn-instance" {
				in.VPN = "blue"
			}
			if got := e.find(in) != nil; got != tc.match {
				t.Errorf("find(%v on %d) matched %v, want %v", tc.src, tc.ifx, got, tc.match)
			}
		})
	}

	// A symmetric active packet from the configured peer does not mobilize
	// an ephemeral association; one from another link does.
	mode1 := func(src netip.AddrPort, ifx int, s float64) {
		h := packet.Header{Version: 4, Mode: packet.ModeSymmetricActive, Poll: 6, Stratum: 2,
			ReferenceID: 1, ReferenceTime: packet.TimestampFromTime(at(s - 10)),
			TransmitTime: packet.TimestampFromTime(at(s))}
		e.Handle(Incoming{Data: h.AppendHeader(nil), Src: src, Dst: us, IfIndex: ifx, RxTime: at(s)})
	}
	mode1(zoned(3), 3, sent+3000)
	if len(e.assocs) != 1 {
		t.Errorf("a mode-1 packet of the configured link-local peer mobilized an association: %d", len(e.assocs))
	}
	mode1(zoned(4), 4, sent+3001)
	if len(e.assocs) != 2 {
		t.Errorf("a mode-1 packet from the same address on another link: %d associations, want 2", len(e.assocs))
	}
}
