package ntpengine

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine/auth"
	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

var (
	t0       = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	peerAddr = netip.MustParseAddrPort("192.0.2.1:123")
	ourAddr  = netip.MustParseAddrPort("192.0.2.100:123")
	otherSrc = netip.MustParseAddrPort("198.51.100.7:40000")
)

func at(s float64) time.Time { return t0.Add(time.Duration(s * 1e9)) }

func mustNew(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg, t0)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func peerCfg(mode AssocMode) PeerConfig {
	return PeerConfig{Key: "p1", Address: peerAddr, Mode: mode}
}

// pollOnce ticks until the association transmits and returns the packet.
func pollOnce(t *testing.T, e *Engine, from float64) (*packet.Packet, []byte, float64) {
	t.Helper()
	for s := from; s < from+5000; s++ {
		r := e.Tick(at(s))
		for _, o := range r.Packets {
			p, err := packet.Unmarshal(o.Data)
			if err != nil {
				t.Fatal(err)
			}
			return p, o.Data, s
		}
	}
	t.Fatal("no poll")
	return nil, nil, 0
}

// serverReply builds a valid stratum-1 answer to req as received at rx
// (seconds) by a perfect server, with offset (server − client) and a
// one-way delay d.
func serverReply(req *packet.Packet, mode packet.Mode, sent, offset, d float64) packet.Header {
	return packet.Header{
		Leap: packet.LeapNone, Version: 4, Mode: mode, Stratum: 1, Poll: 6, Precision: -20,
		ReferenceID: 0x47505300, ReferenceTime: packet.TimestampFromTime(at(sent + offset - 10)),
		OriginTime:   req.TransmitTime,
		ReceiveTime:  packet.TimestampFromTime(at(sent + d + offset)),
		TransmitTime: packet.TimestampFromTime(at(sent + d + offset + 0.0001)),
	}
}

func deliver(e *Engine, h packet.Header, rx float64, trailer []byte) Ready {
	data := append(h.AppendHeader(nil), trailer...)
	return e.Handle(Incoming{Data: data, Src: peerAddr, Dst: ourAddr, RxTime: at(rx)})
}

func session(t *testing.T, e *Engine, key string) AssociationStatus {
	t.Helper()
	for _, s := range e.Associations(at(0)) {
		if s.Key == key {
			return s
		}
	}
	t.Fatalf("no session %q", key)
	return AssociationStatus{}
}

func assoc(e *Engine, key string) *association {
	for _, a := range e.assocs {
		if a.key == key {
			return a
		}
	}
	return nil
}

var testKeys = []auth.Key{
	{ID: 1, Mode: auth.SHA1, Secret: []byte("key one"), Trusted: true},
	{ID: 2, Mode: auth.AES128CMAC, Secret: []byte("0123456789abcdef"), Trusted: true},
	{ID: 3, Mode: auth.MD5, Secret: []byte("untrusted"), Trusted: false},
}

func sign(t *testing.T, h packet.Header, id uint32) []byte {
	t.Helper()
	kr, err := auth.NewKeyring(testKeys)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := kr.Sign(h.AppendHeader(nil), id)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
