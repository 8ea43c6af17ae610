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
