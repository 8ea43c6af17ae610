package datastore

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/ntpagent/ntpagent/internal/fakeclock"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// A compaction that can neither write the new journal nor reopen the old
// one leaves the store broken: every later change fails with an error that
// names the cause, reads still work, and Close still releases the folder's
// lock and stops the confirmed-commit timer. The failures are real ones
// of the file system (a folder where the files must go), so the test also
// holds when run as root.
func TestFailedCompactionBreaksTheStoreAndCloseReleasesIt(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, Clock: fakeclock.New(), HistoryLimit: 3, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LocalPrefixes: noPrefixes})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustEdit(t, s, alice, Running, setPeer("10.0.0.1", 6))
	mustEdit(t, s, alice, Candidate, setPeer("10.0.0.2", 6))
	mustCommit(t, s, alice, CommitOptions{Confirmed: true})

	// The compacted journal cannot be written (its temporary name is a
	// folder) and the old one cannot be reopened (its name is a folder now;
	// the store still appends through the file it holds open).
	journal := filepath.Join(dir, journalName)
	for _, err := range []error{
		os.MkdirAll(filepath.Join(journal+".tmp", "x"), 0o700),
		os.Rename(journal, journal+".aside"),
		os.Mkdir(journal, 0o700),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 100 && s.brokenCause() == nil; i++ {
		mustEdit(t, s, alice, Running, setPeer("10.0.0.3", uint8(4+i%6)))
		s.waitCompaction()
	}
	if s.brokenCause() == nil {
		t.Fatal("no compaction failed")
	}
	before := peerSet(s.Snapshot(Running))

	for name, err := range map[string]error{
		"edit of running":   s.Edit(alice, Running, EditOptions{}, setPeer("10.0.0.4", 6)),
		"edit of candidate": s.Edit(alice, Candidate, EditOptions{}, setPeer("10.0.0.4", 6)),
		"commit":            func() error { _, err := s.Commit(alice, CommitOptions{}); return err }(),
		"lock":              s.Lock(bob, Candidate),
	} {
		e := rpcerror.All(err)
		if len(e) != 1 || e[0].Tag != rpcerror.TagOperationFailed ||
			!strings.Contains(e[0].Message, "failed compaction") || !strings.Contains(e[0].Message, "is a directory") {
			t.Errorf("%s on a broken store: %v; want operation-failed naming the failed compaction and its cause", name, err)
		}
	}
	if got := peerSet(s.Snapshot(Running)); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("running changed on a broken store: %v, was %v", got, before)
	}

	s.mu.Lock()
	timer := s.pending.timer
	s.mu.Unlock()
	if err := s.Close(); err == nil {
		t.Error("Close of a broken store reports no error")
	}
	if timer.Stop() {
		t.Error("Close left the confirmed-commit timer running")
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Errorf("Close left the state folder locked: %v", err)
	}
}

// brokenCause is the store's broken error, or nil.
func (s *Store) brokenCause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken == nil {
		return nil
	}
	return s.broken
}

// waitCompaction waits for the compaction in flight, if any.
func (s *Store) waitCompaction() {
	s.mu.Lock()
	c := s.compacting
	s.mu.Unlock()
	if c != nil {
		<-c
	}
}

func TestHistoryKeepsTheLastN(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, Clock: fakeclock.New(), HistoryLimit: 3, LocalPrefixes: noPrefixes})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 40; i++ {
		mustEdit(t, s, alice, Running, setPeer(fmt.Sprintf("10.0.1.%d", i), 6))
	}
	h := s.History()
	if len(h) != 3 || h[0].ID != 40 || h[2].ID != 38 {
		t.Fatalf("history %+v", h)
	}
	if _, err := s.Rollback(alice, 37, ""); err == nil {
		t.Error("rollback to a dropped commit accepted")
	}
	s.Close()
	// The journal was compacted (40 > 2*3+16 records) and still restores
	// running and the kept history.
	s2, err := Open(Options{Dir: dir, Clock: fakeclock.New(), HistoryLimit: 3, LocalPrefixes: noPrefixes})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := len(peerSet(s2.Snapshot(Running))); got != 40 {
		t.Errorf("running has %d peers after reopen", got)
	}
	if h2 := s2.History(); !reflect.DeepEqual(h, h2) {
		t.Errorf("history after reopen %+v, want %+v", h2, h)
	}
	if _, err := s2.Rollback(alice, 38, ""); err != nil {
		t.Fatal(err)
	}
	if got := len(peerSet(s2.Snapshot(Running))); got != 38 {
		t.Errorf("rollback to 38 gives %d peers", got)
	}
	data, _ := os.ReadFile(filepath.Join(dir, journalName))
	if n := strings.Count(string(data), "\n"); n > 2*3+17 {
		t.Errorf("journal has %d records, not compacted", n)
	}
}
