package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// Socket is one UDP socket of the NTP service, for one vpn-instance, one
// address family and one local address. Safe for concurrent use.
type Socket struct {
	vpn      string
	local    netip.AddrPort
	conn     *net.UDPConn
	p4       *ipv4.PacketConn
	p6       *ipv6.PacketConn
	kernelTS bool
	// txStamp: the kernel takes SO_TIMESTAMPING, so a datagram can ask
	// for its transmit timestamp (TxKernel).
	txStamp bool
	// txfd is the transmit socket's descriptor, from which stamped
	// datagrams are sent (txsocket_linux.go); −1 when there is none or
	// it is closed. Used under txMu's read lock, closed under its lock.
	txMu sync.RWMutex
	txfd int
	// txRaw: txfd is a raw socket that sends whole IP packets
	// (rawtx_linux.go: the public instance's), txHops the hop limit
	// (IPv4 TTL) they carry. Set when the socket opens.
	txRaw  bool
	txHops int
	// txOthers holds transmit reports that a stamped send read from the
	// transmit socket's error queue while looking for its own (a late
	// stamp of an earlier datagram, a marked reply's), for the reader to
	// deliver (at most txOthersMax).
	txOthersMu sync.Mutex
	txOthers   []Received
	// txUntil is when (Unix nanoseconds) the reader stops looking at the
	// error queue: txReportWindow after the last datagram that asked for
	// a transmit timestamp.
	txUntil atomic.Int64
}

// OpenSocket opens a socket for vpn-instance vpn (see Transport for what the
// name may mean) bound to local, e.g. 127.0.0.1:10123 or [::]:123. Port 0
// picks a free port.
func OpenSocket(vpn string, local netip.AddrPort) (*Socket, error) {
	inst, err := resolveVPN(vpn, DefaultNetnsDir)
	if err != nil {
		return nil, err
	}
	return openSocket(inst, local, false)
}

func openSocket(inst vpnInstance, local netip.AddrPort, reuseAddr bool) (*Socket, error) {
	if !local.IsValid() {
		return nil, fmt.Errorf("listen address %v: %w", local, ErrInvalidAddress)
	}
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	network := "udp6"
	if local.Addr().Is4() {
		network = "udp4"
	}
	device := ""
	if inst.kind == vpnDevice {
		device = inst.device
		reuseAddr = true // the public socket may hold the same port (see Transport)
	}
	kernelTS, txStamp, reusePort := false, false, false
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			// SO_TIMESTAMPING gives receive and (per datagram) transmit
			// timestamps. SO_TIMESTAMPNS as well: Linux turns receive
			// timestamping on for the whole host a moment after the
			// first socket asks (a deferred static key), and a datagram
			// that arrives unstamped before then is stamped when it is
			// read: no better than the time of the read, but never
			// missing.
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPING, txStampFlags) == nil {
				txStamp = true
				// For the transmit socket's group (openTxSocket), but
				// not in the public instance (txsocket_linux.go).
				reusePort = inst.kind != vpnPublic &&
					unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) == nil
			}
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) == nil || txStamp {
				kernelTS = true
			}
			if reuseAddr {
				if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
					serr = fmt.Errorf("SO_REUSEADDR: %w", err)
					return
				}
			}
			if device != "" {
				if err := unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, device); err != nil {
					serr = &VPNError{VPN: inst.name, Op: "bind to device " + device, Err: err}
				}
			}
		})
		return errors.Join(err, serr)
	}}
	var pc net.PacketConn
	err := inst.do(func() error {
		var err error
		pc, err = lc.ListenPacket(context.Background(), network, local.String())
		return err
	})
	if err != nil {
		var ve *VPNError
		if errors.As(err, &ve) {
			return nil, err
		}
		if inst.kind == vpnNamespace {
			return nil, &VPNError{VPN: inst.name, Op: "listen on " + local.String() + " in namespace", Err: err}
		}
		return nil, fmt.Errorf("vpn-instance %q: listen on %v: %w", inst.name, local, err)
	}
	conn := pc.(*net.UDPConn)
	s := &Socket{vpn: inst.name, conn: conn, kernelTS: kernelTS, txStamp: txStamp, txfd: -1}
	s.local = conn.LocalAddr().(*net.UDPAddr).AddrPort()
	s.local = netip.AddrPortFrom(s.local.Addr().Unmap(), s.local.Port())
	if reusePort {
		// Without it, stamped datagrams leave from the socket itself
		// and carry the cost of waking its reader (txsocket_linux.go).
		if fd, err := s.openTxSocket(inst, device, reuseAddr); err == nil {
			s.txfd = fd
		}
	}
	if inst.kind == vpnPublic && txStamp {
		// Its own kind of transmit socket (rawtx_linux.go); none
		// without CAP_NET_RAW.
		var fd, hops int
		if inst.do(func() (err error) { fd, hops, err = s.openRawTx(); return err }) == nil {
			s.txfd, s.txRaw, s.txHops = fd, true, hops
		}
	}
	if network == "udp4" {
		s.p4 = ipv4.NewPacketConn(conn)
		err = s.p4.SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true)
	} else {
		s.p6 = ipv6.NewPacketConn(conn)
		err = s.p6.SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("enable packet info on %v: %w", s.local, err)
	}
	return s, nil
}

// LocalAddr is the address and port the socket is bound to.
func (s *Socket) LocalAddr() netip.AddrPort { return s.local }

// VPN is the socket's vpn-instance.
func (s *Socket) VPN() string { return s.vpn }

// Is4 tells whether this is an IPv4 socket.
func (s *Socket) Is4() bool { return s.p4 != nil }

// KernelTimestamps tells whether the kernel stamps received datagrams.
func (s *Socket) KernelTimestamps() bool { return s.kernelTS }

// TxTimestamping tells how the transmit times of the socket's datagrams
// are taken.
func (s *Socket) TxTimestamping() TxTimestamping {
	if s.txStamp {
		return TxKernel
	}
	return TxUserSpace
}

// Close closes the socket; a blocked Receive returns net.ErrClosed.
func (s *Socket) Close() error {
	err := s.conn.Close()
	s.txMu.Lock()
	defer s.txMu.Unlock()
	if s.txfd >= 0 {
		err = errors.Join(err, unix.Close(s.txfd))
		s.txfd = -1
	}
	return err
}

// setReuseAddr sets SO_REUSEADDR on the bound socket so that a device-bound
// socket of the same port can be bound after it (Linux checks the flag on
// both sockets at bind time).
func (s *Socket) setReuseAddr() error {
	rc, err := s.conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	}); err != nil {
		return err
	}
	s.txMu.RLock()
	defer s.txMu.RUnlock()
	if s.txfd >= 0 && !s.txRaw && serr == nil {
		serr = unix.SetsockoptInt(s.txfd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	}
	return serr
}

// Receive blocks for one datagram and reads it into buf (Data aliases buf).
func (s *Socket) Receive(buf []byte) (Received, error) {
	oob := make([]byte, oobSize)
	n, oobn, flags, from, err := s.conn.ReadMsgUDPAddrPort(buf, oob)
	now := time.Now()
	if err != nil {
		return Received{}, err
	}
	if flags&unix.MSG_TRUNC != 0 {
		return Received{}, fmt.Errorf("from %v: %w", from, ErrTruncated)
	}
	return s.decode(buf[:n], oob[:oobn], from, now), nil
}

// decode builds a Received from one datagram.
func (s *Socket) decode(data, oob []byte, from netip.AddrPort, readTime time.Time) Received {
	c := parseControl(oob)
	r := Received{Data: data, IfIndex: c.ifIndex, VPN: s.vpn, RxTime: readTime}
	if c.hasTime {
		r.RxTime, r.KernelTimestamp = c.rxTime, true
	}
	src := from.Addr().Unmap()
	dst := c.dst
	if !dst.IsValid() {
		dst = s.local.Addr()
	}
	// Zones as interface indexes: a name would be looked up in the process's
	// own namespace, which is wrong for a socket opened in another one.
	if c.ifIndex > 0 {
		zone := strconv.Itoa(c.ifIndex)
		if src.Is6() && src.IsLinkLocalUnicast() {
			src = src.WithZone(zone)
		}
		if dst.Is6() && dst.IsLinkLocalUnicast() {
			dst = dst.WithZone(zone)
		}
	}
	r.Src = netip.AddrPortFrom(src, from.Port())
	r.Dst = netip.AddrPortFrom(dst, s.local.Port())
	return r
}

// Send sends payload to dst from source address src (the zero Addr lets the
// kernel choose). On a socket bound to a wildcard address the source is set
// per datagram with IP_PKTINFO / IPV6_PKTINFO; on a socket bound to one
// address, src must be that address or zero.
func (s *Socket) Send(payload []byte, dst netip.AddrPort, src netip.Addr) error {
	_, err := s.send(payload, dst, src, false)
	return err
}

// SendStamped is Send, also asking the kernel for the datagram's transmit
// timestamp where it can (see Sent).
func (s *Socket) SendStamped(payload []byte, dst netip.AddrPort, src netip.Addr) (Sent, error) {
	return s.send(payload, dst, src, s.txStamp)
}

func (s *Socket) send(payload []byte, dst netip.AddrPort, src netip.Addr, txStamp bool) (Sent, error) {
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	src = src.Unmap()
	if !dst.IsValid() || dst.Port() == 0 || dst.Addr().IsUnspecified() {
		return Sent{}, fmt.Errorf("send to %v: %w", dst, ErrInvalidAddress)
	}
	if dst.Addr().Is4() != s.Is4() || (src.IsValid() && src.Is4() != s.Is4()) {
		return Sent{}, fmt.Errorf("send to %v from %v on %v: %w", dst, src, s.local, ErrNoSocket)
	}
	if src.IsValid() && !s.local.Addr().IsUnspecified() {
		if src.WithZone("") != s.local.Addr().WithZone("") {
			return Sent{}, fmt.Errorf("send from %v on a socket bound to %v: %w", src, s.local, ErrNoSocket)
		}
		src = netip.Addr{} // bound: the kernel uses the bound address
	}
	var oobBuf [oobSize]byte
	oob := oobBuf[:0]
	switch {
	case !src.IsValid():
	case s.Is4():
		oob = appendPktinfo4(oob, src)
	default:
		oob = appendPktinfo6(oob, src)
	}
	sent := Sent{Timestamping: TxUserSpace}
	if txStamp {
		oob = appendTxStampRequest(oob)
		sent.Timestamping = TxKernel
	}
	if len(oob) == 0 {
		oob = nil
	}
	sent.At = time.Now()
	if txStamp {
		s.txUntil.Store(sent.At.Add(txReportWindow).UnixNano())
	}
	if at, ok, tried, err := s.sendTx(payload, oob, dst, src, txStamp); tried {
		if err != nil {
			return Sent{}, fmt.Errorf("send to %v from %v (vpn-instance %q): %w", dst, src, s.vpn, err)
		}
		if ok {
			sent.At, sent.Kernel = at, true
		}
		return sent, nil
	}
	if _, _, err := s.conn.WriteMsgUDPAddrPort(payload, oob, dst); err != nil {
		return Sent{}, fmt.Errorf("send to %v from %v (vpn-instance %q): %w", dst, src, s.vpn, err)
	}
	return sent, nil
}
