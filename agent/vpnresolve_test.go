package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/internal/vpninstance"
	"github.com/ntpagent/ntpagent/ntpengine"
	"github.com/ntpagent/ntpagent/ntpengine/netio"
)

func TestParseNameservers(t *testing.T) {
	def := defaultNameservers()
	for _, c := range []struct {
		name, conf string
		want       []string
	}{
		{"resolv.conf(5): nameserver lines, in order", "nameserver 198.18.0.53\nnameserver fd00::53\n", []string{"198.18.0.53:53", "[fd00::53]:53"}},
		{"other keywords and comments are ignored", "# nameserver 198.18.0.1\n; nameserver 198.18.0.2\nsearch example.test\noptions ndots:2\nnameserver 198.18.0.3 # third\n", []string{"198.18.0.3:53"}},
		{"resolv.conf(5): at most MAXNS (3) servers", "nameserver 198.18.0.1\nnameserver 198.18.0.2\nnameserver 198.18.0.3\nnameserver 198.18.0.4\n", []string{"198.18.0.1:53", "198.18.0.2:53", "198.18.0.3:53"}},
		{"addresses that do not parse are skipped", "nameserver dns.example.test\nnameserver\nnameserver 198.18.0.9\n", []string{"198.18.0.9:53"}},
		{"an IPv4-mapped address is IPv4", "nameserver ::ffff:198.18.0.7\n", []string{"198.18.0.7:53"}},
		{"a zone is kept", "nameserver fe80::1%eth0\n", []string{"[fe80::1%eth0]:53"}},
		{"resolv.conf(5): no nameserver is the local machine", "search example.test\n", []string{def[0].String(), def[1].String()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, s := range parseNameservers([]byte(c.conf)) {
				got = append(got, s.String())
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestReadNameserversMissingAndTooLarge(t *testing.T) {
	dir := t.TempDir()
	got, err := readNameservers(filepath.Join(dir, "missing"))
	if err != nil || !slices.Equal(got, defaultNameservers()) {
		t.Errorf("missing file: %v, %v; want the local machine", got, err)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, []byte("nameserver 198.18.0.1\n"+strings.Repeat("#", maxResolvConf)), 0o600)
	if _, err := readNameservers(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a file larger than %d bytes: %v", maxResolvConf, err)
	}
	if _, err := readNameservers(dir); err == nil {
		t.Error("a directory read as a resolv.conf")
	}
}

// Which files a vpn-instance's resolver reads: a namespace's own
// /etc/netns/NAME/resolv.conf and hosts when they exist (ip-netns(8)),
// otherwise the host's resolv.conf and no hosts file of its own; a device
// always the host's. The namespace is a plain file in a fake netns
// directory (FindVPN only looks whether it exists), so no root is needed.
func TestVPNResolverFiles(t *testing.T) {
	netnsDir, etc := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(netnsDir, "red"), nil, 0o600)
	hostConf := filepath.Join(t.TempDir(), "resolv.conf")
	v := VPNResolver{VPN: "red", NetnsDir: netnsDir, EtcNetns: etc, ResolvConf: hostConf}
	inst, err := netio.FindVPN("red", netnsDir)
	if err != nil || inst.Namespace() == "" {
		t.Fatalf("FindVPN: %v (namespace %q)", err, inst.Namespace())
	}
	check := func(what, wantConf, wantHosts string) {
		t.Helper()
		conf, hosts, err := v.files(inst)
		if err != nil || conf != wantConf || hosts != wantHosts {
			t.Errorf("%s: files = %q, %q, %v; want %q, %q", what, conf, hosts, err, wantConf, wantHosts)
		}
	}
	check("no /etc/netns/red: the host's resolv.conf", hostConf, "")
	os.Mkdir(filepath.Join(etc, "red"), 0o755)
	check("/etc/netns/red without files: the host's resolv.conf", hostConf, "")
	os.WriteFile(filepath.Join(etc, "red", "hosts"), []byte("198.18.0.1 a.test\n"), 0o600)
	check("hosts only", hostConf, filepath.Join(etc, "red", "hosts"))
	os.WriteFile(filepath.Join(etc, "red", "resolv.conf"), []byte("nameserver 198.18.0.53\n"), 0o600)
	check("both", filepath.Join(etc, "red", "resolv.conf"), filepath.Join(etc, "red", "hosts"))
	os.Remove(filepath.Join(etc, "red", "hosts"))
	os.Mkdir(filepath.Join(etc, "red", "hosts"), 0o755)
	if _, _, err := v.files(inst); err == nil {
		t.Error("a directory in place of /etc/netns/red/hosts was ignored")
	}

	dev, err := netio.FindVPN("lo", "")
	if err != nil {
		t.Fatal(err)
	}
	if conf, hosts, err := (VPNResolver{VPN: "lo", EtcNetns: etc, ResolvConf: hostConf}).files(dev); err != nil || conf != hostConf || hosts != "" {
		t.Errorf("device lo: files = %q, %q, %v; want the host's resolv.conf only", conf, hosts, err)
	}
	if _, err := (VPNResolver{VPN: "nosuch", NetnsDir: netnsDir}).LookupNetIP(context.Background(), "ip", "a.test"); !errors.Is(err, netio.ErrUnknownVPN) {
		t.Errorf("a vpn-instance that does not exist: %v", err)
	}
}

// dnsZone is what a test DNS server knows: lower-case FQDN (with the final
// dot) → addresses.
type dnsZone map[string][]netip.Addr

// serveDNS answers A and AAAA queries on pc from zone (RFC 1035 §4.1):
// authoritative answers, NXDOMAIN for names it does not know. It stops when
// the test ends.
func serveDNS(t *testing.T, pc net.PacketConn, zone dnsZone) {
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for range 10000 {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if reply, err := dnsAnswer(buf[:n], zone); err == nil {
				pc.WriteTo(reply, from)
			}
		}
	}()
}

func dnsAnswer(query []byte, zone dnsZone) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	addrs, known := zone[strings.ToLower(q.Name.String())]
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true,
		RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	for _, a := range addrs {
		rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
		switch {
		case a.Is4() && q.Type == dnsmessage.TypeA:
			err = b.AResource(rr, dnsmessage.AResource{A: a.As4()})
		case a.Is6() && q.Type == dnsmessage.TypeAAAA:
			err = b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
		if err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// dnsNamespace makes a network namespace (deleted when the test ends) with
// lo up and addrs on lo (the IPv6 ones local before it returns), and a DNS
// server for zone at 198.18.53.1:53 inside it.
func dnsNamespace(t *testing.T, name string, zone dnsZone, addrs ...string) {
	t.Helper()
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	testtool.IP(t, "netns", "add", name)
	testtool.IP(t, "-n", name, "link", "set", "lo", "up")
	for _, a := range append([]string{"198.18.53.1/32"}, addrs...) {
		args := []string{"-n", name, "addr", "add", a, "dev", "lo"}
		if strings.Contains(a, ":") {
			args = append(args, "nodad")
		}
		testtool.IP(t, args...)
	}
	for _, a := range addrs {
		if addr, _, _ := strings.Cut(a, "/"); strings.Contains(addr, ":") {
			testtool.WaitLocalRoute(t, 20*time.Second, name, addr)
		}
	}
	inst, err := netio.FindVPN(name, "")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := inst.ListenPacket(context.Background(), "udp", "198.18.53.1:53")
	if err != nil {
		t.Fatal(err)
	}
	serveDNS(t, pc, zone)
}

// etcNetns writes /etc/netns/NS/FILE for each file (the ip netns exec
// convention, read by VPNResolver by default) and removes them, and
// /etc/netns if the test made it and it is empty, when the test ends. NS is
// a namespace the test made: the host's own /etc/resolv.conf and /etc/hosts
// are never touched.
func etcNetns(t *testing.T, ns string, files map[string]string) {
	t.Helper()
	if ns == "" || strings.ContainsAny(ns, "/.") {
		t.Fatalf("bad namespace name %q", ns)
	}
	_, err := os.Stat(DefaultEtcNetns)
	madeRoot := errors.Is(err, fs.ErrNotExist)
	dir := filepath.Join(DefaultEtcNetns, ns)
	if _, err := os.Stat(dir); err == nil {
		t.Fatalf("%s already exists", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
		if madeRoot {
			os.Remove(DefaultEtcNetns) // fails, as it should, if anything else is in it
		}
	})
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func lookup(r Resolver, network, name string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, network, name)
	slices.SortFunc(addrs, netip.Addr.Compare)
	return addrs, err
}

func addrList(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// Domain peers of a vpn-instance are resolved in it. Two namespaces, red
// and blue, each run a DNS server at the same address, 198.18.53.1, that
// know the same name with different addresses. red has
// /etc/netns/red/resolv.conf and hosts; blue has neither, so its resolver
// reads the host's resolv.conf (a test file here) — and still asks from
// inside blue. The default namespace cannot resolve the name at all.
func TestVPNInstanceDNS(t *testing.T) {
	testtool.RequireRoot(t)
	testtool.Require(t, "ip")
	t.Parallel()
	id := os.Getpid() % 100000
	red, blue := fmt.Sprintf("ntpdns%d-r", id), fmt.Sprintf("ntpdns%d-b", id)
	name := fmt.Sprintf("peer-%d.vpn.ntpagent.test", id)
	both := fmt.Sprintf("both-%d.vpn.ntpagent.test", id)
	hostsOnly := fmt.Sprintf("hosts-%d.vpn.ntpagent.test", id)
	dnsNamespace(t, red, dnsZone{
		name + ".": addrList("198.18.53.2", "fd00:53::2"),
		both + ".": addrList("198.18.53.3"),
	}, "198.18.53.2/32", "fd00:53::1/128", "fd00:53::2/128")
	dnsNamespace(t, blue, dnsZone{name + ".": addrList("198.18.53.20")})
	etcNetns(t, red, map[string]string{
		"resolv.conf": "# the red instance's DNS\nnameserver 198.18.53.1\n",
		"hosts":       fmt.Sprintf("198.18.53.9 %s\n198.18.53.8 %s\n", hostsOnly, both),
	})
	tmp := t.TempDir()
	hostConf := filepath.Join(tmp, "resolv.conf")
	os.WriteFile(hostConf, []byte("nameserver 198.18.53.1\n"), 0o600)
	loopConf := filepath.Join(tmp, "loopback.conf")
	os.WriteFile(loopConf, []byte("nameserver 127.0.0.1\n"), 0o600)

	t.Run("namespace resolv.conf", func(t *testing.T) {
		r := VPNResolver{VPN: red}
		if got, err := lookup(r, "ip", name); err != nil || !slices.Equal(got, addrList("198.18.53.2", "fd00:53::2")) {
			t.Errorf("%s in %s: %v, %v", name, red, got, err)
		}
		if got, err := lookup(r, "ip6", strings.ToUpper(name)); err != nil || !slices.Equal(got, addrList("fd00:53::2")) {
			t.Errorf("%s (ip6) in %s: %v, %v", name, red, got, err)
		}
		_, err := lookup(r, "ip", "nosuch."+name)
		var de *net.DNSError
		if !errors.As(err, &de) || !de.IsNotFound || de.Server != "198.18.53.1:53" {
			t.Errorf("an unknown name in %s: %v, want not found from 198.18.53.1:53", red, err)
		}
		// The default namespace, asking its loopback (the host's own
		// resolv.conf may point anywhere; this test sends nothing off the
		// host): no such server or name there.
		if got, err := lookup(VPNResolver{VPN: vpninstance.Public, ResolvConf: loopConf}, "ip", name); err == nil {
			t.Errorf("%s resolved in the default namespace: %v", name, got)
		}
	})
	t.Run("namespace hosts file first", func(t *testing.T) {
		r := VPNResolver{VPN: red}
		if got, err := lookup(r, "ip", hostsOnly); err != nil || !slices.Equal(got, addrList("198.18.53.9")) {
			t.Errorf("%s from /etc/netns/%s/hosts: %v, %v", hostsOnly, red, got, err)
		}
		if got, err := lookup(r, "ip", both); err != nil || !slices.Equal(got, addrList("198.18.53.8")) {
			t.Errorf("%s: %v, %v; want the hosts file's 198.18.53.8 before DNS's", both, got, err)
		}
	})
	t.Run("no namespace resolv.conf: the host's, asked from inside", func(t *testing.T) {
		r := VPNResolver{VPN: blue, ResolvConf: hostConf}
		if got, err := lookup(r, "ip", name); err != nil || !slices.Equal(got, addrList("198.18.53.20")) {
			t.Errorf("%s in %s: %v, %v; want blue's own answer 198.18.53.20", name, blue, got, err)
		}
		if got, err := lookup(r, "ip", hostsOnly); err == nil {
			t.Errorf("red's hosts file answered in %s: %v", blue, got)
		}
	})
	t.Run("the next nameserver when one cannot be reached", func(t *testing.T) {
		// blue has no route to 198.18.99.1 (only lo): that server fails at
		// once, and the second, blue's own, answers.
		conf := filepath.Join(tmp, "two.conf")
		os.WriteFile(conf, []byte("nameserver 198.18.99.1\nnameserver 198.18.53.1\n"), 0o600)
		if got, err := lookup(VPNResolver{VPN: blue, ResolvConf: conf}, "ip4", name); err != nil || !slices.Equal(got, addrList("198.18.53.20")) {
			t.Errorf("%s in %s: %v, %v; want 198.18.53.20 from the second nameserver", name, blue, got, err)
		}
		conf = filepath.Join(tmp, "none.conf")
		os.WriteFile(conf, []byte("nameserver 198.18.99.1\nnameserver 198.18.99.2\n"), 0o600)
		_, err := lookup(VPNResolver{VPN: blue, ResolvConf: conf}, "ip4", name)
		if err == nil || !strings.Contains(err.Error(), "198.18.99.1:53") || !strings.Contains(err.Error(), "198.18.99.2:53") {
			t.Errorf("no reachable nameserver: %v; want both servers' errors", err)
		}
	})
	t.Run("the daemon's hosts file first, then the instance's DNS", func(t *testing.T) {
		lab := filepath.Join(tmp, "lab-hosts")
		os.WriteFile(lab, []byte("198.18.53.77 lab.ntpagent.test\n"), 0o600)
		r := HostsResolver{Path: lab, Fallback: VPNResolver{VPN: red}}
		if got, err := lookup(r, "ip", "lab.ntpagent.test"); err != nil || !slices.Equal(got, addrList("198.18.53.77")) {
			t.Errorf("lab name: %v, %v", got, err)
		}
		if got, err := lookup(r, "ip4", name); err != nil || !slices.Equal(got, addrList("198.18.53.2")) {
			t.Errorf("%s through the fallback: %v, %v", name, got, err)
		}
	})

	// An agent configured as the daemon with --hosts-file: its Resolver is
	// a hosts file (with no DNS behind it for the public instance, so that
	// the test asks no real DNS), and each named instance gets its own
	// resolver behind that file. Its domain peer in red gets red's address
	// from red's DNS and reaches an NTP peer (agent B) listening in red; a
	// name from the hosts file resolves in red too; the first name in the
	// public instance shows why it has no address.
	t.Run("agent", func(t *testing.T) {
		const scale = 8
		b, portB := startAgentOnFreePort(t, netip.IPv6Unspecified(), Options{Clock: fastClock(scale),
			OpenVPNs: []string{red}, Engine: ntpengine.Config{LocalStratum: 5}})
		labName := fmt.Sprintf("lab-%d.vpn.ntpagent.test", id)
		lab := filepath.Join(tmp, "agent-hosts")
		os.WriteFile(lab, []byte("198.18.53.77 "+labName+"\n"), 0o600)
		a, portA := startAgentOnFreePort(t, netip.IPv6Unspecified(), Options{Clock: fastClock(scale),
			Resolver:     HostsResolver{Path: lab},
			ResolveRetry: 200 * time.Millisecond})
		defer func() {
			if t.Failed() {
				t.Logf("A: %s\nB: %s", describeSessions(a.State()), describeSessions(b.State()))
			}
		}()
		a.apply(t, config(false, nil,
			peer{address: name, vpn: red, port: portB},
			peer{address: labName, vpn: red, port: portB},
			peer{address: name, vpn: vpninstance.Public, port: portB}))
		var inRed, labInRed, inPublic bool
		testtool.WaitFor(t, 20*time.Second, "the peer in red to resolve and answer", func() bool {
			for k, s := range a.State().GetNtp().GetSessions().Session {
				switch {
				case k.Address == name && k.VpnInstance == red:
					inRed = s.GetResolvedAddress() == "198.18.53.2" && s.GetReach() != 0
				case k.Address == labName && k.VpnInstance == red:
					labInRed = s.GetResolvedAddress() == "198.18.53.77"
				case k.Address == name && k.VpnInstance == vpninstance.Public:
					inPublic = strings.Contains(s.GetLastError(), "cannot resolve "+name)
				}
			}
			return inRed && labInRed && inPublic
		})
		heard := false
		for k, s := range b.State().GetNtp().GetSessions().Session {
			if k.VpnInstance == red && k.Address == "198.18.53.2" && k.Port == portA && s.GetPacketsReceived() > 0 {
				heard = true
			}
		}
		if !heard {
			t.Error("B did not hear A in red from 198.18.53.2")
		}
	})
}
