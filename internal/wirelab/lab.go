//go:build linux

package wirelab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine/netio"
)

// The lab's addresses, the same in every lab (each has its own namespaces),
// all inside 198.18.0.0/15 and on the namespaces' loopback devices.
var (
	// ClientAddr is where the measured clients send from (near).
	ClientAddr = netip.MustParseAddr("198.18.0.1")
	// LineAddr is where the delay lines take the clients' datagrams (near).
	LineAddr = netip.MustParseAddr("198.18.0.2")
	// FarLineAddr is where the delay lines reach the reference from (far).
	FarLineAddr = netip.MustParseAddr("198.19.0.2")
	// ReferenceAddr is the reference server's address (far).
	ReferenceAddr = netip.MustParseAddr("198.19.0.1")
)

// Lab is a pair of network namespaces made for one measurement: Near
// holds the clients and the delay lines' near ends, Far the reference and
// the far ends. No link joins them: only the delay lines carry datagrams
// from one to the other. Close deletes both.
type Lab struct {
	Near, Far string
}

// NewLab creates the namespaces "ntpwl-ID-near" and "ntpwl-ID-far" (it
// needs root and iproute2's ip), brings their loopback devices up and
// gives them the lab's addresses. On error it deletes what it made.
func NewLab(ctx context.Context, id string) (l *Lab, err error) {
	l = &Lab{Near: "ntpwl-" + id + "-near", Far: "ntpwl-" + id + "-far"}
	defer func() {
		if err != nil {
			l.Close()
			l = nil
		}
	}()
	for _, step := range [][]string{
		{"netns", "add", l.Near},
		{"netns", "add", l.Far},
		{"-n", l.Near, "link", "set", "lo", "up"},
		{"-n", l.Far, "link", "set", "lo", "up"},
		{"-n", l.Near, "addr", "add", ClientAddr.String() + "/32", "dev", "lo"},
		{"-n", l.Near, "addr", "add", LineAddr.String() + "/32", "dev", "lo"},
		{"-n", l.Far, "addr", "add", FarLineAddr.String() + "/32", "dev", "lo"},
		{"-n", l.Far, "addr", "add", ReferenceAddr.String() + "/32", "dev", "lo"},
	} {
		if err := ip(ctx, step...); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Close deletes the namespaces (also those a failed NewLab left).
func (l *Lab) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	for _, ns := range []string{l.Near, l.Far} {
		if err := ip(ctx, "netns", "del", ns); err != nil && !strings.Contains(err.Error(), "No such file") {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ListenUDP opens a UDP socket bound to addr inside namespace ns.
func (l *Lab) ListenUDP(ctx context.Context, ns string, addr netip.AddrPort) (*net.UDPConn, error) {
	return listenIn(ctx, ns, addr, nil)
}

// listenIn opens a UDP socket bound to addr inside namespace ns, with
// control run before the bind.
func listenIn(ctx context.Context, ns string, addr netip.AddrPort, control func(network, address string, c syscall.RawConn) error) (*net.UDPConn, error) {
	v, err := netio.FindVPN(ns, "")
	if err != nil {
		return nil, fmt.Errorf("wirelab: %w", err)
	}
	pc, err := v.ListenPacketControl(ctx, "udp4", addr.String(), control)
	if err != nil {
		return nil, fmt.Errorf("wirelab: %w", err)
	}
	return pc.(*net.UDPConn), nil
}

// NewDelayLine opens a delay line's sockets (near: LineAddr, a free port;
// far: FarLineAddr, a free port; each with a socket of its own to send
// from, ListenLineSockets) and starts it towards server in the far
// namespace.
func (l *Lab) NewDelayLine(ctx context.Context, server netip.AddrPort, p Path, seed uint64) (*DelayLine, error) {
	s, err := ListenLineSockets(ctx, netip.AddrPortFrom(LineAddr, 0), netip.AddrPortFrom(FarLineAddr, 0),
		func(ctx context.Context, addr netip.AddrPort, control func(network, address string, c syscall.RawConn) error) (*net.UDPConn, error) {
			ns := l.Near
			if addr.Addr() == FarLineAddr {
				ns = l.Far
			}
			return listenIn(ctx, ns, addr, control)
		})
	if err != nil {
		return nil, err
	}
	// Sinks on the addresses the line sends to, for its senders to warm
	// their send path on before every datagram (LineSockets.NearSink,
	// FarSink).
	s.NearSink, err = listenIn(ctx, l.Near, netip.AddrPortFrom(ClientAddr, 0), nil)
	if err == nil {
		s.FarSink, err = listenIn(ctx, l.Far, netip.AddrPortFrom(server.Addr(), 0), nil)
	}
	if err == nil {
		var dl *DelayLine
		if dl, err = NewDelayLine(s, server, p, seed); err == nil {
			return dl, nil
		}
	}
	for _, c := range []*net.UDPConn{s.Near, s.Far, s.NearOut, s.FarOut, s.NearSink, s.FarSink} {
		if c != nil {
			c.Close()
		}
	}
	return nil, err
}

func ip(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("wirelab: ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
