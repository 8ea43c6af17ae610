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
