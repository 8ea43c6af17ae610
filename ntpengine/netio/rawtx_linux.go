package netio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// The public instance's transmit socket.
//
// A namespace or device vpn-instance sends its stamped datagrams from an
// SO_REUSEPORT twin of its socket (txsocket_linux.go). The public
// instance cannot have one: VRF sockets share its port. It sends them
// instead from a raw socket of protocol IPPROTO_RAW (raw(7)), which
// receives nothing (no datagram carries that protocol number), so that
// it costs nothing per datagram the host receives, and no thread waits
// on it: its transmit timestamps wake nobody. The socket builds each
// datagram itself, IP header included (IP_HDRINCL, which IPPROTO_RAW
// implies; IPV6_HDRINCL, set for IPv6): the socket's address and port as
// source (or the address the route to the destination gives a socket
// bound to the wildcard address, as the kernel would), the UDP checksum
// over the pseudo-header (RFC 768; RFC 8200 §8.1), the UDP socket's
// default hop limit. The datagram is the one the UDP socket would have
// sent: same addresses, ports and payload, so peers and firewalls see no
// difference. Raw sockets need CAP_NET_RAW; without it (an unprivileged
// agent) the public instance's stamped datagrams leave from the socket
// itself.

// openRawTx opens the raw transmit socket of s, a socket of the public
// instance (in the calling thread's network namespace), and returns its
// descriptor and the hop limit (IPv4 TTL) its datagrams carry.
func (s *Socket) openRawTx() (fd, hops int, err error) {
	family, level, opt := unix.AF_INET6, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS
	if s.local.Addr().Is4() {
		family, level, opt = unix.AF_INET, unix.IPPROTO_IP, unix.IP_TTL
	}
	rc, err := s.conn.SyscallConn()
	if err != nil {
		return -1, 0, err
	}
	// What the UDP socket uses unless set on it: the system's default
	// (net.ipv4.ip_default_ttl, net.ipv6.conf.all.hop_limit). An
	// interface's own IPv6 hop limit (a router advertisement's) is not
	// followed.
	var gerr error
	if err := rc.Control(func(f uintptr) { hops, gerr = unix.GetsockoptInt(int(f), level, opt) }); err != nil {
		return -1, 0, err
	}
	if gerr != nil || hops <= 0 || hops > 255 {
		hops = 64
	}
	fd, err = unix.Socket(family, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return -1, 0, fmt.Errorf("raw socket: %w", err)
	}
	if family == unix.AF_INET6 {
		err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_HDRINCL, 1)
	}
	if err == nil {
		err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, txStampFlags)
	}
	if err != nil {
		unix.Close(fd)
		return -1, 0, fmt.Errorf("raw socket: %w", err)
	}
	return fd, hops, nil
}

// rawDatagram builds the IP packet of a UDP datagram from src to dst
// carrying payload, with hop limit (IPv4 TTL) hops: an IPv4 header of 20
// octets with Don't Fragment set, as Linux sends UDP by default (path MTU
// discovery), the kernel filling in its identification, total length
// and checksum (raw(7)); or an IPv6 header of 40 octets; then the UDP
// header with its checksum.
func rawDatagram(src, dst netip.AddrPort, payload []byte, hops int) ([]byte, error) {
	be := binary.BigEndian
	udpLen := 8 + len(payload)
	if udpLen > 0xffff {
		return nil, fmt.Errorf("datagram of %d octets: %w", len(payload), unix.EMSGSIZE)
	}
	var p []byte
	if src.Addr().Is4() {
		p = make([]byte, 20, 20+udpLen)
		p[0] = 4<<4 | 5
		be.PutUint16(p[2:4], uint16(20+udpLen))
		be.PutUint16(p[6:8], 0x4000) // DF
		p[8], p[9] = byte(hops), unix.IPPROTO_UDP
		s4, d4 := src.Addr().As4(), dst.Addr().As4()
		copy(p[12:16], s4[:])
		copy(p[16:20], d4[:])
	} else {
		p = make([]byte, 40, 40+udpLen)
		p[0] = 6 << 4
		be.PutUint16(p[4:6], uint16(udpLen))
		p[6], p[7] = unix.IPPROTO_UDP, byte(hops)
		s16, d16 := src.Addr().As16(), dst.Addr().As16()
		copy(p[8:24], s16[:])
		copy(p[24:40], d16[:])
	}
	h := len(p)
	p = be.AppendUint16(p, src.Port())
	p = be.AppendUint16(p, dst.Port())
	p = be.AppendUint16(p, uint16(udpLen))
	p = append(p, 0, 0)
	p = append(p, payload...)
	be.PutUint16(p[h+6:h+8], udpChecksum(src.Addr(), dst.Addr(), p[h:]))
	return p, nil
}

// udpChecksum is the checksum of the UDP datagram udp (its checksum field
// zero) from src to dst: the one's complement of the one's complement sum
// of the pseudo-header (RFC 768; RFC 8200 §8.1 for IPv6) and the datagram,
// 0xffff where that is 0 (RFC 768: zero means no checksum, which IPv6
// forbids).
func udpChecksum(src, dst netip.Addr, udp []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		add(s[:])
		add(d[:])
	} else {
		s, d := src.As16(), dst.As16()
		add(s[:])
		add(d[:])
	}
	sum += unix.IPPROTO_UDP + uint32(len(udp))
	add(udp)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	c := ^uint16(sum)
	if c == 0 {
		c = 0xffff
	}
	return c
}

// routeSource is the address a UDP socket bound to the wildcard address
// sends from to dst: the preferred source of the route to it, found by
// connecting a socket of the calling thread's namespace (connect(2) on a
// datagram socket sends nothing).
func routeSource(dst netip.AddrPort) (netip.Addr, error) {
	family := unix.AF_INET6
	if dst.Addr().Is4() {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return netip.Addr{}, err
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, sockaddrOf(dst)); err != nil {
		return netip.Addr{}, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.Addr{}, err
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(a.Addr), nil
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(a.Addr), nil
	}
	return netip.Addr{}, errors.New("route source: not an IP address")
}

// sockaddrOf is dst as a socket address.
func sockaddrOf(dst netip.AddrPort) unix.Sockaddr {
	if dst.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(dst.Port()), Addr: dst.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(dst.Port()), Addr: dst.Addr().As16()}
}

// rawPacket is the IP packet the raw transmit socket sends for payload
// to dst (from src, where the caller chose it), and the socket address it
// is sent to (port 0: raw sockets have none); ok is false where the
// socket itself should send it: a destination not unicast, a source with
// a zone, no route.
func (s *Socket) rawPacket(payload []byte, dst netip.AddrPort, src netip.Addr) (packet []byte, to unix.Sockaddr, ok bool) {
	d := dst.Addr()
	if d.IsMulticast() || d.IsUnspecified() || d == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return nil, nil, false
	}
	if !src.IsValid() {
		src = s.local.Addr()
	}
	if src.IsUnspecified() {
		var err error
		if src, err = routeSource(dst); err != nil {
			return nil, nil, false
		}
	}
	if src.Zone() != "" || src.Is4() != d.Is4() {
		return nil, nil, false
	}
	packet, err := rawDatagram(netip.AddrPortFrom(src, s.local.Port()), dst, payload, s.txHops)
	if err != nil {
		return nil, nil, false
	}
	return packet, sockaddrOf(netip.AddrPortFrom(d, 0)), true
}
