package datastore

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/fakeclock"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// TestConfirmedCommit: RFC 6241 §8.4 (:confirmed-commit:1.1), one row per
// rule, with a hand-driven clock. Every row starts from running = {10.0.0.1}
// (commit 1) and a candidate that adds 10.0.0.2.
func TestConfirmedCommit(t *testing.T) {
	before := map[string]uint8{"10.0.0.1": 6}
	after := map[string]uint8{"10.0.0.1": 6, "10.0.0.2": 4}
	tests := []struct {
		name string
		run  func(t *testing.T, s *Store, clk *fakeclock.Clock)
	}{
		{"RFC6241-8.4.5.1 without confirmation running returns to its prior content after the default 600 s", func(t *testing.T, s *Store, clk *fakeclock.Clock) {
			mustCommit(t, s, alice, CommitOptions{Confirmed: true})
			if p, ok := s.ConfirmedCommitPending(); !ok || p.RollbackTo != 1 || p.SessionID != 1 || !p.Deadline.Equal(clk.Now().Add(600*time.Second)) {
				t.Fatalf("pending %+v %v", p, ok)
			}
			clk.Advance(599 * time.Second)
			if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, after) {
				t.Fatalf("rolled back early: %v", got)
			}
			clk.Advance(time.Second)
			if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, before) {
				t.Fatalf("running %v after the timeout", got)
			}
			if h := s.History(); h[0].Origin != OriginConfirmedCommitRollback || h[0].ID != 3 {
				t.Errorf("history %+v", h)
			}
			if _, ok := s.ConfirmedCommitPending(); ok {
				t.Error("still pending")
			}
			if _, err := os.Stat(filepath.Join(s.dir, confirmName)); !os.IsNotExist(err) {
				t.Error("marker left behind")
			}
			if got := peerSet(s.Snapshot(Candidate)); !reflect.DeepEqual(got, before) || s.CandidateModified() {
				t.Errorf("candidate %v does not follow running", got)
			}
		}},
		{"RFC6241-8.4.5.1 confirm-timeout sets the timeout", func(t *testing.T, s *Store, clk *fakeclock.Clock) {
			mustCommit(t, s, alice, CommitOptions{Confirmed: true, Timeout: 30 * time.Second})
			clk.Advance(30 * time.Second)
			if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, before) {
				t.Fatalf("running %v", got)
			}
		}},
		{"RFC6241-8.4.5.1 a follow-up commit from the same session confirms", func(t *testing.T, s *Store, clk *fakeclock.Clock) {
			mustCommit(t, s, alice, CommitOptions{Confirmed: true})
			mustCommit(t, s, alice, CommitOptions{})
			clk.Advance(time.Hour)
			if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, after) {
				t.Fatalf("running %v", got)
			}
			if _, ok := s.ConfirmedCommitPending(); ok {
				t.Error("still pending")
			}
		}},
		{"RFC6241-8.4.5.1 a commit from another session does not confirm a non-persistent confirmed commit", func(t *testing.T, s *Store, clk *fakeclock.Clock) {
			mustCommit(t, s, alice, CommitOptions{Confirmed: true})
			if _, err := s.Commit(bob, CommitOptions{}); tagOf(err) != rpcerror.TagInUse {
				t.Fatalf("err %v", err)
			}
		}},
		{"RFC6241-8.4.5.1 a follow-up confirmed commit extends the timeout; rollback goes to before the first", func(t *testing.T, s *Store, clk *fakeclock.Clock) {
			mustCommit(t, s, alice, CommitOptions{Confirmed: true, Timeout: 60 * time.Second})
			mustEdit(t, s, alice, Candidate, setPeer("10.0.0.3", 4))
			clk.Advance(50 * time.Second)
			mustCommit(t, s, alice, CommitOptions{Confirmed: true, Timeout: 60 * time.Second})
			clk.Advance(50 * time.Second)
			if got := len(peerSet(s.Snapshot(Running))); got != 3 {
				t.Fatalf("rolled back by the first timer: %d peers", got)
			}
			clk.Advance(10 * time.Second)
			if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, before) {
				t.Fatalf("running %v", got)
			}
		}},
		{"RFC6241-8.4.5.1 persist: the session's end does not roll back; persist-id confirms from any session", func(t *testing.T, s *Store, clk *fakeclock.Clock) {
			mustCommit(t, s, alice, CommitOptions{Confirmed: true, Persist: "p1"})
			s.CloseSession(alice)
			if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, after) {
				t.Fatalf("rolled back at session end: %v", got)
			}
			if _, err := s.Commit(bob, CommitOptions{PersistID: "wrong"}); tagOf(err) != rpcerror.TagInvalidValue {
				t.Fatalf("wrong persist-id: %v", err)
			}
			if _, err := s.Commit(bob, CommitOptions{}); tagOf(err) != rpcerror.TagInUse {
				t.Fatalf("no persist-id: %v", err)
			}
			mustCommit(t, s, bob, CommitOptions{PersistID: "p1"})
			clk.Advance(time.Hour)
			if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, after) {
				t.Fatalf("running %v", got)
			}
		}},
		{"RFC6241-8.4.5.1 persist-id with no pending confirmed commit is invalid-value", func(t *testing.T, s *Store, clk *fakeclock.Clock) {
			if _, err := s.Commit(alice, CommitOptions{PersistID: "x"}); tagOf(err) != rpcerror.TagInvalidValue {
				t.Fatalf("err %v", err)
			}
		}},
		{"RFC6241-8.4.1 the end of the confirming session rolls back a non-persistent confirmed commit", func(t *testing.T, s *Store, clk *fakeclock.Clock) {
			mustCommit(t, s, alice, CommitOptions{Confirmed: true})
			s.CloseSession(bob)
			if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, after) {
				t.Fatalf("another session's end rolled back: %v", got)
			}
			s.CloseSession(alice)
			if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, before) {
				t.Fatalf("running %v", got)
			}
		}},
		{"RFC6241-8.4.5.2 cancel-commit rolls back at once", func(t *testing.T, s *Store, clk *fakeclock.Clock) {
			mustCommit(t, s, alice, CommitOptions{Confirmed: true})
			if err := s.CancelCommit(bob, ""); tagOf(err) != rpcerror.TagInUse {
				t.Fatalf("cancel by another session: %v", err)
			}
			if err := s.CancelCommit(alice, ""); err != nil {
				t.Fatal(err)
			}
			if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, before) {
				t.Fatalf("running %v", got)
			}
			clk.Advance(time.Hour) // the stopped timer does nothing
			if n := len(s.History()); n != 3 {
				t.Errorf("%d commits", n)
			}
		}},
		{"RFC6241-8.4.5.2 cancel-commit with persist-id from any session", func(t *testing.T, s *Store, clk *fakeclock.Clock) {
			mustCommit(t, s, alice, CommitOptions{Confirmed: true, Persist: "tok"})
			if err := s.CancelCommit(bob, "nope"); tagOf(err) != rpcerror.TagInvalidValue {
				t.Fatalf("wrong persist-id: %v", err)
			}
			if err := s.CancelCommit(bob, "tok"); err != nil {
				t.Fatal(err)
			}
			if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, before) {
				t.Fatalf("running %v", got)
			}
		}},
		{"RFC6241-8.4.5.2 cancel-commit with nothing pending is operation-failed", func(t *testing.T, s *Store, clk *fakeclock.Clock) {
			if err := s.CancelCommit(alice, ""); tagOf(err) != rpcerror.TagOperationFailed {
				t.Fatalf("err %v", err)
			}
		}},
		{"rollback to a commit id is refused while a confirmed commit is pending", func(t *testing.T, s *Store, clk *fakeclock.Clock) {
			mustCommit(t, s, alice, CommitOptions{Confirmed: true})
			if _, err := s.Rollback(alice, 1, ""); tagOf(err) != rpcerror.TagInUse {
				t.Fatalf("err %v", err)
			}
		}},
		{"RFC6241-8.4 the candidate keeps uncommitted changes across a rollback", func(t *testing.T, s *Store, clk *fakeclock.Clock) {
			mustCommit(t, s, alice, CommitOptions{Confirmed: true})
			mustEdit(t, s, bob, Candidate, setPeer("10.0.0.3", 4))
			clk.Advance(DefaultConfirmTimeout)
			if got := len(peerSet(s.Snapshot(Candidate))); got != 3 || !s.CandidateModified() {
				t.Errorf("candidate has %d peers", got)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := fakeclock.New()
			s := openStore(t, "", clk)
			mustEdit(t, s, alice, Running, setPeer("10.0.0.1", 6))
			mustEdit(t, s, alice, Candidate, setPeer("10.0.0.2", 4))
			tc.run(t, s, clk)
		})
	}
}

// RFC 6241 §8.4: a restart before the confirmation restores the configuration
// from before the confirmed commit.
func TestUnconfirmedCommitRollsBackAtOpen(t *testing.T) {
	for _, persist := range []string{"", "keep"} {
		dir := t.TempDir()
		s := openStore(t, dir, nil)
		mustEdit(t, s, alice, Running, setPeer("10.0.0.1", 6))
		mustEdit(t, s, alice, Candidate, setPeer("10.0.0.2", 4))
		mustCommit(t, s, alice, CommitOptions{Confirmed: true, Persist: persist})
		s.Close() // as if the process died: the marker stays
		s2 := openStore(t, dir, nil)
		if got := peerSet(s2.Snapshot(Running)); !reflect.DeepEqual(got, map[string]uint8{"10.0.0.1": 6}) {
			t.Fatalf("persist %q: running %v", persist, got)
		}
		if h := s2.History(); h[0].Origin != OriginConfirmedCommitRollback {
			t.Errorf("history %+v", h)
		}
		if _, ok := s2.ConfirmedCommitPending(); ok {
			t.Error("pending after restart")
		}
	}
}

// The very first commit may be a confirmed one: its rollback empties running.
func TestFirstConfirmedCommitRollsBackToEmpty(t *testing.T) {
	clk := fakeclock.New()
	s := openStore(t, "", clk)
	mustEdit(t, s, alice, Candidate, setPeer("10.0.0.2", 4))
	mustCommit(t, s, alice, CommitOptions{Confirmed: true})
	clk.Advance(DefaultConfirmTimeout)
	if got := peerSet(s.Snapshot(Running)); len(got) != 0 {
		t.Fatalf("running %v", got)
	}
}

// An error about an argument names the argument (rpcerror.Error.Param) and
// carries no protocol path: the protocol layer renders where it was.
func TestArgumentErrorsNameTheArgument(t *testing.T) {
	s := openStore(t, "", nil)
	mustEdit(t, s, alice, Candidate, setPeer("10.0.0.1", 6))
	check := func(what string, err error, param string) {
		t.Helper()
		e := rpcerror.All(err)
		if len(e) != 1 || e[0].Tag != rpcerror.TagInvalidValue || e[0].Param != param || e[0].Path != "" {
			t.Errorf("%s: %#v; want invalid-value about %s without a path", what, e, param)
		}
	}
	_, err := s.Commit(alice, CommitOptions{PersistID: "none"})
	check("RFC6241-8.4.5.1 commit with the persist-id of no pending commit", err, "persist-id")
	_, err = s.Commit(alice, CommitOptions{Confirmed: true, Timeout: -time.Second})
	check("commit with a negative confirm-timeout", err, "confirm-timeout")
	_, err = s.Rollback(alice, 99, "")
	check("rollback to a commit not in the history", err, "commit-id")
	mustCommit(t, s, alice, CommitOptions{Confirmed: true, Persist: "tok"})
	check("RFC6241-8.4.5.2 cancel-commit with another persist-id", s.CancelCommit(bob, "other"), "persist-id")
	check("an unknown test option", s.Edit(alice, Candidate, EditOptions{TestOption: TestOption(9)}, setPeer("10.0.0.2", 4)), "test-option")
	check("an unknown error option", s.Edit(alice, Candidate, EditOptions{ErrorOption: ErrorOption(9)}, setPeer("10.0.0.2", 4)), "error-option")
}
