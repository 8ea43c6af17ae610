package atomicfile

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// The new content replaces the old with the mode asked for, no temporary
// file is left behind, and a failure leaves the old state and nothing
// else.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ntp.drift")
	for _, want := range []string{"1.000\n", "-2.500\n"} {
		if err := Write(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != want {
			t.Errorf("content %q, want %q", got, want)
		}
		if got := names(t, dir); !slices.Equal(got, []string{"ntp.drift"}) {
			t.Errorf("folder holds %v", got)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm()&^0o022 != 0o644 {
		t.Errorf("mode %v (%v), want 0644 less the umask", fi.Mode(), err)
	}
	// The target is a non-empty folder: the rename fails, the temporary
	// file goes, the folder stays.
	sub := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(sub, "f", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(sub, "f"), []byte("1\n"), 0o600); err == nil {
		t.Error("writing over a non-empty folder succeeded")
	}
	if got := names(t, sub); !slices.Equal(got, []string{"f"}) {
		t.Errorf("after a failed write the folder holds %v", got)
	}
	if err := Write(filepath.Join(dir, "missing", "f"), []byte("1\n"), 0o600); err == nil {
		t.Error("writing into a missing folder succeeded")
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "confirm.json")
	if err := Write(path, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second time it is already gone: fine
		if err := Remove(path); err != nil {
			t.Fatal(err)
		}
	}
	if got := names(t, dir); len(got) != 0 {
		t.Errorf("folder holds %v", got)
	}
	if err := SyncDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("SyncDir of a missing folder succeeded")
	}
}
