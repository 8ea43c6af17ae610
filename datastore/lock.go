package datastore

import (
	"strconv"
	"time"

	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// LockInfo describes a held lock (for ietf-netconf-monitoring, RFC 6022).
type LockInfo struct {
	Datastore Name
	SessionID uint32
	User      string
	Since     time.Time
}

// lockedByOther refuses when another session holds the lock on ds
// (RFC 6241 §7.5), with the holder's session-id in error-info.
func (s *Store) lockedByOther(sess Session, ds Name) error {
	l, ok := s.locks[ds]
	if !ok || l.SessionID == sess.ID {
		return nil
	}
	return lockDenied(l.SessionID, "The %s datastore is locked by session %d.", ds, l.SessionID)
}

func lockDenied(holder uint32, format string, args ...any) *rpcerror.Error {
	e := rpcerror.New(rpcerror.TagLockDenied, "", format, args...)
	e.Type = rpcerror.TypeProtocol
	e.Info = []rpcerror.InfoItem{{Name: "session-id", Value: strconv.FormatUint(uint64(holder), 10)}}
	return e
}

// Lock locks ds for sess (RFC 6241 §7.5). It is refused while another
// session holds it (or sess itself), and for the candidate while it holds
// uncommitted changes of another session.
func (s *Store) Lock(sess Session, ds Name) error {
	if err := checkName(ds); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	if l, ok := s.locks[ds]; ok {
		return lockDenied(l.SessionID, "The %s datastore is already locked by session %d.", ds, l.SessionID)
	}
	if ds == Candidate {
		for id := range s.modifiedBy {
			if id != sess.ID {
				return lockDenied(id, "The candidate datastore has uncommitted changes of session %d: commit or discard them first.", id)
			}
		}
	}
	s.locks[ds] = LockInfo{Datastore: ds, SessionID: sess.ID, User: sess.User, Since: s.clock.Now()}
	return nil
}

// Unlock releases sess's lock on ds (RFC 6241 §7.6). Releasing the lock on
// the candidate discards its uncommitted changes (RFC 6241 §8.3.5.2); while
// the lock was held only its owner could make them.
func (s *Store) Unlock(sess Session, ds Name) error {
	if err := checkName(ds); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	l, ok := s.locks[ds]
	if !ok {
		return rpcerror.New(rpcerror.TagOperationFailed, "", "The %s datastore is not locked.", ds)
	}
	if l.SessionID != sess.ID {
		return lockDenied(l.SessionID, "The lock on the %s datastore belongs to session %d.", ds, l.SessionID)
	}
	s.release(ds)
	return nil
}

func (s *Store) release(ds Name) {
	delete(s.locks, ds)
	if ds == Candidate {
		s.setCandidateTree(s.running)
		clear(s.modifiedBy)
	}
}

// Locks lists the held locks.
func (s *Store) Locks() []LockInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []LockInfo
	for _, ds := range datastores {
		if l, ok := s.locks[ds]; ok {
			out = append(out, l)
		}
	}
	return out
}

// CloseSession is called when a session ends: its locks are released (its
// uncommitted candidate changes discarded if it held the candidate lock), and
// its non-persistent confirmed commit is rolled back (RFC 6241 §8.4.5.1).
func (s *Store) CloseSession(sess Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for _, ds := range datastores {
		if l, ok := s.locks[ds]; ok && l.SessionID == sess.ID {
			s.release(ds)
		}
	}
	if p := s.pending; p != nil && p.Persist == "" && p.SessionID == sess.ID {
		s.log.Warn("session of an unconfirmed commit ended; rolling back", "session", sess.ID, "to", p.RollbackTo)
		if err := s.rollbackPending(Session{ID: sess.ID, User: sess.User, Origin: OriginSystem}); err != nil {
			s.log.Error("confirmed-commit rollback failed", "err", err)
		}
	}
}
