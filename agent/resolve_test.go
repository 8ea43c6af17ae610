package agent

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/internal/vpninstance"
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
	if got := pickAddress([]netip.Addr{netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("ff02::1"), netip.MustParseAddr("fd00::1")}); got != netip.MustParseAddr("fd00::1") {
		t.Errorf("pickAddress chose %v over a host address", got)
	}
	if got := pickAddress([]netip.Addr{netip.MustParseAddr("0.0.0.0")}); got != netip.MustParseAddr("0.0.0.0") {
		t.Errorf("pickAddress of a sinkholed name: %v, want 0.0.0.0 (for translate to say why)", got)
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
	r1 := startAgent(t, Options{Clock: fastClock(scale),
		Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.51:0")}, Engine: ntpengine.Config{LocalStratum: 4}})
	port := r1.addr.Port()
	a := startAgent(t, Options{Clock: fastClock(scale),
		Listen:   []netip.AddrPort{netip.MustParseAddrPort("127.0.0.50:0")},
		Resolver: HostsResolver{Path: hosts}, ResolveRetry: 100 * time.Millisecond})
	a.apply(t, config(false, nil, peer{address: "moving.ntpagent.test", port: port}))
	testtool.WaitFor(t, 10*time.Second, "the unresolved name to show", func() bool {
		s := session(a.State(), "moving.ntpagent.test", port)
		return s != nil && strings.Contains(s.GetLastError(), "cannot resolve moving.ntpagent.test")
	})
	os.WriteFile(hosts, []byte("127.0.0.51 moving.ntpagent.test\n"), 0o600)
	testtool.WaitFor(t, 30*time.Second, "the name to resolve and the peer to answer", func() bool {
		s := session(a.State(), "moving.ntpagent.test", port)
		return s != nil && s.GetResolvedAddress() == "127.0.0.51" && s.GetReach() != 0
	})

	// The server moves: a new one on another address with the same port,
	// the name follows, the old one stops.
	r2 := startAgent(t, Options{Clock: fastClock(scale),
		Listen: []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.52"), port)}, Engine: ntpengine.Config{LocalStratum: 4}})
	_ = r2
	os.WriteFile(hosts, []byte("127.0.0.52 moving.ntpagent.test\n"), 0o600)
	r1.cancel()
	testtool.WaitFor(t, 60*time.Second, "the association to follow the name", func() bool {
		s := session(a.State(), "moving.ntpagent.test", port)
		return s != nil && s.GetResolvedAddress() == "127.0.0.52" && s.GetReach() != 0
	})
}

// A name that resolves to something that is not a host address (a DNS
// sinkhole answers 0.0.0.0), or to the address of another peer, keeps only
// that peer out of the engine, with the reason in its session; the other
// peers of the same and of later commits still reach the engine.
func TestDomainPeerResolvingToNonHostAddress(t *testing.T) {
	t.Parallel()
	const scale = 16
	hosts := filepath.Join(t.TempDir(), "hosts")
	os.WriteFile(hosts, []byte("0.0.0.0 sink.ntpagent.test\n127.0.0.61 dup.ntpagent.test\n"), 0o600)
	ref := startAgent(t, Options{Clock: fastClock(scale),
		Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.61:0")}, Engine: ntpengine.Config{LocalStratum: 4}})
	port := ref.addr.Port()
	a := startAgent(t, Options{Clock: fastClock(scale),
		Listen:   []netip.AddrPort{netip.MustParseAddrPort("127.0.0.60:0")},
		Resolver: HostsResolver{Path: hosts}, ResolveRetry: 100 * time.Millisecond})
	gone := peer{address: "127.0.0.63", port: port}
	sink := peer{address: "sink.ntpagent.test", port: port}
	a.apply(t, config(false, nil, gone, sink))
	testtool.WaitFor(t, 10*time.Second, "the sinkholed name to show why it does not run", func() bool {
		s := session(a.State(), "sink.ntpagent.test", port)
		return s != nil && strings.Contains(s.GetLastError(), "resolved to 0.0.0.0, which is not a host address")
	})
	// The next commit (the name's resolution is now known): one peer
	// removed, one added, one more name at the added peer's address.
	added := peer{address: "127.0.0.61", port: port}
	dup := peer{address: "dup.ntpagent.test", port: port}
	a.apply(t, config(false, nil, added, sink, dup))
	st := a.State()
	if s := session(st, "127.0.0.63", port); s != nil {
		t.Errorf("removed peer still has a session: %s", describeSessions(st))
	}
	if s := session(st, "127.0.0.61", port); s == nil || !s.GetConfigured() {
		t.Errorf("added peer has no configured session: %s", describeSessions(st))
	}
	testtool.WaitFor(t, 30*time.Second, "the added peer to answer", func() bool {
		s := session(a.State(), "127.0.0.61", port)
		return s != nil && s.GetReach() != 0
	})
	testtool.WaitFor(t, 10*time.Second, "the duplicate name to show why it does not run", func() bool {
		s := session(a.State(), "dup.ntpagent.test", port)
		return s != nil && strings.Contains(s.GetLastError(), "the same address and port as the peer 127.0.0.61")
	})
	if s := session(a.State(), "sink.ntpagent.test", port); s == nil || !strings.Contains(s.GetLastError(), "0.0.0.0") {
		t.Errorf("sinkholed peer lost its reason: %s", describeSessions(a.State()))
	}
	// The sinkholed name is asked again: once it gives a host address the
	// peer runs there.
	os.WriteFile(hosts, []byte("127.0.0.64 sink.ntpagent.test\n127.0.0.61 dup.ntpagent.test\n"), 0o600)
	testtool.WaitFor(t, 30*time.Second, "the sinkholed name to be resolved again", func() bool {
		s := session(a.State(), "sink.ntpagent.test", port)
		return s != nil && s.GetResolvedAddress() == "127.0.0.64" && s.GetLastError() == "" && s.GetPacketsSent() > 0
	})
}

// failingResolver counts lookups and fails every one.
type failingResolver struct{ lookups atomic.Int32 }

func (r *failingResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	r.lookups.Add(1)
	return nil, ErrNotFound
}

// A name that keeps failing is looked up again after ResolveRetry, then
// after twice that, doubling up to maxResolveBackoff, all on the process
// clock: the test moves a hand-driven clock and never sleeps.
func TestFailedLookupsBackOffOnTheProcessClock(t *testing.T) {
	t.Parallel()
	res := &failingResolver{}
	a := startAgent(t, Options{Clock: handClock(), Resolver: res, ResolveRetry: time.Minute})
	const name = "never.ntpagent.test"
	a.apply(t, config(false, nil, peer{address: name}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// settled waits for lookup n to come back and returns the time the
	// agent set for the next.
	settled := func(n int32) time.Duration {
		t.Helper()
		var wait time.Duration
		testtool.WaitFor(t, 10*time.Second, fmt.Sprintf("lookup %d to come back", n), func() bool {
			done := false
			a.do(ctx, func() {
				r := a.names[nameKey{vpninstance.Public, name}]
				done = r != nil && !r.running && res.lookups.Load() == n
				if done {
					wait = r.retryAt.Sub(a.proc.Now())
				}
			})
			return done
		})
		return wait
	}
	for n, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, maxResolveBackoff, maxResolveBackoff} {
		lookup := int32(n + 1)
		if got := settled(lookup); got != want {
			t.Fatalf("after failed lookup %d the next is due in %v, want %v", lookup, got, want)
		}
		a.advance(t, want-time.Second, time.Second)
		if got := res.lookups.Load(); got != lookup {
			t.Fatalf("%d lookups a second before the retry is due, want %d", got, lookup)
		}
		a.advance(t, time.Second, time.Second)
	}
}
