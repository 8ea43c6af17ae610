//go:build linux

package netio

import (
	"bytes"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ntpagent/ntpagent/internal/vpninstance"
)

// prefixResponder answers, on the reader's goroutine, every datagram that
// starts with "ask" with "ans" + the rest, from the address it came to, and
// leaves the others for the channel. It records what it saw.
type prefixResponder struct {
	mu   sync.Mutex
	seen []Received
}

func (p *prefixResponder) Respond(in []Received, handled []bool, out *Replies) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range in {
		if !bytes.HasPrefix(r.Data, []byte("ask")) {
			continue
		}
		r.Data = bytes.Clone(r.Data)
		p.seen = append(p.seen, r)
		buf := out.Buffer()
		buf = append(append(buf, "ans"...), in[i].Data[3:]...)
		handled[i] = out.Add(buf, r.Src, r.Dst.Addr())
	}
}

func TestResponderAnswersFromRequestDestinationInOneBatch(t *testing.T) {
	resp := &prefixResponder{}
	server := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(any6, 0)}, Responder: resp})
	client := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0), netip.AddrPortFrom(lo6, 0)}})
	// [::]:0 opens an IPv4 and an IPv6 socket, each on its own port.
	port4 := localAddr(t, server, vpninstance.Public, any4).Port()
	port6 := localAddr(t, server, vpninstance.Public, any6).Port()
	for _, dst := range []netip.Addr{lo4, lo4b, lo6} {
		t.Run(dst.String(), func(t *testing.T) {
			to := netip.AddrPortFrom(dst, port4)
			if dst.Is6() {
				to = netip.AddrPortFrom(dst, port6)
			}
			before := time.Now()
			if err := client.Send([]byte("ask-"+dst.String()), to, Source{}, vpninstance.Public); err != nil {
				t.Fatal(err)
			}
			if err := client.Send([]byte("other"), to, Source{}, vpninstance.Public); err != nil {
				t.Fatal(err)
			}
			rep := receive(t, client)
			if string(rep.Data) != "ans-"+dst.String() || rep.Src != to {
				t.Fatalf("reply %q from %v, want %q from %v", rep.Data, rep.Src, "ans-"+dst.String(), to)
			}
			// The datagram the responder left arrives on the channel,
			// with its own copy of the payload.
			r := receive(t, server)
			if string(r.Data) != "other" || r.Dst != to {
				t.Fatalf("channel got %q to %v, want other to %v", r.Data, r.Dst, to)
			}
			resp.mu.Lock()
			last := resp.seen[len(resp.seen)-1]
			resp.mu.Unlock()
			if last.Dst != to || !last.KernelTimestamp || last.RxTime.Before(before.Add(-time.Second)) {
				t.Fatalf("responder saw dst %v kernel stamp %v at %v", last.Dst, last.KernelTimestamp, last.RxTime)
			}
		})
	}
	st := server.Stats()
	if st.Responded != 3 || st.Received != 3 || st.Sent != 3 || st.SendErrors != 0 {
		t.Fatalf("stats %+v, want 3 responded, 3 received, 3 sent", st)
	}
}

func TestRepliesRefuseWhatCannotBeSent(t *testing.T) {
	r := newReplies(2)
	r.reset(true)
	dst := netip.AddrPortFrom(lo4, 123)
	cases := []struct {
		name string
		data []byte
		dst  netip.AddrPort
		src  netip.Addr
	}{
		{"IPv6 destination on an IPv4 socket", []byte("x"), netip.AddrPortFrom(lo6, 123), netip.Addr{}},
		{"IPv6 source on an IPv4 socket", []byte("x"), dst, lo6},
		{"port 0", []byte("x"), netip.AddrPortFrom(lo4, 0), netip.Addr{}},
		{"unspecified destination", []byte("x"), netip.AddrPortFrom(any4, 123), netip.Addr{}},
		{"multicast destination", []byte("x"), netip.MustParseAddrPort("224.0.0.1:123"), netip.Addr{}},
		{"larger than MaxDatagram", make([]byte, MaxDatagram+1), dst, netip.Addr{}},
		{"empty", nil, dst, netip.Addr{}},
	}
	for _, c := range cases {
		if r.Add(c.data, c.dst, c.src) {
			t.Errorf("%s: added", c.name)
		}
	}
	if r.Len() != 0 {
		t.Fatalf("Len = %d after refusals, want 0", r.Len())
	}
	for i := range 2 {
		if !r.Add([]byte("ok"), dst, lo4) {
			t.Fatalf("reply %d refused", i)
		}
	}
	if r.Buffer() != nil || r.Add([]byte("ok"), dst, lo4) {
		t.Fatal("a third reply fits in a batch of 2")
	}
}

// The kernel reads the source of an IPv4 reply from in_pktinfo's
// spec_dst (checked on the wire above, 127.0.0.2); in6_pktinfo has one
// address, which the receive side parses back.
func TestPktinfoControlMessagesLayout(t *testing.T) {
	oob := appendPktinfo6(nil, lo6)
	if c := parseControl(oob); c.dst != lo6 || len(oob) != unix.CmsgSpace(unix.SizeofInet6Pktinfo) {
		t.Errorf("IPV6_PKTINFO for ::1: %d bytes, parses as %v", len(oob), c.dst)
	}
	oob = appendPktinfo4(nil, lo4b)
	h, d, _, err := unix.ParseOneSocketControlMessage(oob)
	if err != nil || h.Level != unix.IPPROTO_IP || h.Type != unix.IP_PKTINFO || len(d) != unix.SizeofInet4Pktinfo ||
		netip.AddrFrom4([4]byte(d[4:8])) != lo4b || len(oob) != unix.CmsgSpace(unix.SizeofInet4Pktinfo) {
		t.Errorf("IP_PKTINFO for 127.0.0.2: %x (%v)", oob, err)
	}
}
