package datastore

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// folderFiles returns the regular files of dir and their contents.
func folderFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		if e.Type().IsRegular() && e.Name() != "lock" {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = string(data)
		}
	}
	return out
}

// threeCommits makes a folder with commits 1 to 3 (peers .1, .2, .3), closed
// cleanly (running.json is commit 3's tree).
func threeCommits(t *testing.T) string {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	for _, a := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		mustEdit(t, s, alice, Running, setPeer(a, 6))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// journalLines splits the journal into its lines (with their newlines).
func journalLines(t *testing.T, dir string) []string {
	data, err := os.ReadFile(filepath.Join(dir, journalName))
	if err != nil {
		t.Fatal(err)
	}
	l := strings.SplitAfter(string(data), "\n")
	return l[:len(l)-1] // after the last end of line: ""
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func flipBit(s string, at int) string {
	b := []byte(s)
	b[at] ^= 0x04
	return string(b)
}

// Damage that no crash explains refuses to start, changes no file, and
// names the file; Recover starts from the last good state, moves the
// damaged file aside and leaves a folder that opens normally.
func TestDamagedFolderIsRefusedThenRecovered(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, dir string)
		file    string         // the file the error names
		recover map[string]int // running after Recover: peers
	}{
		{"empty journal", func(t *testing.T, dir string) { writeFile(t, dir, journalName, "") },
			journalName, map[string]int{"10.0.0.1": 6, "10.0.0.2": 6, "10.0.0.3": 6}},
		{"random journal", func(t *testing.T, dir string) { writeFile(t, dir, journalName, "\x8f\x01random bytes\nmore\n") },
			journalName, map[string]int{"10.0.0.1": 6, "10.0.0.2": 6, "10.0.0.3": 6}},
		{"first record truncated", func(t *testing.T, dir string) {
			l := journalLines(t, dir)
			writeFile(t, dir, journalName, l[0][:len(l[0])/2])
		}, journalName, map[string]int{"10.0.0.1": 6, "10.0.0.2": 6, "10.0.0.3": 6}},
		{"bit flip in the last record", func(t *testing.T, dir string) {
			l := journalLines(t, dir)
			l[2] = flipBit(l[2], len(l[2])/2)
			writeFile(t, dir, journalName, strings.Join(l, ""))
		}, journalName, map[string]int{"10.0.0.1": 6, "10.0.0.2": 6, "10.0.0.3": 6}},
		{"bit flip in a middle record", func(t *testing.T, dir string) {
			l := journalLines(t, dir)
			l[1] = flipBit(l[1], 3)
			writeFile(t, dir, journalName, strings.Join(l, ""))
		}, journalName, map[string]int{"10.0.0.1": 6, "10.0.0.2": 6, "10.0.0.3": 6}},
		{"a middle record removed", func(t *testing.T, dir string) {
			l := journalLines(t, dir)
			writeFile(t, dir, journalName, l[0]+l[2])
		}, journalName, map[string]int{"10.0.0.1": 6, "10.0.0.2": 6, "10.0.0.3": 6}},
		{"last records lost behind the snapshot", func(t *testing.T, dir string) {
			l := journalLines(t, dir)
			writeFile(t, dir, journalName, l[0])
		}, runningName, map[string]int{"10.0.0.1": 6, "10.0.0.2": 6, "10.0.0.3": 6}},
		{"journal missing", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, journalName)) },
			journalName, map[string]int{"10.0.0.1": 6, "10.0.0.2": 6, "10.0.0.3": 6}},
		{"unreadable snapshot", func(t *testing.T, dir string) {
			writeFile(t, dir, runningName, `{"ntpagent-ntp:ntp":{"no-such-leaf":1}}`)
		}, runningName, map[string]int{"10.0.0.1": 6, "10.0.0.2": 6, "10.0.0.3": 6}},
		{"snapshot and journal both damaged", func(t *testing.T, dir string) {
			l := journalLines(t, dir)
			writeFile(t, dir, journalName, l[0]+flipBit(l[1], 20)+l[2])
			writeFile(t, dir, runningName, "{")
		}, journalName, map[string]int{"10.0.0.1": 6}},
		{"damaged confirm.json", func(t *testing.T, dir string) { writeFile(t, dir, confirmName, "{not json") },
			confirmName, map[string]int{"10.0.0.1": 6, "10.0.0.2": 6, "10.0.0.3": 6}},
		{"confirm.json returning to a lost commit", func(t *testing.T, dir string) {
			writeFile(t, dir, confirmName, `{"rollback-to":99,"session-id":1,"deadline":"2026-01-01T00:00:00Z"}`)
		}, confirmName, map[string]int{"10.0.0.1": 6, "10.0.0.2": 6, "10.0.0.3": 6}},
		{"unknown format", func(t *testing.T, dir string) { writeFile(t, dir, formatName, "ntpagent-datastore 9\n") },
			formatName, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := threeCommits(t)
			tc.damage(t, dir)
			before := folderFiles(t, dir)
			s, err := Open(Options{Dir: dir, LocalPrefixes: noPrefixes, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err == nil {
				s.Close()
				t.Fatal("Open accepted a damaged folder")
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, tc.file)) {
				t.Errorf("the error does not name %s: %v", tc.file, err)
			}
			if after := folderFiles(t, dir); !maps.Equal(before, after) {
				t.Fatal("a refused Open changed the folder")
			}
			var d *DamageError
			if tc.recover == nil {
				if errors.As(err, &d) {
					t.Fatalf("a format this version does not know is not damage to repair: %v", err)
				}
				return
			}
			if !errors.As(err, &d) {
				t.Fatalf("not a *DamageError: %v", err)
			}
			var log bytes.Buffer
			s, err = Open(Options{Dir: dir, LocalPrefixes: noPrefixes, Recover: true, Logger: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatalf("Recover: %v", err)
			}
			got := peerSet(s.Snapshot(Running))
			want := map[string]uint8{}
			for a, m := range tc.recover {
				want[a] = uint8(m)
			}
			if !maps.Equal(got, want) {
				t.Errorf("recovered running %v, want %v", got, want)
			}
			if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "recovered") {
				t.Errorf("recovery not logged at WARN: %s", log.String())
			}
			mustEdit(t, s, alice, Running, setPeer("10.0.0.9", 7))
			s.Close()
			aside, _ := filepath.Glob(filepath.Join(dir, "*.damaged-*"))
			if _, ok := before[tc.file]; ok && len(aside) == 0 {
				t.Error("no damaged file was kept aside")
			}
			for _, f := range aside {
				name := filepath.Base(f)
				orig := name[:strings.Index(name, ".damaged-")]
				data, _ := os.ReadFile(f)
				if string(data) != before[orig] {
					t.Errorf("%s is not the damaged %s as it was", name, orig)
				}
			}
			// The recovered folder opens without Recover and keeps the
			// commit made after the recovery.
			s = openStore(t, dir, nil)
			want["10.0.0.9"] = 7
			if got := peerSet(s.Snapshot(Running)); !maps.Equal(got, want) {
				t.Errorf("reopened running %v, want %v", got, want)
			}
		})
	}
}

// A tail without its end of line is an append that a crash cut short and
// that was never acknowledged: it is cut off with a warning naming where
// and how much, and everything before it is kept.
func TestTornJournalTailIsCutWithAWarning(t *testing.T) {
	for name, tail := range map[string]func(line string) string{
		"half a record":                     func(line string) string { return line[:len(line)/2] },
		"zeros of a size that was extended": func(line string) string { return strings.Repeat("\x00", len(line)) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, nil)
			mustEdit(t, s, alice, Running, setPeer("10.0.0.1", 6))
			mustEdit(t, s, alice, Running, setPeer("10.0.0.2", 6))
			s.Close()
			path := filepath.Join(dir, journalName)
			data, _ := os.ReadFile(path)
			torn := tail(mustLine(t, record{ID: 3, Origin: "cli"}))
			os.WriteFile(path, append(data, torn...), 0o600)
			var log bytes.Buffer
			s2, err := Open(Options{Dir: dir, LocalPrefixes: noPrefixes, Logger: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatal(err)
			}
			if got := peerSet(s2.Snapshot(Running)); len(got) != 2 || s2.History()[0].ID != 2 {
				t.Fatalf("running %v history %+v", got, s2.History())
			}
			for _, want := range []string{"level=WARN", "torn tail", "offset=" + strconv.Itoa(len(data)), "bytes=" + strconv.Itoa(len(torn))} {
				if !strings.Contains(log.String(), want) {
					t.Errorf("log lacks %q: %s", want, log.String())
				}
			}
			mustEdit(t, s2, alice, Running, setPeer("10.0.0.3", 6))
			s2.Close()
			after, _ := os.ReadFile(path)
			if !bytes.HasPrefix(after, data) {
				t.Fatal("journal prefix changed")
			}
			s3 := openStore(t, dir, nil)
			if got := peerSet(s3.Snapshot(Running)); len(got) != 3 {
				t.Fatalf("running %v", got)
			}
		})
	}
}

// A folder written before the format file existed opens, and from then on
// a missing journal is damage.
func TestFolderWithoutFormatFileGetsOne(t *testing.T) {
	dir := threeCommits(t)
	os.Remove(filepath.Join(dir, formatName))
	openStore(t, dir, nil).Close()
	if data, err := os.ReadFile(filepath.Join(dir, formatName)); err != nil || string(data) != formatContent {
		t.Fatalf("format file %q, %v", data, err)
	}
}

// A first start imports a hand-made running.json; that is not damage.
func TestFirstStartImportsRunningJSONNotDamage(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, runningName, `{"ntpagent-ntp:ntp":{"unicast-peer":[{"address":"10.1.1.1","vpn-instance":"_public_","minpoll":5}]}}`)
	s := openStore(t, dir, nil)
	if got := peerSet(s.Snapshot(Running)); !maps.Equal(got, map[string]uint8{"10.1.1.1": 5}) {
		t.Fatalf("running %v", got)
	}
	s.Close()
	openStore(t, dir, nil)
}
