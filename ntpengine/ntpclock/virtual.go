package ntpclock

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"time"
)

// MaxFrequencyPPM is the largest frequency correction of a clock that does
// not implement FrequencyLimiter, and of System, in ppm: RFC 5905's MAXFREQ
// (Appendix A.1.1), the range of the kernel's frequency (timex.freq). It
// also bounds the host-clock error a Virtual may start with
// (NewVirtualOffHost).
const MaxFrequencyPPM = 500.0

// MaxVirtualFrequencyPPM is the frequency range of a Virtual clock, in ppm:
// ±10 %, what the Linux kernel reaches by adjusting its tick length (which
// System does not do), and far beyond any working oscillator. With the
// largest slew on top, the clock still advances at 0.4 times its source's
// rate.
const MaxVirtualFrequencyPPM = 100000.0

// SlewRateDivisor expresses the slew rate of 500 ppm as "one nanosecond of
// correction per SlewRateDivisor nanoseconds of elapsed time", the rate at
// which adjtime(3) amortizes an offset on Linux (AdjtimeSlewRate).
const SlewRateDivisor = 2000

// ErrBadSlewRate reports a slew rate outside (0, MaxVirtualSlewRate] ppm.
var ErrBadSlewRate = errors.New("clock: slew rate not in (0, 500000] ppm")

// ErrBadFrequency reports a frequency that is not a finite number.
var ErrBadFrequency = errors.New("clock: frequency is not a finite number")

// ErrBadFrequencyError reports a start-up frequency error that is not a
// finite number within ±MaxFrequencyPPM (beyond it no correction could
// bring the clock back to the host's rate).
var ErrBadFrequencyError = errors.New("clock: frequency error not a finite number within ±500 ppm")

// Virtual is a software clock: its time is a piecewise-linear function of a
// monotonic source. Between two changes it advances at rate
// 1 + (frequency + source error)·10⁻⁶ (the source error is zero unless
// NewVirtualOffHost gives one; plus or minus the slew rate, DefaultVirtualSlewRate
// unless SetMaxSlewRate changes it, while a slew is in progress); every change
// re-anchors the line at the current instant, so changing the frequency or
// starting a slew never makes the time jump or go backwards. Only Step jumps.
// A Virtual never changes the host's clock. It is safe for concurrent use.
type Virtual struct {
	mono func() time.Duration
	// host, when set, reads the monotonic source and the host's wall
	// clock at one instant (HostOffset); nil for a clock over any other
	// source.
	host func() (time.Duration, time.Time)
	// skew is the source's own rate error in ppm, applied under the
	// frequency correction (NewVirtualOffHost): the clock advances at
	// 1 + (skew + ppm)·10⁻⁶.
	skew float64

	mu sync.Mutex
	// The line starts at monotonic reading anchorMono, where the clock read
	// anchorTime.
	anchorMono time.Duration
	anchorTime time.Time
	// lastMono is the highest monotonic reading seen: a source that goes
	// backwards is held there, so that time never does.
	lastMono time.Duration
	// lastTime is the latest time returned: the frequency and slew terms
	// are each rounded to the nanosecond, and both roundings can take a
	// nanosecond away at the same instant; time holds instead.
	lastTime time.Time
	ppm      float64
	// slew is the offset still to amortize at the anchor (signed).
	slew time.Duration
	// slewPPB is the slew rate in parts per 10⁹ (ns of correction per s).
	slewPPB uint64
}

// NewVirtual returns a clock that reads start when mono() returns its current
// value, and advances with mono from there. mono should never decrease (if
// it does, the clock holds); tests drive it by hand, NewVirtualFromHost uses
// the host's monotonic clock.
func NewVirtual(mono func() time.Duration, start time.Time) *Virtual {
	m := mono()
	return &Virtual{mono: mono, anchorMono: m, anchorTime: start, lastMono: m, lastTime: start,
		slewPPB: ratePPB(DefaultVirtualSlewRate)}
}

// NewVirtualFromHost returns a clock that starts at the host's current wall
// time and advances with the host's monotonic clock (Go's monotonic reading,
// which the host's clock steps do not affect).
func NewVirtualFromHost() *Virtual {
	v, _ := NewVirtualOffHost(0, 0)
	return v
}

// NewVirtualOffHost returns a clock over the host's monotonic clock that
// starts offset away from the host's wall time and, before any frequency
// correction, runs frequencyErrorPPM fast (negative: slow) against it: an
// oscillator with a known error, for tests and demonstrations. The host
// clock itself is never changed. A frequency error that is not a finite
// number within ±MaxFrequencyPPM is refused (ErrBadFrequencyError).
func NewVirtualOffHost(offset time.Duration, frequencyErrorPPM float64) (*Virtual, error) {
	if math.IsNaN(frequencyErrorPPM) || math.Abs(frequencyErrorPPM) > MaxFrequencyPPM {
		return nil, fmt.Errorf("virtual clock frequency error %v ppm: %w", frequencyErrorPPM, ErrBadFrequencyError)
	}
	origin := time.Now()
	host := func() (time.Duration, time.Time) {
		now := time.Now()
		return now.Sub(origin), now.Round(0)
	}
	return newVirtualOn(host, offset, frequencyErrorPPM), nil
}

// newVirtualOn returns a clock over host's monotonic reading that starts
// offset from host's wall time and runs skew ppm off its source. Both
// start readings come from one call of host.
func newVirtualOn(host func() (time.Duration, time.Time), offset time.Duration, skew float64) *Virtual {
	m, wall := host()
	start := wall.Add(offset)
	return &Virtual{mono: func() time.Duration { m, _ := host(); return m }, host: host, skew: skew,
		anchorMono: m, anchorTime: start, lastMono: m, lastTime: start, slewPPB: ratePPB(DefaultVirtualSlewRate)}
}

// HostOffset returns the clock's time minus the host's wall clock
// (CLOCK_REALTIME), both read at one instant: the clock's true error
// whenever the host's clock is the truth. ok is false for a clock that does
// not run on the host's clocks (NewVirtual over another source).
//
// The host is read under the clock's lock: read before it, a reader of
// the clock that came in between (the engine, every few ms) would move
// the line past the reading, and the offset would read high by the time
// the caller waited for the lock — +40 µs once in 1,800 readings of the
// real-path lab, where the clock was within a few µs.
func (v *Virtual) HostOffset() (offset time.Duration, ok bool) {
	if v.host == nil {
		return 0, false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	m, wall := v.host()
	v.lastMono = max(v.lastMono, m)
	t, _ := v.at(v.lastMono)
	return v.hold(t).Sub(wall), true
}

// HostFrequencyOffset returns how fast the clock runs against its source,
// in ppm: the frequency correction plus the source's own error
// (NewVirtualOffHost). For a clock on the host this is its frequency error
// against the host's clock, which the host's own steps do not change.
func (v *Virtual) HostFrequencyOffset() float64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.ppm + v.skew
}

// Now returns the clock's current time.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	t, _ := v.at(v.read())
	return v.hold(t)
}

// hold returns t, or the latest time returned if t is before it. The caller
// holds v.mu.
func (v *Virtual) hold(t time.Time) time.Time {
	if t.Before(v.lastTime) {
		return v.lastTime
	}
	v.lastTime = t
	return t
}

// read returns the monotonic reading, never below one already seen. The
// caller holds v.mu.
func (v *Virtual) read() time.Duration {
	v.lastMono = max(v.lastMono, v.mono())
	return v.lastMono
}

// at returns the time at monotonic reading m and the slew still left then.
// The caller holds v.mu.
func (v *Virtual) at(m time.Duration) (time.Time, time.Duration) {
	e := m - v.anchorMono
	// Frequency correction and the source's own error, rounded to the
	// nanosecond. e + round(e·f) never decreases as e grows because |f| < 1.
	corr := time.Duration(math.Round(float64(e) * (v.ppm + v.skew) / 1e6))
	// Slew at exactly the slew rate, floored so that it never overshoots.
	applied := slewed(e, v.slewPPB)
	left := v.slew
	switch {
	case v.slew > 0:
		applied = min(applied, v.slew)
		left -= applied
	case v.slew < 0:
		applied = -min(applied, -v.slew)
		left -= applied
	default:
		applied = 0
	}
	return v.anchorTime.Add(e + corr + applied), left
}

// reanchor moves the anchor to the current monotonic reading, keeping the
// current time and the slew left. The caller holds v.mu.
func (v *Virtual) reanchor() {
	m := v.read()
	t, left := v.at(m)
	v.anchorTime, v.slew, v.anchorMono = v.hold(t), left, m
}

// Step jumps the clock by d (RFC 5905 §12: the offset exceeded the step
// threshold). A slew in progress is cancelled: the step corrects the whole
// measured offset, and the rest of an older slew would correct it twice.
func (v *Virtual) Step(d time.Duration) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.reanchor()
	v.anchorTime = v.anchorTime.Add(d)
	v.lastTime = v.anchorTime // a step may go backwards
	v.slew = 0
	return nil
}

// SetFrequency sets the frequency correction in ppm, clamped to
// ±MaxVirtualFrequencyPPM. NaN or an infinity is refused and changes
// nothing.
func (v *Virtual) SetFrequency(ppm float64) error {
	if math.IsNaN(ppm) || math.IsInf(ppm, 0) {
		return fmt.Errorf("set frequency %v: %w", ppm, ErrBadFrequency)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.reanchor()
	v.ppm = max(-MaxVirtualFrequencyPPM, min(MaxVirtualFrequencyPPM, ppm))
	return nil
}

// Frequency returns the frequency correction in ppm.
func (v *Virtual) Frequency() float64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.ppm
}

// Slew starts amortizing d at the slew rate (MaxSlewRate ppm of elapsed
// time), replacing any slew in progress (like adjtime(3)). At the default
// rate a slew of d takes |d|·12 of monotonic time; at 500 ppm, |d|·2000.
func (v *Virtual) Slew(d time.Duration) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.reanchor()
	v.slew = d
	return nil
}

// SetMaxSlewRate sets the slew rate in ppm, in (0, MaxVirtualSlewRate]; a
// slew in progress goes on at the new rate from now. Use AdjtimeSlewRate
// to make the clock behave like adjtime(3). A rate out of range (or not a
// number) is refused and changes nothing.
func (v *Virtual) SetMaxSlewRate(ppm float64) error {
	if !(ppm > 0 && ppm <= MaxVirtualSlewRate) {
		return fmt.Errorf("set slew rate %v ppm: %w", ppm, ErrBadSlewRate)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.reanchor()
	v.slewPPB = ratePPB(ppm)
	return nil
}

// MaxFrequency returns MaxVirtualFrequencyPPM (FrequencyLimiter).
func (v *Virtual) MaxFrequency() float64 { return MaxVirtualFrequencyPPM }

// MaxSlewRate returns the slew rate in ppm (SlewRater).
func (v *Virtual) MaxSlewRate() float64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return float64(v.slewPPB) / 1e3
}

// ratePPB converts ppm to parts per 10⁹, at least 1.
func ratePPB(ppm float64) uint64 { return max(1, uint64(math.Round(ppm*1e3))) }

// slewed is the correction applied in e at ppb parts per 10⁹, floored to the
// nanosecond: floor(e·ppb/10⁹) in 128-bit arithmetic, exact for any e ≥ 0
// and never decreasing as e grows.
func slewed(e time.Duration, ppb uint64) time.Duration {
	if e <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(e), ppb)
	q, _ := bits.Div64(hi, lo, 1e9) // hi < 1e9 since ppb ≤ 5e8 and e < 2⁶³
	return time.Duration(q)
}

// SlewRemaining returns the part of the last Slew not yet applied.
func (v *Virtual) SlewRemaining() time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, left := v.at(v.read())
	return left
}

func clampPPM(ppm float64) float64 {
	return max(-MaxFrequencyPPM, min(MaxFrequencyPPM, ppm))
}

var (
	_ Clock            = (*Virtual)(nil)
	_ SlewRater        = (*Virtual)(nil)
	_ FrequencyLimiter = (*Virtual)(nil)
	_ HostOffsetter    = (*Virtual)(nil)
)
