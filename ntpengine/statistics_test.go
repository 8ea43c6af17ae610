package ntpengine

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// TestStatistics: each system-wide counter moves exactly when its rule
// says, and no other counter moves with it. A row sets the engine up
// (not counted), then acts; the difference is compared whole.
func TestStatistics(t *testing.T) {
	denied := netip.MustParseAddrPort("203.0.113.7:40000")
	unknown := netip.MustParseAddrPort("198.51.100.9:123")
	base := Config{
		LocalStratum: 3, Keys: testKeys,
		RateLimit: RateLimit{Interval: 2 * time.Second, Burst: 1},
		Deny:      []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
	}
	withPeer := base
	withPeer.Peers = []PeerConfig{peerCfg(AssocSymmetric)}
	authOn := base
	authOn.AuthEnabled = true
	authPeer := authOn
	authPeer.Peers = []PeerConfig{peerCfg(AssocSymmetric)}
	authPeer.Peers[0].KeyID = 1
	noEphemeral := base
	noEphemeral.MaxEphemeral = -1

	req := clientRequest(5)
	reqData := req.AppendHeader(nil)
	handle := func(e *Engine, data []byte, src netip.AddrPort, s float64) Ready {
		return e.Handle(Incoming{Data: data, Src: src, Dst: ourAddr, RxTime: at(s)})
	}
	serve := func(t *testing.T, e *Engine, data []byte, src netip.AddrPort, s float64) ServeResult {
		in := Incoming{Data: data, Src: src, Dst: ourAddr, RxTime: at(s)}
		_, res := e.Serve(&in, make([]byte, 0, 64))
		return res
	}
	// peerReply polls the configured peer (setup) and returns its answer.
	peerReply := func(t *testing.T, e *Engine) (packet.Header, float64) {
		p, _, s := pollOnce(t, e, 0)
		return serverReply(p, packet.ModeSymmetricPassive, s, 0, 0.01), s
	}
	mode := func(m packet.Mode) []byte {
		h := req
		h.Version, h.Mode = 4, m
		return h.AppendHeader(nil)
	}
	badVersion := bytes.Clone(reqData)
	badVersion[0] &^= 7 << 3
	badExtension := append(mode(packet.ModeSymmetricActive), 0, 2, 0, 6, 1, 2) // v4, a field that says 6 octets in a 6-octet trailer

	rows := []struct {
		name string
		cfg  Config
		act  func(t *testing.T, e *Engine)
		want Statistics
	}{
		{"§9.2 FXMIT: a client request answered (Handle)", base, func(t *testing.T, e *Engine) {
			if r := handle(e, reqData, otherSrc, 10); len(r.Packets) != 1 {
				t.Errorf("%d replies", len(r.Packets))
			}
		}, Statistics{Received: 1, Sent: 1, ClientRequests: 1, ServerReplies: 1}},
		{"§9.2 FXMIT: a client request answered (Serve)", base, func(t *testing.T, e *Engine) {
			if res := serve(t, e, reqData, otherSrc, 10); res != ServeReply {
				t.Errorf("Serve = %d", res)
			}
		}, Statistics{Received: 1, Sent: 1, ClientRequests: 1, ServerReplies: 1}},
		{"§7.4 RATE kiss past the burst (Handle)", base, func(t *testing.T, e *Engine) {
			handle(e, reqData, otherSrc, 10)
			r := handle(e, reqData, otherSrc, 10.1)
			if p, _ := packet.Unmarshal(r.Packets[0].Data); p.ReferenceID != packet.KissRate {
				t.Errorf("refid %x, want RATE", p.ReferenceID)
			}
		}, Statistics{Received: 2, Sent: 2, ClientRequests: 2, ServerReplies: 2, KoDSent: 1, RateLimited: 1}},
		{"§9.2 rate limit: RATE kiss, then dropped (Serve)", base, func(t *testing.T, e *Engine) {
			for i, want := range []ServeResult{ServeReply, ServeReply, ServeDrop} {
				if res := serve(t, e, reqData, otherSrc, 10+0.1*float64(i)); res != want {
					t.Errorf("request %d: Serve = %d, want %d", i, res, want)
				}
			}
		}, Statistics{Received: 3, Sent: 2, ClientRequests: 3, ServerReplies: 2, KoDSent: 1, RateLimited: 2}},
		{"§9.2 rate limit: dropped without a kiss (Handle)", base, func(t *testing.T, e *Engine) {
			for i := range 3 {
				handle(e, reqData, otherSrc, 10+0.1*float64(i))
			}
		}, Statistics{Received: 3, Sent: 2, ClientRequests: 3, ServerReplies: 2, KoDSent: 1, RateLimited: 2}},
		{"§7.4 DENY kiss to a denied client (Handle)", base, func(t *testing.T, e *Engine) {
			handle(e, reqData, denied, 10)
		}, Statistics{Received: 1, Sent: 1, ClientRequests: 1, ServerReplies: 1, KoDSent: 1, AccessDenied: 1}},
		{"§7.4 DENY kiss to a denied client (Serve)", base, func(t *testing.T, e *Engine) {
			serve(t, e, reqData, denied, 10)
		}, Statistics{Received: 1, Sent: 1, ClientRequests: 1, ServerReplies: 1, KoDSent: 1, AccessDenied: 1}},
		{"§8 access: a denied symmetric peer is dropped", base, func(t *testing.T, e *Engine) {
			if r := handle(e, activePacket(10, 0), denied, 10); len(r.Packets) != 0 {
				t.Errorf("%d packets", len(r.Packets))
			}
		}, Statistics{Received: 1, AccessDenied: 1}},
		{"§7.3 bad format: shorter than the header", base, func(t *testing.T, e *Engine) {
			handle(e, reqData[:47], otherSrc, 10)
		}, Statistics{Received: 1, BadFormat: 1}},
		{"§7.3 bad format: version 0", base, func(t *testing.T, e *Engine) {
			handle(e, badVersion, otherSrc, 10)
		}, Statistics{Received: 1, BadFormat: 1}},
		{"§7.3 bad format: reserved mode 0", base, func(t *testing.T, e *Engine) {
			handle(e, mode(0), otherSrc, 10)
		}, Statistics{Received: 1, BadFormat: 1}},
		{"RFC 7822 bad format: a malformed extension field", base, func(t *testing.T, e *Engine) {
			handle(e, badExtension, otherSrc, 10)
		}, Statistics{Received: 1, BadFormat: 1}},
		{"bad format: source port 0", base, func(t *testing.T, e *Engine) {
			handle(e, reqData, netip.MustParseAddrPort("198.51.100.7:0"), 10)
		}, Statistics{Received: 1, BadFormat: 1}},
		{"§7.4 crypto-NAK to a client request with a bad digest", base, func(t *testing.T, e *Engine) {
			mac := sign(t, req, 1)
			mac[len(mac)-1] ^= 1
			r := handle(e, append(bytes.Clone(reqData), mac...), otherSrc, 10)
			if len(r.Packets) != 1 || len(r.Packets[0].Data) != packet.HeaderLen+4 {
				t.Errorf("reply %+v, want a crypto-NAK", r.Packets)
			}
		}, Statistics{Received: 1, Sent: 1, ClientRequests: 1, ServerReplies: 1, AuthFailures: 1}},
		{"§9.2 a signed client request is answered signed, no failure", base, func(t *testing.T, e *Engine) {
			handle(e, append(bytes.Clone(reqData), sign(t, req, 1)...), otherSrc, 10)
		}, Statistics{Received: 1, Sent: 1, ClientRequests: 1, ServerReplies: 1}},
		{"§9.2 NEWPS refused: no MAC while authentication is on", authOn, func(t *testing.T, e *Engine) {
			handle(e, activePacket(10, 0), otherSrc, 10)
		}, Statistics{Received: 1, AuthFailures: 1}},
		{"§8 AUTH: a peer's packet with a bad digest", authPeer, func(t *testing.T, e *Engine) {
			reply, s := peerReply(t, e)
			mac := sign(t, reply, 1)
			mac[0] ^= 1
			deliver(e, reply, s+0.02, mac)
		}, Statistics{Sent: 1, Received: 1, AuthFailures: 1}},
		{"§8 AUTH: a peer's packet without a MAC", authPeer, func(t *testing.T, e *Engine) {
			reply, s := peerReply(t, e)
			deliver(e, reply, s+0.02, nil)
		}, Statistics{Sent: 1, Received: 1, AuthFailures: 1}},
		{"§8 AUTH: a peer's packet signed with its key passes", authPeer, func(t *testing.T, e *Engine) {
			reply, s := peerReply(t, e)
			deliver(e, reply, s+0.02, sign(t, reply, 1))
		}, Statistics{Sent: 1, Received: 1}},
		{"§8 duplicate", withPeer, func(t *testing.T, e *Engine) {
			reply, s := peerReply(t, e)
			deliver(e, reply, s+0.02, nil)
			deliver(e, reply, s+0.03, nil)
		}, Statistics{Sent: 1, Received: 2, BogusOrDuplicate: 1}},
		{"§8 bogus: an origin timestamp we never sent", withPeer, func(t *testing.T, e *Engine) {
			reply, s := peerReply(t, e)
			reply.OriginTime = 12345
			deliver(e, reply, s+0.02, nil)
		}, Statistics{Sent: 1, Received: 1, BogusOrDuplicate: 1}},
		{"§8 invalid: a zero transmit timestamp", withPeer, func(t *testing.T, e *Engine) {
			reply, s := peerReply(t, e)
			reply.TransmitTime = 0
			deliver(e, reply, s+0.02, nil)
		}, Statistics{Sent: 1, Received: 1, BogusOrDuplicate: 1}},
		{"§8 a good reply moves only Received", withPeer, func(t *testing.T, e *Engine) {
			reply, s := peerReply(t, e)
			deliver(e, reply, s+0.02, nil)
		}, Statistics{Sent: 1, Received: 1}},
		{"§13 a poll counts as sent", withPeer, func(t *testing.T, e *Engine) {
			pollOnce(t, e, 0)
		}, Statistics{Sent: 1}},
		{"§9.2 DSCRD: a server packet with no association", base, func(t *testing.T, e *Engine) {
			handle(e, mode(packet.ModeServer), unknown, 10)
		}, Statistics{Received: 1, NoAssociation: 1}},
		{"§9.2 DSCRD: a symmetric passive packet with no association", base, func(t *testing.T, e *Engine) {
			handle(e, mode(packet.ModeSymmetricPassive), unknown, 10)
		}, Statistics{Received: 1, NoAssociation: 1}},
		{"§9.2 DSCRD: a control (mode 6) packet", base, func(t *testing.T, e *Engine) {
			handle(e, mode(packet.ModeControl), unknown, 10)
		}, Statistics{Received: 1, NoAssociation: 1}},
		{"§9.2 DSCRD: a client request from a peer's address", withPeer, func(t *testing.T, e *Engine) {
			handle(e, reqData, peerAddr, 10)
		}, Statistics{Received: 1, NoAssociation: 1}},
		{"§9.2 NEWPS refused: no ephemeral association allowed", noEphemeral, func(t *testing.T, e *Engine) {
			handle(e, activePacket(10, 0), otherSrc, 10)
		}, Statistics{Received: 1, NoAssociation: 1}},
		{"Serve leaves what is not a plain client request uncounted", withPeer, func(t *testing.T, e *Engine) {
			for _, d := range [][]byte{activePacket(10, 0), reqData[:47], badVersion} {
				if res := serve(t, e, d, otherSrc, 10); res != ServePass {
					t.Errorf("Serve = %d, want pass", res)
				}
			}
			if res := serve(t, e, reqData, peerAddr, 10); res != ServePass {
				t.Errorf("Serve = %d, want pass", res)
			}
		}, Statistics{}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			e := mustNew(t, r.cfg)
			before := e.Statistics()
			r.act(t, e)
			if got := diff(e.Statistics(), before); got != r.want {
				t.Errorf("counted %+v\nwant    %+v", got, r.want)
			}
		})
	}
}

// diff is after − before, counter by counter (Since zero).
func diff(after, before Statistics) Statistics {
	return Statistics{
		Received:         after.Received - before.Received,
		Sent:             after.Sent - before.Sent,
		ClientRequests:   after.ClientRequests - before.ClientRequests,
		ServerReplies:    after.ServerReplies - before.ServerReplies,
		KoDSent:          after.KoDSent - before.KoDSent,
		RateLimited:      after.RateLimited - before.RateLimited,
		AccessDenied:     after.AccessDenied - before.AccessDenied,
		BadFormat:        after.BadFormat - before.BadFormat,
		AuthFailures:     after.AuthFailures - before.AuthFailures,
		BogusOrDuplicate: after.BogusOrDuplicate - before.BogusOrDuplicate,
		NoAssociation:    after.NoAssociation - before.NoAssociation,
	}
}

// TestStatisticsSurviveReconfigure: the counters start at New (Since) and
// a new configuration does not reset them.
func TestStatisticsSurviveReconfigure(t *testing.T) {
	e := mustNew(t, Config{LocalStratum: 3})
	h := clientRequest(5)
	e.Handle(Incoming{Data: h.AppendHeader(nil), Src: otherSrc, Dst: ourAddr, RxTime: at(10)})
	if _, err := e.Reconfigure(Config{LocalStratum: 2, Peers: []PeerConfig{peerCfg(AssocSymmetric)}}, at(11)); err != nil {
		t.Fatal(err)
	}
	s := e.Statistics()
	if !s.Since.Equal(t0) || s.Received != 1 || s.ServerReplies != 1 {
		t.Errorf("after Reconfigure %+v, want Since %v and the request counted", s, t0)
	}
}
