package cli

import (
	"sync"
	"testing"
	"time"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/datastore/rpcerror"
	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
)

// testStore is an in-memory stand-in for datastore.Store, used until the
// datastore package builds.
type testStore struct {
	t         testing.TB
	mu        sync.Mutex
	running   *gen.Device
	candidate *gen.Device
	history   []CommitInfo
	trees     map[uint32]*gen.Device
	lockedBy  uint32
	now       time.Time
}

func newTestStore(t testing.TB) *testStore {
	return &testStore{t: t, running: &gen.Device{}, candidate: &gen.Device{}, trees: map[uint32]*gen.Device{},
		now: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)}
}

func (m *testStore) cli() Store { return m }

func deepCopy(t testing.TB, d *gen.Device) *gen.Device {
	c, err := ygot.DeepCopy(d)
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	return c.(*gen.Device)
}

func (m *testStore) Running() *gen.Device {
	m.mu.Lock()
	defer m.mu.Unlock()
	return deepCopy(m.t, m.running)
}

func (m *testStore) Candidate() *gen.Device {
	m.mu.Lock()
	defer m.mu.Unlock()
	return deepCopy(m.t, m.candidate)
}

func (m *testStore) EditCandidate(sess Session, apply func(*gen.Device) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lockedBy != 0 && m.lockedBy != sess.ID {
		return rpcerror.New(rpcerror.TagLockDenied, "", "The candidate datastore is locked by session %d.", m.lockedBy)
	}
	work := deepCopy(m.t, m.candidate)
	if err := apply(work); err != nil {
		return err
	}
	m.candidate = work
	return nil
}

func (m *testStore) Commit(sess Session, label string) (CommitInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lockedBy != 0 && m.lockedBy != sess.ID {
		return CommitInfo{}, rpcerror.New(rpcerror.TagLockDenied, "", "The candidate datastore is locked by session %d.", m.lockedBy)
	}
	if err := rules.Validate(m.candidate, rules.WithLocalPrefixes(nil)); err != nil {
		return CommitInfo{}, err
	}
	return m.commitLocked(sess, deepCopy(m.t, m.candidate), label, "cli"), nil
}

func (m *testStore) commitLocked(sess Session, tree *gen.Device, label, origin string) CommitInfo {
	m.now = m.now.Add(time.Minute)
	ci := CommitInfo{ID: uint32(len(m.history) + 1), User: sess.User, Time: m.now, Label: label, Origin: origin}
	m.history = append([]CommitInfo{ci}, m.history...)
	m.trees[ci.ID] = tree
	m.running = tree
	m.candidate = deepCopy(m.t, tree)
	return ci
}

func (m *testStore) Discard(sess Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.candidate = deepCopy(m.t, m.running)
	return nil
}

func (m *testStore) CandidateModified() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return emitJSON(m.t, m.candidate) != emitJSON(m.t, m.running)
}

func (m *testStore) History() []CommitInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]CommitInfo(nil), m.history...)
}

func (m *testStore) Rollback(sess Session, id uint32) (CommitInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.trees[id]
	if !ok {
		return CommitInfo{}, rpcerror.New(rpcerror.TagInvalidValue, "", "Commit %d is not in the commit history.", id)
	}
	return m.commitLocked(sess, deepCopy(m.t, t), "", "rollback"), nil
}

func (m *testStore) lockCandidate(id uint32, lock bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if lock {
		m.lockedBy = id
	} else {
		m.lockedBy = 0
	}
	return nil
}

func (m *testStore) closeSession(id uint32, user string) {}
