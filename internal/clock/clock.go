package clock

import "time"

// Clock reads the time and starts timers. A nil Clock in an Options or
// Config struct means System.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer starts a timer that sends the time on the returned channel
	// (capacity 1) once d has elapsed, like time.NewTimer.
	NewTimer(d time.Duration) (Timer, <-chan time.Time)
	// AfterFunc calls f in its own goroutine once d has elapsed, unless the
	// returned Timer is stopped first, like time.AfterFunc.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending NewTimer or AfterFunc timer.
type Timer interface {
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
	// Reset makes the timer fire d from now instead; it reports whether the
	// timer was still pending.
	Reset(d time.Duration) bool
}

// System is the host's clock (time.Now, time.NewTimer, time.AfterFunc).
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// NewTimer is time.NewTimer.
func (System) NewTimer(d time.Duration) (Timer, <-chan time.Time) {
	t := time.NewTimer(d)
	return t, t.C
}

// AfterFunc is time.AfterFunc.
func (System) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Or returns c, or System when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return System{}
	}
	return c
}
