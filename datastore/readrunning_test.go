package datastore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
)

// Another process reads running from the folder of an open Store (which
// holds the folder's lock) without waiting and without writing: the last
// commit, a line being appended left out, and an empty tree or a
// hand-made running.json before the first start.
func TestReadRunningBesideAnOpenStore(t *testing.T) {
	dir := t.TempDir()
	if got, err := ReadRunning(dir); err != nil || !equalTree(got, &gen.Device{}) {
		t.Fatalf("an empty folder: %v, %v", got, err)
	}
	s := openStore(t, dir, nil)
	mustEdit(t, s, alice, Running, setPeer("192.0.2.10", 6))
	mustEdit(t, s, alice, Running, setUserPassword("carol", "password-of-carol"))
	mustEdit(t, s, alice, Running, delPeer("192.0.2.10"))
	before := dirState(t, dir)
	got, err := ReadRunning(dir)
	if err != nil {
		t.Fatal(err)
	}
	run, _ := s.Shared(Running)
	if !equalTree(got, run) {
		t.Fatalf("read %+v, running is %+v", got, run)
	}
	if after := dirState(t, dir); after != before {
		t.Fatalf("the folder changed:\n%s\n%s", before, after)
	}

	// An append in flight: a record without its end of line.
	f, err := os.OpenFile(filepath.Join(dir, journalName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`deadbeef {"id":99`)
	f.Close()
	if got, err := ReadRunning(dir); err != nil || !equalTree(got, run) {
		t.Fatalf("with an append in flight: %v", err)
	}

	// Damage is reported as Open would, never repaired.
	os.WriteFile(filepath.Join(dir, journalName), []byte("00000000 {}\n"), 0o600)
	var d *DamageError
	if _, err := ReadRunning(dir); !errors.As(err, &d) {
		t.Fatalf("a damaged journal: %v", err)
	}

	// Before the first start: running.json made by hand.
	hand := t.TempDir()
	os.WriteFile(filepath.Join(hand, runningName), []byte(`{"ntpagent-system:system": {"local-user": [{"name": "dave", "password": "clear-text-1"}]}}`), 0o600)
	got, err = ReadRunning(hand)
	if err != nil || got.GetSystem().GetLocalUser("dave") == nil {
		t.Fatalf("hand-made running.json: %v, %v", got, err)
	}
}

// dirState lists a folder's files with their sizes and times.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := ""
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out += fmt.Sprintln(fi.Name(), fi.Size(), fi.ModTime())
	}
	return out
}
