package datastore

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/atomicfile"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// CommitOptions are the parameters of <commit> (RFC 6241 §8.3, §8.4.5.1).
type CommitOptions struct {
	Confirmed bool
	// Timeout is the confirm-timeout; 600 s when zero.
	Timeout time.Duration
	// Persist makes the confirmed commit survive the end of the session; a
	// later commit confirms it from any session by giving the same value as
	// PersistID.
	Persist   string
	PersistID string
	// Label is kept in the commit history.
	Label string
	// Check, when set, judges the commit's effect on running: it is called
	// with running and the candidate under the store's lock, before
	// anything is validated or written; an error refuses the commit and is
	// returned as it is (access control, RFC 8341 §3.2.8: the nodes of
	// running the commit creates, updates or deletes).
	Check func(before, after *gen.Device) error
}

// CommitInfo describes one commit of running.
type CommitInfo struct {
	ID     uint32
	User   string
	Time   time.Time
	Label  string
	Origin Origin
}

type commit struct {
	info CommitInfo
	tree *gen.Device // never changed once stored
	line []byte      // its journal record
}

// treeOf returns the tree of a retained commit; id 0 is the empty tree.
func (s *Store) treeOf(id uint32) (*gen.Device, bool) {
	if id == 0 {
		return &gen.Device{}, true
	}
	for i := len(s.history) - 1; i >= 0; i-- {
		if s.history[i].info.ID == id {
			return s.history[i].tree, true
		}
	}
	return nil, false
}

// commitTree makes t the running configuration: a new commit id, a durable
// journal record, the history, the candidate (when it has no uncommitted
// changes it follows running) and the subscribers. Called with s.mu held.
// d is diffEntries(s.running, t) when the caller knows it, or nil.
func (s *Store) commitTree(sess Session, t *gen.Device, label string, origin Origin, d *entryDiff) (CommitInfo, error) {
	if err := s.writable(); err != nil {
		return CommitInfo{}, err
	}
	if s.lastID == ^uint32(0) {
		return CommitInfo{}, rpcerror.New(rpcerror.TagOperationFailed, "", "The commit identifiers are exhausted.")
	}
	user := sess.User
	if user == "" {
		user = "system"
	}
	ci := CommitInfo{ID: s.lastID + 1, User: user, Time: s.clock.Now().UTC().Round(time.Microsecond), Label: label, Origin: origin}
	old := s.running
	if d == nil {
		dd := diffEntries(s.running, t)
		d = &dd
	}
	line, err := s.appendCommit(ci, t, *d)
	if err != nil {
		return CommitInfo{}, err
	}
	s.lastID = ci.ID
	s.setRunning(t)
	s.runValid = true // callers commit validated trees, or recompute this
	s.history = append(s.history, commit{info: ci, tree: t, line: line})
	s.pruneHistory()
	if s.candidate == old {
		s.setCandidateTree(t)
	} else if s.candidate == t || equalTree(s.candidate, t) {
		s.setCandidateTree(t)
		clear(s.modifiedBy)
	}
	s.notify(Change{Old: old, New: t, Commit: ci, SessionID: sess.ID, Datastore: Running})
	s.maybeCompact()
	return ci, nil
}

// appendCommit writes the journal record of a commit and makes it durable.
// The first record of a journal holds the whole tree.
func (s *Store) appendCommit(ci CommitInfo, t *gen.Device, d entryDiff) ([]byte, error) {
	var rec record
	var err error
	if s.j == nil {
		rec, err = fullRecord(ci, t)
	} else {
		rec, err = deltaRecordDiff(ci, s.running, t, d)
	}
	if err != nil {
		return nil, asRPCError(err)
	}
	line, err := encodeLine(rec)
	if err != nil {
		return nil, asRPCError(err)
	}
	if s.j == nil {
		s.j, err = writeJournal(s.dir, [][]byte{line})
		if err == nil {
			// The first journal of this folder: from now on a missing
			// journal is damage, not a first start. (A crash before this
			// write leaves a journal without it; Open writes it then.)
			if ferr := s.writeFormat(); ferr != nil {
				s.log.Warn("cannot write the format file; the next start writes it", "err", ferr)
			}
		}
	} else {
		err = s.j.append(line)
	}
	if err != nil {
		s.log.Error("cannot make a commit durable", "err", err)
		return nil, asRPCError(fmt.Errorf("the commit could not be saved: %w", err))
	}
	return line, nil
}

// pruneHistory keeps the last limit commits, and every commit from the one
// an unconfirmed commit returns to.
func (s *Store) pruneHistory() {
	keep := uint32(0)
	if s.pending != nil {
		keep = s.pending.RollbackTo
	}
	s.pruneHistoryKeeping(keep)
}

func (s *Store) pruneHistoryKeeping(keep uint32) {
	if s.compacting != nil {
		return // the compaction needs the records of every later commit
	}
	drop := len(s.history) - s.limit
	if drop <= 0 {
		return
	}
	if keep != 0 {
		for i := 0; i < drop; i++ {
			if s.history[i].info.ID >= keep {
				drop = i
				break
			}
		}
	}
	if drop > 0 {
		s.history = append([]commit(nil), s.history[drop:]...)
	}
}

// Commit makes the candidate the running configuration (RFC 6241 §8.3),
// possibly as a confirmed commit (§8.4). A commit while a confirmed commit is
// pending confirms it: from the same session, or from any session with the
// matching PersistID when it was given Persist. A Confirmed commit while one
// is pending extends it with the new timeout.
func (s *Store) Commit(sess Session, opt CommitOptions) (CommitInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return CommitInfo{}, err
	}
	if err := s.lockedByOther(sess, Running); err != nil {
		return CommitInfo{}, err
	}
	if err := s.lockedByOther(sess, Candidate); err != nil {
		return CommitInfo{}, err
	}
	p := s.pending
	switch {
	case opt.PersistID != "" && (p == nil || p.Persist != opt.PersistID):
		// RFC 6241 §8.4.5.1: persist-id must name the pending commit's persist.
		return CommitInfo{}, &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagInvalidValue, Param: "persist-id",
			Message: "No confirmed commit with this persist-id is pending."}
	case p != nil && opt.PersistID == "" && p.Persist != "":
		return CommitInfo{}, rpcerror.New(rpcerror.TagInUse, "", "A persistent confirmed commit is pending: give its persist-id to confirm or extend it.")
	case p != nil && opt.PersistID == "" && p.SessionID != sess.ID:
		return CommitInfo{}, rpcerror.New(rpcerror.TagInUse, "", "A confirmed commit of session %d is pending: only that session can confirm it.", p.SessionID)
	}
	timeout := opt.Timeout
	if timeout == 0 {
		timeout = DefaultConfirmTimeout
	}
	if timeout < 0 {
		return CommitInfo{}, &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagInvalidValue, Param: "confirm-timeout",
			Message: "The confirm-timeout must be positive."}
	}
	if opt.Check != nil && s.candidate != s.running {
		if err := opt.Check(s.running, s.candidate); err != nil {
			return CommitInfo{}, err
		}
	}
	d := s.runningDiff(s.candidate)
	if s.candGen != s.validCand || s.runGen != s.validRun {
		if err := s.validateNext(s.candidate, d); err != nil {
			return CommitInfo{}, err
		}
	}
	if opt.Confirmed {
		m := confirmMarker{RollbackTo: s.lastID, SessionID: sess.ID, User: sess.User, Persist: opt.Persist, Deadline: s.clock.Now().Add(timeout)}
		if p != nil {
			m.RollbackTo = p.RollbackTo
		}
		data, err := jsonIndent(m)
		if err == nil {
			// Durable before the commit is acknowledged: a restart before the
			// confirmation rolls back to RollbackTo.
			err = atomicfile.Write(filepath.Join(s.dir, confirmName), data, 0o600)
		}
		if err != nil {
			return CommitInfo{}, asRPCError(fmt.Errorf("the confirmed commit could not be saved: %w", err))
		}
		ci, err := s.commitCandidate(sess, opt.Label, d)
		if err != nil {
			if p == nil {
				atomicfile.Remove(filepath.Join(s.dir, confirmName))
			}
			return CommitInfo{}, err
		}
		if p != nil && p.timer != nil {
			p.timer.Stop()
		}
		s.timerGen++
		g := s.timerGen
		s.pending = &pending{PendingConfirm: PendingConfirm{SessionID: sess.ID, User: sess.User, Persist: opt.Persist, Deadline: m.Deadline, RollbackTo: m.RollbackTo}, gen: g}
		s.pending.timer = s.clock.AfterFunc(timeout, func() { s.confirmTimeout(g) })
		return ci, nil
	}
	ci, err := s.commitCandidate(sess, opt.Label, d)
	if err != nil {
		return CommitInfo{}, err
	}
	if p != nil {
		// The confirming commit (RFC 6241 §8.4.5.1).
		if p.timer != nil {
			p.timer.Stop()
		}
		s.pending = nil
		if err := atomicfile.Remove(filepath.Join(s.dir, confirmName)); err != nil {
			s.log.Error("cannot remove the confirmed-commit marker", "err", err)
			return ci, asRPCError(err)
		}
		s.pruneHistory()
	}
	return ci, nil
}

// commitCandidate commits the candidate; with nothing to commit it returns
// the last commit and writes nothing.
func (s *Store) commitCandidate(sess Session, label string, d entryDiff) (CommitInfo, error) {
	if s.candidate == s.running || d.empty() {
		s.setCandidateTree(s.running)
		clear(s.modifiedBy)
		return s.lastInfo(), nil
	}
	ci, err := s.commitTree(sess, s.candidate, label, sessionOrigin(sess), &d)
	if err == nil {
		s.setCandidateTree(s.running)
		clear(s.modifiedBy)
	}
	return ci, err
}

func (s *Store) lastInfo() CommitInfo {
	if n := len(s.history); n > 0 {
		return s.history[n-1].info
	}
	return CommitInfo{}
}

// History lists the kept commits, newest first.
func (s *Store) History() []CommitInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CommitInfo, 0, len(s.history))
	for i := len(s.history) - 1; i >= 0 && len(out) < s.limit; i-- {
		out = append(out, s.history[i].info)
	}
	return out
}

// Rollback makes running what it was right after commit id, as a new commit
// with origin "rollback" (ntps:rollback-to-commit). It is refused while a
// confirmed commit is pending.
func (s *Store) Rollback(sess Session, id uint32, label string) (CommitInfo, error) {
	return s.RollbackChecked(sess, id, label, nil)
}

// RollbackChecked is Rollback with check called on running and the tree
// it would become, under the store's lock, before anything is validated
// or written; an error refuses the rollback and is returned as it is
// (access control, RFC 8341 §3.4.5).
func (s *Store) RollbackChecked(sess Session, id uint32, label string, check func(before, after *gen.Device) error) (CommitInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return CommitInfo{}, err
	}
	if err := s.lockedByOther(sess, Running); err != nil {
		return CommitInfo{}, err
	}
	if s.pending != nil {
		return CommitInfo{}, rpcerror.New(rpcerror.TagInUse, "", "A confirmed commit is pending: confirm or cancel it first.")
	}
	// Only the commits History shows: more may be held for a compaction in
	// flight or a pending confirmed commit.
	var t *gen.Device
	for i := len(s.history) - 1; i >= 0 && i >= len(s.history)-s.limit; i-- {
		if s.history[i].info.ID == id {
			t = s.history[i].tree
		}
	}
	if t == nil {
		e := rpcerror.New(rpcerror.TagInvalidValue, "", "Commit %d is not in the commit history.", id)
		e.Param = "commit-id"
		return CommitInfo{}, e
	}
	if check != nil {
		if err := check(s.running, t); err != nil {
			return CommitInfo{}, err
		}
	}
	d := diffEntries(s.running, t)
	if err := s.validateNext(t, d); err != nil {
		return CommitInfo{}, err
	}
	return s.commitTree(sess, t, label, OriginRollback, &d)
}
