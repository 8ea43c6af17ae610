package datastore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/fakeclock"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

func setKeyValue(id uint32, value string) func(*gen.Device) error {
	return func(d *gen.Device) error {
		k := d.GetOrCreateNtp().GetOrCreateAuthentication().GetOrCreateKey(id)
		k.SetMode(gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5)
		k.SetKeyValue(value)
		return nil
	}
}

func storedKey(s *Store, id uint32) string {
	return s.Snapshot(Running).GetNtp().GetAuthentication().GetKey(id).GetKeyValue()
}

// anotherDevice is the key cipher of a device other than any test store's.
func anotherDevice(t *testing.T) *rules.KeyCipher {
	t.Helper()
	c, err := rules.NewKeyCipher([]byte("another device's 32-byte secret!"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The device key is made at first start, readable by its owner only, and
// the same at every later start: what one start sealed, the next opens.
func TestDeviceKeyIsMadeOnceAndKeptPrivate(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	mustEdit(t, s, alice, Running, setKeyValue(1, "secret-one"))
	sealed := storedKey(s, 1)
	s.Close()
	fi, err := os.Stat(filepath.Join(dir, deviceKeyName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("device key mode %04o, want 0600", perm)
	}
	s = openStore(t, dir, nil)
	if got := storedKey(s, 1); got != sealed {
		t.Fatalf("after a restart key 1 is %q, was %q", got, sealed)
	}
	if p, err := s.Keys().Open(sealed); err != nil || p != "secret-one" {
		t.Fatalf("after a restart the key opens as %q, %v", p, err)
	}
}

// A device key that others may read is refused, with what to do.
func TestDeviceKeyReadableByOthersIsRefused(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir, nil).Close()
	path := filepath.Join(dir, deviceKeyName)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(Options{Dir: dir, Clock: fakeclock.New(), LocalPrefixes: noPrefixes})
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Open with a 0644 device key: %v", err)
	}
}

// No file of the state folder holds a key in plain text, and what it holds
// opens on no other device (nor with the public key of former versions): a
// configuration file alone reveals nothing.
func TestStateFolderRevealsNoKey(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	const plain = "Plain-Secret-4711"
	mustEdit(t, s, alice, Candidate, setKeyValue(9, plain))
	if _, err := s.Commit(alice, CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	sealed := storedKey(s, 9)
	s.Close()
	if names := filesHolding(t, dir, plain); len(names) > 0 {
		t.Errorf("%v hold the plain key", names)
	}
	if len(filesHolding(t, dir, sealed)) == 0 {
		t.Fatalf("no file of %s holds the sealed key %s", dir, sealed)
	}
	if p, err := anotherDevice(t).Open(sealed); !errors.Is(err, rules.ErrForeignCipher) {
		t.Fatalf("another device opened the stored key: %q, %v", p, err)
	}
}

// A cipher text made by another device is refused in every way a
// configuration comes in (edit, inline copy, inline validate), with a
// message asking for the plain key, and nothing changes.
func TestCipherTextOfAnotherDeviceIsRefused(t *testing.T) {
	s := openStore(t, "", nil)
	foreign := anotherDevice(t).Seal("secret-one")
	check := func(what string, err error) {
		t.Helper()
		var e *rpcerror.Error
		if !errors.As(err, &e) || e.Tag != rpcerror.TagInvalidValue || !strings.Contains(e.Message, "not made by this device") ||
			!strings.Contains(e.Message, "plain text") || e.Path != rules.KeyPath(3, "key-value") {
			t.Errorf("%s: %v, want invalid-value asking for the plain key", what, err)
		}
	}
	check("edit", s.Edit(alice, Candidate, EditOptions{}, setKeyValue(3, foreign)))
	inline := &gen.Device{}
	if err := setKeyValue(3, foreign)(inline); err != nil {
		t.Fatal(err)
	}
	check("copy-config", s.Copy(alice, Candidate, "", inline))
	check("validate", s.ValidateTree(inline))
	if s.CandidateModified() || len(keys(s.Snapshot(Candidate))) != 0 {
		t.Error("a refused key changed the candidate")
	}
}

// A state folder written by a former version holds keys sealed with one
// public key: they are accepted once at load and sealed with this device's
// key, so that running and what is written from then on hold only this
// device's form.
func TestFormerCipherFormIsSealedAgainAtLoad(t *testing.T) {
	// "secret-one" in the former constant-key form.
	const former = "%^%#uoXPSxYO6grm3rPE8xk2/TpiPkogVD9/tK/MM8mfsXsNVbIbeB8%^%#"
	src := t.TempDir()
	s := openStore(t, src, nil)
	mustEdit(t, s, alice, Running, setKeyValue(1, "secret-one"))
	sealed := storedKey(s, 1)
	s.Close()
	snap, err := os.ReadFile(filepath.Join(src, runningName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(snap, []byte(sealed)) {
		t.Fatalf("%s does not hold the key", runningName)
	}
	// A first start with a running.json of the former version.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, runningName), bytes.ReplaceAll(snap, []byte(sealed), []byte(former)), 0o600); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, nil)
	got := storedKey(s, 1)
	if got == former || !rules.IsCipher(got) {
		t.Fatalf("key 1 is still %q", got)
	}
	if v, err := s.Keys().SealInput(got); err != nil || v != got {
		t.Fatalf("key 1 %q is not in this device's form: %v", got, err)
	}
	if p, err := s.Keys().Open(got); err != nil || p != "secret-one" {
		t.Fatalf("key 1 opens as %q, %v", p, err)
	}
	if err := s.Validate(alice, Running); err != nil {
		t.Fatalf("running after the upgrade: %v", err)
	}
	s.Close()
	// Sealed before the first record was written: no file holds the former
	// form any more.
	for _, name := range []string{runningName, journalName} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(former)) || !bytes.Contains(b, []byte(got)) {
			t.Errorf("%s after the upgrade:\n%s", name, b)
		}
	}
}

// A journal written by a former version (here: a commit of a tree holding
// the former form, as that version stored it) is sealed again at the next
// start by a system commit, and the history's trees too, so that a
// rollback brings back this device's form.
func TestFormerCipherFormInTheJournalIsSealedAgainAtLoad(t *testing.T) {
	const former = "%^%#uoXPSxYO6grm3rPE8xk2/TpiPkogVD9/tK/MM8mfsXsNVbIbeB8%^%#"
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	old := &gen.Device{}
	if err := setKeyValue(1, former)(old); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	_, err := s.commitTree(alice, old, "", OriginNETCONF, nil)
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	mustEdit(t, s, alice, Running, setPeer("192.0.2.7", 6))
	s.Close()

	s = openStore(t, dir, nil)
	got := storedKey(s, 1)
	if p, err := s.Keys().SealInput(got); err != nil || p != got {
		t.Fatalf("key 1 is %q, not in this device's form: %v", got, err)
	}
	h := s.History()
	if len(h) != 3 || h[0].Label != "keys sealed with the device key" || h[0].Origin != OriginSystem {
		t.Fatalf("history %+v, want a system commit sealing the keys on top", h)
	}
	if err := s.Validate(alice, Running); err != nil {
		t.Fatalf("running after the upgrade: %v", err)
	}
	if _, err := s.Rollback(alice, h[2].ID, ""); err != nil {
		t.Fatal(err)
	}
	if v := storedKey(s, 1); v != got {
		t.Fatalf("after a rollback to the first commit key 1 is %q, want %q", v, got)
	}
}
