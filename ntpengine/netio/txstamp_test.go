//go:build linux

package netio

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/vpninstance"
)

// receiveKind waits (bounded) for the next item of tr's channel and checks
// whether it is a transmit report.
func receiveKind(t *testing.T, tr *Transport, transmit bool) Received {
	t.Helper()
	r := receive(t, tr)
	if r.Transmit != transmit {
		t.Fatalf("got %q (transmit report %v), want transmit report %v", r.Data, r.Transmit, transmit)
	}
	return r
}

// Without a transmit socket (an agent without CAP_NET_RAW in the public
// instance), a datagram sent with SendStamped leaves from the socket
// itself and is reported by the kernel (SO_TIMESTAMPING software transmit
// timestamp, read from the error queue): its payload and destination as
// sent, a time no earlier than the user-space stamp taken before the send
// call and no later than the receiver's kernel receive timestamp; the
// report comes before the reply to it.
func TestKernelTxTimestampReportedBeforeReply(t *testing.T) {
	for _, lo := range []netip.Addr{lo4, lo6} {
		t.Run(lo.String(), func(t *testing.T) {
			client := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo, 0)}})
			server := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo, 0)}})
			dropTxSockets(client, vpninstance.Public)
			if client.TxTimestamping() != TxKernel {
				t.Fatalf("TxTimestamping %q on Linux, want %q", client.TxTimestamping(), TxKernel)
			}
			dst := localAddr(t, server, vpninstance.Public, lo)
			payload := []byte("request with a transmit timestamp")
			sent, err := client.SendStamped(payload, dst, Source{}, vpninstance.Public)
			if err != nil {
				t.Fatal(err)
			}
			if sent.Timestamping != TxKernel {
				t.Fatalf("Sent.Timestamping %q, want %q", sent.Timestamping, TxKernel)
			}
			req := receiveKind(t, server, false)
			if err := server.Send([]byte("reply"), req.Src, Source{}, vpninstance.Public); err != nil {
				t.Fatal(err)
			}
			// Reply and report may both be queued by now: the report
			// still comes first.
			time.Sleep(20 * time.Millisecond)
			rep := receiveKind(t, client, true)
			if !bytes.Equal(rep.Data, payload) || rep.Dst != dst || rep.Src != localAddr(t, client, vpninstance.Public, lo) {
				t.Fatalf("report of %q to %v from %v, want %q to %v", rep.Data, rep.Dst, rep.Src, payload, dst)
			}
			if rep.RxTime.Before(sent.At) {
				t.Errorf("kernel transmit time %v is before the user-space stamp %v taken before the send", rep.RxTime, sent.At)
			}
			if !req.KernelTimestamp || rep.RxTime.After(req.RxTime) {
				t.Errorf("kernel transmit time %v is after the receiver's kernel receive time %v", rep.RxTime, req.RxTime)
			}
			if r := receiveKind(t, client, false); string(r.Data) != "reply" {
				t.Fatalf("then %q, want the reply", r.Data)
			}
			if st := client.Stats(); st.TxReports != 1 || st.Received != 1 {
				t.Errorf("client stats %+v, want 1 transmit report and 1 datagram", st)
			}
		})
	}
}

// Send (without Stamped) asks for no transmit timestamp: nothing but the
// reply arrives.
func TestPlainSendHasNoTxReport(t *testing.T) {
	client := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}})
	server := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}})
	if err := client.Send([]byte("plain"), localAddr(t, server, vpninstance.Public, lo4), Source{}, vpninstance.Public); err != nil {
		t.Fatal(err)
	}
	req := receiveKind(t, server, false)
	if err := server.Send([]byte("reply"), req.Src, Source{}, vpninstance.Public); err != nil {
		t.Fatal(err)
	}
	if r := receiveKind(t, client, false); string(r.Data) != "reply" {
		t.Fatalf("got %q", r.Data)
	}
	if st := client.Stats(); st.TxReports != 0 {
		t.Fatalf("%d transmit reports for a plain send", st.TxReports)
	}
}

// finishingResponder answers "ask" with "ans", asks for the kernel transmit
// timestamp of the replies to "ask-tx", and in FinishReplies (right before
// sendmmsg) writes the host time into the reply's last 8 octets.
type finishingResponder struct{}

func (finishingResponder) Respond(in []Received, handled []bool, out *Replies) {
	for i, r := range in {
		buf := append(out.Buffer(), "ans"...)
		buf = append(buf, r.Data[3:]...)
		buf = append(buf, make([]byte, 8)...)
		handled[i] = out.Add(buf, r.Src, r.Dst.Addr())
		if bytes.HasPrefix(r.Data, []byte("ask-tx")) {
			out.MarkTxTimestamp()
		}
	}
}

func (finishingResponder) FinishReplies(out *Replies) {
	now := uint64(time.Now().UnixNano())
	for i := range out.Len() {
		b := out.Payload(i)
		binary.BigEndian.PutUint64(b[len(b)-8:], now)
	}
}

// A ReplyFinisher completes the replies after Respond, immediately before
// they leave; a reply marked with MarkTxTimestamp is reported by the
// kernel on the server's channel, at the latest before the server reads
// its next datagram (the client's next request wakes it: a stamp the
// transmit socket's kernel queues after the reader's drain waits for
// one); one not marked is not.
func TestResponderRepliesFinishedBeforeSendAndTxReported(t *testing.T) {
	server := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}, Responder: finishingResponder{}})
	client := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}})
	dst := localAddr(t, server, vpninstance.Public, lo4)
	for _, ask := range []string{"ask-plain", "ask-tx"} {
		before := time.Now()
		if err := client.Send([]byte(ask), dst, Source{}, vpninstance.Public); err != nil {
			t.Fatal(err)
		}
		r := receiveKind(t, client, false)
		if !bytes.HasPrefix(r.Data, []byte("ans"+ask[3:])) || len(r.Data) != len(ask)+8 {
			t.Fatalf("reply %q to %q", r.Data, ask)
		}
		finished := time.Unix(0, int64(binary.BigEndian.Uint64(r.Data[len(r.Data)-8:])))
		if finished.Before(before) || finished.After(r.RxTime) {
			t.Errorf("finished at %v: not between the request (%v) and the reply's arrival (%v)", finished, before, r.RxTime)
		}
		if ask == "ask-tx" {
			if err := client.Send([]byte("ask-next"), dst, Source{}, vpninstance.Public); err != nil {
				t.Fatal(err)
			}
			rep := receiveKind(t, server, true)
			if !bytes.Equal(rep.Data, r.Data) || rep.Dst != localAddr(t, client, vpninstance.Public, lo4) {
				t.Fatalf("report of %q to %v, want the reply %q", rep.Data, rep.Dst, r.Data)
			}
			if rep.RxTime.Before(finished) || rep.RxTime.After(r.RxTime) {
				t.Errorf("kernel transmit time %v not between finish %v and arrival %v", rep.RxTime, finished, r.RxTime)
			}
			if r := receiveKind(t, client, false); !bytes.HasPrefix(r.Data, []byte("ans-next")) {
				t.Fatalf("reply %q to ask-next", r.Data)
			}
		}
	}
	if st := server.Stats(); st.TxReports != 1 {
		t.Fatalf("server stats %+v, want exactly 1 transmit report (the marked reply)", st)
	}
}

func TestUDPOfFrame(t *testing.T) {
	payload := []byte("payload!")
	udp := func(port uint16) []byte {
		u := make([]byte, 8, 8+len(payload))
		binary.BigEndian.PutUint16(u[2:4], port)
		binary.BigEndian.PutUint16(u[4:6], uint16(8+len(payload)))
		return append(u, payload...)
	}
	ip4 := func(dst [4]byte) []byte {
		h := make([]byte, 20)
		h[0], h[9] = 0x45, 17
		binary.BigEndian.PutUint16(h[2:4], uint16(20+8+len(payload)))
		copy(h[16:20], dst[:])
		return append(h, udp(123)...)
	}
	ip6 := func(dst [16]byte) []byte {
		h := make([]byte, 40)
		h[0], h[6] = 0x60, 17
		binary.BigEndian.PutUint16(h[4:6], uint16(8+len(payload)))
		copy(h[24:40], dst[:])
		return append(h, udp(10123)...)
	}
	eth := make([]byte, 14)
	a6 := netip.MustParseAddr("fd00::7")
	tests := []struct {
		name  string
		frame []byte
		is4   bool
		want  netip.AddrPort
	}{
		{"IPv4 behind Ethernet (loopback)", append(eth, ip4([4]byte{198, 18, 0, 1})...), true, netip.MustParseAddrPort("198.18.0.1:123")},
		{"IPv4 without link layer", ip4([4]byte{127, 0, 0, 1}), true, netip.MustParseAddrPort("127.0.0.1:123")},
		{"IPv6 behind Ethernet", append(eth, ip6(a6.As16())...), false, netip.AddrPortFrom(a6, 10123)},
		{"IPv6 frame on an IPv4 socket", append(eth, ip6(a6.As16())...), true, netip.AddrPort{}},
		{"truncated", append(eth, ip4([4]byte{1, 2, 3, 4})[:30]...), true, netip.AddrPort{}},
		{"empty", nil, true, netip.AddrPort{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst, p, ok := udpOfFrame(tc.frame, tc.is4)
			if ok != tc.want.IsValid() || dst != tc.want || (ok && !bytes.Equal(p, payload)) {
				t.Fatalf("udpOfFrame = %v %q %v, want %v", dst, p, ok, tc.want)
			}
		})
	}
}

// Over a veth pair between network namespaces (as the real-path harness
// and a device's vpn-instances use) the kernel reports transmit timestamps
// too: the veth driver stamps the datagram as it takes it.
func TestNamespaceKernelTxTimestampOverVeth(t *testing.T) {
	if testing.Short() {
		t.Skip("namespaces")
	}
	needNetAdmin(t)
	nsA, nsB := newNetns(t, "txa"), newNetns(t, "txb")
	vethPair(t, link{nsA, "txa0", []string{"198.18.5.1/24"}}, link{nsB, "txb0", []string{"198.18.5.2/24"}})
	a := nsTransport(t, nsA, netip.MustParseAddrPort("198.18.5.1:0"))
	b := nsTransport(t, nsB, netip.MustParseAddrPort("198.18.5.2:0"))
	dst := localAddr(t, b, nsB, netip.MustParseAddr("198.18.5.2"))
	payload := []byte("across the veth")
	before := time.Now()
	sent, err := a.SendStamped(payload, dst, Source{}, nsA)
	if err != nil {
		t.Fatal(err)
	}
	req := receiveKind(t, b, false)
	// A namespace's socket sends it from its transmit socket and reads
	// the timestamp as the send returns (TestNamespaceStampedSendFrom-
	// TheTransmitSocket); a report on the channel is the other way.
	stamp := sent.At
	if !sent.Kernel {
		rep := receiveKind(t, a, true)
		if !bytes.Equal(rep.Data, payload) || rep.Dst != dst || rep.VPN != nsA {
			t.Fatalf("report of %q to %v in %q", rep.Data, rep.Dst, rep.VPN)
		}
		stamp = rep.RxTime
	}
	if stamp.Before(before) || stamp.After(req.RxTime) {
		t.Errorf("kernel transmit time %v not between the send call (%v) and the arrival (%v)", stamp, before, req.RxTime)
	}
	t.Logf("send call → kernel TX stamp %v (returned by the send: %v); kernel TX → receiver's stamp %v (kernel stamp %v)",
		stamp.Sub(before), sent.Kernel, req.RxTime.Sub(stamp), req.KernelTimestamp)
}

// Where the kernel refuses SO_TIMESTAMPING (another OS, an old kernel),
// SendStamped says so: the time read before the send call is all there
// is, and no report comes.
func TestSendStampedWithoutKernelTimestamps(t *testing.T) {
	s, err := OpenSocket(vpninstance.Public, netip.AddrPortFrom(lo4, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.txStamp = false // as openSocket leaves it when setsockopt fails
	if s.TxTimestamping() != TxUserSpace {
		t.Fatalf("TxTimestamping %q", s.TxTimestamping())
	}
	peer := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}})
	before := time.Now()
	sent, err := s.SendStamped([]byte("no kernel stamp"), localAddr(t, peer, vpninstance.Public, lo4), netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	r := receiveKind(t, peer, false)
	if sent.Timestamping != TxUserSpace || sent.At.Before(before) || sent.At.After(r.RxTime) {
		t.Fatalf("Sent %+v: want user-space, between %v and the arrival %v", sent, before, r.RxTime)
	}
	if s.txUntil.Load() != 0 {
		t.Fatal("the reader would look at the error queue for a report that never comes")
	}
}
