package fakeclock

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/ntpagent/ntpagent/internal/clock"
)

// Clock is a hand-driven clock.Clock.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*Timer
	changed chan struct{} // closed and replaced when a timer is armed
}

var _ clock.Clock = (*Clock)(nil)

// Timer is a function scheduled on a Clock.
type Timer struct {
	c       *Clock
	at      time.Time
	f       func()
	stopped bool
	ch      chan time.Time // NewTimer's channel; nil for AfterFunc
}

// New returns a clock standing at 2026-11-25 12:00:00 UTC.
func New() *Clock {
	return &Clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), changed: make(chan struct{})}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Schedule arranges for f to run when Advance passes d from now.
func (c *Clock) Schedule(d time.Duration, f func()) *Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &Timer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	c.armed()
	return t
}

// armed wakes WaitForTimers; c.mu is held.
func (c *Clock) armed() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// WaitForTimers waits until at least n timers are pending, or ctx is done
// (then it returns ctx's error). A test calls it before Advance to know
// that the goroutine under test has finished its work and gone back to
// sleep on the clock.
func (c *Clock) WaitForTimers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		pending := 0
		for _, t := range c.timers {
			if !t.stopped {
				pending++
			}
		}
		changed := c.changed
		c.mu.Unlock()
		if pending >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("fakeclock: %d timers pending, waited for %d: %w", pending, n, ctx.Err())
		}
	}
}

// AfterFunc is Schedule as a clock.Clock: f runs in the goroutine that calls
// Advance.
func (c *Clock) AfterFunc(d time.Duration, f func()) clock.Timer { return c.Schedule(d, f) }

// NewTimer returns a timer that sends the clock's time on the channel
// (capacity 1, never blocking Advance) when Advance passes d from now.
func (c *Clock) NewTimer(d time.Duration) (clock.Timer, <-chan time.Time) {
	ch := make(chan time.Time, 1)
	t := c.Schedule(d, func() {
		select {
		case ch <- c.Now():
		default:
		}
	})
	t.ch = ch
	return t, ch
}

// Stop cancels the timer; it reports whether the timer was still pending.
// Like time.Timer's since Go 1.23, a NewTimer's channel holds no stale
// value after Stop or Reset.
func (t *Timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	t.drain()
	return was
}

func (t *Timer) drain() {
	if t.ch != nil {
		select {
		case <-t.ch:
		default:
		}
	}
}

// Reset makes the timer fire d from the clock's now; it reports whether the
// timer was still pending.
func (t *Timer) Reset(d time.Duration) bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	was := !t.stopped
	t.at = c.now.Add(d)
	t.stopped = false
	t.drain()
	defer c.armed()
	for _, p := range c.timers {
		if p == t {
			return was
		}
	}
	c.timers = append(c.timers, t)
	return was
}

// Advance moves the clock by d and runs every timer that falls due, earliest
// first, outside the clock's lock (a timer may schedule another).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*Timer
	rest := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t)
		default:
			rest = append(rest, t)
		}
	}
	c.timers = rest
	c.mu.Unlock()
	sort.SliceStable(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		t.f()
	}
}
