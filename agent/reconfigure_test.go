package agent

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/ntpengine"
)

// A commit that removes, adds and changes peers: the removed peer hears no
// more from us, the added one hears from us within one poll interval, the
// changed one restarts (reach register cleared), and the unchanged one keeps
// its reach register and clock filter. The agents run on clocks 4× faster
// than the host (poll 3 = 2 s of real time); intervals are measured on the
// agent's own clock.
func TestCommitReconcilesAssociations(t *testing.T) {
	t.Parallel()
	const scale = 4
	refs := make([]*testAgent, 4)
	for i := range refs {
		refs[i] = startAgent(t, Options{
			Clock:  fastClock(scale),
			Listen: []netip.AddrPort{netip.MustParseAddrPort(fmt.Sprintf("127.0.0.%d:0", 21+i))},
			Engine: ntpengine.Config{LocalStratum: 3},
		})
	}
	clk := fastClock(scale)
	a := startAgent(t, Options{Clock: clk,
		Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.20:0")}})
	p := func(i int) peer {
		return peer{address: refs[i].addr.Addr().String(), port: refs[i].addr.Port(), minpoll: 3, maxpoll: 3}
	}
	a.apply(t, config(false, nil, p(0), p(1), p(2)))

	var before *gen.Device
	testtool.WaitFor(t, 60*time.Second, "three polls answered by every peer", func() bool {
		before = a.State()
		for i := range 3 {
			s := session(before, refs[i].addr.Addr().String(), 0)
			if s == nil || s.GetReach()&7 != 7 {
				return false
			}
		}
		return true
	})
	// What each reference has received from us so far.
	heard := func(ref *testAgent) uint64 {
		s := session(ref.State(), "127.0.0.20", a.addr.Port())
		if s == nil {
			return 0
		}
		return s.GetPacketsReceived()
	}

	// The commit: drop peer 0, change peer 1 (maxpoll 4), keep peer 2, add
	// peer 3.
	changed := p(1)
	changed.maxpoll = 4
	committedAt := clk.Now()
	a.apply(t, config(false, nil, changed, p(2), p(3)))
	removedHeard := heard(refs[0])
	after := a.State()
	keptBefore := session(before, refs[2].addr.Addr().String(), 0)
	kept := session(after, refs[2].addr.Addr().String(), 0)
	// A restarted association would show 0 (or 1 after its first poll);
	// a kept one still has its three answered polls.
	if kept == nil || kept.GetReach()&7 != 7 {
		t.Errorf("unchanged peer's reach register: before %o, after %o", keptBefore.GetReach(), kept.GetReach())
	}
	if kept.Filter[1].GetOffset() == 0 && kept.Filter[1].GetDelay() == 0 {
		t.Errorf("unchanged peer's clock filter was cleared")
	}
	if s := session(after, refs[0].addr.Addr().String(), 0); s != nil {
		t.Errorf("removed peer still has a session: %s", describeSessions(after))
	}
	if s := session(after, refs[1].addr.Addr().String(), 0); s == nil || s.GetReach() != 0 {
		t.Errorf("changed peer was not restarted: %s", describeSessions(after))
	}
	if s := session(after, refs[3].addr.Addr().String(), 0); s == nil || !s.GetConfigured() {
		t.Errorf("added peer has no configured session: %s", describeSessions(after))
	}

	// On the wire: the added peer hears from us within one poll interval
	// (2^3 s of our clock).
	testtool.WaitFor(t, 30*time.Second, "the added peer to hear from us", func() bool { return heard(refs[3]) > 0 })
	if d := clk.Now().Sub(committedAt); d > 8*time.Second {
		t.Errorf("the added peer first heard from us %v (our clock) after the commit, more than one poll interval", d)
	}
	testtool.WaitFor(t, 30*time.Second, "the changed peer to answer again", func() bool {
		s := session(a.State(), refs[1].addr.Addr().String(), 0)
		return s != nil && s.GetReach() != 0
	})
	// Two more poll intervals: the removed peer hears nothing more (one
	// packet may have been in flight at the commit).
	until := clk.Now().Add(16 * time.Second)
	testtool.WaitFor(t, 30*time.Second, "two poll intervals", func() bool { return !clk.Now().Before(until) })
	if got := heard(refs[0]); got > removedHeard+1 {
		t.Errorf("the removed peer still hears from us: %d packets at the commit, %d two polls later", removedHeard, got)
	}
	final := a.State()
	keptFinal := session(final, refs[2].addr.Addr().String(), 0)
	if keptFinal.GetReach() == 0 {
		t.Errorf("unchanged peer's reach %o after the commit: it stopped answering", keptFinal.GetReach())
	}
}
