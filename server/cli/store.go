package cli

import (
	"time"

	"github.com/ntpagent/ntpagent/gen"
)

// Store is what the CLI needs of the shared datastore (one candidate and one
// running for NETCONF and CLI sessions alike). StoreOf adapts
// *datastore.Store to it.
type Store interface {
	// Running and Candidate return deep copies of the configuration.
	Running() *gen.Device
	Candidate() *gen.Device
	// EditCandidate applies an edit to a copy of the candidate and stores it
	// whole, or changes nothing and returns an error (lock-denied when
	// another session holds a lock on the candidate).
	EditCandidate(sess Session, apply func(root *gen.Device) error) error
	// Commit is the NETCONF <commit>: candidate becomes running.
	Commit(sess Session, label string) (CommitInfo, error)
	// Discard is <discard-changes>: candidate := running.
	Discard(sess Session) error
	// CandidateModified tells whether the candidate differs from running.
	CandidateModified() bool
	// History is the commit list, newest first.
	History() []CommitInfo
	// Rollback makes running what it was after commit id, as a new commit.
	Rollback(sess Session, id uint32) (CommitInfo, error)
}

// Session identifies the CLI session to the datastore (locks, history).
type Session struct {
	ID   uint32
	User string
}

// CommitInfo is one entry of the commit history.
type CommitInfo struct {
	ID     uint32
	User   string
	Time   time.Time
	Label  string
	Origin string
}
