package ntpengine

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// TestServeMatchesHandle: the batch fast path decides and answers as Handle
// does (RFC 5905 §9.2 FXMIT), row by row, on two engines fed the same
// requests: replies byte for byte, addressing, rate limiting with a RATE
// kiss, DENY for a denied source; what is not a plain client request is
// left to Handle.
func TestServeMatchesHandle(t *testing.T) {
	denied := netip.MustParseAddrPort("203.0.113.7:40000")
	cfg := Config{
		LocalStratum: 3, RateLimit: RateLimit{Interval: 2 * time.Second, Burst: 2},
		Deny:  []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
		Peers: []PeerConfig{{Key: "peer", Address: netip.MustParseAddrPort("192.0.2.50:123"), VPN: "blue"}},
	}
	fast, slow := mustNew(t, cfg), mustNew(t, cfg)
	h := clientRequest(5)
	req := h.AppendHeader(nil)
	sym := packet.Header{Version: 4, Mode: packet.ModeSymmetricActive, Poll: 6, TransmitTime: 99}
	withMAC := append(bytes.Clone(req), make([]byte, 20)...)
	v0 := bytes.Clone(req)
	v0[0] &^= 7 << 3
	rows := []struct {
		name string
		data []byte
		src  netip.AddrPort
		want ServeResult
	}{
		{"§9.2 FXMIT reply", req, otherSrc, ServeReply},
		{"burst 2: second reply", req, otherSrc, ServeReply},
		{"rate limit: RATE kiss", req, otherSrc, ServeReply},
		{"rate limit: then dropped", req, otherSrc, ServeDrop},
		{"access denied: DENY kiss", req, denied, ServeReply},
		{"§9.2 client packet from an association's address: Handle's", req, netip.MustParseAddrPort("192.0.2.50:123"), ServePass},
		{"symmetric active: Handle's", sym.AppendHeader(nil), netip.MustParseAddrPort("192.0.2.60:123"), ServePass},
		{"MAC: Handle's", withMAC, netip.MustParseAddrPort("192.0.2.61:123"), ServePass},
		{"version 0: Handle's", v0, netip.MustParseAddrPort("192.0.2.62:123"), ServePass},
		{"short: Handle's", req[:47], netip.MustParseAddrPort("192.0.2.63:123"), ServePass},
		{"source port 0: Handle's", req, netip.MustParseAddrPort("192.0.2.64:0"), ServePass},
	}
	for i, r := range rows {
		in := Incoming{Data: r.data, Src: r.src, Dst: ourAddr, VPN: "blue", IfIndex: 3, RxTime: at(10 + 0.01*float64(i))}
		buf := make([]byte, 0, 64)
		out, res := fast.Serve(&in, buf)
		if res != r.want {
			t.Errorf("%s: Serve = %d, want %d", r.name, res, r.want)
		}
		rd := slow.Handle(in)
		if res == ServePass {
			continue // Handle is the reference for these; nothing to compare
		}
		if res == ServeDrop {
			if len(rd.Packets) != 0 {
				t.Errorf("%s: Serve dropped, Handle answered", r.name)
			}
			continue
		}
		if len(rd.Packets) != 1 || !bytes.Equal(rd.Packets[0].Data, out) {
			t.Errorf("%s: Serve %x, Handle %+v", r.name, out, rd.Packets)
			continue
		}
		if len(out) > len(r.data) {
			t.Errorf("%s: reply larger than the request", r.name)
		}
		if r.src == denied {
			if p, _ := packet.Unmarshal(out); p.ReferenceID != packet.KissDeny {
				t.Errorf("%s: refid %x, want DENY", r.name, p.ReferenceID)
			}
		}
	}
}

// TestServeAllocatesNothing: the fast path builds replies in the caller's
// buffer.
func TestServeAllocatesNothing(t *testing.T) {
	e := mustNew(t, Config{LocalStratum: 3, RateLimit: RateLimit{Interval: -1}})
	h := clientRequest(5)
	in := Incoming{Data: h.AppendHeader(nil), Src: otherSrc, Dst: ourAddr, RxTime: at(10)}
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		if _, res := e.Serve(&in, buf); res != ServeReply {
			t.Fatalf("Serve = %d", res)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per request, want 0", allocs)
	}
	// A request in interleaved form (RFC 9769 §3), and the transmit
	// timestamp written right before the send, allocate nothing either.
	x := packet.Header{Version: 4, Mode: packet.ModeClient, OriginTime: 0x1234567800000001, ReceiveTime: 7, TransmitTime: 9}
	xin := Incoming{Data: x.AppendHeader(nil), Src: otherSrc, Dst: ourAddr, RxTime: at(11)}
	allocs = testing.AllocsPerRun(100, func() {
		out, res := e.Serve(&xin, buf)
		if res != ServeReplyTx {
			t.Fatalf("Serve = %d, want ServeReplyTx", res)
		}
		StampReply(out, at(11.001))
	})
	if allocs != 0 {
		t.Errorf("%v allocations per interleaved-form request, want 0", allocs)
	}
}

func BenchmarkServe(b *testing.B) {
	peers := make([]PeerConfig, 128)
	for i := range peers {
		peers[i] = PeerConfig{Key: "p" + string(rune('0'+i%10)) + string(rune('a'+i/10)), Address: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 123)}
	}
	e, err := New(Config{LocalStratum: 3, RateLimit: RateLimit{Interval: -1}, Peers: peers}, t0)
	if err != nil {
		b.Fatal(err)
	}
	h := clientRequest(5)
	in := Incoming{Data: h.AppendHeader(nil), Src: otherSrc, Dst: ourAddr, RxTime: at(10)}
	buf := make([]byte, 0, 64)
	for b.Loop() {
		e.Serve(&in, buf)
	}
}
