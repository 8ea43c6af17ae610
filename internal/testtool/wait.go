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

// WaitLocalRoute waits, up to limit, until addr, an IPv6 address a test
// added to a device in network namespace ns (its link up), is local: its
// route is in the local table. The kernel adds that route from its address
// work queue once the address is usable (with nodad at once), and that
// work waits for the lock that every namespace created or deleted elsewhere
// on the host holds for a while; until then the address can be bound, and
// a datagram to it leaves through its prefix route and is dropped on
// arrival as not addressed to the host. (IPv4 installs its local route at
// once.) Callers have checked Require(t, "ip") and RequireRoot.
func WaitLocalRoute(t testing.TB, limit time.Duration, ns, addr string) {
	t.Helper()
	WaitFor(t, limit, addr+" is local in "+ns, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ip", "-n", ns, "-6", "route", "show", "table", "local", addr).CombinedOutput()
		return err == nil && strings.Contains(string(out), "local "+addr+" ")
	})
}
