package netio

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// Transmit timestamps (Linux SO_TIMESTAMPING, Documentation/networking/
// timestamping.rst). A socket asks the kernel for a software transmit
// timestamp per datagram, with an SO_TIMESTAMPING control message on the
// send (SOF_TIMESTAMPING_TX_SOFTWARE), never for every datagram of the
// socket: server replies to plain clients then cost nothing more. The
// driver stamps the datagram as it hands it to the device and the kernel
// queues a copy of it (from its link-layer header on) with the timestamp
// on the socket's error queue (MSG_ERRQUEUE, SCM_TIMESTAMPING). The
// socket's reader drains that queue before each read of datagrams, so
// that a datagram's transmit report always comes before any reply to it,
// and delivers each report on the Received channel with Transmit set.
// The datagram is matched by its payload: the copy holds it whole
// (SOF_TIMESTAMPING_OPT_TSONLY is not set), and the engine knows which of
// its packets it is.

// txReportWindow is how long after a datagram asked for a transmit
// timestamp its socket's reader looks at the error queue before each read.
// The software timestamp is queued within microseconds of the send; a
// datagram the kernel drops before the driver never gets one, and the
// window keeps such a loss from costing a system call per read forever.
const txReportWindow = time.Second

// txStampFlags are the socket's SO_TIMESTAMPING flags: software receive
// timestamps, and the reporting of software timestamps (receive, and
// transmit where a datagram asks for one).
const txStampFlags = unix.SOF_TIMESTAMPING_RX_SOFTWARE | unix.SOF_TIMESTAMPING_SOFTWARE

// appendTxStampRequest appends the SO_TIMESTAMPING control message that
// asks for a software transmit timestamp of one datagram.
func appendTxStampRequest(b []byte) []byte {
	b = appendCmsgHeader(b, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, 4)
	var v [4]byte
	binary.NativeEndian.PutUint32(v[:], unix.SOF_TIMESTAMPING_TX_SOFTWARE)
	b = append(b, v[:]...)
	return padCmsg(b, 4)
}

// readTxReports drains the error queue of fd (a datagram socket) through
// buf (a frame: MaxDatagram and link, network and transport headers) and
// oob, calling report for each transmit timestamp read. Reading stops at EAGAIN, at
// another error, or after max messages (bounded: the queue fills while we
// read). Messages that are not transmit timestamps are skipped.
func (s *Socket) readTxReports(fd uintptr, max int, buf, oob []byte, report func(Received)) {
	for range max {
		n, oobn, flags, _, err := unix.Recvmsg(int(fd), buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		if flags&unix.MSG_TRUNC != 0 {
			continue
		}
		if r, ok := s.decodeTxReport(buf[:n], oob[:oobn]); ok {
			report(r)
		}
	}
}

// decodeTxReport builds the Received of one error-queue message: the UDP
// payload of the frame it carries, the destination it was sent to, and
// the software timestamp.
func (s *Socket) decodeTxReport(frame, oob []byte) (Received, bool) {
	var at time.Time
	stamped := false
	ne := binary.NativeEndian
	for len(oob) >= unix.SizeofCmsghdr {
		h, d, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			break
		}
		oob = rest
		switch {
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPING:
			at, stamped = parseTimespec(d)
		case (h.Level == unix.IPPROTO_IP && h.Type == unix.IP_RECVERR) ||
			(h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_RECVERR):
			// struct sock_extended_err: errno, origin, type, … —
			// anything but a transmit timestamp (SCM_TSTAMP_SND) is
			// not ours.
			if len(d) < 16 || d[4] != unix.SO_EE_ORIGIN_TIMESTAMPING || ne.Uint32(d[8:12]) != unix.SCM_TSTAMP_SND {
				return Received{}, false
			}
		}
	}
	if !stamped {
		return Received{}, false
	}
	dst, payload, ok := udpOfFrame(frame, s.Is4())
	if !ok {
		return Received{}, false
	}
	return Received{
		Data: append([]byte(nil), payload...), Dst: dst, Src: s.local, VPN: s.vpn,
		RxTime: at, KernelTimestamp: true, Transmit: true,
	}, true
}

// udpOfFrame finds the UDP datagram in a frame the error queue returns:
// an IPv4 or IPv6 packet, behind a link-layer header whose length depends
// on the device (14 octets for Ethernet and loopback, none for a tunnel).
// It returns the datagram's destination and payload.
func udpOfFrame(frame []byte, is4 bool) (netip.AddrPort, []byte, bool) {
	be := binary.BigEndian
	for _, off := range []int{14, 0, 16, 18, 4} { // Ethernet, none, Linux cooked, 802.1Q, tun
		if off >= len(frame) {
			continue
		}
		p := frame[off:]
		var dst netip.Addr
		var udp []byte
		switch {
		case is4 && len(p) >= 20 && p[0]>>4 == 4:
			ihl := int(p[0]&15) * 4
			if ihl < 20 || int(be.Uint16(p[2:4])) != len(p) || p[9] != unix.IPPROTO_UDP || len(p) < ihl+8 {
				continue
			}
			dst, udp = netip.AddrFrom4([4]byte(p[16:20])), p[ihl:]
		case !is4 && len(p) >= 48 && p[0]>>4 == 6:
			if int(be.Uint16(p[4:6])) != len(p)-40 || p[6] != unix.IPPROTO_UDP {
				continue
			}
			dst, udp = netip.AddrFrom16([16]byte(p[24:40])), p[40:]
		default:
			continue
		}
		if int(be.Uint16(udp[4:6])) != len(udp) {
			continue
		}
		return netip.AddrPortFrom(dst, be.Uint16(udp[2:4])), udp[8:], true
	}
	return netip.AddrPort{}, nil, false
}
