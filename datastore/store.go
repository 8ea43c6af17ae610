package datastore

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/atomicfile"
	"github.com/ntpagent/ntpagent/internal/clock"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// Name names a configuration datastore (RFC 6241 §5.1). "startup" is not
// supported.
type Name string

// The datastores.
const (
	Running   Name = "running"
	Candidate Name = "candidate"
)

// Session is who asks: the session id (unique across NETCONF and CLI
// sessions, allocated by the SSH server), the user and the origin
// (OriginNETCONF, OriginCLI or OriginSystem).
type Session struct {
	ID     uint32
	User   string
	Origin Origin
}

// Origin says where a commit came from: the enum of
// /ntps:commit-history/commit/origin, whose names are its values.
type Origin string

// The commit origins. A session's origin is one of the first two or
// OriginSystem (the zero value counts as OriginSystem).
const (
	OriginNETCONF                 Origin = "netconf"
	OriginCLI                     Origin = "cli"
	OriginRollback                Origin = "rollback"
	OriginConfirmedCommitRollback Origin = "confirmed-commit-rollback"
	OriginSystem                  Origin = "system"
)

// Options configure Open.
type Options struct {
	// Dir is the state directory (created if missing).
	Dir string
	// Clock times confirmed commits and stamps commits; clock.System if nil.
	Clock clock.Clock
	// HistoryLimit is how many commits are kept for History and Rollback
	// (default 50).
	HistoryLimit int
	// Logger; slog.Default() if nil.
	Logger *slog.Logger
	// LocalPrefixes returns the subnets of the device's interfaces for the
	// broadcast-address rule; rules.HostPrefixes if nil.
	LocalPrefixes func() []netip.Prefix
	// Recover starts from the last good state when the folder is damaged
	// (see DamageError) instead of refusing to open: the damaged files are
	// moved aside as NAME.damaged-TIME and the loss is logged. False, the
	// default, refuses and changes nothing.
	Recover bool
}

// EditOptions are the options of an edit (RFC 6241 §7.2). The zero value
// is test-then-set and stop-on-error.
type EditOptions struct {
	TestOption  TestOption
	ErrorOption ErrorOption
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
}

// DefaultConfirmTimeout is the confirm-timeout of RFC 6241 §8.4.5.1.
const DefaultConfirmTimeout = 600 * time.Second

// CommitInfo describes one commit of running.
type CommitInfo struct {
	ID     uint32
	User   string
	Time   time.Time
	Label  string
	Origin Origin
}

// LockInfo describes a held lock (for ietf-netconf-monitoring, RFC 6022).
type LockInfo struct {
	Datastore Name
	SessionID uint32
	User      string
	Since     time.Time
}

// PendingConfirm describes an unconfirmed confirmed commit.
type PendingConfirm struct {
	SessionID  uint32
	User       string
	Persist    string
	Deadline   time.Time
	RollbackTo uint32 // the commit running returns to; 0 for the empty configuration
}

// Change is one change of running, delivered to subscribers in commit order.
// Old and New are the subscriber's own copies.
type Change struct {
	Old, New  *gen.Device
	Commit    CommitInfo
	SessionID uint32 // the session that made it; 0 for the system
	Datastore Name   // the datastore that changed: always running (RFC 6470 netconf-config-change)
	Edits     []EditedPath
	// Coalesced counts the earlier commits folded into this change because
	// the subscriber fell behind (see Subscribe); 0 normally. Old is then
	// running before the first of them, Commit and SessionID are the last's.
	Coalesced int
}

type commit struct {
	info CommitInfo
	tree *gen.Device // never changed once stored
	line []byte      // its journal record
}

type pending struct {
	PendingConfirm
	timer clock.Timer
	gen   uint64
}

// Store holds the candidate and running datastores. It is safe for
// concurrent use by many sessions.
type Store struct {
	dir      string
	clock    clock.Clock
	limit    int
	log      *slog.Logger
	prefixes func() []netip.Prefix
	recover  bool
	keys     *rules.KeyCipher // seals key values (device-key)

	mu     sync.Mutex
	closed bool
	// broken, when set, is why the store takes no more changes: its
	// journal could not be reopened after a failed compaction. Reads still
	// work and Close still releases the folder.
	broken    *rpcerror.Error
	running   *gen.Device // never changed once stored; set with setRunning
	candidate *gen.Device // never changed once stored; set with setCandidateTree
	// runGen and candGen are the generations of running's and the
	// candidate's trees (equal when they are the same tree); lastGen is
	// the last one given out.
	runGen, candGen, lastGen Generation
	modifiedBy               map[uint32]bool
	locks                    map[Name]LockInfo
	history                  []commit // oldest first
	lastID                   uint32
	pending                  *pending
	timerGen                 uint64
	runValid                 bool
	// validCand is the generation of the candidate last found valid
	// against running at generation validRun: a commit of that candidate
	// onto that running needs no second validation.
	validCand, validRun Generation
	candDiff            *diffMemo
	compacting          chan struct{} // closed when the running compaction ends
	j                   *journal
	dirLock             *os.File // flock'ed while the store is open
	subs                map[*subscriber]struct{}
}

// Generation identifies the content of a datastore within one Store: every
// change of a datastore's tree gives it a new, larger generation, and two
// datastores holding the same stored tree (a candidate without uncommitted
// changes and running) have the same one. A cache of anything computed
// from a stored tree keys on its generation.
type Generation uint64

// setRunning stores t as running, under a new generation.
func (s *Store) setRunning(t *gen.Device) {
	s.running = t
	s.lastGen++
	s.runGen = s.lastGen
}

// setCandidateTree stores t as the candidate: running's generation when t
// is running's tree, else a new one unless t is the candidate already.
func (s *Store) setCandidateTree(t *gen.Device) {
	switch {
	case t == s.running:
		s.candGen = s.runGen
	case t != s.candidate:
		s.lastGen++
		s.candGen = s.lastGen
	}
	s.candidate = t
}

// Open loads the datastores from opts.Dir: running is the last commit of the
// journal (or running.json when there is no journal yet, or empty). If the
// process died while a confirmed commit was unconfirmed, running goes back to
// the configuration before it, as a new commit (RFC 6241 §8.4). The
// candidate starts equal to running.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("datastore: Options.Dir is empty")
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("datastore: %w", err)
	}
	s := &Store{
		dir: opts.Dir, clock: opts.Clock, limit: opts.HistoryLimit, log: opts.Logger, prefixes: opts.LocalPrefixes, recover: opts.Recover,
		modifiedBy: map[uint32]bool{}, locks: map[Name]LockInfo{}, subs: map[*subscriber]struct{}{},
	}
	if s.clock == nil {
		s.clock = clock.System{}
	}
	if s.limit <= 0 {
		s.limit = 50
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	atomicfile.WarnIfShared(s.log, opts.Dir, filepath.Join(opts.Dir, journalName), filepath.Join(opts.Dir, runningName))
	// One process at a time: two writers would interleave journal records.
	// The kernel drops the lock when the process dies, even by SIGKILL.
	lock, err := os.OpenFile(filepath.Join(opts.Dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("datastore: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("datastore: the state directory %s is in use by another store: %w", opts.Dir, err)
	}
	s.dirLock = lock
	if s.keys, err = loadDeviceKey(opts.Dir, s.log); err != nil {
		lock.Close()
		return nil, fmt.Errorf("datastore: %w", err)
	}
	if err := s.load(); err != nil {
		s.j.close()
		lock.Close()
		return nil, fmt.Errorf("datastore: open %s: %w", opts.Dir, err)
	}
	if err := s.upgradeKeys(); err != nil {
		s.j.close()
		lock.Close()
		return nil, fmt.Errorf("datastore: open %s: %w", opts.Dir, err)
	}
	return s, nil
}

// load reads the state folder, refusing damage a crash cannot explain
// (DamageError); with Options.Recover it starts from the last good state
// instead.
func (s *Store) load() error {
	err := s.loadOnce()
	var d *DamageError
	if errors.As(err, &d) && s.recover {
		s.history, s.lastID = nil, 0
		s.setRunning(nil)
		s.j.close()
		s.j = nil
		if err := s.recoverFrom(d); err != nil {
			return err
		}
		err = s.loadOnce()
	}
	return err
}

func (s *Store) loadOnce() error {
	hadJournal, err := s.checkFormat()
	if err != nil {
		return err
	}
	snap, snapErr := s.readSnapshot()
	jr, err := readJournal(filepath.Join(s.dir, journalName))
	switch {
	case errors.Is(err, os.ErrNotExist) && hadJournal:
		return s.damage(journalName, -1, "the journal is missing, but this folder held one", nil, 0)
	case errors.Is(err, os.ErrNotExist):
		// First start: running.json, if any, is a configuration made by hand.
		s.setRunning(&gen.Device{})
		if snapErr != nil {
			return fmt.Errorf("%s: %w", runningName, snapErr)
		}
		if snap != nil {
			s.setCandidateTree(s.running)
			// Keys of a hand-made file are sealed before the first
			// record is written: the journal never holds them otherwise.
			snap, _ = s.upgradeTree(snap)
			if _, err := s.commitTree(Session{User: "system", Origin: OriginSystem}, snap, "loaded from "+runningName, OriginSystem, nil); err != nil {
				return err
			}
		}
	case err != nil:
		return err
	default:
		if snapErr != nil {
			return s.damage(runningName, -1, fmt.Sprintf("the snapshot is unreadable: %v", snapErr), jr.recs, jr.size)
		}
		if !hadJournal {
			// A folder from before the format file: say what it holds now.
			if err := s.writeFormat(); err != nil {
				return err
			}
		}
		if err := s.replay(jr, snap); err != nil {
			return err
		}
	}
	s.setCandidateTree(s.running)
	if err := rules.Validate(s.running, s.ruleOptions()...); err != nil {
		s.log.Warn("running configuration does not validate", "err", err)
	} else {
		s.runValid = true
	}

	m, err := readMarker(s.dir)
	if err != nil {
		return s.damage(confirmName, -1, err.Error(), jr.recs, jr.size)
	}
	if m != nil {
		// RFC 6241 §8.4: the device restarted before the confirmation.
		s.pruneHistoryKeeping(m.RollbackTo)
		to, ok := s.treeOf(m.RollbackTo)
		if !ok {
			return s.damage(confirmName, -1, fmt.Sprintf("the confirmed commit returns to commit %d, which the journal does not hold", m.RollbackTo), jr.recs, jr.size)
		}
		s.log.Warn("confirmed commit was not confirmed before the restart; rolling back", "to", m.RollbackTo)
		if !equalTree(to, s.running) {
			if _, err := s.commitTree(Session{User: "system", Origin: OriginSystem}, to, "", OriginConfirmedCommitRollback, nil); err != nil {
				return err
			}
		}
		if err := atomicfile.Remove(filepath.Join(s.dir, confirmName)); err != nil {
			return err
		}
		s.setCandidateTree(s.running)
		s.runValid = rules.Validate(s.running, s.ruleOptions()...) == nil
	}
	s.pruneHistory()
	return nil
}

// replay rebuilds running and the history from the journal's records and
// opens the journal for appending, cutting off a torn tail. The snapshot,
// when there is one, must be the tree of one of the records: it is written
// (at compaction and at Close) only of a commit the journal holds, so a
// snapshot that matches none means records were lost.
func (s *Store) replay(jr journalRead, snap *gen.Device) error {
	recs := jr.recs
	// Only the trees of the commits that stay in the history are kept
	// (and the one a pending confirmed commit returns to); the others are
	// replayed in place.
	keepFrom := len(recs) - s.limit
	if m, _ := readMarker(s.dir); m != nil {
		for i := range recs {
			if recs[i].ID >= m.RollbackTo {
				keepFrom = min(keepFrom, i)
				break
			}
		}
	}
	var prev *gen.Device
	var firstLen, off int64
	matched := snap == nil
	for i := range recs {
		line, err := encodeLine(recs[i])
		if err != nil {
			return err
		}
		t, err := recs[i].applyTo(prev, i < keepFrom)
		if err != nil {
			return s.damage(journalName, off, fmt.Sprintf("commit %d cannot be applied: %v", recs[i].ID, err), recs[:i], off)
		}
		if i == 0 {
			firstLen = int64(len(line))
		}
		off += int64(len(line))
		if i >= keepFrom {
			s.history = append(s.history, commit{info: recs[i].info(), tree: t, line: line})
		}
		if !matched && equalTree(t, snap) {
			matched = true
		}
		prev = t
	}
	if !matched {
		return s.damage(runningName, -1, fmt.Sprintf("the snapshot is of a commit the journal (commits %d to %d) does not hold: journal records are missing", recs[0].ID, recs[len(recs)-1].ID), recs, jr.size)
	}
	s.setRunning(prev)
	s.lastID = recs[len(recs)-1].ID
	if jr.torn > 0 {
		s.log.Warn("journal: cutting off a torn tail, an append a crash cut short that was never acknowledged",
			"file", filepath.Join(s.dir, journalName), "offset", jr.size, "bytes", jr.torn)
	}
	var err error
	if s.j, err = openJournalAppend(s.dir, jr.size, len(recs)); err != nil {
		return err
	}
	s.j.fullSize = firstLen
	return nil
}

func (s *Store) ruleOptions() []rules.Option {
	opts := []rules.Option{rules.WithKeyCipher(s.keys)}
	if s.prefixes != nil {
		opts = append(opts, rules.WithLocalPrefixes(s.prefixes))
	}
	return opts
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

// Close writes running.json and closes the journal. Pending confirmed
// commits stay pending on disk: the next Open rolls them back.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if c := s.compacting; c != nil {
		// Let the compaction in flight finish: it needs the lock to swap.
		s.mu.Unlock()
		<-c
		s.mu.Lock()
		if s.closed {
			return nil
		}
	}
	s.closed = true
	if s.pending != nil && s.pending.timer != nil {
		s.pending.timer.Stop()
	}
	for sub := range s.subs {
		sub.stop()
	}
	s.subs = nil
	var err error
	if s.j != nil {
		err = s.writeRunningJSON()
	} else if s.broken != nil {
		err = s.broken
	}
	if cerr := s.j.close(); err == nil {
		err = cerr
	}
	if s.dirLock != nil {
		s.dirLock.Close() // releases the flock
	}
	return err
}

func (s *Store) writeRunningJSON() error {
	data, err := emitIndented(s.running)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(s.dir, runningName), data, 0o600)
}

func errClosed() error {
	return rpcerror.New(rpcerror.TagOperationFailed, "", "The configuration datastore is closed.")
}

// writable returns why the store takes no changes, or nil: it is closed,
// or broken (see compact).
func (s *Store) writable() error {
	if s.closed {
		return errClosed()
	}
	if s.broken != nil {
		return s.broken
	}
	return nil
}

// breakStore makes every later change fail with cause: the journal is no
// longer open, and a commit must never start a new one in its place.
func (s *Store) breakStore(cause error) {
	s.j = nil
	s.broken = &rpcerror.Error{Type: rpcerror.TypeApplication, Tag: rpcerror.TagOperationFailed,
		Message: fmt.Sprintf("The configuration datastore takes no more changes: its journal could not be reopened after a failed compaction (%v). Restart the daemon.", cause),
		Err:     cause}
	s.log.Error("journal cannot be reopened; the store takes no more changes", "err", cause)
}

// Snapshot returns a deep copy of the configuration in ds (config only).
func (s *Store) Snapshot(ds Name) *gen.Device {
	s.mu.Lock()
	t := s.running
	if ds == Candidate {
		t = s.candidate
	}
	s.mu.Unlock()
	return copyTree(t) // stored trees never change: copy outside the lock
}

// Shared returns the stored configuration tree of ds itself, without the
// copy Snapshot makes (which costs ~0.2–0.4 ms for 1,000 peers), and its
// generation: for encoders that only read, such as get-config, and for
// caches of what they compute (keyed on the generation). The tree is
// read-only: stored trees are never changed, by the store or by a reader
// (take a Snapshot to change a copy, e.g. to populate defaults).
func (s *Store) Shared(ds Name) (*gen.Device, Generation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ds == Candidate {
		return s.candidate, s.candGen
	}
	return s.running, s.runGen
}

func checkName(ds Name) error {
	if ds != Running && ds != Candidate {
		return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagInvalidValue,
			Message: fmt.Sprintf("The datastore %q is not supported (running and candidate are).", string(ds))}
	}
	return nil
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

// asRPCError keeps rpc-errors as they are and wraps any other error as
// operation-failed.
func asRPCError(err error) error {
	if err == nil {
		return nil
	}
	var l rpcerror.List
	var e *rpcerror.Error
	if errors.As(err, &l) || errors.As(err, &e) {
		return err
	}
	return &rpcerror.Error{Type: rpcerror.TypeApplication, Tag: rpcerror.TagOperationFailed, Message: err.Error(), Err: err}
}

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
// turned into cipher form. With test-only the result is validated and
// thrown away. An edit of running (:writable-running) is always validated,
// made durable, recorded in the history and sent to subscribers. apply must
// not call the Store.
func (s *Store) Edit(sess Session, target Name, opt EditOptions, apply func(root *gen.Device) error) error {
	if err := checkName(target); err != nil {
		return err
	}
	if opt.TestOption > TestOnly {
		return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagInvalidValue, Param: "test-option",
			Message: fmt.Sprintf("The test option %d is not one of test-then-set, set, test-only.", opt.TestOption)}
	}
	if opt.ErrorOption > ContinueOnError {
		return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagInvalidValue, Param: "error-option",
			Message: fmt.Sprintf("The error option %d is not one of stop-on-error, continue-on-error, rollback-on-error.", opt.ErrorOption)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	if err := s.lockedByOther(sess, target); err != nil {
		return err
	}
	base := s.candidate
	if target == Running {
		base = s.running
	}
	work := copyTree(base)
	panicked, applyErr := runApply(apply, work)
	if applyErr != nil && (panicked || opt.ErrorOption != ContinueOnError) {
		return asRPCError(applyErr)
	}
	if applyErr != nil {
		// continue-on-error: what applied is kept, and the failures are
		// the answer whatever happens to it.
		applyErr = asRPCError(applyErr)
	}
	if err := s.sealSecrets(work, base); err != nil {
		return joinErrors(applyErr, err)
	}
	d, err := normalizeDiff(work, base)
	if err != nil {
		return joinErrors(applyErr, err)
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
	if source == Running {
		return rules.Validate(s.running, s.ruleOptions()...)
	}
	return s.validateNext(s.candidate, s.runningDiff(s.candidate))
}

// ValidateTree validates a configuration given inline (<validate> with
// <source><config>); root is not changed.
func (s *Store) ValidateTree(root *gen.Device) error {
	t := copyTree(root)
	if err := s.sealSecrets(t, nil); err != nil {
		return err
	}
	if err := normalize(t); err != nil {
		return err
	}
	return rules.Validate(t, s.ruleOptions()...)
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

// maybeCompact starts a rewrite of the journal when it holds many more
// records than the history: a whole-tree record of the oldest kept commit,
// then the records of the later ones. The slow part (encoding 1,000 peers
// takes tens of milliseconds) runs in its own goroutine on the immutable
// stored trees; the history is not pruned meanwhile, so that the records
// of every commit after the encoded one are at hand when the file is
// swapped, under the lock. A failure is logged: the long journal is still
// correct.
func (s *Store) maybeCompact() {
	// Compact when the journal has many more records than the history and
	// its deltas outweigh the whole tree several times: the cost of
	// re-encoding the tree is then spread over many commits.
	if s.j == nil || s.compacting != nil || s.j.records <= 2*s.limit+16 || s.j.size < 4*s.j.fullSize || len(s.history) == 0 {
		return
	}
	done := make(chan struct{})
	s.compacting = done
	base, running := s.history[0], s.running
	go func() {
		defer close(done)
		err := s.compact(base, running)
		s.mu.Lock()
		s.compacting = nil
		s.pruneHistory()
		s.mu.Unlock()
		if err != nil {
			s.log.Error("journal compaction failed", "err", err)
		}
	}()
}

func (s *Store) compact(base commit, running *gen.Device) error {
	rec, err := fullRecord(base.info, base.tree)
	if err != nil {
		return err
	}
	line, err := encodeLine(rec)
	if err != nil {
		return err
	}
	readable, err := emitIndented(running)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.broken != nil || s.j == nil {
		return nil
	}
	lines := [][]byte{line}
	for _, c := range s.history {
		if c.info.ID > base.info.ID {
			lines = append(lines, c.line)
		}
	}
	// The snapshot first: it must always be of a commit the journal holds
	// (replay checks it), and the old journal holds running's record as
	// the new one does.
	if running != s.running {
		if readable, err = emitIndented(s.running); err != nil {
			return err
		}
	}
	if err := atomicfile.Write(filepath.Join(s.dir, runningName), readable, 0o600); err != nil {
		return err
	}
	old := s.j
	oldFile, statErr := old.f.Stat()
	old.close()
	j, err := writeJournal(s.dir, lines)
	if err != nil {
		// Reopen the old journal if it is still the one in place (the
		// rename did not happen); else nothing is certain of the file.
		cur, serr := os.Stat(filepath.Join(s.dir, journalName))
		switch {
		case statErr != nil:
			s.breakStore(statErr)
		case serr != nil:
			s.breakStore(serr)
		case !os.SameFile(oldFile, cur):
			s.breakStore(fmt.Errorf("the compacted journal replaced the old one, then failed: %w", err))
		default:
			var rerr error
			if s.j, rerr = openJournalAppend(s.dir, old.size, old.records); rerr != nil {
				s.breakStore(rerr)
			}
		}
		return err
	}
	s.j = j
	return nil
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
// running is a commit.
func (s *Store) Copy(sess Session, target Name, src Name, inline *gen.Device) error {
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	if err := s.lockedByOther(sess, target); err != nil {
		return err
	}
	var t *gen.Device
	switch src {
	case Running:
		t = s.running
	case Candidate:
		t = s.candidate
	default:
		t = copyTree(inline)
		if err := s.sealSecrets(t, s.running); err != nil {
			return err
		}
		if err := normalizeWith(t, s.running); err != nil {
			return err
		}
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
// RFC 6241 §7.4 excludes only running.
func (s *Store) Delete(sess Session, target Name) error {
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
	s.setCandidate(sess, empty, diffEntries(s.running, empty))
	return nil
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
	for _, ds := range []Name{Running, Candidate} {
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
	for _, ds := range []Name{Running, Candidate} {
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

// CandidateModified reports whether the candidate has uncommitted changes.
func (s *Store) CandidateModified() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.modifiedBy) > 0
}

// CandidateModifiedBy reports whether the session made some of the
// candidate's uncommitted changes (a CLI asks before quitting).
func (s *Store) CandidateModifiedBy(sessionID uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.modifiedBy[sessionID]
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
	d := diffEntries(s.running, t)
	if err := s.validateNext(t, d); err != nil {
		return CommitInfo{}, err
	}
	return s.commitTree(sess, t, label, OriginRollback, &d)
}
