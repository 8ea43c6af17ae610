package ntpengine

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// A test wire between engines whose clocks are perfect (every engine reads
// the same time): packets leave stampLag after the engine built them
// (StampTransmit then) and the kernel reports their departure kernelLag
// later (Transmitted), as the agent over netio does; each way takes
// oneWay. An offset measured by an engine is therefore its error.
type testWire struct {
	stampLag, kernelLag, oneWay float64
}

// inFlight is a datagram on the test wire.
type inFlight struct {
	data     []byte
	src, dst netip.AddrPort
	arrive   float64
}

// send does what the agent does with a packet o the engine e built at t:
// stamp it before the send, then report its departure from the kernel.
func (w testWire) send(e *Engine, o Outgoing, from netip.AddrPort, t float64) inFlight {
	e.StampTransmit(&o, at(t+w.stampLag))
	left := t + w.stampLag + w.kernelLag
	if o.TxTimestamp {
		e.Transmitted(Transmitted{Data: o.Data, Dst: o.Dst, TxTime: at(left), Source: TxKernel})
	}
	return inFlight{data: o.Data, src: from, dst: o.Dst, arrive: left + w.oneWay}
}

// serve answers f at server s on the fast path (Serve, StampReply right
// before the send, Transmitted for ServeReplyTx) and returns the reply.
func (w testWire) serve(t *testing.T, s *Engine, f inFlight) inFlight {
	t.Helper()
	in := Incoming{Data: f.data, Src: f.src, Dst: f.dst, RxTime: at(f.arrive)}
	reply, res := s.Serve(&in, make([]byte, 0, 64))
	if res != ServeReply && res != ServeReplyTx {
		t.Fatalf("Serve = %v, want a reply", res)
	}
	stamp := f.arrive + w.stampLag
	StampReply(reply, at(stamp))
	left := stamp + w.kernelLag
	if res == ServeReplyTx {
		s.Transmitted(Transmitted{Data: reply, Dst: f.src, TxTime: at(left), Source: TxKernel})
	}
	return inFlight{data: reply, src: f.dst, dst: f.src, arrive: left + w.oneWay}
}

func mustUnmarshal(t *testing.T, b []byte) *packet.Packet {
	t.Helper()
	p, err := packet.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tickUntilSend ticks e from t on until it sends, and returns the packet
// and the time.
func tickUntilSend(t *testing.T, e *Engine, from float64) (Outgoing, float64) {
	t.Helper()
	for s := from; s < from+2000; s += 0.5 {
		if r := e.Tick(at(s)); len(r.Packets) > 0 {
			return r.Packets[0], s
		}
	}
	t.Fatal("no packet")
	return Outgoing{}, 0
}

// newestSample is the association's newest filter sample.
func newestSample(t *testing.T, e *Engine, key string) filterSample {
	t.Helper()
	return session(t, e, key).Filter[0]
}

const serverKey = "server"

// RFC 5905 §8: T1 is when the request left. The engine builds it at Tick
// time; the caller's StampTransmit (immediately before the send) rewrites
// the transmit timestamp, and the kernel's report (Transmitted) is the T1
// of the sample: a perfect server then measures no offset however late
// the packet left after Tick.
func TestBasicModeT1IsWhenThePacketLeft(t *testing.T) {
	w := testWire{stampLag: 300e-6, kernelLag: 100e-6, oneWay: 1e-3}
	c := mustNew(t, Config{Peers: []PeerConfig{{Key: serverKey, Address: peerAddr, Mode: AssocClient, MinPoll: 4, MaxPoll: 4, Version: 3}}})
	o, sent := tickUntilSend(t, c, 0)
	built := mustUnmarshal(t, o.Data).TransmitTime
	f := w.send(c, o, ourAddr, sent)
	p := mustUnmarshal(t, f.data)
	if p.TransmitTime != packet.TimestampFromTime(at(sent+w.stampLag)) || built == p.TransmitTime {
		t.Fatalf("transmit timestamp %v, want the StampTransmit time %v (built with %v)", p.TransmitTime,
			packet.TimestampFromTime(at(sent+w.stampLag)), built)
	}
	if src := session(t, c, serverKey).TxSource; src != TxKernel {
		t.Fatalf("TxSource %q, want %q", src, TxKernel)
	}
	// A perfect server answering the packet as it arrives.
	rx := f.arrive
	reply := packet.Header{Leap: packet.LeapNone, Version: 3, Mode: packet.ModeServer, Stratum: 1, Precision: -20,
		ReferenceID: 0x47505300, ReferenceTime: packet.TimestampFromTime(at(rx - 10)),
		OriginTime: p.TransmitTime, ReceiveTime: packet.TimestampFromTime(at(rx)), TransmitTime: packet.TimestampFromTime(at(rx + 50e-6))}
	c.Handle(Incoming{Data: reply.AppendHeader(nil), Src: peerAddr, Dst: ourAddr, RxTime: at(rx + 50e-6 + w.oneWay)})
	s := newestSample(t, c, serverKey)
	if s.Delay == 0 || math.Abs(s.Offset) > 1e-6 || math.Abs(s.Delay-2*w.oneWay) > 1e-6 {
		t.Fatalf("sample offset %.1f µs delay %.1f µs, want 0 and %.0f µs: T1 must be the kernel's departure time",
			s.Offset*1e6, s.Delay*1e6, 2*w.oneWay*1e6)
	}
}

// A user-space departure time never replaces the kernel's; a report of a
// packet that is not the association's last is ignored.
func TestTransmittedKeepsTheBestDeparture(t *testing.T) {
	c := mustNew(t, Config{Peers: []PeerConfig{{Key: serverKey, Address: peerAddr, Mode: AssocClient, MinPoll: 4}}})
	o, sent := tickUntilSend(t, c, 0)
	c.StampTransmit(&o, at(sent))
	c.Transmitted(Transmitted{Data: o.Data, Dst: o.Dst, TxTime: at(sent + 1e-4), Source: TxKernel})
	c.Transmitted(Transmitted{Data: o.Data, Dst: o.Dst, TxTime: at(sent + 5e-4), Source: TxUserSpace})
	a := assoc(c, serverKey)
	if a.localTx != packet.TimestampFromTime(at(sent+1e-4)) || a.localTxSource != TxKernel {
		t.Fatalf("departure %v (%s), want the kernel's", a.localTx, a.localTxSource)
	}
	other := append([]byte(nil), o.Data...)
	other[47] ^= 0x80 // another packet
	c.Transmitted(Transmitted{Data: other, Dst: o.Dst, TxTime: at(sent + 9e-4), Source: TxKernel})
	if a.localTx != packet.TimestampFromTime(at(sent+1e-4)) {
		t.Fatal("a report of another packet changed the departure time")
	}
}

// RFC 5905 §8: a server reply's T3 is when it leaves. Serve leaves it to
// StampReply (immediately before sendmmsg), which leaves alone what is not
// a basic-mode reply.
func TestServerT3IsWrittenBeforeTheSend(t *testing.T) {
	s := mustNew(t, Config{LocalStratum: 1})
	req := clientRequest(100)
	in := Incoming{Data: req.AppendHeader(nil), Src: otherSrc, Dst: ourAddr, RxTime: at(100.001)}
	reply, res := s.Serve(&in, nil)
	if res != ServeReply {
		t.Fatalf("Serve = %v", res)
	}
	StampReply(reply, at(100.0012))
	p := mustUnmarshal(t, reply)
	if p.TransmitTime != packet.TimestampFromTime(at(100.0012))&^1 || p.ReceiveTime != packet.TimestampFromTime(at(100.001))|1 {
		t.Fatalf("T2 %v T3 %v, want the arrival and the stamp", p.ReceiveTime, p.TransmitTime)
	}
	// Stamping again does nothing: the reply is no longer in its
	// unstamped form; nor does stamping a request.
	StampReply(reply, at(200))
	if mustUnmarshal(t, reply).TransmitTime != p.TransmitTime {
		t.Fatal("StampReply rewrote a stamped reply")
	}
	data := req.AppendHeader(nil)
	StampReply(data, at(200))
	if mustUnmarshal(t, data).TransmitTime != req.TransmitTime {
		t.Fatal("StampReply changed a request")
	}
}

// RFC 9769 §3, row by row: a client and a server, both engines, on a wire
// where every packet leaves 200 µs after it is stamped.
func TestInterleavedClientServer(t *testing.T) {
	w := testWire{stampLag: 20e-6, kernelLag: 200e-6, oneWay: 1e-3}
	c := mustNew(t, Config{Peers: []PeerConfig{{Key: serverKey, Address: peerAddr, Mode: AssocClient, MinPoll: 4, MaxPoll: 4}}})
	s := mustNew(t, Config{LocalStratum: 1})
	var reqs, resps []*packet.Packet
	var sentAt []float64
	now := 0.0
	exchange := func() {
		o, sent := tickUntilSend(t, c, now)
		f := w.send(c, o, ourAddr, sent)
		r := w.serve(t, s, inFlight{data: f.data, src: ourAddr, dst: peerAddr, arrive: f.arrive})
		c.Handle(Incoming{Data: r.data, Src: peerAddr, Dst: ourAddr, RxTime: at(r.arrive)})
		reqs = append(reqs, mustUnmarshal(t, f.data))
		resps = append(resps, mustUnmarshal(t, r.data))
		sentAt = append(sentAt, sent)
		now = sent + 0.5
	}
	for range 4 {
		exchange()
	}
	left := func(i int) packet.Timestamp {
		return packet.TimestampFromTime(at(sentAt[i] + w.stampLag + w.kernelLag))
	}
	t.Run("§3 the first request is in basic form", func(t *testing.T) {
		if reqs[0].OriginTime != 0 || resps[0].OriginTime != reqs[0].TransmitTime {
			t.Fatalf("request %+v reply %+v", reqs[0].Header, resps[0].Header)
		}
	})
	t.Run("§3 the next request is in interleaved form", func(t *testing.T) {
		q := reqs[1]
		if q.OriginTime != resps[0].ReceiveTime || q.TransmitTime != left(0) ||
			q.ReceiveTime.SubSeconds(packet.TimestampFromTime(at(sentAt[0]))) <= 0 {
			t.Fatalf("request %+v: want origin = the server's receive timestamp %v, transmit = the previous departure %v",
				q.Header, resps[0].ReceiveTime, left(0))
		}
	})
	t.Run("§3 the server answers it in basic mode: it kept no transmit timestamp for its first reply", func(t *testing.T) {
		if resps[1].OriginTime != reqs[1].TransmitTime {
			t.Fatalf("reply %+v", resps[1].Header)
		}
	})
	t.Run("§3 then in interleaved mode: origin = the request's receive timestamp, transmit = when the previous reply left", func(t *testing.T) {
		r := resps[2]
		prevLeft := packet.TimestampFromTime(at(mustTime(resps[1].ReceiveTime) + w.stampLag + w.kernelLag))
		if r.OriginTime != reqs[2].ReceiveTime || math.Abs(r.TransmitTime.SubSeconds(prevLeft)) > 1e-9 {
			t.Fatalf("reply %+v: want origin %v, transmit %v", r.Header, reqs[2].ReceiveTime, prevLeft)
		}
	})
	t.Run("§3 the interleaved sample has the previous exchange's true timestamps: no offset", func(t *testing.T) {
		ss := session(t, c, serverKey)
		if !ss.Interleaved || ss.TxSource != TxKernel {
			t.Fatalf("session interleaved %v, tx %q", ss.Interleaved, ss.TxSource)
		}
		sm := ss.Filter[0]
		if math.Abs(sm.Offset) > 1e-6 || math.Abs(sm.Delay-2*w.oneWay) > 1e-6 {
			t.Fatalf("interleaved sample offset %.2f µs delay %.2f µs, want 0 and %.0f µs", sm.Offset*1e6, sm.Delay*1e6, 2*w.oneWay*1e6)
		}
		// The basic-mode sample before it saw the server's T3 stamped
		// 200 µs before the reply left: off by half of that.
		if b := ss.Filter[2]; math.Abs(b.Offset+w.kernelLag/2) > 1e-6 {
			t.Fatalf("basic sample offset %.2f µs, want %.0f µs", b.Offset*1e6, -w.kernelLag/2*1e6)
		}
	})
}

func mustTime(ts packet.Timestamp) float64 { return ts.Time(t0).Sub(t0).Seconds() }

// RFC 9769 §5: a server that answers interleaved requests in basic mode
// does not support the mode; after maxClientXleaveTx such answers the
// client asks in basic form, and its samples stay exact (T1 from the
// kernel).
func TestInterleavedClientFallsBackToBasicServer(t *testing.T) {
	w := testWire{stampLag: 20e-6, kernelLag: 200e-6, oneWay: 1e-3}
	c := mustNew(t, Config{Peers: []PeerConfig{{Key: serverKey, Address: peerAddr, Mode: AssocClient, MinPoll: 4, MaxPoll: 4}}})
	now := 0.0
	var last *packet.Packet
	for i := range 8 {
		o, sent := tickUntilSend(t, c, now)
		f := w.send(c, o, ourAddr, sent)
		q := mustUnmarshal(t, f.data)
		if i == 7 && last != nil && q.OriginTime == last.ReceiveTime {
			t.Fatalf("request %d still in interleaved form after %d basic answers", i, i-1)
		}
		// A basic server (RFC 5905 only), with an exact T3.
		rx := f.arrive
		reply := packet.Header{Leap: packet.LeapNone, Version: 4, Mode: packet.ModeServer, Stratum: 1, Precision: -20,
			ReferenceID: 0x47505300, ReferenceTime: packet.TimestampFromTime(at(rx - 10)),
			OriginTime: q.TransmitTime, ReceiveTime: packet.TimestampFromTime(at(rx)), TransmitTime: packet.TimestampFromTime(at(rx + 1e-4))}
		c.Handle(Incoming{Data: reply.AppendHeader(nil), Src: peerAddr, Dst: ourAddr, RxTime: at(rx + 1e-4 + w.oneWay)})
		last = &packet.Packet{Header: reply}
		if sm := newestSample(t, c, serverKey); math.Abs(sm.Offset) > 1e-6 {
			t.Fatalf("exchange %d: offset %.2f µs", i, sm.Offset*1e6)
		}
		now = sent + 0.5
	}
	if a := assoc(c, serverKey); !a.xleaveOff || session(t, c, serverKey).Interleaved {
		t.Fatal("interleaved mode still on with a basic server")
	}
}

// symmetricPair is two engines configured as symmetric peers of each other.
func symmetricPair(t *testing.T) (a, b *Engine, aAddr, bAddr netip.AddrPort) {
	aAddr, bAddr = ourAddr, peerAddr
	a = mustNew(t, Config{LocalStratum: 1, Peers: []PeerConfig{{Key: "b", Address: bAddr, MinPoll: 4, MaxPoll: 4}}})
	// Another poll phase than a's (same seed: crossing packets forever).
	b = mustNew(t, Config{Rand: rand.New(rand.NewPCG(7, 9)), Peers: []PeerConfig{{Key: "a", Address: aAddr, MinPoll: 4, MaxPoll: 4}}})
	return a, b, aAddr, bAddr
}

// RFC 9769 §4: two symmetric peers (both engines) settle in interleaved
// mode, and their samples then carry each other's true departure times.
func TestInterleavedSymmetric(t *testing.T) {
	w := testWire{stampLag: 20e-6, kernelLag: 200e-6, oneWay: 1e-3}
	a, b, aAddr, bAddr := symmetricPair(t)
	var flying []inFlight
	xleaved, lastT := 0, 0.0
	for step := 0.0; step < 300; step += 0.25 {
		// Deliver what has arrived.
		rest := flying[:0]
		for _, f := range flying {
			if f.arrive > step {
				rest = append(rest, f)
				continue
			}
			e := a
			if f.dst == bAddr {
				e = b
			}
			r := e.Handle(Incoming{Data: f.data, Src: f.src, Dst: f.dst, RxTime: at(f.arrive)})
			for _, o := range r.Packets {
				rest = append(rest, w.send(e, o, f.dst, f.arrive))
			}
		}
		flying = rest
		for _, n := range []struct {
			e    *Engine
			from netip.AddrPort
		}{{a, aAddr}, {b, bAddr}} {
			for _, o := range n.e.Tick(at(step)).Packets {
				flying = append(flying, w.send(n.e, o, n.from, step))
			}
		}
		// A sample taken from an interleaved packet is exact: the
		// basic ones see the peer's T3 stamped 200 µs early.
		if s := session(t, b, "a"); s.Interleaved && s.Filter[0].T != lastT {
			xleaved++
			if math.Abs(s.Filter[0].Offset) > 1e-6 {
				t.Fatalf("at %.0f s: interleaved sample offset %.2f µs, want 0", step, s.Filter[0].Offset*1e6)
			}
		}
		lastT = session(t, b, "a").Filter[0].T
	}
	for _, s := range []Session{session(t, a, "b"), session(t, b, "a")} {
		if !s.Interleaved || s.Counts.Bogus > 1 {
			t.Errorf("%s: interleaved %v, %d bogus packets", s.Key, s.Interleaved, s.Counts.Bogus)
		}
	}
	if xleaved == 0 {
		t.Fatal("no interleaved sample")
	}
}

// RFC 9769 §5: a symmetric peer that knows only basic mode (RFC 5905 §8)
// takes our interleaved packets for bogus ones and answers in basic mode;
// after two such answers the association sends basic packets only, which
// the peer accepts.
func TestInterleavedSymmetricFallsBackToBasicPeer(t *testing.T) {
	w := testWire{stampLag: 20e-6, kernelLag: 200e-6, oneWay: 1e-3}
	a := mustNew(t, Config{Peers: []PeerConfig{{Key: "basic", Address: peerAddr, MinPoll: 4, MaxPoll: 4}}})
	// The basic peer's state (RFC 5905 A.5.1, A.5.3).
	var org, rec, xmt packet.Timestamp
	accepted, interleavedSent := 0, 0
	now := 0.0
	for i := range 12 {
		o, sent := tickUntilSend(t, a, now)
		f := w.send(a, o, ourAddr, sent)
		p := mustUnmarshal(t, f.data)
		if p.OriginTime != 0 && p.OriginTime == rec && p.OriginTime != xmt {
			interleavedSent++
		}
		rx := packet.TimestampFromTime(at(f.arrive))
		if p.OriginTime == xmt && xmt != 0 {
			accepted++
		}
		org, rec = p.TransmitTime, rx // valid or resynchronizing, the same state
		// Its answer, half a second later, in basic mode.
		xmt = packet.TimestampFromTime(at(f.arrive + 0.5))
		reply := packet.Header{Leap: packet.LeapNone, Version: 4, Mode: packet.ModeSymmetricActive, Stratum: 1, Precision: -20, Poll: 4,
			ReferenceID: 0x47505300, ReferenceTime: packet.TimestampFromTime(at(f.arrive - 10)),
			OriginTime: org, ReceiveTime: rec, TransmitTime: xmt}
		a.Handle(Incoming{Data: reply.AppendHeader(nil), Src: peerAddr, Dst: ourAddr, RxTime: at(f.arrive + 0.5 + w.oneWay)})
		if i >= 4 && interleavedSent > 2 {
			t.Fatalf("%d interleaved packets sent to a basic peer", interleavedSent)
		}
		now = sent + 1
	}
	if accepted < 8 || !assoc(a, "basic").xleaveOff {
		t.Fatalf("the basic peer accepted %d of 12 packets; interleaved mode off: %v", accepted, assoc(a, "basic").xleaveOff)
	}
}
