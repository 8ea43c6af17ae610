//go:build linux

package netio

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/testtool"

	"github.com/ntpagent/ntpagent/internal/vpninstance"
)

var (
	lo4  = mustAddr("127.0.0.1")
	lo4b = mustAddr("127.0.0.2") // Linux routes all of 127/8 to lo
	lo6  = mustAddr("::1")
	any4 = netip.IPv4Unspecified()
	any6 = netip.IPv6Unspecified()
)

func loIndex(t *testing.T) int {
	ifc, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	return ifc.Index
}

func checkRxTime(t *testing.T, r Received, before, after time.Time) {
	t.Helper()
	if !r.KernelTimestamp {
		t.Errorf("datagram has no kernel timestamp (SO_TIMESTAMPNS)")
	}
	// The kernel stamps on the host's CLOCK_REALTIME, between send and read.
	if r.RxTime.Before(before.Add(-time.Second)) || r.RxTime.After(after.Add(time.Second)) {
		t.Errorf("RxTime %v not between %v and %v", r.RxTime, before, after)
	}
}

func TestIPv4PktinfoTimestampAndReplyFromRequestDestination(t *testing.T) {
	server := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(any4, 0)}})
	client := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}})
	sport := localAddr(t, server, vpninstance.Public, any4).Port()
	caddr := localAddr(t, client, vpninstance.Public, lo4)

	for _, dst := range []netip.Addr{lo4, lo4b} {
		t.Run(dst.String(), func(t *testing.T) {
			before := time.Now()
			if err := client.Send([]byte("request"), netip.AddrPortFrom(dst, sport), Source{}, vpninstance.Public); err != nil {
				t.Fatal(err)
			}
			r := receive(t, server)
			after := time.Now()
			if string(r.Data) != "request" || r.Src != caddr || r.Dst != netip.AddrPortFrom(dst, sport) || r.VPN != vpninstance.Public {
				t.Fatalf("got %q from %v to %v in %q, want request from %v to %v:%d", r.Data, r.Src, r.Dst, r.VPN, caddr, dst, sport)
			}
			if r.IfIndex != loIndex(t) {
				t.Errorf("IfIndex = %d, want lo's %d", r.IfIndex, loIndex(t))
			}
			checkRxTime(t, r, before, after)

			// The reply leaves from the address the request came to.
			if err := server.Send([]byte("reply"), r.Src, Source{Addr: r.Dst.Addr()}, r.VPN); err != nil {
				t.Fatal(err)
			}
			rep := receive(t, client)
			if string(rep.Data) != "reply" || rep.Src != r.Dst || rep.Dst != caddr {
				t.Fatalf("reply %q from %v to %v, want from %v to %v", rep.Data, rep.Src, rep.Dst, r.Dst, caddr)
			}
		})
	}
}

func TestExplicitSourceOverridesKernelChoice(t *testing.T) {
	server := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(any4, 0)}})
	client := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}})
	sport := localAddr(t, server, vpninstance.Public, any4).Port()
	caddr := localAddr(t, client, vpninstance.Public, lo4)
	// To 127.0.0.1 the kernel would choose 127.0.0.1; pktinfo makes it 127.0.0.2.
	if err := server.Send([]byte("x"), caddr, Source{Addr: lo4b}, vpninstance.Public); err != nil {
		t.Fatal(err)
	}
	if r := receive(t, client); r.Src != netip.AddrPortFrom(lo4b, sport) {
		t.Fatalf("from %v, want %v:%d", r.Src, lo4b, sport)
	}
	if err := server.Send([]byte("y"), caddr, Source{}, vpninstance.Public); err != nil {
		t.Fatal(err)
	}
	if r := receive(t, client); r.Src != netip.AddrPortFrom(lo4, sport) {
		t.Fatalf("from %v, want %v:%d", r.Src, lo4, sport)
	}
}

func TestIPv6PktinfoTimestampAndReply(t *testing.T) {
	// [::]:0 opens both families; the IPv6 socket is IPv6-only.
	server := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(any6, 0)}})
	if got := len(server.LocalAddrs(vpninstance.Public)); got != 2 {
		t.Fatalf("[::] opened %d sockets, want 2 (IPv4 and IPv6)", got)
	}
	client := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo6, 0)}})
	s6 := localAddr(t, server, vpninstance.Public, any6)
	caddr := localAddr(t, client, vpninstance.Public, lo6)
	dst := netip.AddrPortFrom(lo6, s6.Port())

	before := time.Now()
	if err := client.Send([]byte("request6"), dst, Source{}, ""); err != nil {
		t.Fatal(err)
	}
	r := receive(t, server)
	after := time.Now()
	if string(r.Data) != "request6" || r.Src != caddr || r.Dst != dst {
		t.Fatalf("got %q from %v to %v, want from %v to %v", r.Data, r.Src, r.Dst, caddr, dst)
	}
	if r.IfIndex != loIndex(t) {
		t.Errorf("IfIndex = %d, want %d", r.IfIndex, loIndex(t))
	}
	checkRxTime(t, r, before, after)
	if err := server.Send([]byte("reply6"), r.Src, Source{Addr: r.Dst.Addr()}, r.VPN); err != nil {
		t.Fatal(err)
	}
	if rep := receive(t, client); string(rep.Data) != "reply6" || rep.Src != dst {
		t.Fatalf("reply %q from %v, want from %v", rep.Data, rep.Src, dst)
	}
	st := server.Stats()
	if st.Received != 1 || st.KernelStamped != 1 || st.Sent != 1 || st.Dropped != 0 {
		t.Fatalf("server stats %+v", st)
	}
}

func TestSourceInterfaceLoopback(t *testing.T) {
	server := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0), netip.AddrPortFrom(lo6, 0)}})
	client := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(any6, 0)}})
	for _, a := range []netip.Addr{lo4, lo6} {
		dst := localAddr(t, server, vpninstance.Public, a)
		if err := client.Send([]byte("si"), dst, Source{Interface: "lo"}, vpninstance.Public); err != nil {
			t.Fatalf("send to %v with source-interface lo: %v", dst, err)
		}
		if r := receive(t, server); r.Src.Addr() != a {
			t.Fatalf("from %v, want lo's %v", r.Src, a)
		}
	}
	got, err := client.SourceAddress(vpninstance.Public, "lo", lo6)
	if err != nil || got != lo6 {
		t.Fatalf("SourceAddress(lo, ::1) = %v, %v", got, err)
	}
}

func TestSourceInterfaceErrors(t *testing.T) {
	tr := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0), netip.AddrPortFrom(lo6, 0)}})
	tests := []struct {
		name   string
		ifname string
		peer   netip.Addr
		want   error
	}{
		{"unknown interface", "ntpnosuch0", lo4, ErrNoSuchInterface},
		{"lo has no global-scope IPv6 address", "lo", mustAddr("2001:db8::1"), ErrNoUsableAddress},
		{"lo has no link-local IPv6 address", "lo", mustAddr("fe80::1"), ErrNoUsableAddress},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tr.Stats()
			err := tr.Send([]byte("x"), netip.AddrPortFrom(tc.peer, 9), Source{Interface: tc.ifname}, vpninstance.Public)
			var se *SourceError
			if !errors.As(err, &se) || !errors.Is(err, tc.want) {
				t.Fatalf("Send error = %v, want *SourceError wrapping %v", err, tc.want)
			}
			if se.Interface != tc.ifname {
				t.Fatalf("error names %q, want %q (%v)", se.Interface, tc.ifname, err)
			}
			if after := tr.Stats(); after.Sent != before.Sent || after.SendErrors != before.SendErrors+1 {
				t.Fatalf("stats %+v -> %+v", before, after)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	tr := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}})
	to := netip.AddrPortFrom(lo4, 9)
	tests := []struct {
		name string
		dst  netip.AddrPort
		src  Source
		want error
	}{
		{"no IPv6 listen address", netip.AddrPortFrom(lo6, 9), Source{}, ErrNoSocket},
		{"source not listened on", to, Source{Addr: lo4b}, ErrNoSocket},
		{"source of the other family", to, Source{Addr: lo6}, ErrNoSocket},
		{"address and interface both", to, Source{Addr: lo4, Interface: "lo"}, ErrAmbiguousSource},
		{"invalid destination", netip.AddrPort{}, Source{}, ErrInvalidAddress},
		{"port zero", netip.AddrPortFrom(lo4, 0), Source{}, ErrInvalidAddress},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tr.Send([]byte("x"), tc.dst, tc.src, vpninstance.Public); !errors.Is(err, tc.want) {
				t.Fatalf("Send = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestUnknownAndBadVPN(t *testing.T) {
	dir := t.TempDir()
	// A regular file where a namespace is expected: resolves, but setns fails.
	if err := os.WriteFile(filepath.Join(dir, "notans"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o700); err != nil {
		t.Fatal(err)
	}
	tr := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}, NetnsDir: dir})
	tests := []struct {
		vpn  string
		want error
	}{
		{"ntp-no-such-vpn", ErrUnknownVPN},
		{"adir", ErrUnknownVPN},
		{"../etc", ErrBadVPNName},
		{"a/b", ErrBadVPNName},
		{"..", ErrBadVPNName},
		{"notans", nil}, // any error, as a *VPNError
	}
	for _, tc := range tests {
		t.Run(tc.vpn, func(t *testing.T) {
			err := tr.Send([]byte("x"), netip.AddrPortFrom(lo4, 9), Source{}, tc.vpn)
			var ve *VPNError
			if !errors.As(err, &ve) || ve.VPN != tc.vpn {
				t.Fatalf("Send = %v, want *VPNError for %q", err, tc.vpn)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Send = %v, want %v", err, tc.want)
			}
			if tr.LocalAddrs(tc.vpn) != nil {
				t.Fatalf("vpn %q left sockets open", tc.vpn)
			}
			if err := tr.OpenVPN(tc.vpn); err == nil {
				t.Fatalf("OpenVPN(%q) succeeded", tc.vpn)
			}
		})
	}
	if _, err := NewTransport(context.Background(), Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}, Open: []string{"ntp-no-such-vpn"}}); !errors.Is(err, ErrUnknownVPN) {
		t.Fatalf("NewTransport with an unknown vpn = %v", err)
	}
}

// TestVPNDeviceBindingSharesPortWithPublic uses "lo" as a vpn-instance name:
// a device of that name exists, so its socket is bound to it with
// SO_BINDTODEVICE, on the same port as the _public_ socket.
func TestVPNDeviceBindingSharesPortWithPublic(t *testing.T) {
	probe := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}})
	port := localAddr(t, probe, vpninstance.Public, lo4).Port()
	probe.Close()
	tr := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, port)}})
	peer := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}})
	if err := tr.OpenVPN("lo"); err != nil {
		t.Fatalf("OpenVPN(lo): %v", err)
	}
	if got := tr.LocalAddrs("lo"); len(got) != 1 || got[0].Port() != port {
		t.Fatalf("lo sockets %v, want one on port %d", got, port)
	}
	dst := localAddr(t, peer, vpninstance.Public, lo4)
	if err := tr.Send([]byte("via-lo"), dst, Source{}, "lo"); err != nil {
		t.Fatal(err)
	}
	r := receive(t, peer)
	if string(r.Data) != "via-lo" || r.Src != netip.AddrPortFrom(lo4, port) {
		t.Fatalf("got %q from %v", r.Data, r.Src)
	}
	// Traffic arriving on lo goes to the device-bound socket, tagged "lo".
	if err := peer.Send([]byte("to-lo"), r.Src, Source{}, vpninstance.Public); err != nil {
		t.Fatal(err)
	}
	if back := receive(t, tr); back.VPN != "lo" || string(back.Data) != "to-lo" {
		t.Fatalf("got %q in vpn %q, want to-lo in lo", back.Data, back.VPN)
	}
	tr.CloseVPN("lo")
	if tr.LocalAddrs("lo") != nil {
		t.Fatal("CloseVPN left sockets")
	}
	tr.Close()

	// The other order: the device first, then _public_ on the same port.
	tr2 := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, port)}, Open: []string{"lo", vpninstance.Public}})
	if a, b := tr2.LocalAddrs("lo"), tr2.LocalAddrs(vpninstance.Public); len(a) != 1 || len(b) != 1 || a[0] != b[0] {
		t.Fatalf("lo %v, _public_ %v: want both on %v:%d", a, b, lo4, port)
	}
}

func TestFullQueueDropsAndCounts(t *testing.T) {
	tr := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}, QueueLen: 1})
	dst := localAddr(t, tr, vpninstance.Public, lo4)
	const n = 5
	for i := range n {
		if err := tr.Send([]byte{byte(i)}, dst, Source{}, vpninstance.Public); err != nil {
			t.Fatal(err)
		}
	}
	testtool.WaitFor(t, waitTimeout, "every datagram received or dropped", func() bool {
		return tr.Stats().Received+tr.Stats().Dropped >= n
	})
	st := tr.Stats()
	if st.Received != 1 || st.Dropped != n-1 {
		t.Fatalf("stats %+v, want 1 received and %d dropped", st, n-1)
	}
	if r := receive(t, tr); len(r.Data) != 1 || r.Data[0] != 0 {
		t.Fatalf("queued datagram %v, want the first", r.Data)
	}
}

func TestOversizedDatagramIsCountedAndDropped(t *testing.T) {
	tr := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}})
	dst := localAddr(t, tr, vpninstance.Public, lo4)
	if err := tr.Send(make([]byte, MaxDatagram+1), dst, Source{}, vpninstance.Public); err != nil {
		t.Fatal(err)
	}
	if err := tr.Send([]byte("small"), dst, Source{}, vpninstance.Public); err != nil {
		t.Fatal(err)
	}
	if r := receive(t, tr); string(r.Data) != "small" {
		t.Fatalf("got %d bytes, want the small datagram", len(r.Data))
	}
	if st := tr.Stats(); st.Truncated != 1 {
		t.Fatalf("stats %+v, want 1 truncated", st)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	tr := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(any6, 0)}})
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-tr.Received(); ok {
		t.Fatal("Received channel open after Close")
	}
	if err := tr.Send([]byte("x"), netip.AddrPortFrom(lo4, 9), Source{}, vpninstance.Public); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close = %v", err)
	}
	if err := tr.OpenVPN(vpninstance.Public); !errors.Is(err, ErrClosed) {
		t.Fatalf("OpenVPN after Close = %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

func TestContextCancelClosesTransport(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	tr, err := NewTransport(ctx, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}, Open: []string{vpninstance.Public}})
	if err != nil {
		t.Fatal(err)
	}
	addr := localAddr(t, tr, vpninstance.Public, lo4)
	cancel()
	select {
	case _, ok := <-tr.Received():
		if ok {
			t.Fatal("datagram after cancel")
		}
	case <-time.After(waitTimeout):
		t.Fatal("Received not closed after the context was cancelled")
	}
	// The port is free again.
	s, err := OpenSocket(vpninstance.Public, addr)
	if err != nil {
		t.Fatalf("port still held after cancel: %v", err)
	}
	s.Close()
}

func TestNewTransportRefusesBadConfig(t *testing.T) {
	for _, listen := range [][]netip.AddrPort{nil, {{}}, {netip.AddrPortFrom(mustAddr("224.0.0.1"), 123)}} {
		if _, err := NewTransport(context.Background(), Config{Listen: listen}); !errors.Is(err, ErrInvalidAddress) {
			t.Fatalf("NewTransport(%v) = %v, want ErrInvalidAddress", listen, err)
		}
	}
}

func TestSocketReceiveDirect(t *testing.T) {
	s, err := OpenSocket(vpninstance.Public, netip.AddrPortFrom(lo4, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := OpenSocket("", netip.AddrPortFrom(lo4, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Send([]byte("direct"), s.LocalAddr(), netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, MaxDatagram)
	r, err := s.Receive(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Data) != "direct" || r.Src != c.LocalAddr() || r.Dst != s.LocalAddr() || r.KernelTimestamp != s.KernelTimestamps() {
		t.Fatalf("got %+v", r)
	}
}
