package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// VPNInstance is a vpn-instance as FindVPN found it on this host: the
// default namespace, a device (SO_BINDTODEVICE) or a network namespace. It
// lets other code open its own sockets in the instance the way the NTP
// sockets of that instance are opened — the agent's DNS client, which asks
// a peer's name of the instance's own nameservers.
type VPNInstance struct{ inst vpnInstance }

// FindVPN looks up what vpn-instance name means now: _public_
// (or "") is the default namespace; a device of that name in the current
// namespace (a VRF, or any net device) is bound to; otherwise
// netnsDir/NAME is a network namespace (DefaultNetnsDir when netnsDir is
// empty). A name that is none of these gives a *VPNError wrapping
// ErrUnknownVPN.
func FindVPN(name, netnsDir string) (VPNInstance, error) {
	if netnsDir == "" {
		netnsDir = DefaultNetnsDir
	}
	inst, err := resolveVPN(name, netnsDir)
	if err != nil {
		return VPNInstance{}, err
	}
	return VPNInstance{inst: inst}, nil
}

// Name is the vpn-instance's name (_public_ for the default namespace).
func (v VPNInstance) Name() string { return v.inst.name }

// Namespace is the network namespace file of a namespace instance, "" for
// _public_ and device instances.
func (v VPNInstance) Namespace() string { return v.inst.nsPath }

// Device is the device a device instance binds its sockets to, "" for
// _public_ and namespace instances.
func (v VPNInstance) Device() string { return v.inst.device }

// DialContext connects like net.Dialer.DialContext, with the socket opened
// in the vpn-instance: inside its network namespace, or bound to its
// device. network is "udp", "udp4", "udp6", "tcp", "tcp4" or "tcp6";
// address is an IP literal and a port ("198.18.0.53:53", "[fd00::53]:53"):
// a name would be resolved outside the instance, so it is refused with
// ErrInvalidAddress.
func (v VPNInstance) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if err := checkNetwork(network, address); err != nil {
		return nil, &VPNError{VPN: v.inst.name, Op: "dial " + network + " " + address, Err: err}
	}
	d := net.Dialer{Control: v.bindControl()}
	var c net.Conn
	err := v.inst.do(func() error {
		var err error
		c, err = d.DialContext(ctx, network, address)
		return err
	})
	if err != nil {
		return nil, &VPNError{VPN: v.inst.name, Op: v.where(), Err: err}
	}
	return c, nil
}

// ListenPacket opens a UDP socket in the vpn-instance, like
// net.ListenConfig.ListenPacket; address is an IP literal and a port (port
// 0 picks a free one). network is "udp", "udp4" or "udp6".
func (v VPNInstance) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	return v.ListenPacketControl(ctx, network, address, nil)
}

// ListenPacketControl is ListenPacket with control run on the socket
// before it is bound (as net.ListenConfig's Control), inside the
// instance, after what the instance itself sets.
func (v VPNInstance) ListenPacketControl(ctx context.Context, network, address string, control func(network, address string, c syscall.RawConn) error) (net.PacketConn, error) {
	err := checkNetwork(network, address)
	if err == nil && network != "udp" && network != "udp4" && network != "udp6" {
		err = net.UnknownNetworkError(network)
	}
	if err != nil {
		return nil, &VPNError{VPN: v.inst.name, Op: "listen " + network + " " + address, Err: err}
	}
	lc := net.ListenConfig{Control: v.bindControl()}
	if control != nil {
		bind := lc.Control
		lc.Control = func(network, address string, c syscall.RawConn) error {
			if bind != nil {
				if err := bind(network, address, c); err != nil {
					return err
				}
			}
			return control(network, address, c)
		}
	}
	var pc net.PacketConn
	err = v.inst.do(func() error {
		var err error
		pc, err = lc.ListenPacket(ctx, network, address)
		return err
	})
	if err != nil {
		return nil, &VPNError{VPN: v.inst.name, Op: v.where(), Err: err}
	}
	return pc, nil
}

// where says where the instance's sockets are opened, for errors (the
// net package's error names the operation and the address).
func (v VPNInstance) where() string {
	switch v.inst.kind {
	case vpnNamespace:
		return "socket in namespace " + v.inst.nsPath
	case vpnDevice:
		return "socket bound to device " + v.inst.device
	default:
		return "socket"
	}
}

// checkNetwork accepts the UDP and TCP networks and an IP literal with a
// port: the address must not need a name lookup, which would happen in the
// caller's namespace and on goroutines outside the instance's thread.
func checkNetwork(network, address string) error {
	switch network {
	case "udp", "udp4", "udp6", "tcp", "tcp4", "tcp6":
	default:
		return net.UnknownNetworkError(network)
	}
	if _, err := netip.ParseAddrPort(address); err != nil {
		return fmt.Errorf("%q is not an IP address and port: %w", address, ErrInvalidAddress)
	}
	return nil
}

// bindControl binds a device instance's socket to its device before it
// connects or binds, so that its route lookups use the device's (the VRF's)
// table; nil for the other kinds.
func (v VPNInstance) bindControl() func(string, string, syscall.RawConn) error {
	if v.inst.kind != vpnDevice {
		return nil
	}
	dev := v.inst.device
	return func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			if err := unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, dev); err != nil {
				serr = fmt.Errorf("bind to device %s: %w", dev, err)
			}
		})
		return errors.Join(err, serr)
	}
}
