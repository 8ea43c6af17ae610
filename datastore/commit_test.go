package datastore

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// A commit whose journal write fails returns operation-failed and changes
// nothing: running, the candidate, the history and the file stay as they
// were (the durable-commit rule: a commit is acknowledged only once its journal record is durable, seen from the other side).
func TestFailedJournalWriteChangesNothing(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	mustEdit(t, s, alice, Running, setPeer("10.0.0.1", 6))
	mustEdit(t, s, alice, Candidate, setPeer("10.0.0.2", 6))
	before, _ := os.ReadFile(filepath.Join(dir, journalName))
	// Swap the journal's file for a read-only one: the next write fails.
	good := s.j.f
	ro, err := os.Open(filepath.Join(dir, journalName))
	if err != nil {
		t.Fatal(err)
	}
	s.j.f = ro
	_, err = s.Commit(alice, CommitOptions{})
	if tagOf(err) != rpcerror.TagOperationFailed {
		t.Fatalf("err %v", err)
	}
	if got := peerSet(s.Snapshot(Running)); len(got) != 1 || len(s.History()) != 1 {
		t.Errorf("running %v history %v after a failed commit", got, s.History())
	}
	if len(peerSet(s.Snapshot(Candidate))) != 2 || !s.CandidateModified() {
		t.Error("the candidate lost its changes")
	}
	ro.Close()
	s.j.f = good
	after, _ := os.ReadFile(filepath.Join(dir, journalName))
	if string(after) != string(before) {
		t.Error("the journal changed")
	}
	mustCommit(t, s, alice, CommitOptions{}) // works again
	if len(peerSet(s.Snapshot(Running))) != 2 {
		t.Error("commit after recovery")
	}
}
