package datastore

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/atomicfile"
	"github.com/ntpagent/ntpagent/internal/clock"
)

// Open loads the datastores from opts.Dir: running is the last commit of the
// journal (or running.json when there is no journal yet, or empty); at the
// first start after the host booted it becomes startup's content instead
// (Options.RunningFrom). If the
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
	atomicfile.WarnIfShared(s.log, opts.Dir, filepath.Join(opts.Dir, journalName), filepath.Join(opts.Dir, runningName), filepath.Join(opts.Dir, startupName))
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
	// Running from the journal, its keys sealed with this device's key,
	// startup, then the restart rule.
	for _, step := range []func() error{s.load, s.upgradeKeys, s.loadStartup, func() error { return s.startAfterBoot(opts.RunningFrom, opts.BootIDFile) }} {
		if err := step(); err != nil {
			s.j.close()
			lock.Close()
			return nil, fmt.Errorf("datastore: open %s: %w", opts.Dir, err)
		}
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
