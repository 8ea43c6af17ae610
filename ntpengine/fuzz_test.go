package ntpengine

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

type snapshot struct {
	Status   Status
	Sessions []AssociationStatus
}

func snap(e *Engine) snapshot {
	return snapshot{e.Status(at(50)), e.Associations(at(50))}
}

var fuzzSources = []netip.AddrPort{
	peerAddr,                                 // configured symmetric peer
	netip.MustParseAddrPort("192.0.2.2:123"), // configured client peer
	otherSrc,
	netip.MustParseAddrPort("[2001:db8::1]:123"),
	netip.MustParseAddrPort("192.0.2.1:0"),
	netip.MustParseAddrPort("0.0.0.0:123"),
	netip.MustParseAddrPort("224.0.1.1:123"),
}

// FuzzHandle feeds random datagrams from random sources: no panic, no
// reply larger than the request, and no state change from a datagram that
// is not a valid NTP packet but its count as bad format.
func FuzzHandle(f *testing.F) {
	req := packet.Header{Version: 4, Mode: packet.ModeClient, TransmitTime: 12345}
	f.Add(req.AppendHeader(nil), byte(2), byte(0))
	act := packet.Header{Version: 4, Mode: packet.ModeSymmetricActive, Stratum: 2, TransmitTime: 999}
	f.Add(act.AppendHeader(nil), byte(0), byte(1))
	f.Add(append(act.AppendHeader(nil), make([]byte, 24)...), byte(2), byte(1))
	f.Add([]byte("not an ntp packet"), byte(1), byte(0))
	f.Add(append(req.AppendHeader(nil), 0, 0, 0, 0), byte(3), byte(1))
	f.Fuzz(func(t *testing.T, data []byte, src byte, variant byte) {
		cfg := Config{
			Peers: []PeerConfig{
				{Key: "sym", Address: peerAddr, KeyID: 1},
				{Key: "cli", Address: fuzzSources[1], Mode: AssocClient},
			},
			Keys:         testKeys,
			LocalStratum: 3,
			RateLimit:    RateLimit{Burst: 2},
		}
		if variant&1 != 0 {
			cfg.AuthEnabled = true
		}
		e := mustNew(t, cfg)
		// Exercise some state first: polls and a valid exchange.
		for s := 0.0; s < 20; s++ {
			e.Tick(at(s))
		}
		before, stats := snap(e), e.Statistics()
		in := Incoming{Data: data, Src: fuzzSources[int(src)%len(fuzzSources)], Dst: ourAddr, RxTime: at(21)}
		r := e.Handle(in)
		for _, o := range r.Packets {
			if len(o.Data) > len(data) {
				t.Fatalf("reply of %d octets to a request of %d", len(o.Data), len(data))
			}
		}
		// Every datagram counts once, and every packet handed out counts
		// as sent.
		got := diff(e.Statistics(), stats)
		if got.Received != 1 || got.Sent != uint64(len(r.Packets)) || got.ServerReplies > got.Sent {
			t.Fatalf("counted %+v for %d packets out", got, len(r.Packets))
		}
		p, err := packet.Unmarshal(data)
		if err == nil {
			err = p.Validate()
		}
		if err != nil {
			if len(r.Packets)+len(r.Clock)+len(r.Events) != 0 {
				t.Fatalf("invalid packet produced %+v", r)
			}
			if after := snap(e); !reflect.DeepEqual(before, after) {
				t.Fatalf("invalid packet changed state")
			}
			if got != (Statistics{Received: 1, BadFormat: 1}) {
				t.Fatalf("invalid packet counted %+v, want bad format", got)
			}
		}
		_ = e.Tick(at(22))
	})
}
