package testtool

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// WaitFor calls cond until it returns true and ends the test with a Fatal
// naming what if it has not within limit. limit only bounds a failing test:
// it asserts nothing about speed, so give it room for a loaded machine.
// cond is called about 500 times over limit (but no more often than every
// 10 ms, nor less often than every second), and once more at the end.
func WaitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	every := min(max(limit/500, 10*time.Millisecond), time.Second)
	deadline := time.Now().Add(limit)
	for range int(limit/every) + 1 {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(every)
	}
	if cond() {
		return
	}
	t.Fatalf("gave up after %v waiting for %s", limit, what)
}

// IP runs ip(8) with args, bounded to 20 s, and ends the test with its
// output if it fails. Callers have checked Require(t, "ip") and RequireRoot.
func IP(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
