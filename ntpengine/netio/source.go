package netio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// interfaceInfo is what source selection needs to know about an interface.
type interfaceInfo struct {
	name  string
	index int
	up    bool
	addrs []netip.Addr
}

// lookupInterface reads an interface and its addresses in the current
// network namespace (the calling thread's).
func lookupInterface(name string) (interfaceInfo, error) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return interfaceInfo{}, fmt.Errorf("%w: %w", ErrNoSuchInterface, err)
	}
	info := interfaceInfo{name: ifc.Name, index: ifc.Index, up: ifc.Flags&net.FlagUp != 0}
	addrs, err := ifc.Addrs()
	if err != nil {
		return interfaceInfo{}, fmt.Errorf("read addresses of %s: %w", name, err)
	}
	for _, a := range addrs {
		var ip net.IP
		switch a := a.(type) {
		case *net.IPNet:
			ip = a.IP
		case *net.IPAddr:
			ip = a.IP
		}
		if addr, ok := netip.AddrFromSlice(ip); ok {
			info.addrs = append(info.addrs, addr.Unmap())
		}
	}
	return info, nil
}

func familyName(a netip.Addr) string {
	if a.Unmap().Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// pickSource chooses the address of ifc that packets to peer leave from
// (a source-interface: the interface's address of the peer's family):
//   - IPv4: the first address not in 169.254/16, or a link-local one if the
//     peer is link-local too;
//   - IPv6 link-local peer: the interface's link-local address, zoned to it;
//   - other IPv6 peers: the first global-scope address (global unicast or
//     ULA), or ::1 for a loopback peer.
func pickSource(ifc interfaceInfo, peer netip.Addr) (netip.Addr, error) {
	peer = peer.Unmap()
	fail := func(reason string, err error) error {
		return &SourceError{Interface: ifc.name, Family: familyName(peer), Reason: reason, Err: err}
	}
	if !peer.IsValid() {
		return netip.Addr{}, fail("invalid peer address", ErrInvalidAddress)
	}
	if !ifc.up {
		return netip.Addr{}, fail("interface is down", ErrInterfaceDown)
	}
	var fallback netip.Addr
	for _, a := range ifc.addrs {
		switch {
		case peer.Is4():
			if !a.Is4() {
				continue
			}
			if !a.IsLinkLocalUnicast() || peer.IsLinkLocalUnicast() {
				return a, nil
			}
		case peer.IsLinkLocalUnicast():
			if a.Is6() && a.IsLinkLocalUnicast() {
				return a.WithZone(ifc.name), nil
			}
		default:
			if !a.Is6() {
				continue
			}
			if a.IsGlobalUnicast() && !a.IsLinkLocalUnicast() {
				return a, nil
			}
			if a.IsLoopback() && peer.IsLoopback() && !fallback.IsValid() {
				fallback = a
			}
		}
	}
	if fallback.IsValid() {
		return fallback, nil
	}
	switch {
	case peer.Is4():
		return netip.Addr{}, fail("no IPv4 address", ErrNoUsableAddress)
	case peer.IsLinkLocalUnicast():
		return netip.Addr{}, fail("no link-local IPv6 address for a link-local peer", ErrNoUsableAddress)
	default:
		return netip.Addr{}, fail("no global-scope IPv6 address", ErrNoUsableAddress)
	}
}

// SourceAddress returns the address of interface ifname, in the current
// network namespace, that packets to peer leave from. The error is a
// *SourceError.
func SourceAddress(ifname string, peer netip.Addr) (netip.Addr, error) {
	ifc, err := lookupInterface(ifname)
	if err != nil {
		reason := "no such interface"
		if !errors.Is(err, ErrNoSuchInterface) {
			reason = err.Error()
		}
		return netip.Addr{}, &SourceError{Interface: ifname, Family: familyName(peer), Reason: reason, Err: err}
	}
	return pickSource(ifc, peer)
}
