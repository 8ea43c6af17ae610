package fakeclock

import (
	"testing"
	"time"
)

func TestAdvanceRunsDueTimersInOrder(t *testing.T) {
	c := New()
	start := c.Now()
	var got []string
	c.Schedule(3*time.Second, func() { got = append(got, "3s") })
	c.Schedule(time.Second, func() { got = append(got, "1s") })
	stopped := c.Schedule(2*time.Second, func() { got = append(got, "stopped") })
	c.Schedule(10*time.Second, func() { got = append(got, "10s") })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop must report true once, then false")
	}
	c.Advance(5 * time.Second)
	if want := []string{"1s", "3s"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("after 5 s ran %v, want %v", got, want)
	}
	if c.Now() != start.Add(5*time.Second) {
		t.Fatalf("Now = %v", c.Now())
	}
	// A timer scheduled by a timer runs at a later Advance.
	c.Schedule(time.Second, func() { c.Schedule(time.Second, func() { got = append(got, "chained") }) })
	c.Advance(time.Second)
	c.Advance(time.Second)
	if got[len(got)-1] != "chained" {
		t.Fatalf("chained timer did not run: %v", got)
	}
}

// NewTimer delivers on its channel at the due Advance; Reset re-arms a fired
// or stopped timer once, without running it twice.
func TestNewTimerAndReset(t *testing.T) {
	c := New()
	tm, ch := c.NewTimer(2 * time.Second)
	c.Advance(time.Second)
	select {
	case <-ch:
		t.Fatal("fired 1 s early")
	default:
	}
	c.Advance(time.Second)
	select {
	case at := <-ch:
		if at != c.Now() {
			t.Fatalf("sent %v, want %v", at, c.Now())
		}
	default:
		t.Fatal("did not fire when due")
	}
	if tm.Reset(time.Second) {
		t.Fatal("Reset of a fired timer reported it pending")
	}
	tm.Stop()
	if tm.Reset(time.Second) {
		t.Fatal("Reset of a stopped timer reported it pending")
	}
	if !tm.Reset(3 * time.Second) {
		t.Fatal("Reset of a pending timer reported it not pending")
	}
	c.Advance(2 * time.Second)
	if len(ch) != 0 {
		t.Fatal("fired at the replaced time")
	}
	c.Advance(time.Second)
	if len(ch) != 1 {
		t.Fatal("did not fire at the reset time")
	}
	c.Advance(time.Hour)
	if len(ch) != 1 {
		t.Fatal("a reset timer fired twice")
	}
}
