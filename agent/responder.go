package agent

import (
	"github.com/ntpagent/ntpagent/ntpengine"
	"github.com/ntpagent/ntpagent/ntpengine/netio"
)

// responder answers client requests on netio's socket readers, a whole
// read at a time under one lock of the engine, with the engine's
// allocation-free Serve; netio sends the replies in one sendmmsg(2). What
// Serve leaves (association packets, requests with a MAC) goes on netio's
// channel to Run and Handle.
type responder struct{ a *Agent }

func (r responder) Respond(in []netio.Received, handled []bool, out *netio.Replies) {
	a := r.a
	// One pair of clock readings for the batch: rx = ntpclock.Now() − the
	// datagram's age (see the package documentation).
	now, host := a.ntpClock.Now(), hostNow()
	a.engMu.Lock()
	defer a.engMu.Unlock()
	for i := range in {
		rcv := &in[i]
		buf := out.Buffer()
		if buf == nil {
			return
		}
		age := max(host.Sub(rcv.RxTime), 0)
		req := ntpengine.Incoming{
			Data: rcv.Data, Src: rcv.Src, Dst: rcv.Dst, VPN: vpnOrPublic(rcv.VPN), IfIndex: rcv.IfIndex,
			RxTime: now.Add(-age),
		}
		data, res := a.eng.Serve(&req, buf)
		switch res {
		case ntpengine.ServeReply:
			handled[i] = out.Add(data, rcv.Src, rcv.Dst.Addr())
		case ntpengine.ServeReplyTx:
			// A request in interleaved form: its next one asks when
			// this reply left (RFC 9769 §3).
			if handled[i] = out.Add(data, rcv.Src, rcv.Dst.Addr()); handled[i] {
				out.MarkTxTimestamp()
			}
		case ntpengine.ServeDrop:
			handled[i] = true
		}
	}
}

// FinishReplies writes the transmit timestamps of the replies in basic
// mode right before netio sends them (RFC 5905 §8: T3 is when the reply
// leaves), one clock reading for the batch.
func (r responder) FinishReplies(out *netio.Replies) {
	now := r.a.ntpClock.Now()
	r.a.sendPair.set(now, hostNow())
	for i := range out.Len() {
		ntpengine.StampReply(out.Payload(i), now)
	}
}
