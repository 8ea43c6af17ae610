package ntpengine

import (
	"net/netip"
	"testing"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// BenchmarkPeerPath is the per-packet cost of the association path: four
// symmetric peers poll every 8 s and each answer runs the on-wire tests,
// the clock filter, selection, clustering, combining and the discipline
// (RFC 5905 §8–§11). One iteration is one poll round of 8 s: the Ticks
// at every deadline in it and four Handle calls.
func BenchmarkPeerPath(b *testing.B) {
	const n = 4
	peers := make([]PeerConfig, n)
	for i := range peers {
		peers[i] = PeerConfig{Key: "peer" + string(rune('a'+i)), Mode: AssocSymmetric, MinPoll: 3, MaxPoll: 3,
			Address: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}), 123)}
	}
	var e *Engine
	s := 0.0
	// One round is 8 s of engine time: a Tick at every deadline in it
	// and the answer to every packet sent.
	round := func() {
		end := at(s + 8)
		for {
			now := e.NextDeadline()
			if now.After(end) {
				break
			}
			t := now.Sub(t0).Seconds()
			for _, o := range e.Tick(now).Packets {
				req, err := packet.Unmarshal(o.Data)
				if err != nil {
					b.Fatal(err)
				}
				off := 50e-6 * float64(o.Dst.Addr().As4()[3]-12)
				h := serverReply(req, packet.ModeSymmetricPassive, t, off, 150e-6)
				e.Handle(Incoming{Data: h.AppendHeader(nil), Src: o.Dst, Dst: ourAddr, RxTime: at(t + 300e-6)})
			}
		}
		s += 8
	}
	// A fresh engine every 1024 rounds (about 2 h 16 min of polls), past
	// its start burst and frequency measurement, so that every b.N
	// measures the same steady state.
	start := func() {
		var err error
		if e, err = New(Config{Peers: peers}, t0); err != nil {
			b.Fatal(err)
		}
		s = 0
		for range 64 {
			round()
		}
	}
	for i := 0; i < b.N; i++ {
		if i%1024 == 0 {
			b.StopTimer()
			start()
			b.StartTimer()
		}
		round()
	}
}
