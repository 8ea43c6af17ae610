package agent

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine/netio"
)

// Where VPNResolver looks by default.
const (
	// DefaultResolvConf is the host's resolver configuration (resolv.conf(5)).
	DefaultResolvConf = "/etc/resolv.conf"
	// DefaultEtcNetns holds per-namespace configuration files: `ip netns
	// exec NAME` shows /etc/netns/NAME/resolv.conf and /etc/netns/NAME/hosts,
	// when they exist, in place of the host's (ip-netns(8)).
	DefaultEtcNetns = "/etc/netns"
)

// maxResolvConf bounds what is read of a resolv.conf.
const maxResolvConf = 64 << 10

// maxNameservers is resolv.conf(5)'s MAXNS: later nameserver lines are
// ignored.
const maxNameservers = 3

// VPNResolver resolves names the way a host resolves them inside one
// vpn-instance, with Go's own DNS client (net.Resolver with PreferGo) whose
// sockets are opened in the instance (netio.VPNInstance.DialContext):
//
//   - a network-namespace instance NAME asks the nameservers of
//     EtcNetns/NAME/resolv.conf when that file exists, else those of
//     ResolvConf, from sockets inside the namespace; names listed in
//     EtcNetns/NAME/hosts, when it exists, are answered from it first —
//     what a command run with `ip netns exec NAME` sees;
//   - a device (VRF) instance asks the nameservers of ResolvConf from
//     sockets bound to the device (SO_BINDTODEVICE);
//   - _public_ asks those of ResolvConf from the default namespace.
//
// The files are read at every lookup. Each nameserver (at most three, in
// file order; 127.0.0.1 and ::1 when there is none, as resolv.conf(5)
// says) is asked in turn, with an equal share of the time left, until one
// answers; an answer that the name does not exist ends the lookup.
//
// Go's DNS client takes its options (search, ndots, timeout, attempts) and
// its hosts-file lookup from the host's /etc/resolv.conf and /etc/hosts; only
// the nameservers and the namespace's hosts file are the instance's own.
type VPNResolver struct {
	// VPN is the vpn-instance ("" is _public_).
	VPN string
	// NetnsDir is where named network namespaces live (netio's default
	// when empty).
	NetnsDir string
	// EtcNetns is DefaultEtcNetns when empty.
	EtcNetns string
	// ResolvConf is DefaultResolvConf when empty.
	ResolvConf string
}

// LookupNetIP implements Resolver. network is "ip", "ip4" or "ip6".
func (v VPNResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	inst, err := netio.FindVPN(v.VPN, v.NetnsDir)
	if err != nil {
		return nil, err
	}
	resolvConf, hosts, err := v.files(inst)
	if err != nil {
		return nil, err
	}
	servers, err := readNameservers(resolvConf)
	if err != nil {
		return nil, err
	}
	var dns Resolver = instanceDNS{inst: inst, servers: servers}
	if hosts != "" {
		dns = HostsResolver{Path: hosts, Fallback: dns}
	}
	return dns.LookupNetIP(ctx, network, host)
}

// files returns the resolv.conf to read and the hosts file to consult
// first ("" for none) for inst.
func (v VPNResolver) files(inst netio.VPNInstance) (resolvConf, hosts string, err error) {
	resolvConf = v.ResolvConf
	if resolvConf == "" {
		resolvConf = DefaultResolvConf
	}
	if inst.Namespace() == "" {
		return resolvConf, "", nil
	}
	dir := v.EtcNetns
	if dir == "" {
		dir = DefaultEtcNetns
	}
	dir = filepath.Join(dir, inst.Name())
	if ok, err := exists(filepath.Join(dir, "resolv.conf")); err != nil {
		return "", "", err
	} else if ok {
		resolvConf = filepath.Join(dir, "resolv.conf")
	}
	if ok, err := exists(filepath.Join(dir, "hosts")); err != nil {
		return "", "", err
	} else if ok {
		hosts = filepath.Join(dir, "hosts")
	}
	return resolvConf, hosts, nil
}

// exists tells whether path exists; an error other than its absence (a
// directory in the way, no permission) is returned, not taken for absence.
func exists(path string) (bool, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("resolver configuration: %w", err)
	case st.IsDir():
		return false, fmt.Errorf("resolver configuration: %s is a directory", path)
	}
	return true, nil
}

// readNameservers returns the nameservers of a resolv.conf(5) file (port
// 53), or 127.0.0.1 and ::1 when it lists none or does not exist.
func readNameservers(path string) ([]netip.AddrPort, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return defaultNameservers(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("resolver configuration: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxResolvConf+1))
	if err != nil {
		return nil, fmt.Errorf("resolver configuration %s: %w", path, err)
	}
	if len(data) > maxResolvConf {
		return nil, fmt.Errorf("resolver configuration %s: larger than %d bytes", path, maxResolvConf)
	}
	return parseNameservers(data), nil
}

// parseNameservers reads the "nameserver ADDRESS" lines of a resolv.conf;
// everything else (options, search, comments after '#' or ';', addresses
// that do not parse) is ignored, as the C library does.
func parseNameservers(data []byte) []netip.AddrPort {
	var out []netip.AddrPort
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxResolvConf)
	for sc.Scan() && len(out) < maxNameservers {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(f[1])
		if err != nil {
			continue
		}
		out = append(out, netip.AddrPortFrom(a.Unmap(), 53))
	}
	if len(out) == 0 {
		return defaultNameservers()
	}
	return out
}

func defaultNameservers() []netip.AddrPort {
	return []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:53"), netip.MustParseAddrPort("[::1]:53")}
}

// instanceDNS asks servers, from sockets in inst, with Go's DNS client.
type instanceDNS struct {
	inst    netio.VPNInstance
	servers []netip.AddrPort
}

func (d instanceDNS) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	var errs []error
	for i, server := range d.servers {
		sctx, cancel := ctx, context.CancelFunc(func() {})
		if deadline, ok := ctx.Deadline(); ok {
			share := time.Until(deadline) / time.Duration(len(d.servers)-i)
			sctx, cancel = context.WithTimeout(ctx, share)
		}
		// Go's client dials the nameservers of the host's resolv.conf;
		// every dial goes to this server instead, inside the instance.
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.inst.DialContext(ctx, network, server.String())
		}}
		addrs, err := r.LookupNetIP(sctx, network, host)
		cancel()
		if err == nil {
			return addrs, nil
		}
		var de *net.DNSError
		if errors.As(err, &de) {
			// Name the server really asked, not the host's.
			named := *de
			named.Server = server.String()
			err = &named
			if de.IsNotFound {
				return nil, err
			}
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	// One line (a session's last error shows it), each error kept for
	// errors.Is/As.
	return nil, fmt.Errorf(strings.TrimSuffix(strings.Repeat("%w; ", len(errs)), "; "), anys(errs)...)
}

func anys(errs []error) []any {
	out := make([]any, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}
