package agent

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/ntpengine"
)

// lab is two network namespaces joined by a veth pair, made and removed by
// the test:
//
//	ns a: veth 198.18.1.1/24 fd00:1::1/64, veth src0 198.18.2.1/32 fd00:2::1/128
//	ns b: veth 198.18.1.2/24 fd00:1::2/64, routes to 198.18.2.0/24 and
//	      fd00:2::/64 via ns a
//	ns c: only lo: no route to anything
type lab struct {
	a, b, c string // namespace names (also the vpn-instance names)
}

// newLab makes the lab; it returns once the IPv6 addresses are local in
// their namespaces.
func newLab(t testing.TB) *lab {
	t.Helper()
	testtool.RequireRoot(t)
	testtool.Require(t, "ip")
	id := os.Getpid() % 100000
	l := &lab{a: fmt.Sprintf("ntpat%d-a", id), b: fmt.Sprintf("ntpat%d-b", id), c: fmt.Sprintf("ntpat%d-c", id)}
	va, vb := fmt.Sprintf("nta%d", id), fmt.Sprintf("ntb%d", id)
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", l.a).Run()
		exec.Command("ip", "netns", "del", l.b).Run()
		exec.Command("ip", "netns", "del", l.c).Run()
	})
	testtool.IP(t, "netns", "add", l.c)
	testtool.IP(t, "-n", l.c, "link", "set", "lo", "up")
	testtool.IP(t, "netns", "add", l.a)
	testtool.IP(t, "netns", "add", l.b)
	testtool.IP(t, "link", "add", va, "netns", l.a, "type", "veth", "peer", "name", vb, "netns", l.b)
	testtool.IP(t, "-n", l.a, "link", "set", "lo", "up")
	testtool.IP(t, "-n", l.b, "link", "set", "lo", "up")
	testtool.IP(t, "-n", l.a, "addr", "add", "198.18.1.1/24", "dev", va)
	testtool.IP(t, "-n", l.b, "addr", "add", "198.18.1.2/24", "dev", vb)
	testtool.IP(t, "-n", l.a, "addr", "add", "fd00:1::1/64", "dev", va, "nodad")
	testtool.IP(t, "-n", l.b, "addr", "add", "fd00:1::2/64", "dev", vb, "nodad")
	testtool.IP(t, "-n", l.a, "link", "set", va, "up")
	testtool.IP(t, "-n", l.b, "link", "set", vb, "up")
	// src0: one end of a veth pair kept inside ns a (no dummy driver
	// needed), an interface whose addresses only serve as sources.
	testtool.IP(t, "-n", l.a, "link", "add", "src0", "type", "veth", "peer", "name", "src0p")
	testtool.IP(t, "-n", l.a, "link", "set", "src0p", "up")
	testtool.IP(t, "-n", l.a, "addr", "add", "198.18.2.1/32", "dev", "src0")
	testtool.IP(t, "-n", l.a, "addr", "add", "fd00:2::1/128", "dev", "src0", "nodad")
	testtool.IP(t, "-n", l.a, "link", "set", "src0", "up")
	testtool.IP(t, "-n", l.b, "route", "add", "198.18.2.0/24", "via", "198.18.1.1")
	testtool.IP(t, "-n", l.b, "-6", "route", "add", "fd00:2::/64", "via", "fd00:1::1")
	testtool.WaitLocalRoute(t, 20*time.Second, l.a, "fd00:1::1")
	testtool.WaitLocalRoute(t, 20*time.Second, l.b, "fd00:1::2")
	testtool.WaitLocalRoute(t, 20*time.Second, l.a, "fd00:2::1")
	return l
}

// Two agents whose NTP sockets live in two network namespaces (each one's
// vpn-instance is named after its namespace): A peers with B over IPv4 and
// IPv6, with and without a source-interface, and through a domain name
// resolved from the test's own hosts file. B sees each packet come from the
// address A was told to use. The same peer address in the public
// vpn-instance does not reach B, and an unresolvable name says so.
//
// The phases use one address family at a time: B serves its own clock
// (local stratum 5) and would otherwise see A's reference id (B's address
// of the other family) as no loop — a known limit of RFC 5905's reference
// id loop test with dual-stacked peers.
func TestNamespacesTwoAgents(t *testing.T) {
	l := newLab(t)
	testtool.IP(t, "-n", l.b, "addr", "add", "198.18.1.3/24", "dev", fmt.Sprintf("ntb%d", os.Getpid()%100000))
	t.Parallel()
	const scale = 8
	b, portB := startAgentOnFreePort(t, netip.IPv6Unspecified(), Options{Clock: fastClock(scale),
		OpenVPNs: []string{l.b}, Engine: ntpengine.Config{LocalStratum: 5}})
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("# test hosts\n198.18.1.3 peer-b.ntpagent.test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, portA := startAgentOnFreePort(t, netip.IPv6Unspecified(), Options{Clock: fastClock(scale),
		Resolver: HostsResolver{Path: hosts},
		// Only the test's hosts file, no DNS, in every vpn-instance.
		ResolverForVPN: func(string) Resolver { return HostsResolver{Path: hosts} },
		ResolveRetry:   200 * time.Millisecond})
	defer func() {
		if t.Failed() {
			t.Logf("A: %s\nB: %s", describeSessions(a.State()), describeSessions(b.State()))
		}
	}()
	reached := func(st *gen.Device, addr string) bool {
		s := session(st, addr, portB)
		return s != nil && s.GetReach() != 0
	}
	heardFrom := func(addr string) bool {
		for k, s := range b.State().GetNtp().GetSessions().Session {
			if k.VpnInstance == l.b && k.Address == addr && k.Port == portA && s.GetPacketsReceived() > 0 {
				return true
			}
		}
		return false
	}

	// IPv4 by address; the same address in a vpn-instance (namespace c)
	// that has no route to it; a name that does not resolve.
	cfg := config(false, nil,
		peer{address: "198.18.1.2", vpn: l.a, port: portB},
		peer{address: "198.18.1.2", vpn: l.c, port: portB},
		peer{address: "nosuch.ntpagent.test", vpn: l.a, port: portB},
	)
	a.apply(t, cfg)
	var st *gen.Device
	testtool.WaitFor(t, 30*time.Second, "A to reach B over IPv4", func() bool {
		st = a.State()
		return reached(st, "198.18.1.2")
	})
	for k, s := range st.GetNtp().GetSessions().Session {
		switch {
		case k.VpnInstance == l.c:
			if s.GetReach() != 0 || !strings.Contains(s.GetLastError(), "unreachable") {
				t.Errorf("the peer in namespace c reached B or gives no reason: reach %o last-error %q", s.GetReach(), s.GetLastError())
			}
		case k.Address == "nosuch.ntpagent.test":
			if !strings.Contains(s.GetLastError(), "cannot resolve nosuch.ntpagent.test") || s.GetReach() != 0 {
				t.Errorf("unresolvable peer: reach %o last-error %q", s.GetReach(), s.GetLastError())
			}
		}
	}
	if !heardFrom("198.18.1.1") {
		t.Errorf("B did not hear A from its veth address 198.18.1.1")
	}

	// A domain peer, resolved through the test's hosts file (alone: B
	// knows A by A's address and port, so two of A's associations with B
	// at once would look like one to B).
	cfg = config(false, nil, peer{address: "peer-b.ntpagent.test", vpn: l.a, port: portB})
	a.apply(t, cfg)
	testtool.WaitFor(t, 30*time.Second, "A to reach B by name", func() bool {
		st = a.State()
		return reached(st, "peer-b.ntpagent.test")
	})
	if s := session(st, "peer-b.ntpagent.test", portB); s.GetResolvedAddress() != "198.18.1.3" {
		t.Errorf("domain peer resolved-address %q, want 198.18.1.3", s.GetResolvedAddress())
	}

	// IPv6 through the global IPv6 source-interface of vpn l.a: B hears A
	// from src0's address, not from the veth's.
	cfg = config(false, nil, peer{address: "fd00:1::2", vpn: l.a, port: portB})
	si := cfg.GetNtp().GetOrCreateSourceInterface(gen.NtpagentNtp_AddressFamily_ipv6)
	si.Interface, si.VpnInstance = ptr("src0"), ptr(l.a)
	a.apply(t, cfg)
	testtool.WaitFor(t, 30*time.Second, "A to reach B over IPv6 from src0", func() bool {
		s := session(a.State(), "fd00:1::2", portB)
		return s != nil && s.GetReach() != 0 && s.GetLocalAddress() == "fd00:2::1"
	})
	if !heardFrom("fd00:2::1") || heardFrom("fd00:1::1") {
		t.Errorf("B did not hear A from src0's IPv6 address only")
	}

	// A peer's own source-interface wins over the global one (rule 2) and
	// applies to IPv4: B hears the IPv4 peer from 198.18.2.1.
	cfg = config(false, nil, peer{address: "198.18.1.2", vpn: l.a, port: portB, sourceInterface: "src0"})
	si = cfg.GetNtp().GetOrCreateSourceInterface(gen.NtpagentNtp_AddressFamily_ipv4)
	si.Interface, si.VpnInstance = ptr("nosuch1"), ptr(l.a)
	a.apply(t, cfg)
	testtool.WaitFor(t, 30*time.Second, "the IPv4 peer to answer on src0", func() bool {
		s := session(a.State(), "198.18.1.2", portB)
		return s != nil && s.GetReach() != 0 && s.GetLocalAddress() == "198.18.2.1"
	})
	if !heardFrom("198.18.2.1") {
		t.Errorf("B did not hear A from src0's IPv4 address")
	}

	// A source-interface that does not exist: the session says why and the
	// commit stands.
	cfg = config(false, nil, peer{address: "198.18.1.2", vpn: l.a, port: portB, sourceInterface: "nosuch0"})
	a.apply(t, cfg)
	testtool.WaitFor(t, 30*time.Second, "the missing source-interface to show", func() bool {
		s := session(a.State(), "198.18.1.2", portB)
		return s != nil && strings.Contains(s.GetLastError(), "nosuch0")
	})
}

// A peer in a vpn-instance that does not exist shows why; when the
// namespace appears, the peer starts without another commit.
func TestMissingVPNInstanceIsRetried(t *testing.T) {
	testtool.RequireRoot(t)
	testtool.Require(t, "ip")
	t.Parallel()
	ns := fmt.Sprintf("ntpat%d-late", os.Getpid()%100000)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	a := startAgent(t, Options{Clock: fastClock(8), ResolveRetry: 100 * time.Millisecond,
		Listen: []netip.AddrPort{netip.AddrPortFrom(netip.IPv4Unspecified(), freeUDPPort(t))}})
	a.apply(t, config(false, nil, peer{address: "127.0.0.1", vpn: ns, port: 4123}))
	testtool.WaitFor(t, 10*time.Second, "the missing vpn-instance to show", func() bool {
		s := session(a.State(), "127.0.0.1", 4123)
		return s != nil && strings.Contains(s.GetLastError(), ns)
	})
	testtool.IP(t, "netns", "add", ns)
	testtool.IP(t, "-n", ns, "link", "set", "lo", "up")
	testtool.WaitFor(t, 10*time.Second, "the peer to start in the new namespace", func() bool {
		s := session(a.State(), "127.0.0.1", 4123)
		return s != nil && s.GetPacketsSent() > 0
	})
}

// A link-local IPv6 peer (configured without a zone, with a
// source-interface) is reached over a veth link between two namespaces:
// its replies, which the I/O layer gives the interface's index as zone,
// match the configured association (RFC 4007 §6), and no ephemeral
// association appears.
func TestNamespacesLinkLocalPeer(t *testing.T) {
	testtool.RequireRoot(t)
	testtool.Require(t, "ip")
	t.Parallel()
	id := os.Getpid() % 100000
	nsA, nsB := fmt.Sprintf("ntpll%d-a", id), fmt.Sprintf("ntpll%d-b", id)
	va, vb := fmt.Sprintf("nla%d", id), fmt.Sprintf("nlb%d", id)
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", nsA).Run()
		exec.Command("ip", "netns", "del", nsB).Run()
	})
	testtool.IP(t, "netns", "add", nsA)
	testtool.IP(t, "netns", "add", nsB)
	testtool.IP(t, "link", "add", va, "netns", nsA, "type", "veth", "peer", "name", vb, "netns", nsB)
	testtool.IP(t, "-n", nsA, "addr", "add", "fe80::a/64", "dev", va, "nodad")
	testtool.IP(t, "-n", nsB, "addr", "add", "fe80::b/64", "dev", vb, "nodad")
	testtool.IP(t, "-n", nsA, "link", "set", va, "up")
	testtool.IP(t, "-n", nsB, "link", "set", vb, "up")
	testtool.WaitLocalRoute(t, 20*time.Second, nsA, "fe80::a")
	testtool.WaitLocalRoute(t, 20*time.Second, nsB, "fe80::b")

	const scale = 8
	b, portB := startAgentOnFreePort(t, netip.IPv6Unspecified(), Options{Clock: fastClock(scale),
		OpenVPNs: []string{nsB}, Engine: ntpengine.Config{LocalStratum: 5}})
	a, _ := startAgentOnFreePort(t, netip.IPv6Unspecified(), Options{Clock: fastClock(scale)})
	defer func() {
		if t.Failed() {
			t.Logf("A: %s\nB: %s", describeSessions(a.State()), describeSessions(b.State()))
		}
	}()
	a.apply(t, config(false, nil, peer{address: "fe80::b", vpn: nsA, port: portB, sourceInterface: va}))
	testtool.WaitFor(t, 30*time.Second, "A to reach B at its link-local address", func() bool {
		s := session(a.State(), "fe80::b", portB)
		return s != nil && s.GetReach()&3 == 3
	})
	for k, s := range a.State().GetNtp().GetSessions().Session {
		if !s.GetConfigured() {
			t.Errorf("A has an unconfigured session %s port %d", k.Address, k.Port)
		}
	}
}
