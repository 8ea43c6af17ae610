//go:build linux

package netio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/vpninstance"
	"golang.org/x/sys/unix"
)

// The public instance sends a stamped datagram from its raw transmit
// socket (rawtx_linux.go): SendStamped returns the kernel's transmit
// timestamp (Sent.Kernel), no earlier than the time read before the send
// and no later than the receiver's kernel receive timestamp, and the
// datagram arrives as the UDP socket would have sent it — its payload,
// from the socket's port and the address bound, the route's source for
// a wildcard socket, or the source asked for. No transmit report follows
// on the channel: the reply is the next item. (Without the raw socket the
// timestamp would come only as a report: sendStampedAtOnce fails.)
func TestPublicStampedSendFromTheRawTransmitSocket(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("raw sockets need root (CI=true)")
		}
		t.Skip("raw sockets need root")
	}
	tests := []struct {
		name          string
		listen, to    netip.Addr // the client's and the server's addresses
		src, wantFrom netip.Addr // the source asked for (none: invalid) and the one seen
	}{
		{"bound IPv4", lo4, lo4, netip.Addr{}, lo4},
		{"bound IPv6", lo6, lo6, netip.Addr{}, lo6},
		{"wildcard IPv4, the route's source", netip.IPv4Unspecified(), lo4, netip.Addr{}, lo4},
		{"wildcard IPv6, the route's source", netip.IPv6Unspecified(), lo6, netip.Addr{}, lo6},
		{"wildcard IPv4, source asked for", netip.IPv4Unspecified(), lo4, lo4b, lo4b},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(tc.listen, 0)}})
			server := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(tc.to, 0)}})
			var port uint16 // the port of the client's socket of the family
			for _, a := range client.LocalAddrs(vpninstance.Public) {
				if a.Addr().Is4() == tc.to.Is4() {
					port = a.Port()
				}
			}
			dst := localAddr(t, server, vpninstance.Public, tc.to)
			payload := []byte("stamped request, odd length")
			sent, before, r := sendStampedAtOnce(t, client, server, payload, dst, Source{Addr: tc.src}, vpninstance.Public)
			if want := netip.AddrPortFrom(tc.wantFrom, port); !bytes.Equal(r.Data, payload) || r.Src != want {
				t.Fatalf("server got %q from %v, want %q from %v", r.Data, r.Src, payload, want)
			}
			if sent.At.Before(before) || !r.KernelTimestamp || sent.At.After(r.RxTime) {
				t.Errorf("transmit timestamp %v, want from %v (before the send) to %v (the receiver's kernel receive timestamp, kernel %v)",
					sent.At, before, r.RxTime, r.KernelTimestamp)
			}
			if err := server.Send([]byte("reply"), r.Src, Source{}, vpninstance.Public); err != nil {
				t.Fatal(err)
			}
			if got := receiveKind(t, client, false); string(got.Data) != "reply" {
				t.Fatalf("client got %q, want the reply", got.Data)
			}
		})
	}
}

// rawDatagram builds the packet a UDP socket would send: the IP header's
// version, protocol, hop limit, addresses and lengths (IPv4: Don't
// Fragment, identification and header checksum left to the kernel), the
// UDP header's ports and length, and a checksum that a receiver accepts
// (the one's complement sum over pseudo-header and datagram is all ones)
// and that matches one computed apart.
func TestRawDatagramHeadersAndChecksum(t *testing.T) {
	be := binary.BigEndian
	payload := []byte("ntp")
	tests := []struct {
		src, dst netip.AddrPort
		want     uint16 // the UDP checksum, computed apart
	}{
		{netip.MustParseAddrPort("198.18.0.1:123"), netip.MustParseAddrPort("198.18.0.2:10123"), 0x6d35},
		{netip.MustParseAddrPort("[fd00::1]:123"), netip.MustParseAddrPort("[fd00::2]:10123"), 0xff58},
	}
	for _, tc := range tests {
		p, err := rawDatagram(tc.src, tc.dst, payload, 61)
		if err != nil {
			t.Fatal(err)
		}
		var udp []byte
		if tc.src.Addr().Is4() {
			if p[0] != 0x45 || be.Uint16(p[2:4]) != uint16(len(p)) || be.Uint16(p[6:8]) != 0x4000 || p[8] != 61 || p[9] != 17 ||
				netip.AddrFrom4([4]byte(p[12:16])) != tc.src.Addr() || netip.AddrFrom4([4]byte(p[16:20])) != tc.dst.Addr() {
				t.Fatalf("IPv4 header % x", p[:20])
			}
			udp = p[20:]
		} else {
			if p[0] != 0x60 || be.Uint16(p[4:6]) != uint16(len(p)-40) || p[6] != 17 || p[7] != 61 ||
				netip.AddrFrom16([16]byte(p[8:24])) != tc.src.Addr() || netip.AddrFrom16([16]byte(p[24:40])) != tc.dst.Addr() {
				t.Fatalf("IPv6 header % x", p[:40])
			}
			udp = p[40:]
		}
		if be.Uint16(udp[0:2]) != tc.src.Port() || be.Uint16(udp[2:4]) != tc.dst.Port() || be.Uint16(udp[4:6]) != uint16(len(udp)) ||
			!bytes.Equal(udp[8:], payload) {
			t.Fatalf("UDP % x", udp)
		}
		if got := be.Uint16(udp[6:8]); got != tc.want {
			t.Errorf("%v: checksum %#04x, want %#04x", tc.src, got, tc.want)
		}
		// The receiver's check (RFC 1071): the sum with the checksum
		// in is all ones.
		sum := 0
		words := func(b []byte) {
			for i := 0; i < len(b); i += 2 {
				w := int(b[i]) << 8
				if i+1 < len(b) {
					w |= int(b[i+1])
				}
				sum += w
			}
		}
		words(tc.src.Addr().AsSlice())
		words(tc.dst.Addr().AsSlice())
		sum += 17 + len(udp)
		words(udp)
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		if sum != 0xffff {
			t.Errorf("%v: the receiver's sum %#04x, want 0xffff", tc.src, sum)
		}
	}
}

// A reply marked for its transmit timestamp (Replies.MarkTxTimestamp)
// leaves from the socket's transmit socket — the raw one of the public
// instance, the SO_REUSEPORT twin of a namespace's — whose error queue
// then holds its stamp, and the socket's own none; a reply not marked
// leaves from the socket, with no stamp anywhere. Both arrive from the
// socket's address and port.
func TestMarkedReplyLeavesFromTheTransmitSocket(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("raw sockets need root (CI=true)")
		}
		t.Skip("raw sockets need root")
	}
	t.Run("public", func(t *testing.T) {
		receiver := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}})
		testMarkedReply(t, vpninstance.Public, receiver, localAddr(t, receiver, vpninstance.Public, lo4))
	})
	t.Run("namespace", func(t *testing.T) {
		needNetAdmin(t)
		ns := newNetns(t, "mr")
		receiver := nsTransport(t, ns, netip.AddrPortFrom(lo4, 0))
		testMarkedReply(t, ns, receiver, localAddr(t, receiver, ns, lo4))
	})
}

func testMarkedReply(t *testing.T, vpn string, receiver *Transport, dst netip.AddrPort) {
	s, err := OpenSocket(vpn, netip.AddrPortFrom(lo4, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.txfd < 0 {
		t.Fatal("no transmit socket")
	}
	rc, err := s.conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	stamps := func(fd uintptr) (got []string) {
		frame, oob := make([]byte, MaxDatagram+128), make([]byte, oobSize)
		s.readTxReports(fd, 4, frame, oob, func(r Received) { got = append(got, string(r.Data)) })
		return got
	}
	for _, marked := range []bool{false, true} {
		payload := fmt.Sprintf("reply, marked %v", marked)
		r := newReplies(2)
		r.reset(true)
		if !r.Add([]byte(payload), dst, netip.Addr{}) {
			t.Fatal("Add refused the reply")
		}
		if marked {
			r.MarkTxTimestamp()
		}
		var sent, failed int
		if err := rc.Control(func(fd uintptr) { sent, failed, err = s.sendReplies(fd, r) }); err != nil || sent != 1 || failed != 0 {
			t.Fatalf("sendReplies: %d sent, %d failed, %v", sent, failed, err)
		}
		got := receiveKind(t, receiver, false)
		if string(got.Data) != payload || got.Src != s.LocalAddr() {
			t.Fatalf("got %q from %v, want %q from %v", got.Data, got.Src, payload, s.LocalAddr())
		}
		// The stamp is queued by now, or within a few ms (bounded).
		var onTx, onSocket []string
		for range 50 {
			onTx = append(onTx, stamps(uintptr(s.txfd))...)
			_ = rc.Control(func(fd uintptr) { onSocket = append(onSocket, stamps(fd)...) })
			if len(onTx)+len(onSocket) > 0 || !marked {
				break
			}
			time.Sleep(time.Millisecond)
		}
		want := []string(nil)
		if marked {
			want = []string{payload}
		}
		if !slices.Equal(onTx, want) || len(onSocket) != 0 {
			t.Errorf("marked %v: stamps on the transmit socket %q, on the socket %q; want %q and none", marked, onTx, onSocket, want)
		}
	}
}

// A stamped send that reads another datagram's transmit report from the
// transmit socket's queue while it looks for its own (here a marked
// reply's, queued before it) keeps that report for the reader, which
// delivers it before its next read, rather than dropping it.
func TestStampedSendKeepsOtherReportsForTheReader(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("raw sockets need root (CI=true)")
		}
		t.Skip("raw sockets need root")
	}
	receiver := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}})
	dst := localAddr(t, receiver, vpninstance.Public, lo4)
	s, err := OpenSocket(vpninstance.Public, netip.AddrPortFrom(lo4, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.txfd < 0 {
		t.Fatal("no transmit socket")
	}
	r := newReplies(1)
	r.reset(true)
	r.Add([]byte("marked reply"), dst, netip.Addr{})
	r.MarkTxTimestamp()
	rc, err := s.conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Control(func(fd uintptr) { _, _, err = s.sendReplies(fd, r) }); err != nil {
		t.Fatal(err)
	}
	// Its report is on the transmit socket's queue (bounded wait).
	fds := []unix.PollFd{{Fd: int32(s.txfd)}}
	if n, err := unix.Poll(fds, 1000); err != nil || n != 1 || fds[0].Revents&unix.POLLERR == 0 {
		t.Fatalf("no report of the reply queued: poll %d, %v, revents %#x", n, err, fds[0].Revents)
	}
	if _, err := s.send([]byte("stamped request"), dst, netip.Addr{}, true); err != nil {
		t.Fatal(err)
	}
	kept := s.takeTxReports()
	if len(kept) != 1 || string(kept[0].Data) != "marked reply" || !kept[0].Transmit || kept[0].Dst != dst {
		t.Fatalf("kept %+v, want the marked reply's report", kept)
	}
	for range 2 {
		receiveKind(t, receiver, false)
	}
}
