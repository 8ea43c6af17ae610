package rules

import (
	"fmt"
	"net/netip"
	"strings"
)

// AddressKind is how a configured peer address is written.
type AddressKind int

// The three forms of VRP's `ntp unicast-peer` command.
const (
	IPv4 AddressKind = iota + 1
	IPv6
	Domain
)

func (k AddressKind) String() string {
	switch k {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	case Domain:
		return "domain"
	}
	return "unknown"
}

// ClassifyAddress tells whether a peer address is an IPv4 address, an IPv6
// address or a domain name. A string that parses as an IP address is an
// address, never a name.
func ClassifyAddress(s string) (AddressKind, netip.Addr) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		if a.Is4() {
			return IPv4, a
		}
		return IPv6, a
	}
	return Domain, netip.Addr{}
}

var (
	refclockNet  = netip.MustParsePrefix("127.127.0.0/16")
	ipv4Multi    = netip.MustParsePrefix("224.0.0.0/4")
	ipv4Reserved = netip.MustParsePrefix("240.0.0.0/4")
	ipv4ThisNet  = netip.MustParsePrefix("0.0.0.0/8")
	ipv6Multi    = netip.MustParsePrefix("ff00::/8")
)

// CheckHostAddress returns nil when s may be the address of a symmetric peer:
// a host address, not a broadcast address (255.255.255.255 or the broadcast
// address of one of localPrefixes), not multicast, not unspecified and not a
// reference clock address 127.127.0.0/16. The error is a
// sentence for the operator.
func CheckHostAddress(s string, localPrefixes []netip.Prefix) error {
	return UnicastPeer.CheckHostAddress(s, localPrefixes)
}

// CheckHostAddress is the package's CheckHostAddress for an entry of l: the
// same rule for peers and servers, with the sentence naming which.
func (l AssociationList) CheckHostAddress(s string, localPrefixes []netip.Prefix) error {
	role := l.role()
	kind, a := ClassifyAddress(s)
	switch kind {
	case IPv4:
		switch {
		case a.IsUnspecified() || ipv4ThisNet.Contains(a):
			return fmt.Errorf("The %s address %s is not a host address: it is unspecified.", role, s)
		case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			return fmt.Errorf("The %s address %s is not a host address: it is the broadcast address.", role, s)
		case ipv4Multi.Contains(a):
			return fmt.Errorf("The %s address %s is not a host address: it is a multicast address.", role, s)
		case refclockNet.Contains(a):
			return fmt.Errorf("The %s address %s is not a host address: it is a reference clock address (127.127.0.0/16).", role, s)
		case ipv4Reserved.Contains(a):
			return fmt.Errorf("The %s address %s is not a host address: it is in the reserved range 240.0.0.0/4.", role, s)
		}
		for _, p := range localPrefixes {
			if p.Addr().Is4() && p.Bits() < 31 && p.Contains(a) && a == broadcastOf(p) {
				return fmt.Errorf("The %s address %s is not a host address: it is the broadcast address of the local subnet %s.", role, s, p.Masked())
			}
		}
	case IPv6:
		switch {
		case a.IsUnspecified():
			return fmt.Errorf("The %s address %s is not a host address: it is unspecified.", role, s)
		case ipv6Multi.Contains(a):
			return fmt.Errorf("The %s address %s is not a host address: it is a multicast address.", role, s)
		case a.Is4In6():
			return fmt.Errorf("The %s address %s is an IPv4-mapped IPv6 address: configure the IPv4 address %s instead.", role, s, a.Unmap())
		}
	case Domain:
		if strings.HasSuffix(strings.TrimSuffix(s, "."), ".") || s == "" {
			return fmt.Errorf("The %s domain name %q is not a valid host name.", role, s)
		}
		labels := strings.Split(strings.TrimSuffix(s, "."), ".")
		last := labels[len(labels)-1]
		if strings.Trim(last, "0123456789") == "" {
			// RFC 1123 §2.1: a top-level label is never all-numeric, so
			// "10.1.1.300" is a mistyped address, not a name.
			return fmt.Errorf("The %s domain name %q is not a valid host name: it looks like an IP address.", role, s)
		}
	}
	return nil
}

// broadcastOf returns the directed broadcast address of an IPv4 prefix.
func broadcastOf(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// CanonicalPeerAddress is the one spelling under which a peer address is
// stored, so that one peer is one list entry whichever interface wrote it: an
// IPv6 address in RFC 5952 form, a domain name in lower case (DNS names
// compare without case, RFC 4343), anything else unchanged. The XML codec
// applies the same forms through the address typedefs.
func CanonicalPeerAddress(s string) string {
	switch kind, a := ClassifyAddress(s); kind {
	case IPv6:
		return a.String()
	case Domain:
		return strings.ToLower(s)
	}
	return s
}
