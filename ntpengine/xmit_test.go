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
	if p.TransmitTime != basicStamp(packet.TimestampFromTime(at(sent+w.stampLag))) || built == p.TransmitTime {
		t.Fatalf("transmit timestamp %v, want the StampTransmit time %v (built with %v)", p.TransmitTime,
			basicStamp(packet.TimestampFromTime(at(sent+w.stampLag))), built)
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
	if a.localTx != departure(packet.TimestampFromTime(at(sent+1e-4))) || a.localTxSource != TxKernel {
		t.Fatalf("departure %v (%s), want the kernel's", a.localTx, a.localTxSource)
	}
	other := append([]byte(nil), o.Data...)
	other[47] ^= 0x80 // another packet
	c.Transmitted(Transmitted{Data: other, Dst: o.Dst, TxTime: at(sent + 9e-4), Source: TxKernel})
	if a.localTx != departure(packet.TimestampFromTime(at(sent+1e-4))) {
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
		return departure(packet.TimestampFromTime(at(sentAt[i] + w.stampLag + w.kernelLag)))
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
	a, b := runSymmetric(t, w, 0, 300)
	for _, s := range []AssociationStatus{session(t, a, "b"), session(t, b, "a")} {
		if !s.Interleaved || s.Counts.Bogus > 1 {
			t.Errorf("%s: interleaved %v, %d bogus packets", s.Key, s.Interleaved, s.Counts.Bogus)
		}
	}
}

// RFC 9769 §4 where the kernel's departure time is the time written into
// the packet (no lag, as in simulation) and a third of the packets are
// lost: the packets in interleaved form are neither duplicates (RFC 5905
// §8: a copy repeats all three timestamps) nor taken for answers to the
// basic packet before them, an answer that completes an exchange of
// which we sent two packets gives no sample, and every sample, basic or
// interleaved, is exact.
func TestInterleavedSymmetricExactStampsWithLoss(t *testing.T) {
	w := testWire{oneWay: 1e-3}
	a, b := runSymmetric(t, w, 1.0/3, 3000)
	for _, s := range []AssociationStatus{session(t, a, "b"), session(t, b, "a")} {
		if s.Counts.Duplicate != 0 || s.Counts.Interleaved*10 < s.Counts.Received {
			t.Errorf("%s: %d duplicates, %d of %d packets interleaved", s.Key, s.Counts.Duplicate, s.Counts.Interleaved, s.Counts.Received)
		}
	}
}

// arrived splits the datagrams in flight into those that have arrived by
// now and the rest (which reuses flying's array).
func arrived(flying []inFlight, now float64) (due, rest []inFlight) {
	rest = flying[:0]
	for _, f := range flying {
		if f.arrive > now {
			rest = append(rest, f)
		} else {
			due = append(due, f)
		}
	}
	return due, rest
}

// runSymmetric runs two symmetric peers on w for the given time, losing
// the given share of the packets, and fails at the first sample of b that
// is not exact (the engines' clocks are the same); it wants some samples
// from interleaved packets.
func runSymmetric(t *testing.T, w testWire, loss float64, duration float64) (a, b *Engine) {
	t.Helper()
	a, b, aAddr, bAddr := symmetricPair(t)
	rng := rand.New(rand.NewPCG(3, 4))
	var flying []inFlight
	send := func(e *Engine, o Outgoing, from netip.AddrPort, at float64) {
		f := w.send(e, o, from, at)
		if rng.Float64() >= loss {
			flying = append(flying, f)
		}
	}
	xleaved, lastT := 0, 0.0
	for step := 0.0; step < duration; step += 0.25 {
		// Deliver what has arrived.
		var due []inFlight
		due, flying = arrived(flying, step)
		for _, f := range due {
			e := a
			if f.dst == bAddr {
				e = b
			}
			r := e.Handle(Incoming{Data: f.data, Src: f.src, Dst: f.dst, RxTime: at(f.arrive)})
			for _, o := range r.Packets {
				send(e, o, f.dst, f.arrive)
			}
		}
		for _, n := range []struct {
			e    *Engine
			from netip.AddrPort
		}{{a, aAddr}, {b, bAddr}} {
			for _, o := range n.e.Tick(at(step)).Packets {
				send(n.e, o, n.from, step)
			}
		}
		// A sample taken from an interleaved packet is exact (the basic
		// ones see the peer's T3 stamped kernelLag early).
		s := session(t, b, "a")
		if len(s.Filter) > 0 && s.Filter[0].T != lastT {
			if s.Interleaved {
				xleaved++
			}
			want := 0.0
			if !s.Interleaved {
				want = -w.kernelLag / 2
			}
			if math.Abs(s.Filter[0].Offset-want) > 1e-6 {
				t.Fatalf("at %.2f s: sample (interleaved %v) offset %.2f µs, want %.0f µs", step, s.Interleaved, s.Filter[0].Offset*1e6, want*1e6)
			}
			lastT = s.Filter[0].T
		}
	}
	if xleaved == 0 {
		t.Fatal("no interleaved sample")
	}
	return a, b
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

// RFC 9769 §4: an interleaved packet's origin is the receive timestamp
// our last packet carried, which every packet we sent since the peer's
// previous one carried too. When we sent two (the first was lost), its
// receive timestamp may be the arrival of the first, so the next
// interleaved sample must not pair it with the second's departure: it
// gives no sample instead of one off by half a poll interval.
func TestInterleavedSymmetricAfterTwoPacketsOfOurs(t *testing.T) {
	w := testWire{oneWay: 1e-3}
	e := mustNew(t, Config{Peers: []PeerConfig{{Key: "p", Address: peerAddr, MinPoll: 4, MaxPoll: 4}}})
	ts := func(s float64) packet.Timestamp { return packet.TimestampFromTime(at(s)) }
	// The peer's packets (symmetric passive), built by hand: an exact
	// clock, departures known at once.
	peer := func(org, rec packet.Timestamp, xmt float64, xmtStamp packet.Timestamp) []byte {
		h := packet.Header{Leap: packet.LeapNone, Version: 4, Mode: packet.ModeSymmetricPassive, Stratum: 1, Precision: -20, Poll: 4,
			ReferenceID: 0x47505300, ReferenceTime: ts(xmt - 10), OriginTime: org, ReceiveTime: rec, TransmitTime: xmtStamp}
		return h.AppendHeader(nil)
	}
	handle := func(data []byte, sent float64) {
		e.Handle(Incoming{Data: data, Src: peerAddr, Dst: ourAddr, RxTime: at(sent + w.oneWay)})
	}
	// e1, answered in basic mode: a sample.
	o, s1 := tickUntilSend(t, e, 0)
	f1 := w.send(e, o, ourAddr, s1)
	e1 := mustUnmarshal(t, f1.data)
	p1At := f1.arrive + 0.5
	handle(peer(e1.TransmitTime, ts(f1.arrive), p1At, ts(p1At)), p1At)
	// e2 (interleaved form) arrives; the peer does not answer it yet.
	o, s2 := tickUntilSend(t, e, p1At+0.1)
	f2 := w.send(e, o, ourAddr, s2)
	e2 := mustUnmarshal(t, f2.data)
	if e2.OriginTime != ts(f1.arrive) {
		t.Fatalf("e2 not in interleaved form: %+v", e2.Header)
	}
	// e3 is lost.
	o, s3 := tickUntilSend(t, e, s2+0.1)
	w.send(e, o, ourAddr, s3)
	// p2 answers e2 in interleaved form (origin: e2's receive timestamp,
	// which e3 carried too): its sample, of e1 and p1, is exact.
	p2At := s3 + 0.5
	handle(peer(e2.ReceiveTime, ts(f2.arrive), p2At, ts(p1At)), p2At)
	if s := session(t, e, "p"); !s.Interleaved || math.Abs(s.Filter[0].Offset) > 1e-6 {
		t.Fatalf("p2: interleaved %v, offset %.1f µs", s.Interleaved, s.Filter[0].Offset*1e6)
	}
	// e4 (basic: we sent two packets since p1) arrives, and p3 answers
	// it in interleaved form: the exchange it completes is e2's, whose
	// departure we did not keep (e3's is not it).
	o, s4 := tickUntilSend(t, e, p2At+0.1)
	f4 := w.send(e, o, ourAddr, s4)
	e4 := mustUnmarshal(t, f4.data)
	p3At := f4.arrive + 0.5
	before := session(t, e, "p").Filter[0].T
	handle(peer(e4.ReceiveTime, ts(f4.arrive), p3At, ts(p2At)), p3At)
	s := session(t, e, "p")
	if !s.Interleaved {
		t.Fatalf("p3 not taken in interleaved mode: %s", s.LastError)
	}
	if s.Filter[0].T != before && math.Abs(s.Filter[0].Offset) > 1e-6 {
		t.Fatalf("p3 gave a sample with offset %.3f s: e3's departure paired with the peer's arrival of e2", s.Filter[0].Offset)
	}
}

// RFC 9769 §4 with RFC 5905 §8: an interleaved packet completes the
// exchange before it, and when the peer was not synchronized in that
// exchange (its packet was rejected), its clock may have been stepped
// since: the interleaved packet gives no sample from it.
func TestInterleavedSkipsTheExchangeOfAnUnsynchronizedPeer(t *testing.T) {
	w := testWire{oneWay: 1e-3}
	e := mustNew(t, Config{Peers: []PeerConfig{{Key: "p", Address: peerAddr, MinPoll: 4, MaxPoll: 4}}})
	ts := func(s float64) packet.Timestamp { return packet.TimestampFromTime(at(s)) }
	const wrong = 0.2 // the peer's clock error before it synchronized
	o, s1 := tickUntilSend(t, e, 0)
	f1 := w.send(e, o, ourAddr, s1)
	e1 := mustUnmarshal(t, f1.data)
	p1At := f1.arrive + 0.5
	p1 := packet.Header{Leap: packet.LeapUnsync, Version: 4, Mode: packet.ModeSymmetricPassive, Stratum: 0, Precision: -20, Poll: 4,
		ReferenceID: 0x494e4954, OriginTime: e1.TransmitTime, ReceiveTime: ts(f1.arrive + wrong), TransmitTime: ts(p1At + wrong)}
	e.Handle(Incoming{Data: p1.AppendHeader(nil), Src: peerAddr, Dst: ourAddr, RxTime: at(p1At + w.oneWay)})
	o, s2 := tickUntilSend(t, e, p1At+0.1)
	f2 := w.send(e, o, ourAddr, s2)
	e2 := mustUnmarshal(t, f2.data)
	if e2.OriginTime != p1.ReceiveTime {
		t.Fatalf("e2 not in interleaved form: %+v", e2.Header)
	}
	// The peer stepped its clock and answers in interleaved form with
	// p1's departure, on the clock it had then.
	p2At := f2.arrive + 0.5
	p2 := packet.Header{Leap: packet.LeapNone, Version: 4, Mode: packet.ModeSymmetricPassive, Stratum: 1, Precision: -20, Poll: 4,
		ReferenceID: 0x47505300, ReferenceTime: ts(p2At - 10), OriginTime: e2.ReceiveTime, ReceiveTime: ts(f2.arrive), TransmitTime: ts(p1At + wrong)}
	e.Handle(Incoming{Data: p2.AppendHeader(nil), Src: peerAddr, Dst: ourAddr, RxTime: at(p2At + w.oneWay)})
	s := session(t, e, "p")
	if !s.Interleaved {
		t.Fatalf("p2 not taken in interleaved mode: %s", s.LastError)
	}
	if len(s.Filter) > 0 && s.Filter[0].Delay != 0 && math.Abs(s.Filter[0].Offset) > 1e-6 {
		t.Fatalf("p2 gave a sample with offset %.3f s from the exchange with an unsynchronized peer", s.Filter[0].Offset)
	}
}
