package datastore

import (
	"path/filepath"
	"time"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/internal/atomicfile"
	"github.com/ntpagent/ntpagent/internal/clock"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// DefaultConfirmTimeout is the confirm-timeout of RFC 6241 §8.4.5.1.
const DefaultConfirmTimeout = 600 * time.Second

// PendingConfirm describes an unconfirmed confirmed commit.
type PendingConfirm struct {
	SessionID  uint32
	User       string
	Persist    string
	Deadline   time.Time
	RollbackTo uint32 // the commit running returns to; 0 for the empty configuration
}

type pending struct {
	PendingConfirm
	timer clock.Timer
	gen   uint64
}

func (s *Store) confirmTimeout(g uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.pending == nil || s.pending.gen != g {
		return
	}
	s.log.Warn("confirmed commit not confirmed in time; rolling back", "to", s.pending.RollbackTo)
	if err := s.rollbackPending(Session{User: "system", Origin: OriginSystem}); err != nil {
		s.log.Error("confirmed-commit rollback failed", "err", err)
	}
}

// rollbackPending returns running to the configuration before the pending
// confirmed commit (timeout, cancel-commit, end of the session).
func (s *Store) rollbackPending(sess Session) error {
	p := s.pending
	to, ok := s.treeOf(p.RollbackTo)
	if !ok {
		return rpcerror.New(rpcerror.TagRollbackFailed, "", "The configuration before the confirmed commit (commit %d) is lost.", p.RollbackTo)
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	if !equalTree(to, s.running) {
		if _, err := s.commitTree(sess, to, "", OriginConfirmedCommitRollback, nil); err != nil {
			return err
		}
	}
	s.pending = nil
	s.runValid = rules.Validate(s.running, s.ruleOptions()...) == nil
	s.pruneHistory()
	return asRPCError(atomicfile.Remove(filepath.Join(s.dir, confirmName)))
}

// CancelCommit cancels the pending confirmed commit (RFC 6241 §8.4.5.2,
// <cancel-commit>): from the session that made it, or from any session with
// the matching persist-id when it was given persist.
func (s *Store) CancelCommit(sess Session, persistID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	p := s.pending
	switch {
	case p == nil:
		return rpcerror.New(rpcerror.TagOperationFailed, "", "No confirmed commit is pending.")
	case persistID != "" && persistID != p.Persist:
		return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagInvalidValue, Param: "persist-id",
			Message: "No confirmed commit with this persist-id is pending."}
	case persistID == "" && p.Persist != "":
		return rpcerror.New(rpcerror.TagInUse, "", "A persistent confirmed commit is pending: give its persist-id to cancel it.")
	case persistID == "" && p.SessionID != sess.ID:
		return rpcerror.New(rpcerror.TagInUse, "", "The pending confirmed commit belongs to session %d.", p.SessionID)
	}
	if err := s.lockedByOther(sess, Running); err != nil {
		return err
	}
	return s.rollbackPending(sess)
}

// ConfirmedCommitPending reports the unconfirmed confirmed commit, if any.
func (s *Store) ConfirmedCommitPending() (PendingConfirm, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		return PendingConfirm{}, false
	}
	return s.pending.PendingConfirm, true
}
