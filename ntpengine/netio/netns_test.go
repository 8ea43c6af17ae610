//go:build linux

package netio

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/testtool"

	"github.com/ntpagent/ntpagent/internal/vpninstance"
)

// These tests build their own network namespaces and veth pairs (addresses
// in 198.18.0.0/15 and fd00::/8), and delete them in t.Cleanup. They need
// root and iproute2's ip: without them they skip, except under CI=true,
// where they fail.

func needNetAdmin(t *testing.T) {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	if os.Geteuid() != 0 {
		if ci {
			t.Fatal("namespace tests need root (CI=true)")
		}
		t.Skip("namespace tests need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		if ci {
			t.Fatal("namespace tests need iproute2's ip (CI=true)")
		}
		t.Skip("namespace tests need iproute2's ip")
	}
}

// ipCmd runs ip with args, bounded in time.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newNetns creates a namespace with a unique name, lo up and reverse-path
// filtering off (source-interface tests send from an address of another
// link), and deletes it (with its veths) when the test ends.
func newNetns(t *testing.T, suffix string) string {
	t.Helper()
	name := fmt.Sprintf("ntpio%d%s", os.Getpid(), suffix)
	ipCmd(t, "netns", "add", name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", name, err, out)
		}
	})
	ipCmd(t, "-n", name, "link", "set", "lo", "up")
	ipCmd(t, "netns", "exec", name, "sh", "-c",
		"echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter && echo 0 > /proc/sys/net/ipv4/conf/default/rp_filter")
	return name
}

// link is one end of a veth pair: its name, namespace and addresses.
type link struct {
	ns, dev string
	addrs   []string // CIDR; IPv6 ones get nodad so they are usable at once
}

// vethPair connects a and b, with no automatic link-local address (the
// test gives explicit ones, without DAD; IPv6 neighbour discovery needs
// one on every link, RFC 4861 §4.3).
func vethPair(t *testing.T, a, b link) {
	t.Helper()
	ipCmd(t, "link", "add", a.dev, "netns", a.ns, "type", "veth", "peer", "name", b.dev, "netns", b.ns)
	for _, l := range []link{a, b} {
		ipCmd(t, "-n", l.ns, "link", "set", l.dev, "addrgenmode", "none")
		for _, cidr := range l.addrs {
			args := []string{"-n", l.ns, "addr", "add", cidr, "dev", l.dev}
			if strings.Contains(cidr, ":") {
				args = append(args, "nodad")
			}
			ipCmd(t, args...)
		}
		ipCmd(t, "-n", l.ns, "link", "set", l.dev, "up")
	}
	// A veth's carrier comes up a moment after both ends are up; packets
	// sent before that (neighbour discovery first) are dropped.
	for _, l := range []link{a, b} {
		waitCarrier(t, l)
		for _, cidr := range l.addrs {
			if strings.Contains(cidr, ":") {
				testtool.WaitLocalRoute(t, waitTimeout, l.ns, cidr[:strings.IndexByte(cidr, '/')])
			}
		}
	}
}

func waitCarrier(t *testing.T, l link) {
	t.Helper()
	testtool.WaitFor(t, waitTimeout, l.dev+" in "+l.ns+" has its carrier", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ip", "-n", l.ns, "-o", "link", "show", "dev", l.dev).CombinedOutput()
		return err == nil && strings.Contains(string(out), "state UP")
	})
}

func nsTransport(t *testing.T, vpn string, listen ...netip.AddrPort) *Transport {
	t.Helper()
	return newTestTransport(t, Config{Listen: listen, Open: []string{vpn}})
}

// TestNamespaceSourceInterface: A and B are joined by two links; a packet
// to B's address on link 1 would leave A from A's link-1 address, and
// source-interface a2 makes it leave from A's link-2 address instead, as B
// sees it. B's reply leaves from the address the request came to.
func TestNamespaceSourceInterface(t *testing.T) {
	needNetAdmin(t)
	nsA, nsB := newNetns(t, "a"), newNetns(t, "b")
	vethPair(t,
		link{nsA, "a1", []string{"198.18.1.1/24", "fd00:1::1/64", "fe80::a1/64"}},
		link{nsB, "b1", []string{"198.18.1.2/24", "fd00:1::2/64", "fe80::b1/64"}})
	vethPair(t,
		link{nsA, "a2", []string{"198.18.2.1/24", "fd00:2::1/64", "fe80::a2/64"}},
		link{nsB, "b2", []string{"198.18.2.2/24", "fd00:2::2/64", "fe80::b2/64"}})

	const port = 123 // inside our own namespaces the device port is free
	all := netip.AddrPortFrom(netip.IPv6Unspecified(), port)
	tA := nsTransport(t, nsA, all)
	tB := nsTransport(t, nsB, all)

	tests := []struct {
		name    string
		dst     string
		src     Source
		wantSrc string // as B sees it (without zone)
	}{
		{"IPv4 without source-interface: the kernel's choice", "198.18.1.2", Source{}, "198.18.1.1"},
		{"IPv4 source-interface a2", "198.18.1.2", Source{Interface: "a2"}, "198.18.2.1"},
		{"IPv6 without source-interface: the kernel's choice", "fd00:1::2", Source{}, "fd00:1::1"},
		{"IPv6 source-interface a2 (global scope)", "fd00:1::2", Source{Interface: "a2"}, "fd00:2::1"},
		{"link-local IPv6 peer: source-interface gives the zone", "fe80::b1", Source{Interface: "a1"}, "fe80::a1"},
		{"link-local IPv6 peer with a zone name of the namespace", "fe80::b1%a1", Source{}, "fe80::a1"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := []byte(fmt.Sprintf("req%d", i))
			dst := netip.AddrPortFrom(mustAddr(tc.dst), port)
			if err := tA.Send(payload, dst, tc.src, nsA); err != nil {
				t.Fatal(err)
			}
			var r Received
			select {
			case r = <-tB.Received():
			case <-time.After(waitTimeout):
				dumpNetns(t, nsA, nsB)
				t.Fatal("B received nothing")
			}
			if string(r.Data) != string(payload) || r.VPN != nsB {
				t.Fatalf("B got %q in %q, want %q in %q", r.Data, r.VPN, payload, nsB)
			}
			if r.Src.Addr().WithZone("") != mustAddr(tc.wantSrc) || r.Src.Port() != port {
				t.Fatalf("B sees the packet from %v, want %s:%d", r.Src, tc.wantSrc, port)
			}
			if r.Dst.Addr().WithZone("") != dst.Addr().WithZone("") || !r.KernelTimestamp || r.IfIndex == 0 {
				t.Fatalf("B: dst %v ifindex %d kernel timestamp %v", r.Dst, r.IfIndex, r.KernelTimestamp)
			}
			// The reply leaves from the address the request came to.
			if err := tB.Send([]byte("reply"), r.Src, Source{Addr: r.Dst.Addr()}, r.VPN); err != nil {
				t.Fatal(err)
			}
			var rep Received
			select {
			case rep = <-tA.Received():
			case <-time.After(waitTimeout):
				dumpNetns(t, nsA, nsB)
				t.Fatal("A received no reply")
			}
			if string(rep.Data) != "reply" || rep.Src.Addr().WithZone("") != dst.Addr().WithZone("") {
				t.Fatalf("A got %q from %v, want reply from %v", rep.Data, rep.Src, dst)
			}
		})
	}

	t.Run("interface of another namespace is unknown here", func(t *testing.T) {
		err := tA.Send([]byte("x"), netip.AddrPortFrom(mustAddr("198.18.1.2"), port), Source{Interface: "b1"}, nsA)
		var se *SourceError
		if !errors.As(err, &se) || !errors.Is(err, ErrNoSuchInterface) {
			t.Fatalf("Send = %v, want *SourceError ErrNoSuchInterface", err)
		}
	})
	t.Run("link without a global IPv6 address", func(t *testing.T) {
		ipCmd(t, "-n", nsA, "addr", "del", "fd00:2::1/64", "dev", "a2")
		_, err := tA.SourceAddress(nsA, "a2", mustAddr("fd00:1::2"))
		if !errors.Is(err, ErrNoUsableAddress) || !strings.Contains(err.Error(), "a2") {
			t.Fatalf("SourceAddress = %v, want ErrNoUsableAddress naming a2", err)
		}
	})
	t.Run("interface down", func(t *testing.T) {
		ipCmd(t, "-n", nsA, "link", "set", "a2", "down")
		_, err := tA.SourceAddress(nsA, "a2", mustAddr("198.18.1.2"))
		if !errors.Is(err, ErrInterfaceDown) {
			t.Fatalf("SourceAddress = %v, want ErrInterfaceDown", err)
		}
	})
}

// TestNamespaceVPNReachesPeerOnlyThere: 127.0.0.1:P is listened on both in
// the host and in namespace C. A datagram sent in vpn-instance C reaches
// C's listener (its socket was opened inside C), one sent in _public_
// reaches the host's.
func TestNamespaceVPNReachesPeerOnlyThere(t *testing.T) {
	needNetAdmin(t)
	nsC := newNetns(t, "c")
	host := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}})
	peerAddr := localAddr(t, host, vpninstance.Public, lo4)
	inC := nsTransport(t, nsC, peerAddr)
	sender := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(lo4, 0)}})

	if err := sender.Send([]byte("via-vpn"), peerAddr, Source{}, nsC); err != nil {
		t.Fatal(err)
	}
	r := receive(t, inC)
	if string(r.Data) != "via-vpn" || r.VPN != nsC {
		t.Fatalf("C got %q in %q", r.Data, r.VPN)
	}
	// The sender's socket in C has its own port, not the host socket's.
	senderC := sender.LocalAddrs(nsC)
	if len(senderC) != 1 || r.Src != senderC[0] {
		t.Fatalf("C sees %v, sender's sockets in C: %v", r.Src, senderC)
	}
	if err := sender.Send([]byte("via-public"), peerAddr, Source{}, vpninstance.Public); err != nil {
		t.Fatal(err)
	}
	// Loopback delivery is in order: had "via-vpn" reached the host, it
	// would come first.
	if h := receive(t, host); string(h.Data) != "via-public" || h.VPN != vpninstance.Public {
		t.Fatalf("host got %q in %q first, want via-public", h.Data, h.VPN)
	}
	// Replies go back within C.
	if err := inC.Send([]byte("pong"), r.Src, Source{Addr: r.Dst.Addr()}, nsC); err != nil {
		t.Fatal(err)
	}
	if back := receive(t, sender); string(back.Data) != "pong" || back.VPN != nsC {
		t.Fatalf("sender got %q in %q, want pong in %q", back.Data, back.VPN, nsC)
	}
	// Interfaces are looked up inside the vpn's namespace too.
	if a, err := sender.SourceAddress(nsC, "lo", lo4); err != nil || a != lo4 {
		t.Fatalf("SourceAddress(C, lo) = %v, %v", a, err)
	}
}

// dumpNetns logs the links, addresses and neighbours of namespaces, to
// explain a datagram that did not arrive.
func dumpNetns(t *testing.T, names ...string) {
	t.Helper()
	for _, ns := range names {
		for _, args := range [][]string{{"-s", "link"}, {"addr"}, {"-6", "neigh"}, {"-4", "neigh"}, {"-6", "route"}} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			out, _ := exec.CommandContext(ctx, "ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
			cancel()
			t.Logf("%s: ip %s\n%s", ns, strings.Join(args, " "), out)
		}
	}
}
