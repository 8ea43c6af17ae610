package datastore

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// TestOperations: one row per rule of RFC 6241 (section in the name) or of
// the datastore's own rules (datastore/doc.go), each on a fresh store holding one committed peer 10.0.0.1.
func TestOperations(t *testing.T) {
	base := map[string]uint8{"10.0.0.1": 6}
	tests := []struct {
		name string
		run  func(t *testing.T, s *Store)
	}{
		{"RFC6241-7.2 test-then-set: a valid edit of candidate is stored, running unchanged", func(t *testing.T, s *Store) {
			mustEdit(t, s, alice, Candidate, setPeer("10.0.0.2", 4))
			want := map[string]uint8{"10.0.0.1": 6, "10.0.0.2": 4}
			if got := peerSet(s.Snapshot(Candidate)); !reflect.DeepEqual(got, want) {
				t.Errorf("candidate %v, want %v", got, want)
			}
			if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, base) {
				t.Errorf("running %v, want %v", got, base)
			}
			if !s.CandidateModified() {
				t.Error("CandidateModified false after an edit")
			}
		}},
		{"RFC6241-7.2 test-then-set: an edit that fails validation changes nothing", func(t *testing.T, s *Store) {
			err := s.Edit(alice, Candidate, EditOptions{TestOption: TestThenSet}, setPeer("10.0.0.1", 12)) // minpoll 12 > maxpoll 10
			if err == nil || !strings.Contains(rpcerror.All(err)[0].Path, "minpoll") {
				t.Fatalf("err %v, want a minpoll error with its path", err)
			}
			if got := peerSet(s.Snapshot(Candidate)); !reflect.DeepEqual(got, base) || s.CandidateModified() {
				t.Errorf("candidate %v modified=%v after a refused edit", got, s.CandidateModified())
			}
		}},
		{"RFC6241-7.2 set: no validation; the invalid candidate is refused at commit (8.3)", func(t *testing.T, s *Store) {
			if err := s.Edit(alice, Candidate, EditOptions{TestOption: SetOnly}, setPeer("10.0.0.1", 12)); err != nil {
				t.Fatalf("set: %v", err)
			}
			if got := peerSet(s.Snapshot(Candidate))["10.0.0.1"]; got != 12 {
				t.Fatalf("candidate minpoll %d, want 12", got)
			}
			if _, err := s.Commit(alice, CommitOptions{}); err == nil {
				t.Fatal("commit of an invalid candidate succeeded")
			}
			if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, base) {
				t.Errorf("running %v after a refused commit", got)
			}
		}},
		{"RFC6241-7.2 test-only: a valid edit is validated and not stored", func(t *testing.T, s *Store) {
			if err := s.Edit(alice, Candidate, EditOptions{TestOption: TestOnly}, setPeer("10.0.0.2", 4)); err != nil {
				t.Fatal(err)
			}
			if got := peerSet(s.Snapshot(Candidate)); !reflect.DeepEqual(got, base) || s.CandidateModified() {
				t.Errorf("candidate %v after test-only", got)
			}
		}},
		{"RFC6241-7.2 test-only: an invalid edit is reported", func(t *testing.T, s *Store) {
			err := s.Edit(alice, Candidate, EditOptions{TestOption: TestOnly}, setPeer("224.0.0.1", 4))
			if tagOf(err) != rpcerror.TagInvalidValue {
				t.Fatalf("err %v, want invalid-value", err)
			}
		}},
		{"RFC6241-7.2 an edit whose apply fails changes nothing and returns its rpc-error", func(t *testing.T, s *Store) {
			err := s.Edit(alice, Candidate, EditOptions{}, func(d *gen.Device) error {
				d.GetOrCreateNtp().DeleteUnicastPeer("10.0.0.1", "_public_")
				setPeer("10.0.0.9", 4)(d)
				return rpcerror.New(rpcerror.TagDataExists, rules.PeerPath("10.0.0.3", "_public_", ""), "exists")
			})
			if tagOf(err) != rpcerror.TagDataExists {
				t.Fatalf("err %v, want data-exists", err)
			}
			if got := peerSet(s.Snapshot(Candidate)); !reflect.DeepEqual(got, base) || s.CandidateModified() {
				t.Errorf("candidate %v after a failed apply", got)
			}
		}},
		{"RFC6241-7.2 a plain Go error from apply becomes operation-failed", func(t *testing.T, s *Store) {
			err := s.Edit(alice, Candidate, EditOptions{}, func(*gen.Device) error { return errors.New("boom") })
			if tagOf(err) != rpcerror.TagOperationFailed {
				t.Fatalf("err %v", err)
			}
		}},
		{"RFC6241-7.2 an edit that removes the whole /ntp container deletes every peer", func(t *testing.T, s *Store) {
			mustEdit(t, s, alice, Running, func(d *gen.Device) error { d.Ntp = nil; return nil })
			if got := peerSet(s.Snapshot(Running)); len(got) != 0 || len(s.History()) != 2 {
				t.Errorf("running %v, %d commits", got, len(s.History()))
			}
			mustEdit(t, s, alice, Running, setPeer("10.0.0.1", 6))
			mustEdit(t, s, alice, Candidate, func(d *gen.Device) error { *d = gen.Device{}; return nil })
			if len(peerSet(s.Snapshot(Candidate))) != 0 || !s.CandidateModified() {
				t.Error("emptied candidate not modified")
			}
		}},
		{"RFC6241-7.2 a panic in apply is operation-failed and changes nothing", func(t *testing.T, s *Store) {
			err := s.Edit(alice, Candidate, EditOptions{}, func(d *gen.Device) error {
				setPeer("10.0.0.7", 4)(d)
				var m map[string]int
				m["x"] = 1 // a bug in a codec
				return nil
			})
			if tagOf(err) != rpcerror.TagOperationFailed || s.CandidateModified() {
				t.Fatalf("err %v modified %v", err, s.CandidateModified())
			}
			mustEdit(t, s, alice, Candidate, setPeer("10.0.0.2", 4)) // the store still works
		}},
		{"RFC6241-7.2 an unknown test-option is invalid-value", func(t *testing.T, s *Store) {
			err := s.Edit(alice, Candidate, EditOptions{TestOption: TestOption(9)}, setPeer("10.0.0.2", 4))
			if tagOf(err) != rpcerror.TagInvalidValue {
				t.Fatalf("err %v", err)
			}
		}},
		{"RFC6241-5.1 an unknown datastore: invalid-value", func(t *testing.T, s *Store) {
			if tagOf(s.Edit(alice, "factory", EditOptions{}, setPeer("10.0.0.2", 4))) != rpcerror.TagInvalidValue ||
				tagOf(s.Lock(alice, "factory")) != rpcerror.TagInvalidValue {
				t.Fatal("factory accepted")
			}
		}},
		{"RFC6241-8.7.1 startup is no target of edit-config: operation-not-supported", func(t *testing.T, s *Store) {
			if tagOf(s.Edit(alice, Startup, EditOptions{}, setPeer("10.0.0.2", 4))) != rpcerror.TagOperationNotSupported {
				t.Fatal("edit of startup accepted")
			}
		}},
		{"RFC6241-8.8 writable-running: an edit of running is a validated commit; candidate follows", func(t *testing.T, s *Store) {
			mustEdit(t, s, bob, Running, setPeer("10.0.0.2", 4))
			want := map[string]uint8{"10.0.0.1": 6, "10.0.0.2": 4}
			if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, want) {
				t.Errorf("running %v", got)
			}
			if got := peerSet(s.Snapshot(Candidate)); !reflect.DeepEqual(got, want) || s.CandidateModified() {
				t.Errorf("candidate %v modified=%v", got, s.CandidateModified())
			}
			h := s.History()
			if len(h) != 2 || h[0].ID != 2 || h[0].User != "bob" || h[0].Origin != OriginCLI {
				t.Errorf("history %+v", h)
			}
		}},
		{"RFC6241-8.8 writable-running: running is validated even with test-option set", func(t *testing.T, s *Store) {
			if err := s.Edit(bob, Running, EditOptions{TestOption: SetOnly}, setPeer("10.0.0.1", 12)); err == nil {
				t.Fatal("invalid write to running accepted")
			}
			if len(s.History()) != 1 {
				t.Error("a refused write made a commit")
			}
		}},
		{"RFC6241-7.5 an edit of a datastore locked by another session is lock-denied with its session-id", func(t *testing.T, s *Store) {
			if err := s.Lock(bob, Candidate); err != nil {
				t.Fatal(err)
			}
			err := s.Edit(alice, Candidate, EditOptions{}, setPeer("10.0.0.2", 4))
			if tagOf(err) != rpcerror.TagLockDenied || infoOf(err, "session-id") != "2" {
				t.Fatalf("err %v info %q", err, infoOf(err, "session-id"))
			}
			mustEdit(t, s, bob, Candidate, setPeer("10.0.0.2", 4)) // the owner may
			if err := s.Lock(bob, Running); err != nil {
				t.Fatal(err)
			}
			if tagOf(s.Edit(alice, Running, EditOptions{}, setPeer("10.0.0.3", 4))) != rpcerror.TagLockDenied {
				t.Error("edit of locked running allowed")
			}
		}},
		{"a plain key-value is stored in cipher form; repeating the edit changes nothing", func(t *testing.T, s *Store) {
			setKey := func(d *gen.Device) error {
				k := d.GetOrCreateNtp().GetOrCreateAuthentication().GetOrCreateKey(7)
				k.SetMode(gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5)
				k.SetKeyValue("secret")
				return nil
			}
			mustEdit(t, s, alice, Running, setKey)
			v := s.Snapshot(Running).Ntp.Authentication.Key[7].GetKeyValue()
			if !rules.IsCipher(v) || strings.Contains(v, "secret") {
				t.Fatalf("stored key value %q", v)
			}
			mustEdit(t, s, alice, Running, setKey)
			if n := len(s.History()); n != 2 {
				t.Errorf("repeating the same plain key made a commit: %d commits", n)
			}
		}},
		{"RFC7950-7.21.1 config false data in an edit is refused", func(t *testing.T, s *Store) {
			err := s.Edit(alice, Candidate, EditOptions{}, func(d *gen.Device) error {
				d.GetOrCreateNtp().GetOrCreateStatus().SetStratum(3)
				return nil
			})
			if tagOf(err) != rpcerror.TagInvalidValue || !strings.Contains(rpcerror.All(err)[0].Path, "status") {
				t.Fatalf("err %v", err)
			}
		}},
		{"RFC7950-7.21.1 statistics in an edit are refused", func(t *testing.T, s *Store) {
			err := s.Edit(alice, Candidate, EditOptions{}, func(d *gen.Device) error {
				d.GetOrCreateNtp().GetOrCreateStatistics().SetBadFormat(3)
				return nil
			})
			if tagOf(err) != rpcerror.TagInvalidValue || !strings.Contains(rpcerror.All(err)[0].Path, "statistics") {
				t.Fatalf("err %v", err)
			}
			if s.CandidateModified() {
				t.Error("the refused edit changed the candidate")
			}
		}},
		{"RFC6243-3.3 explicit: an edit that leaves empty containers stores nothing for them", func(t *testing.T, s *Store) {
			mustEdit(t, s, alice, Candidate, func(d *gen.Device) error {
				d.GetOrCreateNtp().GetOrCreateUnsync()
				d.GetOrCreateSystem()
				d.Ntp.GetOrCreateAuthentication()
				return nil
			})
			c := s.Snapshot(Candidate)
			if c.System != nil || c.Ntp.Unsync != nil || c.Ntp.Authentication != nil || s.CandidateModified() {
				t.Errorf("empty containers kept: %+v", c.Ntp)
			}
		}},
		{"RFC6241-7.1 get-config reads: Shared is the stored tree, Snapshot an equal copy, neither changes with later edits", func(t *testing.T, s *Store) {
			shared, g := s.Shared(Running)
			snap := s.Snapshot(Running)
			if !equalTree(shared, snap) || shared == snap {
				t.Fatal("Shared and Snapshot differ")
			}
			mustEdit(t, s, alice, Running, setPeer("10.0.0.1", 7))
			if peerSet(shared)["10.0.0.1"] != 6 || peerSet(snap)["10.0.0.1"] != 6 {
				t.Error("an edit changed a tree handed out before it")
			}
			if _, g2 := s.Shared(Running); g2 <= g {
				t.Errorf("running's generation %d after an edit, %d before", g2, g)
			}
		}},
		{"RFC6241-8.3.4.1 commit makes running the candidate and records the commit", func(t *testing.T, s *Store) {
			mustEdit(t, s, alice, Candidate, setPeer("10.0.0.2", 4))
			ci := mustCommit(t, s, alice, CommitOptions{Label: "two"})
			if ci.ID != 2 || ci.User != "alice" || ci.Label != "two" || ci.Origin != OriginNETCONF {
				t.Errorf("commit info %+v", ci)
			}
			if got := peerSet(s.Snapshot(Running)); len(got) != 2 || s.CandidateModified() {
				t.Errorf("running %v modified=%v", got, s.CandidateModified())
			}
		}},
		{"RFC6241-8.3.4.1 a commit with nothing to commit makes no new commit", func(t *testing.T, s *Store) {
			ci := mustCommit(t, s, alice, CommitOptions{})
			if ci.ID != 1 || len(s.History()) != 1 {
				t.Errorf("ci %+v history %d", ci, len(s.History()))
			}
		}},
		{"RFC6241-7.5 commit is lock-denied while another session locks running or candidate", func(t *testing.T, s *Store) {
			mustEdit(t, s, alice, Candidate, setPeer("10.0.0.2", 4))
			s.Lock(bob, Running)
			if _, err := s.Commit(alice, CommitOptions{}); tagOf(err) != rpcerror.TagLockDenied || infoOf(err, "session-id") != "2" {
				t.Fatalf("err %v", err)
			}
			s.Unlock(bob, Running)
			mustCommit(t, s, alice, CommitOptions{})
		}},
		{"RFC6241-8.3.4.2 discard-changes makes the candidate equal to running", func(t *testing.T, s *Store) {
			mustEdit(t, s, alice, Candidate, setPeer("10.0.0.2", 4))
			if err := s.Discard(bob); err != nil {
				t.Fatal(err)
			}
			if got := peerSet(s.Snapshot(Candidate)); !reflect.DeepEqual(got, base) || s.CandidateModified() {
				t.Errorf("candidate %v", got)
			}
		}},
		{"RFC6241-7.5 discard-changes is lock-denied while another session locks the candidate", func(t *testing.T, s *Store) {
			s.Lock(bob, Candidate)
			if tagOf(s.Discard(alice)) != rpcerror.TagLockDenied {
				t.Fatal("discard allowed")
			}
		}},
		{"RFC6241-8.6.4.1 validate reports the errors of the candidate and of an inline config", func(t *testing.T, s *Store) {
			if err := s.Validate(alice, Candidate); err != nil {
				t.Fatalf("valid candidate: %v", err)
			}
			if err := s.Validate(alice, Running); err != nil {
				t.Fatalf("valid running: %v", err)
			}
			s.Edit(alice, Candidate, EditOptions{TestOption: SetOnly}, setPeer("10.0.0.1", 12))
			if s.Validate(alice, Candidate) == nil {
				t.Error("invalid candidate validated")
			}
			bad := &gen.Device{}
			setPeer("255.255.255.255", 4)(bad)
			if tagOf(s.ValidateTree(bad)) != rpcerror.TagInvalidValue {
				t.Error("invalid inline config validated")
			}
		}},
		{"RFC6241-7.3 copy-config running to candidate", func(t *testing.T, s *Store) {
			mustEdit(t, s, alice, Candidate, setPeer("10.0.0.2", 4))
			if err := s.Copy(alice, Candidate, Running, nil); err != nil {
				t.Fatal(err)
			}
			if got := peerSet(s.Snapshot(Candidate)); !reflect.DeepEqual(got, base) || s.CandidateModified() {
				t.Errorf("candidate %v", got)
			}
		}},
		{"RFC6241-7.3 copy-config candidate to running is a commit", func(t *testing.T, s *Store) {
			mustEdit(t, s, alice, Candidate, setPeer("10.0.0.2", 4))
			if err := s.Copy(alice, Running, Candidate, nil); err != nil {
				t.Fatal(err)
			}
			if got := peerSet(s.Snapshot(Running)); len(got) != 2 || len(s.History()) != 2 || s.CandidateModified() {
				t.Errorf("running %v", got)
			}
		}},
		{"RFC6241-7.3 copy-config of an inline config replaces the target whole", func(t *testing.T, s *Store) {
			in := &gen.Device{}
			setPeer("10.0.0.5", 5)(in)
			if err := s.Copy(alice, Candidate, "", in); err != nil {
				t.Fatal(err)
			}
			if got := peerSet(s.Snapshot(Candidate)); !reflect.DeepEqual(got, map[string]uint8{"10.0.0.5": 5}) {
				t.Errorf("candidate %v", got)
			}
			in.Ntp.UnicastPeer[gen.NtpagentNtp_Ntp_UnicastPeer_Key{Address: "10.0.0.5", VpnInstance: "_public_"}].SetMinpoll(3)
			if peerSet(s.Snapshot(Candidate))["10.0.0.5"] != 5 {
				t.Error("the store shares the caller's tree")
			}
		}},
		{"RFC6241-7.3 copy-config of an invalid inline config changes nothing", func(t *testing.T, s *Store) {
			in := &gen.Device{}
			setPeer("224.1.1.1", 5)(in)
			if s.Copy(alice, Running, "", in) == nil {
				t.Fatal("accepted")
			}
			if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, base) {
				t.Errorf("running %v", got)
			}
		}},
		{"RFC6241-7.3 copy-config with the same source and target is invalid-value", func(t *testing.T, s *Store) {
			if tagOf(s.Copy(alice, Running, Running, nil)) != rpcerror.TagInvalidValue {
				t.Fatal("accepted")
			}
			if tagOf(s.Copy(alice, Running, "", nil)) != rpcerror.TagMissingElement {
				t.Fatal("no source accepted")
			}
		}},
		{"RFC6241-7.4 delete-config of running is refused", func(t *testing.T, s *Store) {
			if tagOf(s.Delete(alice, Running)) != rpcerror.TagOperationNotSupported {
				t.Fatal("running deleted")
			}
		}},
		{"RFC6241-7.4 delete-config of the candidate empties it, as an uncommitted change", func(t *testing.T, s *Store) {
			if err := s.Delete(alice, Candidate); err != nil {
				t.Fatal(err)
			}
			if len(peerSet(s.Snapshot(Candidate))) != 0 || !s.CandidateModified() {
				t.Error("candidate not emptied")
			}
			mustCommit(t, s, alice, CommitOptions{})
			if len(peerSet(s.Snapshot(Running))) != 0 {
				t.Error("running not emptied by the commit")
			}
		}},
		{"RFC6241-7.5 a held lock is lock-denied to others and to its owner, with the holder's session-id", func(t *testing.T, s *Store) {
			if err := s.Lock(alice, Running); err != nil {
				t.Fatal(err)
			}
			for _, sess := range []Session{bob, alice} {
				err := s.Lock(sess, Running)
				if tagOf(err) != rpcerror.TagLockDenied || infoOf(err, "session-id") != "1" {
					t.Errorf("session %d: %v", sess.ID, err)
				}
			}
			if l := s.Locks(); len(l) != 1 || l[0].SessionID != 1 || l[0].Datastore != Running || l[0].User != "alice" {
				t.Errorf("Locks %+v", l)
			}
		}},
		{"RFC6241-7.5 lock of a candidate holding another session's uncommitted changes is refused", func(t *testing.T, s *Store) {
			mustEdit(t, s, bob, Candidate, setPeer("10.0.0.2", 4))
			err := s.Lock(alice, Candidate)
			if tagOf(err) != rpcerror.TagLockDenied || infoOf(err, "session-id") != "2" {
				t.Fatalf("err %v", err)
			}
			if err := s.Lock(bob, Candidate); err != nil {
				t.Fatalf("own changes must not block the lock: %v", err)
			}
			if !s.CandidateModifiedBy(bob.ID) || s.CandidateModifiedBy(alice.ID) {
				t.Error("CandidateModifiedBy does not name the session that made the changes")
			}
		}},
		{"RFC6241-7.5 after a commit the candidate can be locked by anyone", func(t *testing.T, s *Store) {
			mustEdit(t, s, bob, Candidate, setPeer("10.0.0.2", 4))
			mustCommit(t, s, bob, CommitOptions{})
			if err := s.Lock(alice, Candidate); err != nil {
				t.Fatal(err)
			}
		}},
		{"RFC6241-7.6 unlock of a datastore that is not locked is operation-failed", func(t *testing.T, s *Store) {
			if tagOf(s.Unlock(alice, Running)) != rpcerror.TagOperationFailed {
				t.Fatal("accepted")
			}
		}},
		{"RFC6241-7.6 unlock by a session that does not own the lock is refused", func(t *testing.T, s *Store) {
			s.Lock(alice, Candidate)
			err := s.Unlock(bob, Candidate)
			if tagOf(err) != rpcerror.TagLockDenied || infoOf(err, "session-id") != "1" {
				t.Fatalf("err %v", err)
			}
			if len(s.Locks()) != 1 {
				t.Error("lock released by a non-owner")
			}
		}},
		{"RFC6241-8.3.5.2 unlock of the candidate discards its uncommitted changes", func(t *testing.T, s *Store) {
			s.Lock(alice, Candidate)
			mustEdit(t, s, alice, Candidate, setPeer("10.0.0.2", 4))
			if err := s.Unlock(alice, Candidate); err != nil {
				t.Fatal(err)
			}
			if got := peerSet(s.Snapshot(Candidate)); !reflect.DeepEqual(got, base) || s.CandidateModified() {
				t.Errorf("candidate %v after unlock", got)
			}
		}},
		{"RFC6241-8.3.5.2 unlock of running keeps the candidate's changes", func(t *testing.T, s *Store) {
			s.Lock(alice, Running)
			mustEdit(t, s, alice, Candidate, setPeer("10.0.0.2", 4))
			s.Unlock(alice, Running)
			if !s.CandidateModified() {
				t.Error("changes lost")
			}
		}},
		{"RFC6241-7.5 session end releases its locks and discards the candidate changes of the lock owner", func(t *testing.T, s *Store) {
			s.Lock(alice, Candidate)
			s.Lock(alice, Running)
			mustEdit(t, s, alice, Candidate, setPeer("10.0.0.2", 4))
			s.CloseSession(alice)
			if len(s.Locks()) != 0 || s.CandidateModified() {
				t.Errorf("locks %v modified %v", s.Locks(), s.CandidateModified())
			}
			if err := s.Lock(bob, Candidate); err != nil {
				t.Fatal(err)
			}
		}},
		{"RFC6241-7.5 session end without the candidate lock leaves its changes (they still block others' lock)", func(t *testing.T, s *Store) {
			mustEdit(t, s, alice, Candidate, setPeer("10.0.0.2", 4))
			s.CloseSession(alice)
			if !s.CandidateModified() {
				t.Fatal("changes discarded")
			}
			if tagOf(s.Lock(bob, Candidate)) != rpcerror.TagLockDenied {
				t.Fatal("lock granted over the changes of another session")
			}
			s.Discard(bob)
			if err := s.Lock(bob, Candidate); err != nil {
				t.Fatal(err)
			}
		}},
		{"RFC6241-8.3 an edit back to running's content leaves no uncommitted change", func(t *testing.T, s *Store) {
			mustEdit(t, s, bob, Candidate, setPeer("10.0.0.2", 4))
			mustEdit(t, s, bob, Candidate, delPeer("10.0.0.2"))
			if s.CandidateModified() {
				t.Error("candidate equal to running counts as modified")
			}
		}},
		{"rollback to a commit id is a new commit with that content", func(t *testing.T, s *Store) {
			mustEdit(t, s, alice, Running, setPeer("10.0.0.2", 4))
			mustEdit(t, s, alice, Running, delPeer("10.0.0.1"))
			ci, err := s.Rollback(bob, 1, "back")
			if err != nil {
				t.Fatal(err)
			}
			if ci.ID != 4 || ci.Origin != OriginRollback || ci.Label != "back" || ci.User != "bob" {
				t.Errorf("ci %+v", ci)
			}
			if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, base) {
				t.Errorf("running %v", got)
			}
			if _, err := s.Rollback(bob, 99, ""); tagOf(err) != rpcerror.TagInvalidValue {
				t.Errorf("rollback to an unknown id: %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, "", nil)
			mustEdit(t, s, alice, Running, setPeer("10.0.0.1", 6))
			tc.run(t, s)
		})
	}
}

// Sessions working at the same time: no data race (run with -race), every
// commit reaches a subscriber once, in increasing id order, and the last
// change's new tree is running.
func TestConcurrentSessions(t *testing.T) {
	s := openStore(t, "", nil)
	ch, cancel := s.Subscribe(4)
	defer cancel()
	done := make(chan struct{})
	var mu sync.Mutex
	var ids []uint32
	var last *gen.Device
	go func() {
		defer close(done)
		for c := range ch {
			mu.Lock()
			ids = append(ids, c.Commit.ID)
			last = c.New
			mu.Unlock()
		}
	}()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			sess := Session{ID: uint32(10 + g), User: fmt.Sprint("u", g), Origin: OriginCLI}
			for i := 0; i < 40; i++ {
				addr := fmt.Sprintf("10.0.%d.%d", g, i%7+1)
				switch i % 5 {
				case 0, 1:
					s.Edit(sess, Candidate, EditOptions{}, setPeer(addr, uint8(3+i%8)))
				case 2:
					s.Commit(sess, CommitOptions{})
				case 3:
					s.Edit(sess, Running, EditOptions{}, delPeer(addr))
				case 4:
					if s.Lock(sess, Candidate) == nil {
						s.Edit(sess, Candidate, EditOptions{}, setPeer(addr, 4))
						s.Unlock(sess, Candidate)
					}
					s.Snapshot(Candidate)
				}
			}
			s.CloseSession(sess)
		}(g)
	}
	wg.Wait()
	want := s.Snapshot(Running)
	top := s.History()[0].ID
	deadline := time.After(10 * time.Second)
	for {
		mu.Lock()
		reached := len(ids) > 0 && ids[len(ids)-1] == top
		mu.Unlock()
		if reached {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("last delivered %v, want up to %d", ids, top)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	<-done
	for i := 1; i < len(ids); i++ {
		if ids[i] != ids[i-1]+1 {
			t.Fatalf("ids not consecutive: %v", ids)
		}
	}
	if !equalTree(last, want) {
		t.Error("last change is not running")
	}
}
