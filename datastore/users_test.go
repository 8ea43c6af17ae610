package datastore

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

func setUserPassword(name, password string) func(*gen.Device) error {
	return func(d *gen.Device) error {
		u := d.GetOrCreateSystem().GetOrCreateLocalUser(name)
		u.Role = gen.NtpagentSystem_System_LocalUser_Role_admin
		u.Password = &password
		return nil
	}
}

func storedPassword(t *testing.T, s *Store, ds Name, name string) string {
	t.Helper()
	stored, _ := s.Shared(ds)
	u := stored.GetSystem().GetLocalUser(name)
	if u == nil || u.Password == nil {
		t.Fatalf("%s: user %s has no password", ds, name)
	}
	return *u.Password
}

// A password given in plain text is stored only as its bcrypt hash: in the
// candidate, in running, and in every file of the state folder (journal,
// running.json).
func TestPlainPasswordIsNeverStored(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	const plain = "Plain-Password-0815"
	mustEdit(t, s, alice, Candidate, setUserPassword("carol", plain))
	h := storedPassword(t, s, Candidate, "carol")
	if h == plain || bcrypt.CompareHashAndPassword([]byte(h), []byte(plain)) != nil {
		t.Fatalf("candidate holds %q, want a bcrypt hash of the password", h)
	}
	mustCommit(t, s, alice, CommitOptions{})
	if got := storedPassword(t, s, Running, "carol"); got != h {
		t.Fatalf("running holds %q, want the candidate's hash %q", got, h)
	}
	// Written to running directly as well.
	mustEdit(t, s, alice, Running, setUserPassword("dave", plain+"2"))
	s.Close()
	if names := filesHolding(t, dir, plain); len(names) > 0 {
		t.Errorf("%v hold the plain password", names)
	}
	if len(filesHolding(t, dir, h)) == 0 {
		t.Fatalf("no file of %s holds the hash", dir)
	}
	s2 := openStore(t, dir, nil)
	if got := storedPassword(t, s2, Running, "carol"); got != h {
		t.Fatalf("after restart running holds %q, want %q", got, h)
	}
}

// Setting the same password again, or giving the stored hash, changes
// nothing (repeated Ansible runs commit nothing); a new password gets a
// new hash.
func TestSamePasswordAgainChangesNothing(t *testing.T) {
	s := openStore(t, "", nil)
	mustEdit(t, s, alice, Running, setUserPassword("carol", "first-password"))
	h := storedPassword(t, s, Running, "carol")
	n := len(s.History())
	mustEdit(t, s, alice, Running, setUserPassword("carol", "first-password"))
	mustEdit(t, s, alice, Running, setUserPassword("carol", h))
	if got := len(s.History()); got != n {
		t.Fatalf("setting the same password again made %d commits", got-n)
	}
	mustEdit(t, s, alice, Running, setUserPassword("carol", "second-password"))
	if h2 := storedPassword(t, s, Running, "carol"); h2 == h || bcrypt.CompareHashAndPassword([]byte(h2), []byte("second-password")) != nil {
		t.Fatalf("a new password was not hashed anew: %q", h2)
	}
}

// Bad user data is refused with the leaf's path and changes nothing; the
// error never contains the password.
func TestBadLocalUserIsRefused(t *testing.T) {
	long := string(bytes.Repeat([]byte("p"), 73))
	for _, tc := range []struct {
		name string
		edit func(*gen.Device) error
		path string
	}{
		{"password over bcrypt's 72 bytes", setUserPassword("carol", long), rules.UserPath("carol", "password")},
		{"empty password", setUserPassword("carol", ""), rules.UserPath("carol", "password")},
		{"authorized key not a key line", func(d *gen.Device) error {
			d.GetOrCreateSystem().GetOrCreateLocalUser("carol").AuthorizedKey = []string{"ssh-ed25519 not-base64"}
			return nil
		}, rules.UserPath("carol", "authorized-key")},
		{"two lines in one authorized key", func(d *gen.Device) error {
			d.GetOrCreateSystem().GetOrCreateLocalUser("carol").AuthorizedKey = []string{testKeyLine + "\n" + testKeyLine}
			return nil
		}, rules.UserPath("carol", "authorized-key")},
		{"name other than the list key", func(d *gen.Device) error {
			n := "dave"
			d.GetOrCreateSystem().GetOrCreateLocalUser("carol").Name = &n
			return nil
		}, rules.UserPath("carol", "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, "", nil)
			before, _ := s.Shared(Running)
			err := s.Edit(alice, Running, EditOptions{}, tc.edit)
			if err == nil {
				t.Fatal("accepted")
			}
			if bytes.Contains([]byte(err.Error()), []byte(long)) {
				t.Fatalf("the error shows the password: %v", err)
			}
			if e := rpcerror.All(err)[0]; e.Path != tc.path {
				t.Fatalf("error path %q, want %q (%v)", e.Path, tc.path, err)
			}
			if after, _ := s.Shared(Running); after != before {
				t.Fatal("running changed")
			}
		})
	}
}

// testKeyLine is a well-formed authorized_keys line (an Ed25519 key).
const testKeyLine = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIPzw+FWpeabqTQW9eWKUp71wGrkEy+76hEgL0tMK4Yp test@example"

// WithoutKeyValues leaves out the password hashes (and only them) for
// readers who may not read secrets, without changing the stored tree.
func TestWithoutKeyValuesOmitsPasswordHashes(t *testing.T) {
	s := openStore(t, "", nil)
	mustEdit(t, s, alice, Running, func(d *gen.Device) error {
		if err := setUserPassword("carol", "a-password")(d); err != nil {
			return err
		}
		d.GetOrCreateSystem().GetOrCreateLocalUser("carol").AuthorizedKey = []string{testKeyLine}
		return nil
	})
	stored, _ := s.Shared(Running)
	shown := WithoutKeyValues(stored)
	u := shown.GetSystem().GetLocalUser("carol")
	if u == nil || u.Password != nil {
		t.Fatalf("shown user %+v, want it without its password", u)
	}
	if u.Role != gen.NtpagentSystem_System_LocalUser_Role_admin || len(u.AuthorizedKey) != 1 {
		t.Fatalf("shown user lost more than its password: %+v", u)
	}
	if stored.GetSystem().GetLocalUser("carol").Password == nil {
		t.Fatal("the stored tree was changed")
	}
}

// A running.json made by hand may give passwords in clear text: they are
// hashed before the first journal record, so after the first start no
// file holds them.
func TestHandMadeRunningJSONPasswordsAreHashedAtFirstStart(t *testing.T) {
	const plain = "Hand-Made-Password-42"
	hand := &gen.Device{}
	if err := setUserPassword("carol", plain)(hand); err != nil {
		t.Fatal(err)
	}
	js, err := emitRFC7951(hand)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, runningName), js, 0o600); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dir, nil)
	h := storedPassword(t, s, Running, "carol")
	if bcrypt.CompareHashAndPassword([]byte(h), []byte(plain)) != nil {
		t.Fatalf("running holds %q, want the hash of the hand-made password", h)
	}
	s.Close()
	if names := filesHolding(t, dir, plain); len(names) > 0 {
		t.Errorf("%v still hold the clear-text password", names)
	}
}
