package testtool

import (
	"testing"
	"time"
)

// recorder is a testing.TB whose Fatalf is recorded instead of ending the
// test, to check that WaitFor gives up.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
}

func TestSeedReplaysTheEnvironmentsSeed(t *testing.T) {
	t.Setenv(SeedEnv, "12345")
	if got := Seed(t); got != 12345 {
		t.Fatalf("Seed = %d with %s=12345", got, SeedEnv)
	}
	r := &recorder{TB: t}
	t.Setenv(SeedEnv, "twelve")
	Seed(r)
	if r.failed == "" {
		t.Fatal("a seed that is not a number was accepted")
	}
}

func TestWaitForReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	WaitFor(t, 10*time.Second, "the third call", func() bool { calls++; return calls == 3 })
	if calls != 3 {
		t.Fatalf("cond called %d times, want 3", calls)
	}
}

func TestWaitForIsBoundedInCallsAndTime(t *testing.T) {
	r := &recorder{TB: t}
	calls := 0
	WaitFor(r, 100*time.Millisecond, "never", func() bool { calls++; return false })
	if r.failed == "" {
		t.Fatal("WaitFor did not fail for a condition that never holds")
	}
	// 100 ms at the 10 ms floor: 11 polls in the loop and one at the end.
	if calls > 12 {
		t.Fatalf("cond called %d times within 100 ms, want at most 12", calls)
	}
}
