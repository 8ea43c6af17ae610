package netio

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Replies collects the replies to one read, at most one per datagram read.
// They are kept as the message headers of one sendmmsg(2), set up once.
type Replies struct {
	is4   bool
	n     int
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names [][unix.SizeofSockaddrInet6]byte // struct sockaddr_in or sockaddr_in6
	bufs  [][]byte                         // each of capacity MaxDatagram
	srcs  []netip.Addr
	dsts  []netip.AddrPort
	oobs  [][]byte // each of capacity oobSize
	// tx marks the replies whose kernel transmit timestamp is asked for
	// (MarkTxTimestamp).
	tx []bool
}

func newReplies(n int) *Replies {
	r := &Replies{
		hdrs: make([]unix.Mmsghdr, n), iovs: make([]unix.Iovec, n), names: make([][unix.SizeofSockaddrInet6]byte, n),
		bufs: make([][]byte, n), srcs: make([]netip.Addr, n), dsts: make([]netip.AddrPort, n), oobs: make([][]byte, n),
		tx: make([]bool, n),
	}
	for i := range n {
		r.bufs[i] = make([]byte, 0, MaxDatagram)
		r.oobs[i] = make([]byte, 0, oobSize)
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
	if r.n >= len(r.hdrs) {
		return nil
	}
	return r.bufs[r.n][:0]
}

// Add queues a reply of data to dst, leaving from src: the address the
// request came to (zero: the kernel chooses). It reports false, adding
// nothing, when there is no room, data is empty or larger than
// MaxDatagram, or dst is not a unicast address and port of the socket's
// family.
func (r *Replies) Add(data []byte, dst netip.AddrPort, src netip.Addr) bool {
	if r.n >= len(r.hdrs) || len(data) > MaxDatagram || len(data) == 0 {
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
	r.dsts[i] = netip.AddrPortFrom(a, dst.Port())
	r.srcs[i] = src
	r.tx[i] = false
	r.n++
	return true
}

// MarkTxTimestamp asks the kernel for the transmit timestamp of the reply
// added last, where the socket can have one (TxKernel): it comes on the
// Received channel, Transmit set, at the latest before the next datagram
// the socket reads within txReportWindow. The reply leaves from the
// socket's transmit socket, where it has one (txsocket_linux.go). A reply
// that is not marked costs no error-queue read.
func (r *Replies) MarkTxTimestamp() {
	if r.n > 0 {
		r.tx[r.n-1] = true
	}
}

// Payload returns reply i (0 ≤ i < Len) as it will be sent, to be
// completed in place by a ReplyFinisher.
func (r *Replies) Payload(i int) []byte { return r.bufs[i] }

// header fills message header i for sendmmsg(2): the payload, the
// destination as a struct sockaddr_in / sockaddr_in6 (a link-local
// destination's zone is its interface index) and the control message
// that sets the source address, if any.
func (r *Replies) header(i int, oob []byte) {
	h := &r.hdrs[i]
	*h = unix.Mmsghdr{}
	r.iovs[i].Base = &r.bufs[i][0]
	r.iovs[i].SetLen(len(r.bufs[i]))
	h.Hdr.Iov = &r.iovs[i]
	h.Hdr.SetIovlen(1)
	name := &r.names[i]
	*name = [unix.SizeofSockaddrInet6]byte{}
	dst := r.dsts[i]
	if r.is4 {
		binary.NativeEndian.PutUint16(name[0:2], unix.AF_INET)
		binary.BigEndian.PutUint16(name[2:4], dst.Port())
		a := dst.Addr().As4()
		copy(name[4:8], a[:])
		h.Hdr.Namelen = unix.SizeofSockaddrInet4
	} else {
		binary.NativeEndian.PutUint16(name[0:2], unix.AF_INET6)
		binary.BigEndian.PutUint16(name[2:4], dst.Port())
		a := dst.Addr().As16()
		copy(name[8:24], a[:])
		binary.NativeEndian.PutUint32(name[24:28], zoneIndex(dst.Addr().Zone()))
		h.Hdr.Namelen = unix.SizeofSockaddrInet6
	}
	h.Hdr.Name = &name[0]
	if len(oob) > 0 {
		h.Hdr.Control = &oob[0]
		h.Hdr.SetControllen(len(oob))
	}
}

// zoneIndex is the interface index of an IPv6 zone: the zones of received
// datagrams are numeric (see Received); a name is looked up in the
// process's namespace.
func zoneIndex(zone string) uint32 {
	if zone == "" {
		return 0
	}
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n)
	}
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	return 0
}

// batch is the reusable state of one socket's reader: receive buffers for
// recvmmsg(2), the decoded datagrams and the replies.
type batch struct {
	ring    *rxRing
	rs      []Received
	handled []bool
	out     *Replies
	// txFrame and txOob receive the error queue's transmit reports.
	txFrame, txOob []byte
}

func newBatch(n int) *batch {
	return &batch{ring: newRxRing(n), rs: make([]Received, 0, n), handled: make([]bool, n), out: newReplies(n),
		txFrame: make([]byte, MaxDatagram+128), txOob: make([]byte, oobSize)}
}

// readLoop reads s until it is closed: each read (one recvmmsg(2)) is
// decoded into b.rs, whose Data alias b's buffers, and handed to handle
// with the socket's descriptor (for sendReplies) and the number of
// datagrams too large (dropped). While datagrams sent may still have
// transmit timestamps to report (txUntil), the error queue is drained
// into tx before each read, so that a datagram's report comes before the
// reply to it. When the socket has nothing to read, the reader waits in
// the runtime's network poller (a report queued wakes it too: the error
// queue makes the socket ready). It returns nil when handle returns
// false, net.ErrClosed when the socket is closed, or the error of a
// failed read.
func (s *Socket) readLoop(b *batch, handle func(fd uintptr, truncated int) bool, tx func(Received)) error {
	rc, err := s.conn.SyscallConn()
	if err != nil {
		return err
	}
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		// Bounded: every round reads at least one datagram, or returns.
		for {
			if s.txUntil.Load() > time.Now().UnixNano() {
				s.readTxReports(fd, cap(b.rs), b.txFrame, b.txOob, tx)
				// A timestamp the transmit socket's send did
				// not wait for (sendTx), or that another send
				// read while waiting for its own, or of a
				// reply sent from it (sendReplies).
				for _, r := range s.takeTxReports() {
					tx(r)
				}
				s.txMu.RLock()
				if s.txfd >= 0 {
					s.readTxReports(uintptr(s.txfd), cap(b.rs), b.txFrame, b.txOob, tx)
				}
				s.txMu.RUnlock()
			}
			n, errno := b.ring.recv(fd)
			switch errno {
			case 0:
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // wait for the socket to be readable
			default:
				rerr = os.NewSyscallError("recvmmsg", errno)
				return true
			}
			now := time.Now()
			b.rs = b.rs[:0]
			truncated := 0
			for i := range n {
				data, oob, from, trunc := b.ring.datagram(i)
				switch {
				case trunc:
					truncated++
				case from.IsValid():
					b.rs = append(b.rs, s.decode(data, oob, from, now))
				}
			}
			if !handle(fd, truncated) {
				return true
			}
		}
	})
	if err != nil {
		return err
	}
	return rerr
}

// sendReplies sends r on fd (the socket's descriptor, inside a read of
// the socket) with sendmmsg(2), each from its source address: on a socket
// bound to a wildcard address with IP_PKTINFO / IPV6_PKTINFO, on a socket
// bound to one address from that address (a reply whose source is another
// one is not sent). A reply marked for its transmit timestamp leaves from
// the transmit socket instead, where s has one. It returns how many left
// and the last error; a datagram the kernel refuses is skipped, the
// others still go.
func (s *Socket) sendReplies(fd uintptr, r *Replies) (sent, failed int, err error) {
	wildcard := s.local.Addr().IsUnspecified()
	k := 0
	for i := range r.n {
		src := r.srcs[i]
		var oob []byte
		switch {
		case !src.IsValid():
		case !wildcard:
			if src.WithZone("") != s.local.Addr().WithZone("") {
				failed++
				err = fmt.Errorf("reply from %v on a socket bound to %v: %w", src, s.local, ErrNoSocket)
				continue
			}
		case r.is4:
			oob = appendPktinfo4(r.oobs[i][:0], src)
		default:
			oob = appendPktinfo6(r.oobs[i][:0], src)
		}
		if r.tx[i] && s.txStamp {
			if oob == nil {
				oob = r.oobs[i][:0]
			}
			oob = appendTxStampRequest(oob)
			s.txUntil.Store(time.Now().Add(txReportWindow).UnixNano())
			// From the transmit socket, where there is one: its T3
			// is the stamp, which the reader's wake-up would make
			// early (txsocket_linux.go). Its report comes through
			// the reader's drain, as from this socket.
			s.txMu.RLock()
			tried, terr := s.txSendLocked(r.bufs[i], oob, r.dsts[i], src)
			s.txMu.RUnlock()
			switch {
			case tried && terr == nil:
				sent++
				continue
			case tried:
				failed++
				err = fmt.Errorf("reply to %v (vpn-instance %q): %w", r.dsts[i], s.vpn, terr)
				continue
			}
		}
		r.header(i, oob)
		if k != i {
			r.hdrs[k] = r.hdrs[i] // its pointers still lead to reply i's buffers
			r.dsts[k] = r.dsts[i]
		}
		k++
	}
	hdrs := r.hdrs[:k]
	dsts := r.dsts[:k]
	// Bounded: every round sends at least one datagram or skips one.
	for len(hdrs) > 0 {
		// A raw system call: the socket is non-blocking, so this never
		// waits, and the runtime does not hand the reader's P to another
		// thread while it runs (which costs two context switches).
		n, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), unix.MSG_DONTWAIT, 0, 0)
		runtime.KeepAlive(r)
		if errno == unix.EINTR {
			continue
		}
		if errno == 0 && n > 0 {
			sent += int(n)
			hdrs, dsts = hdrs[n:], dsts[n:]
			continue
		}
		var werr error = errno
		if errno == 0 {
			werr = fmt.Errorf("sendmmsg sent nothing")
		}
		failed++
		err = fmt.Errorf("reply to %v (vpn-instance %q): %w", dsts[0], s.vpn, os.NewSyscallError("sendmmsg", werr))
		hdrs, dsts = hdrs[1:], dsts[1:]
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
