package ntpengine

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

func clientRequest(xmt float64) packet.Header {
	return packet.Header{Version: 3, Mode: packet.ModeClient, Poll: 7, TransmitTime: packet.TimestampFromTime(at(xmt))}
}

func TestServerReply(t *testing.T) {
	e := mustNew(t, Config{LocalStratum: 2})
	req := clientRequest(100)
	data := req.AppendHeader(nil)
	r := e.Handle(Incoming{Data: data, Src: otherSrc, Dst: ourAddr, VPN: "blue", IfIndex: 7, RxTime: at(100.5)})
	if len(r.Packets) != 1 {
		t.Fatalf("%d replies", len(r.Packets))
	}
	o := r.Packets[0]
	if o.Dst != otherSrc || o.Src != ourAddr.Addr() || o.VPN != "blue" || o.IfIndex != 7 || o.AssocKey != "" {
		t.Errorf("addressing %+v", o)
	}
	p, err := packet.Unmarshal(o.Data)
	if err != nil {
		t.Fatal(err)
	}
	// RFC 5905 §9.2 FXMIT / A.5.1 fast_xmit: version and poll copied,
	// origin = request transmit, receive = arrival (low-order bit 1,
	// the mark of our receive timestamps), transmit = when the reply
	// leaves (§8), written by StampTransmit before the send.
	if p.Mode != packet.ModeServer || p.Version != 3 || p.Poll != 7 || p.Stratum != 2 || p.Leap != packet.LeapNone {
		t.Errorf("header %+v", p.Header)
	}
	e.StampTransmit(&o, at(100.5002))
	p, _ = packet.Unmarshal(o.Data)
	if p.OriginTime != req.TransmitTime || p.ReceiveTime != packet.TimestampFromTime(at(100.5))|1 ||
		p.TransmitTime != packet.TimestampFromTime(at(100.5002))&^1 {
		t.Errorf("timestamps %+v", p.Header)
	}
	if len(o.Data) > len(data) {
		t.Error("reply larger than request")
	}
}

func TestServerUnsynchronized(t *testing.T) {
	e := mustNew(t, Config{})
	req := clientRequest(1)
	r := e.Handle(Incoming{Data: req.AppendHeader(nil), Src: otherSrc, Dst: ourAddr, RxTime: at(1)})
	p, _ := packet.Unmarshal(r.Packets[0].Data)
	// RFC 5905 §7.3: unsynchronized → leap 3, stratum 0 on the wire.
	if p.Leap != packet.LeapUnsync || p.Stratum != 0 {
		t.Errorf("header %+v", p.Header)
	}
}

// TestServerRateLimit: RFC 5905 §9.2 rate limiting answers abusers with a
// RATE kiss, at most one per interval, and never amplifies.
func TestServerRateLimit(t *testing.T) {
	e := mustNew(t, Config{LocalStratum: 2, RateLimit: RateLimit{Interval: 2 * time.Second, Burst: 3}})
	var served, kods, dropped int
	for i := 0; i < 10; i++ {
		req := clientRequest(float64(i))
		r := e.Handle(Incoming{Data: req.AppendHeader(nil), Src: otherSrc, Dst: ourAddr, RxTime: at(10 + 0.1*float64(i))})
		switch {
		case len(r.Packets) == 0:
			dropped++
		default:
			p, _ := packet.Unmarshal(r.Packets[0].Data)
			if code, ok := p.IsKoD(); ok && code == "RATE" {
				kods++
			} else {
				served++
			}
			if len(r.Packets[0].Data) > packet.HeaderLen {
				t.Error("reply larger than request")
			}
		}
	}
	if served != 3 || kods != 1 || dropped != 6 {
		t.Errorf("served %d, kods %d, dropped %d", served, kods, dropped)
	}
	// Another source has its own bucket.
	req := clientRequest(20)
	r := e.Handle(Incoming{Data: req.AppendHeader(nil), Src: netip.MustParseAddrPort("198.51.100.8:123"), Dst: ourAddr, RxTime: at(11)})
	if len(r.Packets) != 1 {
		t.Error("second source throttled")
	}
	// After the bucket refills (2 s per request), the source is served.
	r = e.Handle(Incoming{Data: req.AppendHeader(nil), Src: otherSrc, Dst: ourAddr, RxTime: at(13)})
	if p, _ := packet.Unmarshal(r.Packets[0].Data); p == nil || p.Stratum != 2 {
		t.Error("not served after refill")
	}
}

func TestServerDenyKoD(t *testing.T) {
	e := mustNew(t, Config{LocalStratum: 2, Deny: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}})
	req := clientRequest(1)
	r := e.Handle(Incoming{Data: req.AppendHeader(nil), Src: otherSrc, Dst: ourAddr, RxTime: at(1)})
	p, _ := packet.Unmarshal(r.Packets[0].Data)
	if code, ok := p.IsKoD(); !ok || code != "DENY" {
		t.Errorf("RFC5905 §7.4 denied client gets DENY, got %+v", p.Header)
	}
}

// TestServerAuth: authenticated requests get replies signed with the same
// key; bad ones a crypto-NAK (RFC 5905 §7.4); no reply is longer.
func TestServerAuth(t *testing.T) {
	e := mustNew(t, Config{LocalStratum: 2, AuthEnabled: true, Keys: testKeys})
	for _, tc := range []struct {
		name   string
		key    uint32
		flip   bool
		nak    bool
		keyOut uint32
	}{
		{"RFC5905 §9.1 SHA1 request signed back", 1, false, false, 1},
		{"RFC8573 AES-CMAC request signed back", 2, false, false, 2},
		{"RFC5905 §7.4 bad MAC → crypto-NAK", 1, true, true, 0},
		{"RFC5905 §7.4 untrusted key → crypto-NAK", 3, false, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := clientRequest(5)
			req.Version = 4
			tr := sign(t, req, tc.key)
			if tc.flip {
				tr[len(tr)-1] ^= 1
			}
			data := append(req.AppendHeader(nil), tr...)
			r := e.Handle(Incoming{Data: data, Src: otherSrc, Dst: ourAddr, RxTime: at(5)})
			p, err := packet.Unmarshal(r.Packets[0].Data)
			if err != nil || p.MAC == nil {
				t.Fatalf("reply %v %+v", err, p)
			}
			if tc.nak != (len(p.MAC.Digest) == 0) || p.MAC.KeyID != tc.keyOut {
				t.Errorf("MAC %+v", p.MAC)
			}
			if !tc.nak {
				if _, err := e.keys.Verify(r.Packets[0].Data[:p.AuthLen], r.Packets[0].Data[p.AuthLen:]); err != nil {
					t.Errorf("reply MAC: %v", err)
				}
			}
			if len(r.Packets[0].Data) > len(data) {
				t.Error("reply larger than request")
			}
		})
	}
}

// TestEphemeral covers NEWPS (RFC 5905 §9.2) under the product's rules.
func TestEphemeral(t *testing.T) {
	active := func(t *testing.T, key uint32) []byte {
		h := packet.Header{Version: 4, Mode: packet.ModeSymmetricActive, Poll: 6, Stratum: 3, TransmitTime: packet.TimestampFromTime(at(1))}
		d := h.AppendHeader(nil)
		if key != 0 {
			d = append(d, sign(t, h, key)...)
		}
		return d
	}
	for _, tc := range []struct {
		name    string
		cfg     Config
		key     uint32
		created bool
	}{
		{"auth off: mobilized", Config{}, 0, true},
		{"auth on, no MAC: refused", Config{AuthEnabled: true, Keys: testKeys}, 0, false},
		{"auth on, trusted key: mobilized", Config{AuthEnabled: true, Keys: testKeys}, 1, true},
		{"auth on, untrusted key: refused", Config{AuthEnabled: true, Keys: testKeys}, 3, false},
		{"MaxEphemeral < 0: refused", Config{MaxEphemeral: -1}, 0, false},
		{"auth off, untrusted key: mobilized with that key", Config{Keys: testKeys}, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustNew(t, tc.cfg)
			e.Handle(Incoming{Data: active(t, tc.key), Src: otherSrc, Dst: ourAddr, RxTime: at(1)})
			ss := e.Associations(at(1))
			if (len(ss) == 1) != tc.created {
				t.Fatalf("sessions %+v", ss)
			}
			if tc.created && ss[0].KeyID != tc.key {
				t.Errorf("ephemeral key %d, want %d", ss[0].KeyID, tc.key)
			}
			if tc.created && strings.Contains(ss[0].LastError, "authentication") {
				t.Errorf("mobilizing packet failed authentication: %s", ss[0].LastError)
			}
		})
	}
	t.Run("bounded in number", func(t *testing.T) {
		e := mustNew(t, Config{MaxEphemeral: 2})
		for i := 0; i < 5; i++ {
			src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)}), 123)
			e.Handle(Incoming{Data: active(t, 0), Src: src, Dst: ourAddr, RxTime: at(1)})
		}
		if n := len(e.Associations(at(1))); n != 2 {
			t.Errorf("%d ephemeral associations", n)
		}
	})
	t.Run("RFC5905 §9.2 demobilized on timeout", func(t *testing.T) {
		e := mustNew(t, Config{})
		e.Handle(Incoming{Data: active(t, 0), Src: otherSrc, Dst: ourAddr, RxTime: at(1)})
		var evs []Event
		for s := 2.0; s < 3000 && len(e.Associations(at(s))) > 0; s++ {
			evs = append(evs, e.Tick(at(s)).Events...)
		}
		if len(e.Associations(at(0))) != 0 {
			t.Fatal("ephemeral association never timed out")
		}
		if evs[len(evs)-1].Kind != EventDemobilize {
			t.Errorf("events %+v", evs)
		}
	})
	t.Run("RFC5905 §9.2 ERR: passive packet to a passive association", func(t *testing.T) {
		e := mustNew(t, Config{})
		e.Handle(Incoming{Data: active(t, 0), Src: otherSrc, Dst: ourAddr, RxTime: at(1)})
		h := packet.Header{Version: 4, Mode: packet.ModeSymmetricPassive, Stratum: 3, TransmitTime: packet.TimestampFromTime(at(2))}
		e.Handle(Incoming{Data: h.AppendHeader(nil), Src: otherSrc, Dst: ourAddr, RxTime: at(2)})
		if n := len(e.Associations(at(2))); n != 0 {
			t.Errorf("%d associations left", n)
		}
	})
}

func TestServerRateLimitNoKoD(t *testing.T) {
	e := mustNew(t, Config{LocalStratum: 2, RateLimit: RateLimit{Interval: 2 * time.Second, Burst: 1, NoKoD: true}})
	replies := 0
	for i := 0; i < 5; i++ {
		req := clientRequest(float64(i))
		replies += len(e.Handle(Incoming{Data: req.AppendHeader(nil), Src: otherSrc, Dst: ourAddr, RxTime: at(10)}).Packets)
	}
	if replies != 1 {
		t.Errorf("%d replies, want 1 and silence", replies)
	}
}
