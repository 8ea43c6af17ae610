package agent

import (
	"github.com/ntpagent/ntpagent/internal/vpninstance"
	"github.com/ntpagent/ntpagent/ntpengine"
	"github.com/ntpagent/ntpagent/ntpengine/netio"
)

func (a *Agent) receive(r netio.Received) {
	if r.Transmit {
		// The kernel's report that one of our packets left.
		a.engMu.Lock()
		a.eng.Transmitted(ntpengine.Transmitted{
			Data: r.Data, Dst: r.Dst, TxTime: a.txTime(r.RxTime), Source: ntpengine.TxKernel,
		})
		a.engMu.Unlock()
		return
	}
	in := ntpengine.Incoming{
		Data: r.Data, Src: r.Src, Dst: r.Dst, VPN: r.VPN, IfIndex: r.IfIndex,
		RxTime: a.rxTime(r.RxTime),
	}
	if in.VPN == "" {
		in.VPN = vpninstance.Public
	}
	a.engMu.Lock()
	rd := a.eng.Handle(in)
	a.engMu.Unlock()
	a.process(rd)
}

func (a *Agent) send(o ntpengine.Outgoing) {
	var src netio.Source
	switch {
	case o.Src.IsValid():
		src.Addr = o.Src
	case o.SourceInterface != "":
		src.Interface = o.SourceInterface
	}
	vpn := o.VPN
	if vpn == "" {
		vpn = vpninstance.Public
	}
	// The transmit timestamp is the time the packet leaves (RFC 5905 §8):
	// stamped immediately before the send, then, where the kernel reports
	// it, replaced by the kernel's transmit timestamp (receive).
	a.engMu.Lock()
	now := a.ntpClock.Now()
	a.sendPair.set(now, hostNow())
	a.eng.StampTransmit(&o, now)
	a.engMu.Unlock()
	var err error
	if o.TxTimestamp {
		var sent netio.Sent
		sent, err = a.tr.SendStamped(o.Data, o.Dst, src, vpn)
		switch {
		case err != nil:
		case sent.Kernel:
			// The kernel's transmit timestamp, read as the send
			// returned (netio's transmit socket).
			a.engMu.Lock()
			a.eng.Transmitted(ntpengine.Transmitted{
				Data: o.Data, Dst: o.Dst, TxTime: a.txTime(sent.At), Source: ntpengine.TxKernel,
			})
			a.engMu.Unlock()
		case sent.Timestamping != netio.TxKernel:
			a.engMu.Lock()
			a.eng.Transmitted(ntpengine.Transmitted{
				Data: o.Data, Dst: o.Dst, TxTime: a.txTime(sent.At), Source: ntpengine.TxUserSpace,
			})
			a.engMu.Unlock()
		}
	} else {
		err = a.tr.Send(o.Data, o.Dst, src, vpn)
	}
	if o.AssocKey == "" {
		if err != nil {
			a.log.Debug("reply not sent", "dst", o.Dst, "err", err)
		}
		return
	}
	if err != nil {
		if a.ioErr[o.AssocKey] != err.Error() {
			a.log.Warn("NTP packet not sent", "assoc", o.AssocKey, "dst", o.Dst, "err", err)
		}
		a.ioErr[o.AssocKey] = err.Error()
		return
	}
	delete(a.ioErr, o.AssocKey)
}

func vpnOrPublic(v string) string {
	if v == "" {
		return vpninstance.Public
	}
	return v
}
