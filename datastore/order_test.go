package datastore

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/fakeclock"
)

// setRuleLists makes /nacm's rule-lists the given ones, in that order,
// each with rules r2 then r1 (names out of key order on purpose).
func setRuleLists(names ...string) func(*gen.Device) error {
	return func(d *gen.Device) error {
		n := d.GetOrCreateNacm()
		n.RuleList = nil
		for _, name := range names {
			rl, err := n.AppendNewRuleList(name)
			if err != nil {
				return err
			}
			for _, r := range []string{"r2", "r1"} {
				x, err := rl.AppendNewRule(r)
				if err != nil {
					return err
				}
				x.Action = gen.IETFNetconfAcm_ActionType_permit
			}
		}
		return nil
	}
}

// ruleListOrder is the rule-lists and rules of d's /nacm in stored order.
func ruleListOrder(d *gen.Device) []string {
	var out []string
	n := d.GetNacm()
	if n == nil {
		return nil
	}
	for _, rl := range n.RuleList.Values() {
		out = append(out, rl.GetName())
		for _, r := range rl.Rule.Values() {
			out = append(out, rl.GetName()+"/"+r.GetName())
		}
	}
	return out
}

// RFC 7950 §7.7.7: an ordered-by user list is stored in the order it was
// given, and every way the store keeps a tree keeps it: the journal's
// whole and delta records, a compaction, running.json, the startup file,
// a rollback and a restart. A change of the order alone is a change (a
// commit records it).
func TestUserOrderSurvivesEveryStoredFormRFC7950(t *testing.T) {
	dir := t.TempDir()
	clk := fakeclock.New()
	open := func() *Store {
		s, err := Open(Options{Dir: dir, Clock: clk, HistoryLimit: 3, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LocalPrefixes: noPrefixes})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	}
	first := []string{"z-deny", "z-deny/r2", "z-deny/r1", "m", "m/r2", "m/r1", "a-permit", "a-permit/r2", "a-permit/r1"}
	moved := []string{"a-permit", "a-permit/r2", "a-permit/r1", "z-deny", "z-deny/r2", "z-deny/r1", "m", "m/r2", "m/r1"}
	s := open()
	mustEdit(t, s, alice, Candidate, setRuleLists("z-deny", "m", "a-permit"))
	mustCommit(t, s, alice, CommitOptions{})
	if got := ruleListOrder(s.Snapshot(Running)); !slices.Equal(got, first) {
		t.Fatalf("running after commit %v, want %v", got, first)
	}
	mustEdit(t, s, alice, Candidate, setRuleLists("a-permit", "z-deny", "m"))
	if !s.CandidateModified() {
		t.Fatal("a change of order alone does not modify the candidate")
	}
	mustCommit(t, s, alice, CommitOptions{})
	if err := s.Copy(alice, Startup, Running, nil); err != nil {
		t.Fatal(err)
	}
	// Enough small commits for the journal to be compacted (its first
	// record is then a whole tree holding the moved order).
	for i := range 40 {
		mustEdit(t, s, alice, Candidate, setPeer("192.0.2.9", uint8(4+i%6)))
		mustCommit(t, s, alice, CommitOptions{})
		s.waitCompaction()
	}
	if got := ruleListOrder(s.Snapshot(Running)); !slices.Equal(got, moved) {
		t.Fatalf("running after the move %v, want %v", got, moved)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if j, err := os.ReadFile(filepath.Join(dir, "journal")); err != nil || bytes.Count(j, []byte("\n")) >= 40 {
		t.Fatalf("the journal was not compacted (%d records, %v)", bytes.Count(j, []byte("\n")), err)
	}
	s = open()
	for _, ds := range []Name{Running, Candidate, Startup} {
		if got := ruleListOrder(s.Snapshot(ds)); !slices.Equal(got, moved) {
			t.Errorf("%s after a restart %v, want %v", ds, got, moved)
		}
	}
	// Back to the first order, then a rollback to the commit before it.
	mustEdit(t, s, alice, Candidate, setPeer("192.0.2.9", 10))
	before := mustCommit(t, s, alice, CommitOptions{})
	mustEdit(t, s, alice, Candidate, setRuleLists("z-deny", "m", "a-permit"))
	mustCommit(t, s, alice, CommitOptions{})
	if got := ruleListOrder(s.Snapshot(Running)); !slices.Equal(got, first) {
		t.Fatalf("running after moving back %v, want %v", got, first)
	}
	if _, err := s.Rollback(alice, before.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got := ruleListOrder(s.Snapshot(Running)); !slices.Equal(got, moved) {
		t.Errorf("running after a rollback %v, want %v", got, moved)
	}
	s.Close()
}
