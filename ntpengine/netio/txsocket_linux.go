package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The transmit socket.
//
// The kernel queues a datagram's transmit timestamp on its socket's error
// queue and wakes the socket's waiters from within the driver's transmit
// routine: after taking the timestamp and before the datagram goes on.
// Every socket of the service has a waiter — its reader, in the runtime's
// network poller — so waking it (another thread, often on another CPU: an
// inter-processor interrupt, which on a virtual machine is an exit to the
// hypervisor) put the datagram on its way 3–25 µs after the timestamp that
// was to say when it left, measured on this project's 2-core virtual
// machines on loopback. T1 then reads early by that much, and the sample
// offset (RFC 5905 §8) high by half of it. chronyd waits on no socket
// while it sends (one thread); the agent sends its stamped datagrams the
// same way: from a second socket bound to the same address and port that
// nobody waits on, and reads its timestamp right after the send call.
//
// The two sockets are an SO_REUSEPORT group whose classic BPF program
// (SO_ATTACH_REUSEPORT_CBPF) hands every datagram that arrives to the
// group's first socket, the one the reader reads: the transmit socket
// only sends. Linux admits to the group only sockets of the same user,
// and the program steers every datagram to the first socket whatever
// else joins.
//
// Only the sockets of namespace and device vpn-instances have one. The
// public instance's sockets share their port with the device-bound
// sockets of VRF vpn-instances, and Linux's UDP lookup returns the first
// SO_REUSEPORT group it meets on the port without scoring the sockets
// after it: a public group met first would take the datagrams that
// arrive on a VRF device from its more specific socket (seen in
// TestDeviceVPNOverlappingAddresses). The public instance's sockets have
// a raw socket instead (rawtx_linux.go), which takes part in no UDP
// lookup.

// openTxSocket opens s's transmit socket in inst (bound to the device, as
// s is, where device is set) and returns its descriptor, taken out of the
// runtime's network poller. s's socket must have SO_REUSEPORT set.
func (s *Socket) openTxSocket(inst vpnInstance, device string, reuseAddr bool) (int, error) {
	if err := SteerToFirst(s.conn); err != nil {
		return -1, err
	}
	network := "udp6"
	if s.local.Addr().Is4() {
		network = "udp4"
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = errors.Join(
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPING, txStampFlags),
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1))
			if reuseAddr {
				serr = errors.Join(serr, unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1))
			}
			if device != "" {
				serr = errors.Join(serr, unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, device))
			}
		})
		return errors.Join(err, serr)
	}}
	var pc net.PacketConn
	if err := inst.do(func() error {
		var err error
		pc, err = lc.ListenPacket(context.Background(), network, s.local.String())
		return err
	}); err != nil {
		return -1, err
	}
	return Detach(pc.(*net.UDPConn))
}

// SteerToFirst attaches to the SO_REUSEPORT group of c (its first socket)
// a classic BPF program that returns index 0, the group's first socket,
// for every datagram that arrives.
func SteerToFirst(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	prog := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF,
			&unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]})
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("SO_ATTACH_REUSEPORT_CBPF: %w", serr)
	}
	return nil
}

// Detach returns a duplicate of c's descriptor and closes c, which takes
// the socket out of the runtime's network poller: no thread ever waits
// on it (a transmit timestamp then wakes nobody). The caller closes the
// descriptor.
func Detach(c *net.UDPConn) (int, error) {
	defer c.Close()
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(f uintptr) { fd, derr = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, fmt.Errorf("duplicate a socket: %w", derr)
	}
	return fd, nil
}

// txStampWait bounds how long a stamped send on the transmit socket waits
// for its timestamp when the kernel did not queue it within the send call
// (a device whose queue holds the datagram): a later one comes as a
// report on the Received channel, drained by the reader.
const txStampWait = time.Millisecond

// sendTx sends a datagram that asks for its transmit timestamp (txStamp)
// from the transmit socket, when s has one, and says so (tried): see
// txSendLocked. It sends payload to dst (from src, where the caller chose
// it: oob then says so too) with control data oob and reads its transmit
// timestamp: at once (the loopback device and most drivers stamp within
// the send call) or, waiting at most txStampWait, after it (on this
// project's virtual machines, Linux 6.18, about one stamp in a hundred on
// loopback came 50 µs to 1.5 ms after the call returned). ok is false
// when there is none yet.
func (s *Socket) sendTx(payload, oob []byte, dst netip.AddrPort, src netip.Addr, txStamp bool) (at time.Time, ok, tried bool, err error) {
	if !txStamp {
		return time.Time{}, false, false, nil
	}
	s.txMu.RLock()
	defer s.txMu.RUnlock()
	if tried, err = s.txSendLocked(payload, oob, dst, src); !tried || err != nil {
		return time.Time{}, false, tried, err
	}
	at, ok = s.txStampLocked(dst, payload)
	return at, ok, true, nil
}

// txSendLocked sends payload to dst (from src, where the caller chose it)
// with control data oob from the transmit socket, when s has one and dst
// needs no zone, and says so (tried). A raw transmit socket
// (rawtx_linux.go) does not try a destination other than unicast, nor
// one it finds no source address for, and a send it fails leaves the
// datagram to the socket itself (not tried): what fails there is the
// socket's to report. The caller holds txMu's read lock.
func (s *Socket) txSendLocked(payload, oob []byte, dst netip.AddrPort, src netip.Addr) (tried bool, err error) {
	if s.txfd < 0 || dst.Addr().Zone() != "" {
		return false, nil
	}
	data, sa := payload, sockaddrOf(dst)
	if s.txRaw {
		packet, to, ok := s.rawPacket(payload, dst, src)
		if !ok {
			return false, nil
		}
		data, sa = packet, to
	}
	for {
		_, err = unix.SendmsgN(s.txfd, data, oob, sa, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil && s.txRaw {
		return false, nil
	}
	return true, err
}

// txStampLocked reads the transmit timestamp of payload, just sent to dst
// from the transmit socket, waiting at most txStampWait; ok is false when
// it has not come. The caller holds txMu's read lock.
func (s *Socket) txStampLocked(dst netip.AddrPort, payload []byte) (at time.Time, ok bool) {
	frame, roob := make([]byte, MaxDatagram+128), make([]byte, oobSize)
	deadline := time.Now().Add(txStampWait)
	for {
		var r Received
		s.readTxReports(uintptr(s.txfd), 4, frame, roob, func(got Received) {
			if string(got.Data) == string(payload) && got.Dst == dst {
				r = got
			} else {
				s.keepTxReport(got)
			}
		})
		if !r.RxTime.IsZero() {
			return r.RxTime, true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return time.Time{}, false
		}
		// The timestamp comes later (a device queue holds the
		// datagram): wait for it. Only now is there a waiter on the
		// socket, and this datagram alone may pay its wake-up.
		fds := []unix.PollFd{{Fd: int32(s.txfd), Events: 0}}
		if _, err := unix.Poll(fds, int(max(1, left.Milliseconds()))); err != nil && err != unix.EINTR {
			return time.Time{}, false
		}
	}
}

// keepTxReport keeps r, a transmit report that is not the one being
// looked for, for the reader (takeTxReports): dropped, its datagram's
// transmit time would be lost (a server's interleaved reply would then go
// out in basic mode). At most txOthersMax wait; more are dropped.
func (s *Socket) keepTxReport(r Received) {
	s.txOthersMu.Lock()
	defer s.txOthersMu.Unlock()
	if len(s.txOthers) < txOthersMax {
		s.txOthers = append(s.txOthers, r)
	}
}

// takeTxReports returns the reports keepTxReport kept, and forgets them.
func (s *Socket) takeTxReports() []Received {
	s.txOthersMu.Lock()
	defer s.txOthersMu.Unlock()
	rs := s.txOthers
	s.txOthers = nil
	return rs
}

// txOthersMax bounds the reports kept for the reader.
const txOthersMax = 64
