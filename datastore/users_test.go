package datastore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openconfig/ygot/ygot"
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

// countHashes makes s count its password hashes (rules.PasswordToStore
// still does the work); onHash, when not nil, runs before each.
func countHashes(s *Store, onHash func()) *atomic.Int32 {
	var n atomic.Int32
	s.hashPassword = func(given, old string) (string, error) {
		n.Add(1)
		if onHash != nil {
			onHash()
		}
		return rules.PasswordToStore(given, old)
	}
	return &n
}

// addUsers adds n local users user1..userN, each with a clear-text
// password when withPassword.
func addUsers(n int, withPassword bool) func(*gen.Device) error {
	return func(d *gen.Device) error {
		for i := 1; i <= n; i++ {
			u := d.GetOrCreateSystem().GetOrCreateLocalUser(fmt.Sprintf("user%d", i))
			if withPassword {
				pw := fmt.Sprintf("password-of-user%d", i)
				u.Password = &pw
			}
		}
		return nil
	}
}

// RFC 7950 §15.3 and /system/local-user's max-elements: an edit that would
// make more local users than the YANG allows is refused whole with
// operation-failed, too-many-elements and the list's path, before any of
// its passwords is hashed, whatever the test option and whether it is an
// edit, a copy or a validation; as many users as allowed are taken.
func TestLocalUsersBeyondMaxElementsAreRefused(t *testing.T) {
	max := int(gen.SchemaTree["NtpagentSystem_System_LocalUser"].ListAttr.MaxElements)
	if max == 0 {
		t.Fatal("/system/local-user has no max-elements")
	}
	tooMany := addUsers(max+1, true)
	inline := &gen.Device{}
	tooMany(inline)
	for _, tc := range []struct {
		name string
		do   func(s *Store) error
	}{
		{"edit-config candidate test-then-set", func(s *Store) error { return s.Edit(alice, Candidate, EditOptions{}, tooMany) }},
		{"edit-config candidate set (the CLI)", func(s *Store) error {
			return s.Edit(bob, Candidate, EditOptions{TestOption: SetOnly}, tooMany)
		}},
		{"edit-config running", func(s *Store) error { return s.Edit(alice, Running, EditOptions{}, tooMany) }},
		{"edit-config continue-on-error", func(s *Store) error {
			return s.Edit(alice, Candidate, EditOptions{ErrorOption: ContinueOnError}, tooMany)
		}},
		{"copy-config inline to candidate", func(s *Store) error { return s.Copy(alice, Candidate, "", inline) }},
		{"copy-config inline to running", func(s *Store) error { return s.Copy(alice, Running, "", inline) }},
		{"validate inline", func(s *Store) error { return s.ValidateTree(inline) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, "", nil)
			hashes := countHashes(s, nil)
			run, _ := s.Shared(Running)
			cand, _ := s.Shared(Candidate)
			err := tc.do(s)
			if err == nil {
				t.Fatalf("%d local users accepted", max+1)
			}
			e := rpcerror.All(err)[0]
			if e.Tag != rpcerror.TagOperationFailed || e.AppTag != "too-many-elements" || e.Path != "/ntps:system/ntps:local-user" ||
				!strings.Contains(e.Message, fmt.Sprint(max)) {
				t.Fatalf("error %+v, want operation-failed, too-many-elements on the list, naming the bound %d", e, max)
			}
			if n := hashes.Load(); n != 0 {
				t.Errorf("%d passwords hashed before the edit was refused", n)
			}
			if r, _ := s.Shared(Running); r != run {
				t.Error("running changed")
			}
			if c, _ := s.Shared(Candidate); c != cand {
				t.Error("the candidate changed")
			}
		})
	}
	s := openStore(t, "", nil)
	mustEdit(t, s, alice, Candidate, addUsers(max, false))
	mustCommit(t, s, alice, CommitOptions{})
	if n := len(storedUsers(s, Running)); n != max {
		t.Fatalf("running holds %d users, want %d", n, max)
	}
	err := s.Edit(alice, Candidate, EditOptions{}, setUserPassword("one-more", "password-of-one-more"))
	if tagOf(err) != rpcerror.TagOperationFailed {
		t.Fatalf("user %d added to a full list: %v", max+1, err)
	}
}

func storedUsers(s *Store, ds Name) map[string]*gen.NtpagentSystem_System_LocalUser {
	t, _ := s.Shared(ds)
	return localUsers(t)
}

// bcrypt takes tens of milliseconds a password, so an edit's passwords are
// hashed without the store's lock: while the first hash is under way,
// another session reads running and the candidate and commits a change of
// its own. The edit then applies again to the datastore that changed, with
// the hashes it already made (one bcrypt per password in all), and stores
// the same form as ever: a hash each password verifies against.
func TestPasswordsAreHashedOutsideTheLock(t *testing.T) {
	const users = 4
	inline := &gen.Device{}
	addUsers(users, true)(inline)
	for _, tc := range []struct {
		name string
		do   func(s *Store) error
		// keepsOther: the other session's sysname survives (an edit
		// merges; a copy replaces the whole candidate).
		keepsOther bool
	}{
		{"edit-config", func(s *Store) error { return s.Edit(alice, Candidate, EditOptions{}, addUsers(users, true)) }, true},
		{"copy-config inline", func(s *Store) error { return s.Copy(alice, Candidate, "", inline) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, "", nil)
			hashing, othersDone := make(chan struct{}), make(chan struct{})
			var first sync.Once
			hashes := countHashes(s, func() {
				first.Do(func() {
					close(hashing)
					// Only breaks the deadlock a hash under the lock would
					// make: the other session's work needs that lock.
					select {
					case <-othersDone:
					case <-time.After(time.Minute):
						t.Error("the other session's read and commit waited for bcrypt: the hash runs under the store's lock")
					}
				})
			})
			go func() {
				defer close(othersDone)
				<-hashing
				s.Shared(Running)
				s.Shared(Candidate)
				if err := s.Edit(bob, Running, EditOptions{}, func(d *gen.Device) error {
					d.GetOrCreateSystem().Sysname = ygot.String("edited-meanwhile")
					return nil
				}); err != nil {
					t.Errorf("the other session's commit: %v", err)
				}
			}()
			if err := tc.do(s); err != nil {
				t.Fatal(err)
			}
			<-othersDone
			if n := hashes.Load(); n != users {
				t.Errorf("%d bcrypt hashes for %d passwords: the edit made again did not reuse them", n, users)
			}
			cand, _ := s.Shared(Candidate)
			if got := cand.GetSystem().GetSysname() == "edited-meanwhile"; got != tc.keepsOther {
				t.Errorf("the other session's sysname kept: %t, want %t", got, tc.keepsOther)
			}
			for i := 1; i <= users; i++ {
				name := fmt.Sprintf("user%d", i)
				h := storedPassword(t, s, Candidate, name)
				if bcrypt.CompareHashAndPassword([]byte(h), []byte("password-of-"+name)) != nil {
					t.Errorf("%s: stored %q, not a hash of its password", name, h)
				}
			}
		})
	}
}
