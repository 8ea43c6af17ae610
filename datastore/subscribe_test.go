package datastore

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
)

func TestSubscribeDeliversChangesInCommitOrder(t *testing.T) {
	s := openStore(t, "", nil)
	ch, cancel := s.Subscribe(0)
	defer cancel()
	mustEdit(t, s, alice, Running, setPeer("10.0.0.1", 6))
	mustEdit(t, s, bob, Candidate, setPeer("10.0.0.1", 7))
	mustEdit(t, s, bob, Candidate, func(d *gen.Device) error { d.GetOrCreateSystem().SetSysname("r1"); return nil })
	mustCommit(t, s, bob, CommitOptions{})
	mustEdit(t, s, alice, Running, delPeer("10.0.0.1"))
	want := []struct {
		id    uint32
		ds    Name
		sess  uint32
		edits []EditedPath
	}{
		{1, Running, 1, []EditedPath{{rules.PeerPath("10.0.0.1", "_public_", ""), "create"}}},
		{2, Running, 2, []EditedPath{{"/ntps:system/ntps:sysname", "create"}, {rules.PeerPath("10.0.0.1", "_public_", "minpoll"), "replace"}}},
		{3, Running, 1, []EditedPath{{rules.PeerPath("10.0.0.1", "_public_", ""), "delete"}}},
	}
	for _, w := range want {
		c := <-ch
		if c.Commit.ID != w.id || c.Datastore != w.ds || c.SessionID != w.sess || !reflect.DeepEqual(c.Edits, w.edits) {
			t.Errorf("change %d: %+v ds %s session %d edits %v; want %+v", w.id, c.Commit, c.Datastore, c.SessionID, c.Edits, w)
		}
		c.New.GetOrCreateSystem().SetSysname("mutated") // the subscriber's own copy
	}
	if got := s.Snapshot(Running).GetSystem().GetSysname(); got != "r1" {
		t.Error("a subscriber's change reached the store")
	}
	cancel()
	if _, ok := <-ch; ok {
		t.Error("channel open after cancel")
	}
}

// A subscriber that does not read must not make the store hold every
// change since: the waiting changes stay bounded, later ones are folded
// together, and what the reader finally gets is still a gapless chain in
// commit order ending at running (each Old is the previous New).
func TestSubscriberThatDoesNotReadStaysBounded(t *testing.T) {
	s := openStore(t, "", nil)
	ch, cancel := s.Subscribe(0)
	defer cancel()
	const commits = 3 * maxQueued
	for i := range commits {
		mustEdit(t, s, alice, Running, setPeer(fmt.Sprintf("10.0.%d.%d", i/200, i%200+1), 6))
	}
	s.mu.Lock()
	for sub := range s.subs {
		sub.mu.Lock()
		if n := len(sub.queue); n > maxQueued {
			t.Errorf("%d changes wait for a subscriber that does not read; want at most %d", n, maxQueued)
		}
		sub.mu.Unlock()
	}
	s.mu.Unlock()

	top := s.History()[0].ID
	var prev *gen.Device = &gen.Device{}
	folded, got := 0, 0
	var lastID uint32
	for lastID != top {
		var c Change
		select {
		case c = <-ch:
		case <-time.After(10 * time.Second): // a hang guard, not a timing assertion
			t.Fatalf("no change after commit %d (running is at %d)", lastID, top)
		}
		if c.Commit.ID <= lastID {
			t.Fatalf("commit %d after %d", c.Commit.ID, lastID)
		}
		if !equalTree(c.Old, prev) {
			t.Fatalf("change %d: Old is not the New of the change before", c.Commit.ID)
		}
		if c.Coalesced > 0 && len(c.Edits) != 1+c.Coalesced {
			t.Errorf("change %d folds %d commits but lists %d edits", c.Commit.ID, 1+c.Coalesced, len(c.Edits))
		}
		prev, lastID = c.New, c.Commit.ID
		folded += c.Coalesced
		got++
	}
	if got+folded != commits {
		t.Errorf("%d changes + %d folded; want %d commits", got, folded, commits)
	}
	if folded == 0 {
		t.Error("nothing was folded although the reader was behind by more than the bound")
	}
	if !equalTree(prev, s.Snapshot(Running)) {
		t.Error("the last change's New is not running")
	}
}

// Saves and delete-config of startup reach SubscribeStartup (RFC 6470
// reports both datastores), never the running subscribers the agent uses.
func TestStartupChangesReachOnlyStartupSubscribers(t *testing.T) {
	s := openStore(t, "", nil)
	run, cancelRun := s.Subscribe(4)
	defer cancelRun()
	st, cancelSt := s.SubscribeStartup(4)
	defer cancelSt()
	mustEdit(t, s, alice, Running, setPeer("10.0.0.1", 6))
	if err := s.Copy(bob, Startup, Running, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(bob, Startup); err != nil {
		t.Fatal(err)
	}
	peer := rules.PeerPath("10.0.0.1", "_public_", "")
	for i, want := range []EditedPath{{peer, "create"}, {peer, "delete"}} {
		c := <-st
		if c.Datastore != Startup || c.SessionID != bob.ID || c.Commit.ID != uint32(i+1) || !reflect.DeepEqual(c.Edits, []EditedPath{want}) {
			t.Errorf("startup change %d: ds %s session %d commit %+v edits %v; want %v", i+1, c.Datastore, c.SessionID, c.Commit, c.Edits, want)
		}
	}
	if c := <-run; c.Datastore != Running || c.Commit.ID != 1 {
		t.Fatalf("running change: %+v", c)
	}
	select {
	case c := <-run:
		t.Fatalf("a startup change reached a running subscriber: %+v", c)
	case <-time.After(50 * time.Millisecond):
	}
}

// A subscription WithoutTrees gets the same changes, in the same order
// and with the same edits, as one with trees, but no copies of the old and
// new configuration (a reader that reports edits must not pay two copies
// of the configuration per commit).
func TestSubscribeWithoutTreesDeliversEditsOnly(t *testing.T) {
	s := openStore(t, "", nil)
	full, cancelFull := s.Subscribe(8)
	defer cancelFull()
	bare, cancelBare := s.Subscribe(8, WithoutTrees())
	defer cancelBare()
	startup, cancelStartup := s.SubscribeStartup(8, WithoutTrees())
	defer cancelStartup()
	mustEdit(t, s, alice, Running, setPeer("10.0.0.1", 6))
	mustEdit(t, s, alice, Running, setPeer("10.0.0.1", 7))
	for i := range 2 {
		f, b := <-full, <-bare
		if f.Old == nil || f.New == nil {
			t.Fatalf("change %d with trees: Old %v New %v", i, f.Old, f.New)
		}
		if b.Old != nil || b.New != nil {
			t.Errorf("change %d without trees carries Old %v New %v", i, b.Old, b.New)
		}
		if b.Commit != f.Commit || b.SessionID != f.SessionID || b.Datastore != f.Datastore || !reflect.DeepEqual(b.Edits, f.Edits) || len(b.Edits) == 0 {
			t.Errorf("change %d: without trees %+v, with trees %+v", i, b, f)
		}
	}
	if err := s.Copy(alice, Startup, Running, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-startup:
		if c.Old != nil || c.New != nil || c.Datastore != Startup || len(c.Edits) == 0 {
			t.Errorf("startup change without trees: %+v", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no startup change")
	}
}
