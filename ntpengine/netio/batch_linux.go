package netio

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// Responder answers datagrams on a socket's reader goroutine, a whole read
// (one recvmmsg(2)) at a time, so that a server reply costs no channel hop
// and no goroutine switch, and the replies of a read leave in one
// sendmmsg(2). Set it in Config.Responder.
type Responder interface {
	// Respond is called with the datagrams of one read. Their Data alias
	// the reader's buffers and are valid only during the call. For each
	// datagram it answers (or drops on purpose) it sets handled[i]; the
	// others are copied and delivered on the Received channel as usual.
	// Replies are added with out.Add: they leave from the socket that
	// read the batch, from the address given (the request's Dst).
	// Respond must not block: every socket's reader calls it.
	Respond(in []Received, handled []bool, out *Replies)
}

// Replies collects the replies to one read, at most one per datagram read.
type Replies struct {
	is4   bool
	n     int
	ms    []ipv4.Message // the same type as ipv6.Message
	bufs  [][]byte       // each of capacity MaxDatagram
	addrs []net.UDPAddr
	ips   [][16]byte
	srcs  []netip.Addr
	oobs  [][]byte
}

func newReplies(n int) *Replies {
	r := &Replies{
		ms: make([]ipv4.Message, n), bufs: make([][]byte, n), addrs: make([]net.UDPAddr, n),
		ips: make([][16]byte, n), srcs: make([]netip.Addr, n), oobs: make([][]byte, n),
	}
	for i := range n {
		r.bufs[i] = make([]byte, 0, MaxDatagram)
		r.oobs[i] = make([]byte, 0, oobSize)
		r.ms[i].Buffers = make([][]byte, 1)
	}
	return r
}

func (r *Replies) reset(is4 bool) {
	r.is4 = is4
	r.n = 0
}

// Len is the number of replies added.
func (r *Replies) Len() int { return r.n }

// Buffer returns the buffer of the next reply (length 0, capacity
// MaxDatagram) to build it in place, or nil when no room is left. Passing
// it (filled) to Add costs no copy.
func (r *Replies) Buffer() []byte {
	if r.n >= len(r.ms) {
		return nil
	}
	return r.bufs[r.n][:0]
}

// Add queues a reply of data to dst, leaving from src: the address the
// request came to (zero: the kernel chooses). It reports false, adding
// nothing, when there is no room, data is larger than MaxDatagram, or dst
// is not a unicast address and port of the socket's family.
func (r *Replies) Add(data []byte, dst netip.AddrPort, src netip.Addr) bool {
	if r.n >= len(r.ms) || len(data) > MaxDatagram {
		return false
	}
	a := dst.Addr().Unmap()
	src = src.Unmap()
	if !a.IsValid() || dst.Port() == 0 || a.IsUnspecified() || a.IsMulticast() || a.Is4() != r.is4 ||
		(src.IsValid() && src.Is4() != r.is4) {
		return false
	}
	i := r.n
	r.bufs[i] = append(r.bufs[i][:0], data...) // a no-op copy when data is Buffer()
	r.ms[i].Buffers[0] = r.bufs[i]
	ua := &r.addrs[i]
	if r.is4 {
		b := a.As4()
		copy(r.ips[i][:4], b[:])
		ua.IP = r.ips[i][:4]
	} else {
		r.ips[i] = a.As16()
		ua.IP = r.ips[i][:]
	}
	ua.Port, ua.Zone = int(dst.Port()), a.Zone()
	r.ms[i].Addr = ua
	r.srcs[i] = src
	r.n++
	return true
}

// batch is the reusable state of one socket's reader: receive buffers for
// recvmmsg(2), the decoded datagrams and the replies.
type batch struct {
	ms      []ipv4.Message // the same type as ipv6.Message
	rs      []Received
	handled []bool
	out     *Replies
}

func newBatch(n int) *batch {
	b := &batch{ms: make([]ipv4.Message, n), rs: make([]Received, 0, n), handled: make([]bool, n), out: newReplies(n)}
	for i := range b.ms {
		b.ms[i].Buffers = [][]byte{make([]byte, MaxDatagram)}
		b.ms[i].OOB = make([]byte, oobSize)
	}
	return b
}

// readBatch blocks until at least one datagram is there and decodes what
// one recvmmsg(2) read into b.rs, whose Data alias b's buffers. It returns
// how many datagrams were too large (dropped).
func (s *Socket) readBatch(b *batch) (truncated int, err error) {
	var n int
	if s.p4 != nil {
		n, err = s.p4.ReadBatch(b.ms, 0)
	} else {
		n, err = s.p6.ReadBatch(b.ms, 0)
	}
	now := time.Now()
	b.rs = b.rs[:0]
	if err != nil {
		return 0, err
	}
	for i := range n {
		m := &b.ms[i]
		if m.Flags&unix.MSG_TRUNC != 0 {
			truncated++
			continue
		}
		ua, ok := m.Addr.(*net.UDPAddr)
		if !ok {
			continue
		}
		b.rs = append(b.rs, s.decode(m.Buffers[0][:m.N], m.OOB[:m.NN], ua.AddrPort(), now))
	}
	return truncated, nil
}

// sendReplies sends r with sendmmsg(2), each from its source address: on
// a socket bound to a wildcard address with IP_PKTINFO / IPV6_PKTINFO, on
// a socket bound to one address from that address (a reply whose source
// is another one is not sent). It returns how many left and the last
// error; a datagram the kernel refuses is skipped, the others still go.
func (s *Socket) sendReplies(r *Replies) (sent, failed int, err error) {
	wildcard := s.local.Addr().IsUnspecified()
	k := 0
	for i := range r.n {
		src := r.srcs[i]
		switch {
		case !src.IsValid():
			r.ms[i].OOB = nil
		case !wildcard:
			if src.WithZone("") != s.local.Addr().WithZone("") {
				failed++
				err = fmt.Errorf("reply from %v on a socket bound to %v: %w", src, s.local, ErrNoSocket)
				continue
			}
			r.ms[i].OOB = nil
		case r.is4:
			r.ms[i].OOB = appendPktinfo4(r.oobs[i][:0], src)
		default:
			r.ms[i].OOB = appendPktinfo6(r.oobs[i][:0], src)
		}
		r.ms[k], r.ms[i] = r.ms[i], r.ms[k]
		k++
	}
	ms := r.ms[:k]
	// Bounded: every round sends at least one datagram or skips one.
	for len(ms) > 0 {
		var n int
		var werr error
		if s.p4 != nil {
			n, werr = s.p4.WriteBatch(ms, 0)
		} else {
			n, werr = s.p6.WriteBatch(ms, 0)
		}
		if n > 0 {
			sent += n
			ms = ms[n:]
			continue
		}
		if werr == nil {
			werr = fmt.Errorf("sendmmsg sent nothing")
		}
		failed++
		err = fmt.Errorf("reply to %v (vpn-instance %q): %w", ms[0].Addr, s.vpn, werr)
		ms = ms[1:]
	}
	return sent, failed, err
}

// appendPktinfo4 appends an IP_PKTINFO control message (struct in_pktinfo:
// ifindex 0, spec_dst src) that sets the source address of a datagram.
func appendPktinfo4(b []byte, src netip.Addr) []byte {
	b = appendCmsgHeader(b, unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo)
	var pi [unix.SizeofInet4Pktinfo]byte
	a := src.As4()
	copy(pi[4:8], a[:])
	b = append(b, pi[:]...)
	return padCmsg(b, unix.SizeofInet4Pktinfo)
}

// appendPktinfo6 appends an IPV6_PKTINFO control message (struct
// in6_pktinfo: addr src, ifindex 0).
func appendPktinfo6(b []byte, src netip.Addr) []byte {
	b = appendCmsgHeader(b, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, unix.SizeofInet6Pktinfo)
	var pi [unix.SizeofInet6Pktinfo]byte
	a := src.WithZone("").As16()
	copy(pi[0:16], a[:])
	b = append(b, pi[:]...)
	return padCmsg(b, unix.SizeofInet6Pktinfo)
}

func appendCmsgHeader(b []byte, level, typ int32, dataLen int) []byte {
	ne := binary.NativeEndian
	var hb [unix.SizeofCmsghdr]byte
	n := uint64(unix.CmsgLen(dataLen))
	if unix.SizeofCmsghdr == 16 { // 64-bit: size_t len, int level, int type
		ne.PutUint64(hb[0:8], n)
		ne.PutUint32(hb[8:12], uint32(level))
		ne.PutUint32(hb[12:16], uint32(typ))
	} else { // 32-bit
		ne.PutUint32(hb[0:4], uint32(n))
		ne.PutUint32(hb[4:8], uint32(level))
		ne.PutUint32(hb[8:12], uint32(typ))
	}
	b = append(b, hb[:]...)
	return padCmsg(b, 0)
}

// padCmsg pads b after dataLen bytes of data to the alignment of control
// messages.
func padCmsg(b []byte, dataLen int) []byte {
	for range unix.CmsgSpace(dataLen) - unix.CmsgLen(dataLen) {
		b = append(b, 0)
	}
	return b
}
