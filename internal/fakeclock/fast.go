package fakeclock

import (
	"time"

	"github.com/ntpagent/ntpagent/internal/clock"
)

// Fast is a process clock that runs Scale times faster than the host's
// monotonic clock, for tests whose components talk over real sockets (and
// so cannot be stepped by hand): its timers fire after d/Scale of real
// time. A disciplined clock built on Elapsed (ntpclock.NewVirtual(f.Elapsed,
// f.Origin())) runs at the same rate, so an agent's engine deadlines and
// its sleeps agree. It never touches the host clock.
type Fast struct {
	origin time.Time // host time at creation, monotonic reading included
	scale  float64
}

var _ clock.Clock = (*Fast)(nil)

// NewFast returns a clock that starts at the host's time and runs scale
// (> 0) times faster.
func NewFast(scale float64) *Fast {
	return NewFastFrom(time.Now(), scale)
}

// NewFastFrom is NewFast starting at origin (a time.Now() reading): fast
// clocks made from one origin show the same time.
func NewFastFrom(origin time.Time, scale float64) *Fast {
	if scale <= 0 {
		panic("fakeclock: a Fast clock's scale must be > 0")
	}
	return &Fast{origin: origin, scale: scale}
}

// Origin returns the clock's time at its start, without a monotonic
// reading.
func (f *Fast) Origin() time.Time { return f.origin.Round(0) }

// Elapsed returns the clock's time since its start: scale times the host's
// monotonic time since then.
func (f *Fast) Elapsed() time.Duration {
	return time.Duration(float64(time.Since(f.origin)) * f.scale)
}

// Now returns Origin + Elapsed.
func (f *Fast) Now() time.Time { return f.Origin().Add(f.Elapsed()) }

func (f *Fast) real(d time.Duration) time.Duration { return time.Duration(float64(d) / f.scale) }

// NewTimer fires after d of the clock's time.
func (f *Fast) NewTimer(d time.Duration) (clock.Timer, <-chan time.Time) {
	t := &fastTimer{f: f, t: time.NewTimer(f.real(d))}
	return t, t.t.C
}

// AfterFunc calls fn after d of the clock's time.
func (f *Fast) AfterFunc(d time.Duration, fn func()) clock.Timer {
	return &fastTimer{f: f, t: time.AfterFunc(f.real(d), fn)}
}

type fastTimer struct {
	f *Fast
	t *time.Timer
}

func (t *fastTimer) Stop() bool                 { return t.t.Stop() }
func (t *fastTimer) Reset(d time.Duration) bool { return t.t.Reset(t.f.real(d)) }
