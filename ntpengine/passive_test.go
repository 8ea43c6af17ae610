package ntpengine

import (
	"math"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// activePacket is a symmetric active packet of a stratum-2 peer sent at
// s seconds, echoing org as its origin timestamp.
func activePacket(s float64, org packet.Timestamp) []byte {
	h := packet.Header{Version: 4, Mode: packet.ModeSymmetricActive, Poll: 6, Stratum: 2,
		ReferenceID: 0x0a000001, ReferenceTime: packet.TimestampFromTime(at(s - 10)),
		OriginTime: org, TransmitTime: packet.TimestampFromTime(at(s))}
	return h.AppendHeader(nil)
}

// TestPassiveAnswersBurst: passivePoll (RFC 5905 §13 burst, §9.2).
func TestPassiveAnswersBurst(t *testing.T) {
	e := mustNew(t, Config{LocalStratum: 1})
	var org packet.Timestamp
	send := func(s float64) []*packet.Packet {
		r := e.Handle(Incoming{Data: activePacket(s, org), Src: otherSrc, Dst: ourAddr, RxTime: at(s)})
		var out []*packet.Packet
		for _, o := range r.Packets {
			p, err := packet.Unmarshal(o.Data)
			if err != nil {
				t.Fatal(err)
			}
			if len(o.Data) > packet.HeaderLen {
				t.Errorf("reply of %d bytes to a %d-byte packet", len(o.Data), packet.HeaderLen)
			}
			out = append(out, p)
		}
		if len(out) > 0 {
			org = out[len(out)-1].TransmitTime
		}
		return out
	}
	t.Run("RFC5905 §13 the mobilizing packet and a burst 2 s apart are answered at once", func(t *testing.T) {
		for i, s := range []float64{10, 12, 14, 16} {
			sent := packet.TimestampFromTime(at(s))
			out := send(s)
			if len(out) != 1 || out[0].Mode != packet.ModeSymmetricPassive || out[0].OriginTime != sent {
				t.Fatalf("packet %d: replies %+v, want one mode-2 packet echoing %v", i, out, sent)
			}
		}
	})
	t.Run("RFC5905 §13 at most one prompt answer per second", func(t *testing.T) {
		if out := send(16.5); len(out) != 0 {
			t.Errorf("second answer within 1 s: %+v", out)
		}
	})
	t.Run("RFC5905 §13 the burst does not shift the reach register", func(t *testing.T) {
		a := e.assocs[0]
		if a.reach != 1 {
			t.Errorf("reach %08b, want 1 (set by the valid packets, never shifted)", a.reach)
		}
	})
	t.Run("RFC5905 §13 a packet a poll interval later is not answered at once; the next poll is half a poll later", func(t *testing.T) {
		if out := send(80.5); len(out) != 0 {
			t.Fatalf("packet at the peer's poll answered at once: %+v", out)
		}
		a := e.assocs[0]
		if want := 80.5 + 32; math.Abs(a.nextdate-want) > 1e-6 {
			t.Errorf("next poll at %v, want %v (half the 64 s poll after the peer's packet)", a.nextdate, want)
		}
		var polled float64
		for s := 81.0; s < 200 && polled == 0; s++ {
			if len(e.Tick(at(s)).Packets) > 0 {
				polled = s
			}
		}
		if polled != 113 {
			t.Errorf("passive association polled at %v, want 113", polled)
		}
	})
	t.Run("RFC5905 §9.2 a configured symmetric active association never answers at once", func(t *testing.T) {
		e := mustNew(t, Config{Peers: []PeerConfig{{Key: "p", Address: otherSrc}}})
		for _, s := range []float64{10, 12} {
			r := e.Handle(Incoming{Data: activePacket(s, 0), Src: otherSrc, Dst: ourAddr, RxTime: at(s)})
			if len(r.Packets) != 0 {
				t.Errorf("active association answered at once")
			}
		}
	})
}

// TestPassiveBurstRateLimited: prompt answers count against the server's
// rate limit (Config.RateLimit) like replies to a client.
func TestPassiveBurstRateLimited(t *testing.T) {
	e := mustNew(t, Config{LocalStratum: 1, RateLimit: RateLimit{Interval: 60 * time.Second, Burst: 2}})
	var org packet.Timestamp
	answered := 0
	for _, s := range []float64{10, 12, 14, 16, 18} {
		r := e.Handle(Incoming{Data: activePacket(s, org), Src: otherSrc, Dst: ourAddr, RxTime: at(s)})
		for _, o := range r.Packets {
			p, err := packet.Unmarshal(o.Data)
			if err != nil {
				t.Fatal(err)
			}
			org = p.TransmitTime
			answered++
		}
	}
	if answered != 2 {
		t.Errorf("%d prompt answers, want the rate limit's burst of 2", answered)
	}
}
