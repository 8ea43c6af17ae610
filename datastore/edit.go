package datastore

import (
	"fmt"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// EditOptions are the options of an edit (RFC 6241 §7.2). The zero value
// is test-then-set and stop-on-error.
type EditOptions struct {
	TestOption  TestOption
	ErrorOption ErrorOption
	// Check, when set, judges the edit's effect: it is called with the
	// target's tree before and after the edit (both normalized: unchanged
	// list entries are the same pointers), under the store's lock, before
	// anything is validated or kept. An error refuses the edit whole and
	// is returned as it is (access control, RFC 8341 §3.4.5).
	Check func(before, after *gen.Device) error
}

// TestOption says whether an edit is validated and kept (RFC 6241 §7.2,
// §8.6.4 test-option). A protocol parses its own spelling into it.
type TestOption uint8

// The test options; the zero value is TestThenSet.
const (
	TestThenSet TestOption = iota // validate, keep only if valid
	SetOnly                       // keep without validating (the candidate only: running is always validated)
	TestOnly                      // validate, keep nothing
)

// ErrorOption says what a failing part of an edit does to the rest (RFC
// 6241 §7.2 error-option). With StopOnError and RollbackOnError a failing
// apply changes nothing. With ContinueOnError the parts of the edit that
// apply are kept: when apply returns an rpc-error (the failures it
// recorded, having applied the rest), the result is validated and stored
// like any edit and Edit returns those errors. A panic in apply always
// changes nothing.
type ErrorOption uint8

// The error options; the zero value is StopOnError.
const (
	StopOnError ErrorOption = iota
	RollbackOnError
	ContinueOnError
)

// validateNext validates next, a tree that would become a datastore's
// content, with rules.Validate. When running is known to be valid, only
// what differs from running is looked at (see sparseFor); d is
// diffEntries(s.running, next).
func (s *Store) validateNext(next *gen.Device, d entryDiff) error {
	if s.runValid && !d.other {
		if len(d.changed) == 0 {
			return nil
		}
		return rules.Validate(sparseFor(next, d), s.ruleOptions()...)
	}
	return rules.Validate(next, s.ruleOptions()...)
}

// runningDiff is diffEntries(s.running, t), remembered for the candidate.
func (s *Store) runningDiff(t *gen.Device) entryDiff {
	if m := s.candDiff; m != nil && t == s.candidate && m.cand == s.candGen && m.run == s.runGen {
		return m.d
	}
	return diffEntries(s.running, t)
}

type diffMemo struct {
	cand, run Generation
	d         entryDiff
}

// Edit changes target with apply, which runs on a deep copy of target's
// content (RFC 6241 §7.2 edit-config; the XML codec's Tree.Apply or a CLI
// command). If apply fails, or the result does not validate (test-then-set),
// nothing changes: an edit applies whole or not at all. Plain key values are
// turned into cipher form and plain passwords into bcrypt hashes. With
// test-only the result is validated and thrown away. An edit of running
// (:writable-running) is always validated, made durable, recorded in the
// history and sent to subscribers.
//
// apply runs without the store's lock, and twice when target changes
// meanwhile (each time on a fresh copy): it must change nothing but root,
// and must not call the Store.
func (s *Store) Edit(sess Session, target Name, opt EditOptions, apply func(root *gen.Device) error) error {
	if err := checkName(target); err != nil {
		return err
	}
	if target == Startup {
		// RFC 6241 §8.7.1: startup is a target of copy-config and
		// delete-config only.
		return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagOperationNotSupported,
			Message: "The startup datastore cannot be edited: copy a configuration to it (copy-config, save)."}
	}
	if opt.TestOption > TestOnly {
		return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagInvalidValue, Param: "test-option",
			Message: fmt.Sprintf("The test option %d is not one of test-then-set, set, test-only.", opt.TestOption)}
	}
	if opt.ErrorOption > ContinueOnError {
		return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagInvalidValue, Param: "error-option",
			Message: fmt.Sprintf("The error option %d is not one of stop-on-error, continue-on-error, rollback-on-error.", opt.ErrorOption)}
	}
	// bcrypt takes tens of milliseconds a password: the edit is applied
	// and its secrets sealed on a copy of target's stored tree (never
	// changed) outside the lock; under the lock the result is kept when
	// target still holds that tree, and otherwise the edit is made again
	// on the new one with the hashes already made.
	s.mu.Lock()
	base, err := s.editBase(sess, target)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	hashes := passwordHashes{}
	work, applyErr, err := s.prepareEdit(base, opt, apply, hashes)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now, err := s.editBase(sess, target)
	if err != nil {
		return err
	}
	if now != base {
		base = now
		if work, applyErr, err = s.prepareEdit(base, opt, apply, hashes); err != nil {
			return err
		}
	}
	d, err := normalizeDiff(work, base)
	if err != nil {
		return joinErrors(applyErr, err)
	}
	if opt.Check != nil {
		if err := opt.Check(base, work); err != nil {
			return err
		}
	}
	if base != s.running {
		d = diffEntries(s.running, work)
	}
	validated := false
	if opt.TestOption != SetOnly || target == Running {
		if err := s.validateNext(work, d); err != nil {
			return joinErrors(applyErr, err)
		}
		validated = true
	}
	if opt.TestOption == TestOnly {
		return applyErr
	}
	if target == Running {
		if d.empty() {
			return applyErr
		}
		_, err := s.commitTree(sess, work, "", sessionOrigin(sess), &d)
		return joinErrors(applyErr, err)
	}
	s.setCandidate(sess, work, d)
	if validated {
		s.validCand, s.validRun = s.candGen, s.runGen
	}
	return applyErr
}

// editBase is the tree an edit of target by sess starts from, or why sess
// may not edit it. s.mu is held.
func (s *Store) editBase(sess Session, target Name) (*gen.Device, error) {
	if err := s.writable(); err != nil {
		return nil, err
	}
	if err := s.lockedByOther(sess, target); err != nil {
		return nil, err
	}
	if target == Running {
		return s.running, nil
	}
	return s.candidate, nil
}

// prepareEdit applies an edit to a copy of base, a stored tree, and seals
// its secrets (sealSecrets): the part of Edit that needs no lock. err is
// the edit's failure; applyErr holds the failures continue-on-error keeps
// going past.
func (s *Store) prepareEdit(base *gen.Device, opt EditOptions, apply func(*gen.Device) error, hashes passwordHashes) (work *gen.Device, applyErr, err error) {
	work = copyTree(base)
	panicked, applyErr := runApply(apply, work)
	if applyErr != nil && (panicked || opt.ErrorOption != ContinueOnError) {
		return nil, nil, asRPCError(applyErr)
	}
	if applyErr != nil {
		// continue-on-error: what applied is kept, and the failures are
		// the answer whatever happens to it.
		applyErr = asRPCError(applyErr)
	}
	if err := s.sealSecrets(work, base, hashes); err != nil {
		return nil, nil, joinErrors(applyErr, err)
	}
	return work, applyErr, nil
}

// joinErrors reports the rpc-errors of a and then those of b; nil when
// both are nil.
func joinErrors(a, b error) error {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return append(append(rpcerror.List{}, rpcerror.All(a)...), rpcerror.All(b)...)
}

// runApply runs an edit's apply function; a panic in it (a bug in a codec
// or a command) becomes operation-failed and, as apply only sees a copy,
// changes nothing.
func runApply(apply func(*gen.Device) error, work *gen.Device) (panicked bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &rpcerror.Error{Type: rpcerror.TypeApplication, Tag: rpcerror.TagOperationFailed,
				Message: "The edit failed with an internal error.", Err: fmt.Errorf("panic in edit: %v", r)}
			panicked = true
		}
	}()
	return false, apply(work)
}

func sessionOrigin(sess Session) Origin {
	switch sess.Origin {
	case OriginNETCONF, OriginCLI, OriginSystem:
		return sess.Origin
	case "":
		return OriginSystem
	}
	return OriginNETCONF
}

// setCandidate stores t as the candidate, written by sess. The candidate
// has uncommitted changes exactly when it differs from running; the sessions
// that made them are tracked for the lock rule of RFC 6241 §7.5.
// d is diffEntries(s.running, t).
func (s *Store) setCandidate(sess Session, t *gen.Device, d entryDiff) {
	if d.empty() {
		s.setCandidateTree(s.running)
		clear(s.modifiedBy)
		return
	}
	s.setCandidateTree(t)
	s.modifiedBy[sess.ID] = true
	s.candDiff = &diffMemo{cand: s.candGen, run: s.runGen, d: d}
}

// Validate validates the content of source (RFC 6241 §8.6).
func (s *Store) Validate(sess Session, source Name) error {
	if err := checkName(source); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch source {
	case Running:
		return rules.Validate(s.running, s.ruleOptions()...)
	case Startup:
		return rules.Validate(s.startup, s.ruleOptions()...)
	}
	return s.validateNext(s.candidate, s.runningDiff(s.candidate))
}

// ValidateTree validates a configuration given inline (<validate> with
// <source><config>); root is not changed.
func (s *Store) ValidateTree(root *gen.Device) error {
	t := copyTree(root)
	if err := s.sealSecrets(t, nil, nil); err != nil {
		return err
	}
	if err := normalize(t); err != nil {
		return err
	}
	return rules.Validate(t, s.ruleOptions()...)
}

// Discard makes the candidate equal to running (RFC 6241 §8.3.4.2,
// <discard-changes>).
func (s *Store) Discard(sess Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	if err := s.lockedByOther(sess, Candidate); err != nil {
		return err
	}
	s.setCandidateTree(s.running)
	clear(s.modifiedBy)
	return nil
}

// Copy replaces target with the content of src, or with inline when src is
// "" (RFC 6241 §7.3 <copy-config>). The new content is validated; a copy to
// running is a commit, a copy to startup is durable when Copy returns
// (RFC 6241 §8.7). Copying from startup before anything was saved to it
// is refused.
func (s *Store) Copy(sess Session, target Name, src Name, inline *gen.Device) error {
	return s.CopyChecked(sess, target, src, inline, nil)
}

// CopyChecked is Copy with check called on the target's tree and the
// source's (normalized), under the store's lock, before anything is
// validated or kept; an error refuses the copy and is returned as it is
// (access control, RFC 8341 §3.4.5).
func (s *Store) CopyChecked(sess Session, target Name, src Name, inline *gen.Device, check func(before, after *gen.Device) error) error {
	if err := checkName(target); err != nil {
		return err
	}
	if src != "" {
		if err := checkName(src); err != nil {
			return err
		}
		if src == target {
			return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagInvalidValue,
				Message: "The source and the target of copy-config are the same datastore."}
		}
	} else if inline == nil {
		return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagMissingElement, Message: "copy-config has no source.",
			Info: []rpcerror.InfoItem{{Name: "bad-element", Value: "source"}}}
	}
	// An inline configuration is the request's own: its secrets are
	// sealed before the lock is taken (see Edit), against running as it
	// was then, and again under the lock if running changed meanwhile.
	var sealed, sealedOn *gen.Device
	hashes := passwordHashes{}
	if src == "" {
		s.mu.Lock()
		_, err := s.editBase(sess, target)
		sealedOn = s.running
		s.mu.Unlock()
		if err != nil {
			return err
		}
		sealed = copyTree(inline)
		if err := s.sealSecrets(sealed, sealedOn, hashes); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.editBase(sess, target); err != nil {
		return err
	}
	var t *gen.Device
	switch src {
	case Running:
		t = s.running
	case Candidate:
		t = s.candidate
	case Startup:
		if !s.hasStartup {
			return errNoStartup()
		}
		t = s.startup
	default:
		t = sealed
		if sealedOn != s.running {
			t = copyTree(inline)
			if err := s.sealSecrets(t, s.running, hashes); err != nil {
				return err
			}
		}
		if err := normalizeWith(t, s.running); err != nil {
			return err
		}
	}
	if check != nil {
		if err := check(s.tree(target), t); err != nil {
			return err
		}
	}
	if target == Startup {
		from := string(src)
		if src == "" {
			from = "config"
		}
		return s.copyToStartup(sess, t, from)
	}
	d := s.runningDiff(t)
	if err := s.validateNext(t, d); err != nil {
		return err
	}
	if target == Candidate {
		s.setCandidate(sess, t, d)
		s.validCand, s.validRun = s.candGen, s.runGen
		return nil
	}
	if d.empty() {
		return nil
	}
	_, err := s.commitTree(sess, t, "", sessionOrigin(sess), &d)
	return err
}

// Delete is <delete-config> (RFC 6241 §7.4). running cannot be deleted.
// Deleting the candidate empties it (an uncommitted change like any other);
// RFC 6241 §7.4 excludes only running. Deleting startup saves an empty
// configuration: the next boot starts from nothing, as after VRP's
// reset saved-configuration.
func (s *Store) Delete(sess Session, target Name) error {
	return s.DeleteChecked(sess, target, nil)
}

// DeleteChecked is Delete with check called on the target's tree and the
// empty tree, under the store's lock, before anything is written; an
// error refuses the delete and is returned as it is (access control,
// RFC 8341 §3.2.7: every node of the target is deleted).
func (s *Store) DeleteChecked(sess Session, target Name, check func(before, after *gen.Device) error) error {
	if err := checkName(target); err != nil {
		return err
	}
	if target == Running {
		return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagOperationNotSupported,
			Message: "The running datastore cannot be deleted."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	if err := s.lockedByOther(sess, target); err != nil {
		return err
	}
	empty := &gen.Device{}
	if check != nil {
		if err := check(s.tree(target), empty); err != nil {
			return err
		}
	}
	if target == Startup {
		return s.writeStartup(sess, empty, "")
	}
	s.setCandidate(sess, empty, diffEntries(s.running, empty))
	return nil
}
