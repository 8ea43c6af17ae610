package netio

import (
	"encoding/binary"
	"net/netip"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rxRing is the receive side of one socket's reader: the message headers,
// buffers and address slots of one recvmmsg(2) (see recvmmsg(2)), set up
// once and reused, so that a read allocates nothing (golang.org/x/net's
// ReadBatch allocates a *net.UDPAddr per datagram).
type rxRing struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names [][unix.SizeofSockaddrInet6]byte // struct sockaddr_in or sockaddr_in6
	bufs  [][]byte                         // MaxDatagram each
	oobs  [][]byte                         // oobSize each
}

func newRxRing(n int) *rxRing {
	r := &rxRing{
		hdrs:  make([]unix.Mmsghdr, n),
		iovs:  make([]unix.Iovec, n),
		names: make([][unix.SizeofSockaddrInet6]byte, n),
		bufs:  make([][]byte, n),
		oobs:  make([][]byte, n),
	}
	for i := range n {
		r.bufs[i] = make([]byte, MaxDatagram)
		r.oobs[i] = make([]byte, oobSize)
		r.iovs[i].Base = &r.bufs[i][0]
		h := &r.hdrs[i].Hdr
		h.Name = &r.names[i][0]
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		h.Control = &r.oobs[i][0]
	}
	return r
}

// recv reads up to len(r.hdrs) datagrams from fd without blocking
// (MSG_DONTWAIT). The lengths recvmmsg(2) writes back (address, control
// data, payload) are reset before every call.
func (r *rxRing) recv(fd uintptr) (int, unix.Errno) {
	for i := range r.hdrs {
		h := &r.hdrs[i].Hdr
		h.Namelen = unix.SizeofSockaddrInet6
		h.SetControllen(oobSize)
		h.Flags = 0
		r.iovs[i].SetLen(MaxDatagram)
		r.hdrs[i].Len = 0
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(len(r.hdrs)),
		unix.MSG_DONTWAIT, 0, 0)
	runtime.KeepAlive(r)
	if errno != 0 {
		return 0, errno
	}
	return int(n), 0
}

// datagram returns datagram i of the last recv: payload, control data,
// sender, and whether it was truncated.
func (r *rxRing) datagram(i int) (data, oob []byte, from netip.AddrPort, truncated bool) {
	m := &r.hdrs[i]
	data = r.bufs[i][:min(int(m.Len), MaxDatagram)]
	oob = r.oobs[i][:min(int(m.Hdr.Controllen), oobSize)]
	truncated = m.Hdr.Flags&unix.MSG_TRUNC != 0
	from = parseSockaddr(r.names[i][:min(int(m.Hdr.Namelen), unix.SizeofSockaddrInet6)])
	return data, oob, from, truncated
}

// parseSockaddr reads a struct sockaddr_in or sockaddr_in6 (family in
// host order, port and address in network order); anything else is the
// zero AddrPort.
func parseSockaddr(b []byte) netip.AddrPort {
	if len(b) < 2 {
		return netip.AddrPort{}
	}
	switch binary.NativeEndian.Uint16(b[0:2]) {
	case unix.AF_INET:
		if len(b) < unix.SizeofSockaddrInet4 {
			return netip.AddrPort{}
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), binary.BigEndian.Uint16(b[2:4]))
	case unix.AF_INET6:
		if len(b) < unix.SizeofSockaddrInet6 {
			return netip.AddrPort{}
		}
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])), binary.BigEndian.Uint16(b[2:4]))
	}
	return netip.AddrPort{}
}
