package fakeclock

import (
	"sort"
	"sync"
	"time"

	"github.com/ntpagent/ntpagent/internal/clock"
)

// Clock is a hand-driven clock.Clock.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*Timer
}

var _ clock.Clock = (*Clock)(nil)

// Timer is a function scheduled on a Clock.
type Timer struct {
	c       *Clock
	at      time.Time
	f       func()
	stopped bool
}

// New returns a clock standing at 2026-11-25 12:00:00 UTC.
func New() *Clock {
	return &Clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
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
	return t
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
	return t, ch
}

// Stop cancels the timer; it reports whether the timer was still pending.
func (t *Timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
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
