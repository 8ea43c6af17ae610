package datastore

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/atomicfile"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// breakStore makes every later change fail with cause: the journal is no
// longer open, and a commit must never start a new one in its place.
func (s *Store) breakStore(cause error) {
	s.j = nil
	s.broken = &rpcerror.Error{Type: rpcerror.TypeApplication, Tag: rpcerror.TagOperationFailed,
		Message: fmt.Sprintf("The configuration datastore takes no more changes: its journal could not be reopened after a failed compaction (%v). Restart the daemon.", cause),
		Err:     cause}
	s.log.Error("journal cannot be reopened; the store takes no more changes", "err", cause)
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
