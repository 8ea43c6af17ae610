package datastore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ntpagent/ntpagent/gen"
)

// ReadRunning returns the running configuration stored in dir (a Store's
// Options.Dir) for a tool beside the daemon (ntpagent user list). It takes
// no lock and writes nothing, so it reads a folder that a Store has open:
// the journal is only ever appended to by whole lines or replaced whole
// by a rename, so one read of it holds every commit acknowledged before
// it, and a line being appended (no end of line yet) is left out, as Open
// would. Running is the last commit the journal holds — a confirmed commit
// not yet confirmed included, as in the Store — or, before the first
// start, a running.json made by hand (passwords possibly in clear text
// still), or an empty tree when the folder holds neither. Damage is
// returned as a *DamageError, the one Open would refuse the folder with;
// nothing is repaired.
func ReadRunning(dir string) (*gen.Device, error) {
	// Only the Store's file readers are used: they read s.dir and nothing
	// else.
	s := &Store{dir: dir}
	hadJournal, err := s.checkFormat()
	if err != nil {
		return nil, fmt.Errorf("datastore: %w", err)
	}
	jr, err := readJournal(filepath.Join(dir, journalName))
	switch {
	case errors.Is(err, os.ErrNotExist) && hadJournal:
		return nil, newDamage(filepath.Join(dir, journalName), -1, "the journal is missing, but this folder held one", nil, 0)
	case errors.Is(err, os.ErrNotExist):
		snap, err := s.readSnapshot()
		if err != nil {
			return nil, fmt.Errorf("datastore: %s: %w", filepath.Join(dir, runningName), err)
		}
		if snap == nil {
			snap = &gen.Device{}
		}
		return snap, nil
	case err != nil:
		return nil, err
	}
	var t *gen.Device
	for i := range jr.recs {
		// The tree is this function's own: records apply in place.
		if t, err = jr.recs[i].applyTo(t, true); err != nil {
			return nil, newDamage(filepath.Join(dir, journalName), -1, fmt.Sprintf("commit %d cannot be applied: %v", jr.recs[i].ID, err), jr.recs[:i], 0)
		}
	}
	return t, nil
}
