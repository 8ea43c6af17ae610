package agent

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine"
)

func TestHostsResolver(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "hosts")
	os.WriteFile(f, []byte("# comment\n198.18.0.1 a.test A2.test # trailing\nfd00::1 a.test\nnot-an-address b.test\n"), 0o600)
	r := HostsResolver{Path: f}
	ctx := context.Background()
	got, err := r.LookupNetIP(ctx, "ip", "A.TEST.")
	if err != nil || len(got) != 2 || got[0] != netip.MustParseAddr("198.18.0.1") || got[1] != netip.MustParseAddr("fd00::1") {
		t.Errorf("a.test: %v %v", got, err)
	}
	if got, _ := r.LookupNetIP(ctx, "ip6", "a.test"); len(got) != 1 || !got[0].Is6() {
		t.Errorf("a.test ip6: %v", got)
	}
	if pickAddress([]netip.Addr{netip.MustParseAddr("fd00::1"), netip.MustParseAddr("198.18.0.1")}) != netip.MustParseAddr("198.18.0.1") {
		t.Error("pickAddress does not prefer IPv4")
	}
	for _, name := range []string{"b.test", "c.test"} {
		if got, err := r.LookupNetIP(ctx, "ip", name); err == nil {
			t.Errorf("%s resolved to %v", name, got)
		}
	}
	if _, err := (HostsResolver{Path: filepath.Join(t.TempDir(), "missing")}).LookupNetIP(ctx, "ip", "a.test"); err == nil {
		t.Error("a missing hosts file resolved")
	}
}

// A domain peer whose name does not resolve shows why and is retried; once
// the name appears it runs. When its server stops answering (the
// association becomes unreachable) the name is resolved again and the
// association follows it to the new address.
func TestDomainPeerRetriesAndReresolves(t *testing.T) {
	t.Parallel()
	const scale = 16
	hosts := filepath.Join(t.TempDir(), "hosts")
	os.WriteFile(hosts, []byte("# nothing yet\n"), 0o600)
	r1 := startAgent(t, Options{Clock: fastClock(scale), MaxWait: 20 * time.Millisecond,
		Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.51:0")}, Engine: ntpengine.Config{LocalStratum: 4}})
	port := r1.addr.Port()
	a := startAgent(t, Options{Clock: fastClock(scale), MaxWait: 20 * time.Millisecond,
		Listen:   []netip.AddrPort{netip.MustParseAddrPort("127.0.0.50:0")},
		Resolver: HostsResolver{Path: hosts}, ResolveRetry: 100 * time.Millisecond})
	a.apply(t, config(false, nil, peer{address: "moving.ntpagent.test", port: port}))
	waitFor(t, 10*time.Second, "the unresolved name to show", func() bool {
		s := session(a.State(), "moving.ntpagent.test", port)
		return s != nil && strings.Contains(s.GetLastError(), "cannot resolve moving.ntpagent.test")
	})
	os.WriteFile(hosts, []byte("127.0.0.51 moving.ntpagent.test\n"), 0o600)
	waitFor(t, 30*time.Second, "the name to resolve and the peer to answer", func() bool {
		s := session(a.State(), "moving.ntpagent.test", port)
		return s != nil && s.GetResolvedAddress() == "127.0.0.51" && s.GetReach() != 0
	})

	// The server moves: a new one on another address with the same port,
	// the name follows, the old one stops.
	r2 := startAgent(t, Options{Clock: fastClock(scale), MaxWait: 20 * time.Millisecond,
		Listen: []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.52"), port)}, Engine: ntpengine.Config{LocalStratum: 4}})
	_ = r2
	os.WriteFile(hosts, []byte("127.0.0.52 moving.ntpagent.test\n"), 0o600)
	r1.cancel()
	waitFor(t, 60*time.Second, "the association to follow the name", func() bool {
		s := session(a.State(), "moving.ntpagent.test", port)
		return s != nil && s.GetResolvedAddress() == "127.0.0.52" && s.GetReach() != 0
	})
}
