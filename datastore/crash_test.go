package datastore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
)

// crashTree is the content every commit n of the crash child makes: sysname
// c<n> and the peers of the last 20 commit ids, so that any commit's tree is
// known from its id alone.
func crashTree(n uint32) *gen.Device {
	d := &gen.Device{}
	if n == 0 {
		return d
	}
	d.GetOrCreateSystem().SetSysname(fmt.Sprintf("c%d", n))
	for i := int64(n) - 19; i <= int64(n); i++ {
		if i < 1 {
			continue
		}
		p := d.GetOrCreateNtp().GetOrCreateUnicastPeer(fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), "_public_")
		p.SetMinpoll(uint8(3 + i%8))
		p.SetMaxpoll(12)
	}
	return d
}

const crashEnv = "NTPAGENT_DATASTORE_CRASH_CHILD"

// TestMain runs the crash child when TestCrash starts the test binary as one.
func TestMain(m *testing.M) {
	if spec := os.Getenv(crashEnv); spec != "" {
		crashChild(spec)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashChild is the child process of TestCrash. It commits in a loop and
// prints an acknowledgement after each commit returned success.
func crashChild(spec string) {
	mode, dir, _ := strings.Cut(spec, ":")
	s, err := Open(Options{Dir: dir, HistoryLimit: 5, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LocalPrefixes: noPrefixes})
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(2)
	}
	sess := Session{ID: 1, User: "crash", Origin: OriginNETCONF}
	fmt.Println("ready")
	for i := 0; i < 10000; i++ {
		next := s.History()
		id := uint32(1)
		if len(next) > 0 {
			id = next[0].ID + 1
		}
		tree := crashTree(id)
		if mode == "confirmed" && i >= 1 {
			if err := s.Copy(sess, Candidate, "", tree); err != nil {
				fmt.Printf("error %v\n", err)
				os.Exit(2)
			}
			if _, err := s.Commit(sess, CommitOptions{Confirmed: true}); err != nil {
				fmt.Printf("error %v\n", err)
				os.Exit(2)
			}
			p, _ := s.ConfirmedCommitPending()
			fmt.Printf("pending %d %d\n", p.RollbackTo, id)
			continue
		}
		if err := s.Copy(sess, Running, "", tree); err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(2)
		}
		fmt.Printf("ack %d\n", id)
		if mode == "startup" {
			if err := s.Copy(sess, Startup, Running, nil); err != nil {
				fmt.Printf("error %v\n", err)
				os.Exit(2)
			}
			fmt.Printf("saved %d\n", id)
		}
	}
	os.Exit(0)
}

// TestCrash kills a committing child process with SIGKILL at random moments
// and checks after each kill that running is the last acknowledged commit
// (or the one after it, whose acknowledgement the kill cut off) and that
// the files are whole. In "confirmed" mode the child's last commits are
// unconfirmed confirmed commits: after the restart running must be the
// configuration from before them (RFC 6241 §8.4). In "startup" mode the
// child copies running to startup after each commit: startup must be the
// last acknowledged save (or the next one) and whole (RFC 6241 §8.7).
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("100 child processes killed at random moments: tens of seconds")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, testtool.Seed(t)))
	for _, mode := range []string{"plain", "confirmed", "startup"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			var lastAck, lastSaved uint32
			saves := 0
			kills, pendingRuns := 0, 0
			for run := 0; run < 50; run++ {
				cmd := exec.Command(exe)
				cmd.Env = append(os.Environ(), crashEnv+"="+mode+":"+dir)
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				lines := make(chan string, 1024)
				go func() {
					sc := bufio.NewScanner(out)
					for sc.Scan() {
						lines <- sc.Text()
					}
					close(lines)
				}()
				var got []string
				deadline := time.After(10 * time.Second)
			waitReady:
				for {
					select {
					case l, ok := <-lines:
						if !ok {
							cmd.Wait()
							t.Fatalf("child ended before ready: %v", got)
						}
						got = append(got, l)
						if l == "ready" {
							break waitReady
						}
					case <-deadline:
						cmd.Process.Kill()
						t.Fatal("child not ready in 10 s")
					}
				}
				time.Sleep(time.Duration(500+rng.IntN(8000)) * time.Microsecond)
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()
				kills++
				for l := range lines {
					got = append(got, l)
				}
				// What the child acknowledged.
				var pendingPre, pendingID uint32
				sawPending := false
				for _, l := range got {
					f := strings.Fields(l)
					switch f[0] {
					case "error":
						t.Fatalf("child: %s", l)
					case "ack":
						lastAck = atou(t, f[1])
					case "saved":
						lastSaved = atou(t, f[1])
						saves++
					case "pending":
						if !sawPending {
							pendingPre = atou(t, f[1])
						}
						sawPending = true
						pendingID = atou(t, f[2])
					}
				}
				// A copy of the folder, damaged in one of the ways a disk or
				// a careless hand damages it, is checked against the
				// undamaged one below.
				damaged, kind := corruptCopy(t, rng, dir)
				s, err := Open(Options{Dir: dir, HistoryLimit: 5, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LocalPrefixes: noPrefixes})
				if err != nil {
					t.Fatalf("run %d: Open after SIGKILL: %v (child said %v)", run, err, got)
				}
				checkDamagedCopy(t, run, damaged, kind, s)
				h := s.History()
				run1 := s.Snapshot(Running)
				var top uint32
				if len(h) > 0 {
					top = h[0].ID
				}
				if sawPending {
					pendingRuns++
				}
				switch {
				case sawPending:
					// Rolled back to the tree before the first confirmed commit.
					if !equalTree(run1, crashTree(pendingPre)) || h[0].Origin != OriginConfirmedCommitRollback {
						t.Fatalf("run %d: after unconfirmed commits up to %d running is not commit %d's tree: %v", run, pendingID, pendingPre, diffTrees(crashTree(pendingPre), run1))
					}
					lastAck = top
				default:
					// The last acknowledged commit, or the next one if it was
					// durable before the kill cut its acknowledgement.
					ok := (top == lastAck && equalTree(run1, crashTree(lastAck))) || (top == lastAck+1 && equalTree(run1, crashTree(top)))
					if !ok && mode == "confirmed" && top == lastAck+2 && h[0].Origin == OriginConfirmedCommitRollback {
						// Killed after the first confirmed commit was durable,
						// before its acknowledgement: rolled back at Open.
						ok = equalTree(run1, crashTree(lastAck))
					}
					if !ok {
						t.Fatalf("run %d: running is commit %d, last acknowledged %d: %v; child said %v; history %+v", run, top, lastAck, diffTrees(crashTree(lastAck), run1), got, h)
					}
					lastAck = top
				}
				if _, ok := s.ConfirmedCommitPending(); ok {
					t.Fatal("pending after Open")
				}
				if mode == "startup" {
					// The last acknowledged save, or a later one that was
					// durable before the kill cut its acknowledgement: the
					// tree of a commit from lastSaved to running's.
					st := s.Snapshot(Startup)
					_, saved := s.Saved()
					found := !saved && lastSaved == 0
					for k := max(lastSaved, 1); saved && !found && k <= top; k++ {
						if equalTree(st, crashTree(k)) {
							found, lastSaved = true, k
						}
					}
					if !found {
						t.Fatalf("run %d: startup is not the last acknowledged save %d nor a later commit up to %d: %v; child said %v", run, lastSaved, top, diffTrees(crashTree(lastSaved), st), got)
					}
				}
				if mode == "confirmed" {
					// Keep the tree of each id known: make running equal to
					// crashTree(next id) before the next child starts.
					if err := s.Copy(Session{ID: 9, User: "t"}, Running, "", crashTree(top+1)); err != nil {
						t.Fatal(err)
					}
					lastAck = top + 1
				}
				s.Close()
				if data, err := os.ReadFile(filepath.Join(dir, runningName)); err == nil {
					if _, err := decodeRFC7951(data); err != nil {
						t.Fatalf("running.json is torn: %v", err)
					}
				}
			}
			if kills < 50 {
				t.Fatalf("%d kills", kills)
			}
			t.Logf("%s: %d kills, %d of them during unconfirmed commits, last commit %d, %d saves acknowledged", mode, kills, pendingRuns, lastAck, saves)
			if mode == "startup" && saves == 0 {
				t.Error("no save was acknowledged")
			}
			if mode == "confirmed" && pendingRuns == 0 {
				t.Error("no kill fell while a confirmed commit was pending")
			}
		})
	}
}

func atou(t *testing.T, s string) uint32 {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(n)
}

// Damage that the crash test applies to a copy of the folder. The ones
// marked refuse must make Open refuse; the others are what a crash can
// leave and must lose nothing.
var damageKinds = []struct {
	name   string
	refuse bool
}{
	{"bit flip in a complete record", true},
	{"record removed before the last", true},
	{"first record truncated", true},
	{"journal emptied", true},
	{"journal deleted", true},
	{"snapshot overwritten", true},
	{"startup overwritten", true},
	{"random bytes appended without an end of line", false},
	{"zeros appended", false},
}

// corruptCopy copies dir and damages the copy in a random way; "" when that
// damage does not apply to this folder (no journal yet, no snapshot, too
// few records).
func corruptCopy(t *testing.T, rng *rand.Rand, dir string) (string, string) {
	t.Helper()
	cp := t.TempDir()
	for name, content := range folderFiles(t, dir) {
		writeFile(t, cp, name, content)
	}
	kind := damageKinds[rng.IntN(len(damageKinds))].name
	data, err := os.ReadFile(filepath.Join(cp, journalName))
	if err != nil {
		return cp, ""
	}
	complete := bytes.LastIndexByte(data, '\n') + 1
	lines := bytes.SplitAfter(data[:complete], []byte("\n"))
	lines = lines[:len(lines)-1]
	put := func(b []byte) { writeFile(t, cp, journalName, string(b)) }
	switch kind {
	case "bit flip in a complete record":
		if complete == 0 {
			return cp, ""
		}
		data[rng.IntN(complete)] ^= 1 << rng.IntN(8)
		put(data)
	case "record removed before the last":
		if len(lines) < 3 {
			return cp, ""
		}
		i := 1 + rng.IntN(len(lines)-2)
		put(slices.Concat(slices.Concat(lines[:i]...), slices.Concat(lines[i+1:]...)))
	case "first record truncated":
		if len(lines) == 0 {
			return cp, ""
		}
		put(lines[0][:rng.IntN(len(lines[0])-1)])
	case "journal emptied":
		put(nil)
	case "journal deleted":
		if _, err := os.Stat(filepath.Join(cp, formatName)); err != nil {
			return cp, "" // a crash before the format file: a first start
		}
		os.Remove(filepath.Join(cp, journalName))
	case "snapshot overwritten":
		if _, err := os.Stat(filepath.Join(cp, runningName)); err != nil {
			return cp, ""
		}
		writeFile(t, cp, runningName, `{"ntpagent-ntp:ntp":`)
	case "startup overwritten":
		if _, err := os.Stat(filepath.Join(cp, startupName)); err != nil {
			return cp, ""
		}
		writeFile(t, cp, startupName, `00000000 {"id":1`)
	case "random bytes appended without an end of line":
		tail := make([]byte, 1+rng.IntN(300))
		for i := range tail {
			tail[i] = byte(rng.IntN(256))
			if tail[i] == '\n' {
				tail[i] = ' '
			}
		}
		put(append(data, tail...))
	case "zeros appended":
		put(append(data, make([]byte, 1+rng.IntN(4096))...))
	}
	return cp, kind
}

// checkDamagedCopy opens the damaged copy: it must refuse with a
// DamageError, or open with exactly the undamaged folder's running and
// history; after a refusal, Recover must open it.
func checkDamagedCopy(t *testing.T, run int, cp, kind string, s *Store) {
	t.Helper()
	if kind == "" {
		return
	}
	refuse := false
	for _, k := range damageKinds {
		if k.name == kind {
			refuse = k.refuse
		}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := Open(Options{Dir: cp, HistoryLimit: 5, Logger: quiet, LocalPrefixes: noPrefixes})
	var dmg *DamageError
	switch {
	case err == nil && refuse:
		d.Close()
		t.Fatalf("run %d: %s: Open accepted the damaged folder", run, kind)
	case err == nil:
		h, want := d.History(), s.History()
		if !equalTree(d.Snapshot(Running), s.Snapshot(Running)) || len(h) != len(want) || (len(h) > 0 && h[0].ID != want[0].ID) {
			t.Fatalf("run %d: %s: the damaged copy opened with commit %v, the folder with %v", run, kind, h, want)
		}
		d.Close()
		return
	case !errors.As(err, &dmg):
		t.Fatalf("run %d: %s: refused without a DamageError: %v", run, kind, err)
	}
	d, err = Open(Options{Dir: cp, HistoryLimit: 5, Logger: quiet, LocalPrefixes: noPrefixes, Recover: true})
	if err != nil {
		t.Fatalf("run %d: %s: Recover: %v", run, kind, err)
	}
	d.Close()
}
