//go:build linux

package netio

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// In a namespace vpn-instance, a stamped datagram leaves from the
// socket's transmit socket (the same address and port, a socket no
// thread waits on) and SendStamped returns the kernel's transmit
// timestamp itself (Sent.Kernel): no earlier than the time read before
// the send, no later than the receiver's kernel receive timestamp. The
// transmit socket takes none of the datagrams that arrive: every one of
// many, from as many source ports (which an SO_REUSEPORT group would
// otherwise spread over its sockets by their hash), reaches the reader.
func TestNamespaceStampedSendFromTheTransmitSocket(t *testing.T) {
	ns, a, b, aAddr, bAddr := twoInANamespace(t, "tx")

	payload := []byte("stamped request")
	sent, before, r := sendStampedAtOnce(t, a, b, payload, bAddr, Source{}, ns)
	if !bytes.Equal(r.Data, payload) || r.Src != aAddr {
		t.Fatalf("B got %q from %v, want %q from A's socket %v", r.Data, r.Src, payload, aAddr)
	}
	if sent.At.Before(before) || !r.KernelTimestamp || sent.At.After(r.RxTime) {
		t.Errorf("transmit timestamp %v, want from %v (before the send) to %v (B's kernel receive timestamp, kernel %v)",
			sent.At, before, r.RxTime, r.KernelTimestamp)
	}

	// Datagrams to A from many source ports, each from a socket of its
	// own in the namespace (B's transport has one port: use plain
	// sockets opened there).
	const n = 64
	v, err := FindVPN(ns, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		pc, err := v.ListenPacketControl(t.Context(), "udp4", netip.AddrPortFrom(lo4, 0).String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		c := pc.(*net.UDPConn)
		if _, err := c.WriteToUDPAddrPort(fmt.Appendf(nil, "d%d", i), aAddr); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	got := map[string]bool{}
	for range n {
		r := receive(t, a)
		if r.Transmit {
			t.Fatalf("a transmit report %q on the channel: the timestamp was returned by SendStamped", r.Data)
		}
		got[string(r.Data)] = true
	}
	if len(got) != n {
		t.Errorf("A's reader got %d distinct datagrams of %d", len(got), n)
	}
}

// A timestamp the transmit socket's send did not wait for (sendTx gives
// up after txStampWait) still reaches the Received channel: the reader
// drains the transmit socket's error queue before its next read, so the
// report comes before the datagram that woke it.
func TestNamespaceLateTransmitTimestampReportedByTheReader(t *testing.T) {
	ns, a, b, aAddr, bAddr := twoInANamespace(t, "txl")
	a.mu.Lock()
	s := a.vpns[ns].socks[0]
	a.mu.Unlock()
	if s.txfd < 0 {
		t.Fatal("a namespace socket without a transmit socket")
	}
	// Sent as sendTx sends, its timestamp left on the queue.
	payload := []byte("stamp left on the queue")
	s.txUntil.Store(time.Now().Add(txReportWindow).UnixNano())
	to := &unix.SockaddrInet4{Port: int(bAddr.Port()), Addr: bAddr.Addr().As4()}
	if _, err := unix.SendmsgN(s.txfd, payload, appendTxStampRequest(nil), to, 0); err != nil {
		t.Fatal(err)
	}
	if r := receive(t, b); !bytes.Equal(r.Data, payload) || r.Src != aAddr {
		t.Fatalf("B got %q from %v, want %q from %v", r.Data, r.Src, payload, aAddr)
	}
	if err := b.Send([]byte("wake A"), aAddr, Source{}, ns); err != nil {
		t.Fatal(err)
	}
	rep := receive(t, a)
	if !rep.Transmit || !bytes.Equal(rep.Data, payload) || rep.Dst != bAddr {
		t.Fatalf("A's first item: %q (transmit report %v) to %v, want the report of %q to %v", rep.Data, rep.Transmit, rep.Dst, payload, bAddr)
	}
	if r := receive(t, a); r.Transmit || string(r.Data) != "wake A" {
		t.Fatalf("A's second item: %q (transmit report %v), want the datagram that woke it", r.Data, r.Transmit)
	}
}

// sendStampedAtOnce sends payload from a to dst (b's) with SendStamped
// until the kernel's transmit timestamp comes back with the send
// (Sent.Kernel), at most stampedTries times, and returns that Sent, the
// time read before its send and the datagram b got. Now and then a stamp
// comes after the send stopped waiting for it (txStampWait); it is then
// reported through a's reader, woken by a datagram from b.
func sendStampedAtOnce(t *testing.T, a, b *Transport, payload []byte, dst netip.AddrPort, src Source, vpn string) (Sent, time.Time, Received) {
	t.Helper()
	for range stampedTries {
		before := time.Now()
		sent, err := a.SendStamped(payload, dst, src, vpn)
		if err != nil {
			t.Fatal(err)
		}
		if sent.Timestamping != TxKernel {
			t.Fatalf("Sent %+v, want kernel transmit timestamping", sent)
		}
		r := receiveKind(t, b, false)
		if sent.Kernel {
			return sent, before, r
		}
		if err := b.Send([]byte("wake"), r.Src, Source{}, vpn); err != nil {
			t.Fatal(err)
		}
		if rep := receive(t, a); !rep.Transmit || !bytes.Equal(rep.Data, payload) {
			t.Fatalf("a stamped send without its timestamp, then %q (transmit report %v), want its report", rep.Data, rep.Transmit)
		}
		receiveKind(t, a, false)
	}
	t.Fatalf("%d stamped sends, none with the kernel's transmit timestamp read at once", stampedTries)
	return Sent{}, time.Time{}, Received{}
}

// stampedTries bounds sendStampedAtOnce: one stamp in a hundred or so
// comes late.
const stampedTries = 5

// twoInANamespace makes a namespace (named with suffix) and two
// transports in it on 127.0.0.1, a and b, with their addresses.
func twoInANamespace(t *testing.T, suffix string) (ns string, a, b *Transport, aAddr, bAddr netip.AddrPort) {
	t.Helper()
	needNetAdmin(t)
	ns = newNetns(t, suffix)
	local := netip.AddrPortFrom(lo4, 0)
	a, b = nsTransport(t, ns, local), nsTransport(t, ns, local)
	return ns, a, b, localAddr(t, a, ns, lo4), localAddr(t, b, ns, lo4)
}
