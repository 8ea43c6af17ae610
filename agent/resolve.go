package agent

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/ntpagent/ntpagent/datastore/rules"
)

// Resolver resolves the domain names of peers. *net.Resolver satisfies it
// (net.DefaultResolver honours /etc/hosts, then DNS).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// VPNLayer is a Resolver that answers some names itself and leaves the
// rest to another: given as Options.Resolver, it is layered over each named
// vpn-instance's own resolver too.
type VPNLayer interface {
	Resolver
	// InVPN returns the resolver for vpn-instance vpn, whose own resolver
	// is own.
	InVPN(vpn string, own Resolver) Resolver
}

// HostsResolver resolves names from a hosts file (hosts(5) format) read at
// every lookup, so that a test or a lab can point the agent at its own
// names without touching /etc/hosts. Names it does not list go to Fallback
// when set, otherwise they fail as not found. In a named vpn-instance
// (InVPN) the same file comes first and the instance's own resolver takes
// Fallback's place.
type HostsResolver struct {
	Path     string
	Fallback Resolver
}

// InVPN implements VPNLayer.
func (h HostsResolver) InVPN(_ string, own Resolver) Resolver {
	return HostsResolver{Path: h.Path, Fallback: own}
}

// ErrNotFound is returned for a name that has no address.
var ErrNotFound = errors.New("no such host")

// maxHostsFile bounds what HostsResolver reads.
const maxHostsFile = 1 << 20

// LookupNetIP implements Resolver. network is "ip", "ip4" or "ip6".
func (h HostsResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	data, err := os.ReadFile(h.Path)
	if err != nil {
		return nil, fmt.Errorf("hosts file: %w", err)
	}
	if len(data) > maxHostsFile {
		return nil, fmt.Errorf("hosts file %s: larger than %d bytes", h.Path, maxHostsFile)
	}
	want := strings.TrimSuffix(strings.ToLower(host), ".")
	var out []netip.Addr
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		for _, name := range f[1:] {
			if strings.TrimSuffix(strings.ToLower(name), ".") != want {
				continue
			}
			if network == "ip4" && !a.Unmap().Is4() || network == "ip6" && a.Unmap().Is4() {
				continue
			}
			out = append(out, a.Unmap())
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if h.Fallback != nil {
		return h.Fallback.LookupNetIP(ctx, network, host)
	}
	return nil, &net.DNSError{Err: ErrNotFound.Error(), Name: host, IsNotFound: true}
}

// pickAddress prefers a host address (rules.CheckHostAddress: not 0.0.0.0,
// multicast, broadcast…) and among those an IPv4 address (the common case
// of a dual-stacked name; an operator who wants IPv6 configures the
// address), and is stable. With no host address it picks as if all were,
// so that translate can say what the name resolved to.
func pickAddress(addrs []netip.Addr) netip.Addr {
	if a := pickFamily(addrs, true); a.IsValid() {
		return a
	}
	return pickFamily(addrs, false)
}

func pickFamily(addrs []netip.Addr, hostOnly bool) netip.Addr {
	var v6 netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		if hostOnly && rules.CheckHostAddress(a.String(), nil) != nil {
			continue
		}
		if a.Is4() {
			return a
		}
		if !v6.IsValid() && a.Zone() == "" {
			v6 = a
		}
	}
	return v6
}
