package cli

import (
	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/gen"
)

// backend is what the CLI uses of the shared datastore (one candidate and
// one running for NETCONF and CLI sessions alike).
type backend interface {
	Snapshot(ds datastore.Name) *gen.Device
	Edit(sess datastore.Session, target datastore.Name, opt datastore.EditOptions, apply func(root *gen.Device) error) error
	Commit(sess datastore.Session, opt datastore.CommitOptions) (datastore.CommitInfo, error)
	Discard(sess datastore.Session) error
	CandidateModified() bool
	History() []datastore.CommitInfo
	RollbackChecked(sess datastore.Session, id uint32, label string, check func(before, after *gen.Device) error) (datastore.CommitInfo, error)
	Locks() []datastore.LockInfo
	CopyChecked(sess datastore.Session, target, src datastore.Name, inline *gen.Device, check func(before, after *gen.Device) error) error
	Saved() (datastore.SavedInfo, bool)
	CloseSession(sess datastore.Session)
}

var _ backend = (*datastore.Store)(nil)

func (s *session) running() *gen.Device   { return s.c.store.Snapshot(datastore.Running) }
func (s *session) candidate() *gen.Device { return s.c.store.Snapshot(datastore.Candidate) }
func (s *session) startup() *gen.Device   { return s.c.store.Snapshot(datastore.Startup) }
