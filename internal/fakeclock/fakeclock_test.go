package fakeclock

import (
	"context"
	"sync/atomic"
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

// A Fast clock's timers fire after d/scale of real time, and its readings
// are scale times the host's monotonic time since its start.
func TestFastRunsScaleTimesFaster(t *testing.T) {
	const scale = 1000
	f := NewFast(scale)
	_, ch := f.NewTimer(2 * time.Second) // 2 ms of real time
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatal("a 2 s timer of a 1000× clock did not fire within a minute")
	}
	before := time.Since(f.origin)
	got := f.Now().Sub(f.Origin())
	after := time.Since(f.origin)
	if got < 2*time.Second {
		t.Fatalf("fired after %v of the clock's time, want ≥ 2 s", got)
	}
	if got < before*scale || got > after*scale {
		t.Errorf("clock at %v, want between %v and %v (%d× the host's %v..%v)", got, before*scale, after*scale, scale, before, after)
	}
}

// WaitForTimers returns only once another goroutine has re-armed a fired
// timer (its work before that is visible), and gives up with the context.
func TestWaitForTimersSeesAnotherGoroutineArm(t *testing.T) {
	c := New()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tm, fired := c.NewTimer(time.Second)
	c.Advance(time.Second) // fires tm: nothing pending
	var worked atomic.Bool
	go func() {
		<-fired
		worked.Store(true)
		tm.Reset(time.Second)
	}()
	if err := c.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if !worked.Load() {
		t.Fatal("WaitForTimers returned before the timer was re-armed")
	}
	short, stop := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer stop()
	if err := c.WaitForTimers(short, 2); err == nil {
		t.Fatal("WaitForTimers(2) returned with one timer pending")
	}
}
