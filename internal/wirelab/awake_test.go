//go:build linux

package wirelab

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ntpagent/ntpagent/internal/testtool"
	"golang.org/x/sys/unix"
)

// keepAwake starts one busy process per CPU at the lowest priority
// (SCHED_IDLE, so that it takes no CPU time anything else wants), and
// its stop function ends them all; this process's own threads keep their
// policy.
func TestKeepAwakeRunsOneIdlePriorityProcessPerCPU(t *testing.T) {
	testtool.Require(t, "sh")
	pids, wake, err := keepAwake()
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			wake()
		}
	}()
	if len(pids) != runtime.NumCPU() {
		t.Errorf("%d processes, want one per CPU (%d)", len(pids), runtime.NumCPU())
	}
	for _, pid := range pids {
		if p := policyOf(t, pid, pid); p != unix.SCHED_IDLE {
			t.Errorf("process %d: scheduling policy %d, want SCHED_IDLE (%d)", pid, p, unix.SCHED_IDLE)
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if p := policyOf(t, os.Getpid(), unix.Gettid()); p != unix.SCHED_NORMAL {
		t.Errorf("this test's thread: policy %d, want SCHED_NORMAL", p)
	}
	wake()
	stopped = true
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still there after the stop (%v)", pid, err)
		}
	}
}

// policyOf reads the scheduling policy of a process's thread
// (/proc/PID/task/TID/stat, field 41).
func policyOf(t *testing.T, pid, tid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(tid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	p, err := strconv.Atoi(fields[41-3])
	if err != nil {
		t.Fatalf("/proc/%d/task/%d/stat: %v", pid, tid, err)
	}
	return p
}

// Labs run at once share one set of busy processes, which ends with the
// last of them.
func TestLabsShareTheBusyProcesses(t *testing.T) {
	testtool.Require(t, "sh")
	var share awakeShare
	first, err := share.hold()
	if err != nil {
		t.Fatal(err)
	}
	second, err := share.hold()
	if err != nil {
		first()
		t.Fatal(err)
	}
	if share.n != 2 || share.wake == nil {
		t.Fatalf("two holders: %d counted, processes running %v", share.n, share.wake != nil)
	}
	first()
	first() // a second call is the first's
	if share.n != 1 || share.wake == nil {
		t.Fatalf("one holder left: %d counted, processes running %v", share.n, share.wake != nil)
	}
	second()
	if share.n != 0 || share.wake != nil {
		t.Fatalf("no holder left: %d counted, processes running %v", share.n, share.wake != nil)
	}
}
