package datastore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/atomicfile"
)

// formatName is the file that says this folder's journal format. It is
// written once, before the first journal is created, so that a journal that
// disappears later is seen as damage instead of a first start.
const (
	formatName    = "format"
	formatContent = "ntpagent-datastore 1\n"
)

// DamageError says that the state folder is damaged in a way no crash can
// explain: a complete journal record whose checksum or content is wrong,
// records missing, a journal that is empty or missing while the folder
// held one, a snapshot (running.json) that is unreadable or of a commit
// the journal does not hold, or a damaged confirm.json. Open then refuses
// to start, changes nothing and keeps every file; Options.Recover starts
// from the last good state and moves the damaged files aside.
type DamageError struct {
	File   string // the damaged file
	Offset int64  // where in File the damage starts (bytes), or -1
	Reason string
	// LastGood is the id of the last commit read whole before the damage
	// (0 if none): where Options.Recover starts from, unless the snapshot
	// is newer.
	LastGood uint32

	good     []record // the records before the damage
	goodSize int64
}

func (e *DamageError) Error() string {
	at := ""
	if e.Offset >= 0 {
		at = fmt.Sprintf(" at byte %d", e.Offset)
	}
	last := "no commit before it is readable"
	if e.LastGood > 0 {
		last = fmt.Sprintf("the last good commit is %d", e.LastGood)
	}
	return fmt.Sprintf("%s is damaged%s: %s (%s); nothing was changed and every file is kept", e.File, at, e.Reason, last)
}

func (s *Store) damage(name string, offset int64, reason string, good []record, goodSize int64) *DamageError {
	return newDamage(filepath.Join(s.dir, name), offset, reason, good, goodSize)
}

func newDamage(path string, offset int64, reason string, good []record, goodSize int64) *DamageError {
	e := &DamageError{File: path, Offset: offset, Reason: reason, good: good, goodSize: goodSize}
	if n := len(good); n > 0 {
		e.LastGood = good[n-1].ID
	}
	return e
}

// checkFormat tells whether the folder has held a journal, and refuses a
// format it does not know.
func (s *Store) checkFormat() (bool, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, formatName))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if string(data) != formatContent {
		return false, fmt.Errorf("%s says %q: this folder was written by another version of ntpagent (this one writes %q)",
			filepath.Join(s.dir, formatName), strings.TrimSpace(string(data)), strings.TrimSpace(formatContent))
	}
	return true, nil
}

func (s *Store) writeFormat() error {
	return atomicfile.Write(filepath.Join(s.dir, formatName), []byte(formatContent), 0o600)
}

// readSnapshot reads running.json; nil if there is none.
func (s *Store) readSnapshot() (*gen.Device, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, runningName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	t, err := decodeRFC7951(data)
	if err == nil {
		err = normalize(t)
	}
	return t, err
}

// asideName is where a damaged file from is moved: from.damaged-STAMP,
// never over an earlier damaged copy (two recoveries in one second).
func asideName(from, stamp string) string {
	to := from + ".damaged-" + stamp
	for i := 1; i < 100; i++ {
		if _, err := os.Lstat(to); errors.Is(err, os.ErrNotExist) {
			break
		}
		to = fmt.Sprintf("%s.damaged-%s.%d", from, stamp, i)
	}
	return to
}

// recoverFrom is Options.Recover: it starts from the last good state
// the damage leaves — the records before the damage, or the snapshot when
// it is of a later commit than any of them — moves the damaged files aside
// (NAME.damaged-TIME) and writes a journal of that state. Nothing is
// deleted.
func (s *Store) recoverFrom(d *DamageError) error {
	stamp := s.clock.Now().UTC().Format("20060102T150405Z")
	moved := []string{}
	moveAside := func(name string) error {
		from := filepath.Join(s.dir, name)
		if _, err := os.Stat(from); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		to := asideName(from, stamp)
		if err := os.Rename(from, to); err != nil {
			return fmt.Errorf("recover: move %s aside: %w", from, err)
		}
		moved = append(moved, to)
		return atomicfile.SyncDir(s.dir)
	}
	good := d.good
	snap, snapErr := s.readSnapshot()
	if snapErr != nil {
		if err := moveAside(runningName); err != nil {
			return err
		}
		snap = nil
	}
	// Is the snapshot of a commit after the good records?
	snapNewer := snap != nil
	var prev *gen.Device
	for i := range good {
		t, err := good[i].apply(prev)
		if err != nil {
			good = good[:i]
			break
		}
		if snapNewer && equalTree(t, snap) {
			snapNewer = false
		}
		prev = t
	}
	var lines [][]byte
	for _, r := range good {
		l, err := encodeLine(r)
		if err != nil {
			return err
		}
		lines = append(lines, l)
	}
	from := fmt.Sprintf("commit %d of the journal", d.LastGood)
	if snapNewer || len(lines) == 0 {
		t := snap
		from = "the snapshot " + runningName
		if t == nil {
			t = &gen.Device{}
			from = "an empty configuration (nothing readable was left)"
		}
		id := uint32(1)
		if n := len(good); n > 0 {
			id = good[n-1].ID + 1
		}
		rec, err := fullRecord(CommitInfo{ID: id, User: "system", Time: s.clock.Now().UTC().Round(time.Microsecond), Label: "recovered", Origin: OriginSystem}, t)
		if err != nil {
			return err
		}
		l, err := encodeLine(rec)
		if err != nil {
			return err
		}
		lines = append(lines, l)
	}
	// A pending confirmed commit whose marker is unreadable, or that
	// returns to a commit the recovered journal does not hold, cannot be
	// rolled back: the recovered state stays.
	if m, err := readMarker(s.dir); err != nil || (m != nil && !slices.ContainsFunc(good, func(r record) bool { return r.ID == m.RollbackTo })) {
		if err := moveAside(confirmName); err != nil {
			return err
		}
	}
	if err := moveAside(journalName); err != nil {
		return err
	}
	j, err := writeJournal(s.dir, lines)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	j.close()
	if err := s.writeFormat(); err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	s.log.Warn("recovered from a damaged state folder", "damage", d.Error(), "started-from", from, "moved-aside", strings.Join(moved, ", "))
	return nil
}
