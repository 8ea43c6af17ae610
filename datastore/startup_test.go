package datastore

import (
	"errors"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/fakeclock"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// bootHost is a boot ID file a test controls: writing a new ID is a boot
// of the simulated host.
type bootHost struct{ path string }

func newBootHost(t *testing.T) *bootHost {
	h := &bootHost{path: filepath.Join(t.TempDir(), "boot_id")}
	h.boot(t, "11111111-1111-4111-8111-111111111111")
	return h
}

func (h *bootHost) boot(t *testing.T, id string) {
	t.Helper()
	if err := os.WriteFile(h.path, []byte(id+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// openOn opens dir as a daemon on host h would, with mode.
func openOn(t *testing.T, dir string, h *bootHost, mode RunningFrom) (*Store, error) {
	t.Helper()
	return Open(Options{Dir: dir, Clock: fakeclock.New(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		LocalPrefixes: noPrefixes, BootIDFile: h.path, RunningFrom: mode})
}

func mustOpenOn(t *testing.T, dir string, h *bootHost, mode RunningFrom) *Store {
	t.Helper()
	s, err := openOn(t, dir, h, mode)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func peersOf(d *gen.Device) []string {
	var out []string
	for k := range peers(d) {
		out = append(out, k.Address)
	}
	return out
}

// TestStartupCopySurvivesReopen: RFC 6241 §8.7 — a copy of running to
// startup is durable; startup is read back after a restart, and a later
// change of running does not touch it.
func TestStartupCopySurvivesReopen(t *testing.T) {
	dir, h := t.TempDir(), newBootHost(t)
	s := mustOpenOn(t, dir, h, RunningFromAuto)
	if _, ok := s.Saved(); ok {
		t.Fatal("a new folder has a saved configuration")
	}
	mustEdit(t, s, alice, Running, setPeer("192.0.2.10", 6))
	if err := s.Copy(alice, Startup, Running, nil); err != nil {
		t.Fatalf("copy running to startup: %v", err)
	}
	mustEdit(t, s, alice, Running, setPeer("192.0.2.11", 6))
	s.Close()

	s2 := mustOpenOn(t, dir, h, RunningFromAuto)
	if got := peersOf(s2.Snapshot(Startup)); len(got) != 1 || got[0] != "192.0.2.10" {
		t.Fatalf("startup after reopen holds peers %v, want [192.0.2.10]", got)
	}
	info, ok := s2.Saved()
	if !ok || info.ID != 1 || info.User != "alice" || info.From != "running" {
		t.Fatalf("saved info %+v, %v", info, ok)
	}
	if got := peersOf(s2.Snapshot(Running)); len(got) != 2 {
		t.Fatalf("running after a restart of the process holds %v: the restart must keep running", got)
	}
}

// TestStartupBootLoadsStartup: at the first start after the host booted
// (a changed boot ID) running becomes startup's content, as a system
// commit; later starts in the same boot keep running.
func TestStartupBootLoadsStartup(t *testing.T) {
	dir, h := t.TempDir(), newBootHost(t)
	s := mustOpenOn(t, dir, h, RunningFromAuto)
	mustEdit(t, s, alice, Running, setPeer("192.0.2.10", 6))
	if err := s.Copy(alice, Startup, Running, nil); err != nil {
		t.Fatal(err)
	}
	mustEdit(t, s, alice, Running, setPeer("192.0.2.11", 6)) // not saved
	s.Close()

	h.boot(t, "22222222-2222-4222-8222-222222222222")
	s2 := mustOpenOn(t, dir, h, RunningFromAuto)
	if got := peersOf(s2.Snapshot(Running)); len(got) != 1 || got[0] != "192.0.2.10" {
		t.Fatalf("running after a boot holds %v, want startup's [192.0.2.10]", got)
	}
	if got := peersOf(s2.Snapshot(Candidate)); len(got) != 1 {
		t.Fatalf("candidate after a boot holds %v, want running's", got)
	}
	if h0 := s2.History()[0]; h0.Origin != OriginSystem || h0.Label != "loaded from startup at boot" {
		t.Fatalf("the boot's commit is %+v", h0)
	}
	mustEdit(t, s2, alice, Running, setPeer("192.0.2.12", 6))
	s2.Close()

	s3 := mustOpenOn(t, dir, h, RunningFromAuto) // same boot: a restart
	if got := peersOf(s3.Snapshot(Running)); len(got) != 2 {
		t.Fatalf("running after a restart in the same boot holds %v, want the two peers running had", got)
	}
}

// TestStartupRunningFrom: the flag forces either behaviour, and a host
// that boots before anything was saved keeps running (a first install).
func TestStartupRunningFrom(t *testing.T) {
	dir, h := t.TempDir(), newBootHost(t)
	s := mustOpenOn(t, dir, h, RunningFromAuto)
	mustEdit(t, s, alice, Running, setPeer("192.0.2.10", 6))
	s.Close()

	h.boot(t, "33333333-3333-4333-8333-333333333333")
	s = mustOpenOn(t, dir, h, RunningFromAuto)
	if got := peersOf(s.Snapshot(Running)); len(got) != 1 {
		t.Fatalf("a boot without a saved configuration changed running to %v", got)
	}
	if err := s.Copy(alice, Startup, Running, nil); err != nil {
		t.Fatal(err)
	}
	mustEdit(t, s, alice, Running, setPeer("192.0.2.11", 6))
	s.Close()

	h.boot(t, "44444444-4444-4444-8444-444444444444")
	s = mustOpenOn(t, dir, h, RunningFromRunning)
	if got := peersOf(s.Snapshot(Running)); len(got) != 2 {
		t.Fatalf("running-from=running after a boot holds %v, want running's two peers", got)
	}
	s.Close()

	s = mustOpenOn(t, dir, h, RunningFromStartup) // no boot, forced
	if got := peersOf(s.Snapshot(Running)); len(got) != 1 {
		t.Fatalf("running-from=startup holds %v, want startup's one peer", got)
	}
}

// TestStartupDamageRefused: a damaged startup file refuses the start with
// a DamageError naming it and changes nothing; Recover moves it aside.
func TestStartupDamageRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"bit flip", func(b []byte) []byte { b[len(b)/2] ^= 4; return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }},
		{"two records", func(b []byte) []byte { return append(b, b...) }},
		{"empty", func([]byte) []byte { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, h := t.TempDir(), newBootHost(t)
			s := mustOpenOn(t, dir, h, RunningFromAuto)
			mustEdit(t, s, alice, Running, setPeer("192.0.2.10", 6))
			if err := s.Copy(alice, Startup, Running, nil); err != nil {
				t.Fatal(err)
			}
			s.Close()
			path := filepath.Join(dir, startupName)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b = tc.damage(b)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			before := folderFiles(t, dir)
			_, err = openOn(t, dir, h, RunningFromAuto)
			var d *DamageError
			if !errors.As(err, &d) || d.File != path {
				t.Fatalf("Open of a damaged startup: %v, want a DamageError naming %s", err, path)
			}
			if after := folderFiles(t, dir); !maps.Equal(after, before) {
				t.Fatal("a refused Open changed the folder")
			}
			r, err := Open(Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LocalPrefixes: noPrefixes, BootIDFile: h.path, Recover: true})
			if err != nil {
				t.Fatalf("Recover: %v", err)
			}
			defer r.Close()
			if _, ok := r.Saved(); ok {
				t.Fatal("Recover kept the damaged startup")
			}
			if aside, _ := filepath.Glob(path + ".damaged-*"); len(aside) != 1 {
				t.Fatalf("the damaged startup was not moved aside: %v", aside)
			}
			if got := peersOf(r.Snapshot(Running)); len(got) != 1 {
				t.Fatalf("Recover changed running to %v", got)
			}
		})
	}
}

// TestStartupOperations: RFC 6241 §8.7.1 — the operations startup takes
// part in, and the ones it refuses.
func TestStartupOperations(t *testing.T) {
	s := mustOpenOn(t, t.TempDir(), newBootHost(t), RunningFromAuto)
	tag := func(err error) rpcerror.Tag {
		if err == nil {
			return ""
		}
		return rpcerror.All(err)[0].Tag
	}
	// Nothing saved: startup reads empty, is valid, and cannot be copied.
	if got := s.Snapshot(Startup); !equalTree(got, &gen.Device{}) {
		t.Fatal("an unsaved startup is not empty")
	}
	if err := s.Validate(alice, Startup); err != nil {
		t.Fatalf("validate an empty startup: %v", err)
	}
	if err := s.Copy(alice, Running, Startup, nil); tag(err) != rpcerror.TagOperationFailed {
		t.Fatalf("copy from an unsaved startup: %v", err)
	}
	// §8.7.1: edit-config has no startup target.
	if err := s.Edit(alice, Startup, EditOptions{}, setPeer("192.0.2.1", 6)); tag(err) != rpcerror.TagOperationNotSupported {
		t.Fatalf("edit of startup: %v", err)
	}
	// §7.3: candidate → startup and inline → startup, validated.
	mustEdit(t, s, alice, Candidate, setPeer("192.0.2.20", 6))
	if err := s.Copy(alice, Startup, Candidate, nil); err != nil {
		t.Fatal(err)
	}
	if got := peersOf(s.Snapshot(Startup)); len(got) != 1 || got[0] != "192.0.2.20" {
		t.Fatalf("startup after candidate copy: %v", got)
	}
	bad := &gen.Device{}
	p := bad.GetOrCreateNtp().GetOrCreateUnicastPeer("192.0.2.30", "_public_")
	p.SetMinpoll(10)
	p.SetMaxpoll(6)
	if err := s.Copy(alice, Startup, "", bad); err == nil {
		t.Fatal("an invalid configuration was saved to startup")
	}
	if got := peersOf(s.Snapshot(Startup)); len(got) != 1 || got[0] != "192.0.2.20" {
		t.Fatalf("a refused copy changed startup: %v", got)
	}
	// Startup → running is a commit.
	if err := s.Copy(alice, Running, Startup, nil); err != nil {
		t.Fatal(err)
	}
	if got := peersOf(s.Snapshot(Running)); len(got) != 1 || got[0] != "192.0.2.20" {
		t.Fatalf("running after copy from startup: %v", got)
	}
	// §7.5: a lock on startup keeps other sessions from writing it.
	if err := s.Lock(alice, Startup); err != nil {
		t.Fatal(err)
	}
	if err := s.Copy(bob, Startup, Running, nil); tag(err) != rpcerror.TagLockDenied {
		t.Fatalf("copy to a startup another session locked: %v", err)
	}
	if err := s.Delete(bob, Startup); tag(err) != rpcerror.TagLockDenied {
		t.Fatalf("delete of a startup another session locked: %v", err)
	}
	if locks := s.Locks(); len(locks) != 1 || locks[0].Datastore != Startup {
		t.Fatalf("locks %+v", locks)
	}
	s.CloseSession(alice)
	if locks := s.Locks(); len(locks) != 0 {
		t.Fatalf("the end of the session left locks %+v", locks)
	}
	// §7.4: delete-config empties startup, durably.
	_, g := s.Shared(Startup)
	if err := s.Delete(bob, Startup); err != nil {
		t.Fatal(err)
	}
	if got, g2 := s.Shared(Startup); !equalTree(got, &gen.Device{}) || g2 == g {
		t.Fatalf("startup after delete-config: %v peers, generation %d → %d", peersOf(got), g, g2)
	}
	if info, ok := s.Saved(); !ok || info.ID != 2 || info.From != "" {
		t.Fatalf("saved after delete: %+v %v", info, ok)
	}
}

func TestParseRunningFrom(t *testing.T) {
	for _, v := range []string{"auto", "running", "startup"} {
		r, err := ParseRunningFrom(v)
		if err != nil || r.String() != v {
			t.Errorf("%s: %v %v", v, r, err)
		}
	}
	if _, err := ParseRunningFrom("boot"); err == nil || !strings.Contains(err.Error(), "auto, running, startup") {
		t.Errorf("bad value: %v", err)
	}
}
