//go:build linux

package netio

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ntpagent/ntpagent/internal/vpninstance"
)

func sockaddr4(a netip.AddrPort) []byte {
	b := make([]byte, unix.SizeofSockaddrInet4)
	binary.NativeEndian.PutUint16(b[0:2], unix.AF_INET)
	binary.BigEndian.PutUint16(b[2:4], a.Port())
	ip := a.Addr().As4()
	copy(b[4:8], ip[:])
	return b
}

func sockaddr6(a netip.AddrPort, scope uint32) []byte {
	b := make([]byte, unix.SizeofSockaddrInet6)
	binary.NativeEndian.PutUint16(b[0:2], unix.AF_INET6)
	binary.BigEndian.PutUint16(b[2:4], a.Port())
	ip := a.Addr().As16()
	copy(b[8:24], ip[:])
	binary.NativeEndian.PutUint32(b[24:28], scope)
	return b
}

func TestParseSockaddr(t *testing.T) {
	v4 := netip.MustParseAddrPort("198.18.0.1:123")
	v6 := netip.MustParseAddrPort("[fd00::1]:4123")
	unix6 := make([]byte, unix.SizeofSockaddrInet6)
	binary.NativeEndian.PutUint16(unix6[0:2], unix.AF_UNIX)
	cases := []struct {
		name string
		b    []byte
		want netip.AddrPort
	}{
		{"IPv4", sockaddr4(v4), v4},
		{"IPv6", sockaddr6(v6, 0), v6},
		{"IPv6 with a scope id (the zone comes from pktinfo)", sockaddr6(netip.MustParseAddrPort("[fe80::1]:123"), 7), netip.MustParseAddrPort("[fe80::1]:123")},
		{"IPv4 cut short", sockaddr4(v4)[:6], netip.AddrPort{}},
		{"IPv6 cut short", sockaddr6(v6, 0)[:20], netip.AddrPort{}},
		{"another family", unix6, netip.AddrPort{}},
		{"empty", nil, netip.AddrPort{}},
	}
	for _, c := range cases {
		if got := parseSockaddr(c.b); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// The message headers handed to sendmmsg(2) carry the destination as the
// kernel reads it, a link-local zone as the scope id, and the payload.
func TestRepliesHeaders(t *testing.T) {
	r := newReplies(2)
	r.reset(false)
	ll := netip.MustParseAddrPort("[fe80::1%7]:123")
	if !r.Add([]byte("abc"), ll, netip.Addr{}) {
		t.Fatal("link-local reply refused")
	}
	r.header(0, nil)
	h := r.hdrs[0].Hdr
	if int(h.Namelen) != unix.SizeofSockaddrInet6 || string(r.names[0][:]) != string(sockaddr6(ll, 7)) {
		t.Errorf("IPv6 name %x (len %d), want %x", r.names[0], h.Namelen, sockaddr6(ll, 7))
	}
	if h.Iovlen != 1 || r.iovs[0].Len != 3 || h.Control != nil || h.Controllen != 0 {
		t.Errorf("header %+v, iov %+v", h, r.iovs[0])
	}
	oob := appendPktinfo6(nil, netip.MustParseAddr("fe80::2"))
	r.header(0, oob)
	if h := r.hdrs[0].Hdr; h.Control != &oob[0] || int(h.Controllen) != len(oob) {
		t.Errorf("control data not set: %+v", h)
	}

	r.reset(true)
	v4 := netip.MustParseAddrPort("198.18.0.2:4123")
	if !r.Add([]byte("x"), v4, netip.Addr{}) {
		t.Fatal("IPv4 reply refused")
	}
	r.header(0, nil)
	if n := r.hdrs[0].Hdr.Namelen; int(n) != unix.SizeofSockaddrInet4 || string(r.names[0][:n]) != string(sockaddr4(v4)) {
		t.Errorf("IPv4 name %x (len %d)", r.names[0], n)
	}
	for zone, want := range map[string]uint32{"": 0, "12": 12, "lo": 1, "no-such-interface": 0} {
		if got := zoneIndex(zone); got != want {
			t.Errorf("zoneIndex(%q) = %d, want %d", zone, got, want)
		}
	}
}

// The server path (read a batch, decode, answer, send) allocates nothing,
// so that a flood of requests costs no garbage collection.
func TestServerPathAllocatesNothing(t *testing.T) {
	srv, err := OpenSocket(vpninstance.Public, netip.AddrPortFrom(lo4, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// The client: a plain UDP socket, whose WriteToUDPAddrPort allocates
	// nothing either.
	cli, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo4, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	b := newBatch(8)
	rc, err := srv.conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	req := make([]byte, 48)
	var got int
	cycle := func() {
		for range 4 {
			if _, err := cli.WriteToUDPAddrPort(req, srv.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		err := rc.Control(func(fd uintptr) {
			// Bounded: the four datagrams are on loopback; give up after 5 s.
			for read, deadline := 0, time.Now().Add(waitTimeout); read < 4 && time.Now().Before(deadline); {
				n, errno := b.ring.recv(fd)
				if errno == unix.EAGAIN {
					continue
				}
				if errno != 0 {
					t.Fatal(errno)
				}
				read += n
				b.rs = b.rs[:0]
				for i := range n {
					data, oob, from, _ := b.ring.datagram(i)
					b.rs = append(b.rs, srv.decode(data, oob, from, time.Time{}))
				}
				b.out.reset(true)
				for _, r := range b.rs {
					buf := append(b.out.Buffer(), r.Data...)
					b.out.Add(buf, r.Src, r.Dst.Addr())
				}
				sent, failed, err := srv.sendReplies(fd, b.out)
				if failed != 0 || err != nil {
					t.Fatal(failed, err)
				}
				got += sent
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	cycle() // warm up
	if allocs := testing.AllocsPerRun(20, cycle); allocs != 0 {
		t.Errorf("%.1f allocations per cycle of 4 requests, want 0", allocs)
	}
	if got != 4*22 {
		t.Errorf("server sent %d replies, want %d", got, 4*22)
	}
	// The client got them, unchanged, from the server's address.
	buf := make([]byte, MaxDatagram)
	_ = cli.SetReadDeadline(time.Now().Add(waitTimeout))
	n, from, err := cli.ReadFromUDPAddrPort(buf)
	if err != nil || n != 48 || from != srv.LocalAddr() {
		t.Fatalf("reply of %d bytes from %v, %v", n, from, err)
	}
}
