package datastore

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/gen"
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
	}
	os.Exit(0)
}

// TestCrash kills a committing child process with SIGKILL at random moments
// and checks after each kill that running is the last acknowledged commit
// (or the one after it, whose acknowledgement the kill cut off) and that
// the files are whole. In "confirmed" mode the child's last commits are
// unconfirmed confirmed commits: after the restart running must be the
// configuration from before them (RFC 6241 §8.4).
func TestCrash(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	for _, mode := range []string{"plain", "confirmed"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			var lastAck uint32
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
					case "pending":
						if !sawPending {
							pendingPre = atou(t, f[1])
						}
						sawPending = true
						pendingID = atou(t, f[2])
					}
				}
				s, err := Open(Options{Dir: dir, HistoryLimit: 5, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LocalPrefixes: noPrefixes})
				if err != nil {
					t.Fatalf("run %d: Open after SIGKILL: %v (child said %v)", run, err, got)
				}
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
			t.Logf("%s: %d kills, %d of them during unconfirmed commits, last commit %d", mode, kills, pendingRuns, lastAck)
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
