package clock

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// MaxFrequencyPPM is the largest frequency correction a clock accepts, in ppm
// (RFC 5905 §11.3: the clock discipline never corrects more than 500 ppm).
const MaxFrequencyPPM = 500.0

// SlewRateDivisor expresses the slew rate of 500 ppm as "one nanosecond of
// correction per SlewRateDivisor nanoseconds of elapsed time", the rate at
// which adjtime(3) amortizes an offset on Linux.
const SlewRateDivisor = 2000

// ErrBadFrequency reports a frequency that is not a finite number.
var ErrBadFrequency = errors.New("clock: frequency is not a finite number")

// Virtual is a software clock: its time is a piecewise-linear function of a
// monotonic source. Between two changes it advances at rate
// 1 + frequency·10⁻⁶ (plus ±500 ppm while a slew is in progress); every change
// re-anchors the line at the current instant, so changing the frequency or
// starting a slew never makes the time jump or go backwards. Only Step jumps.
// A Virtual never changes the host's clock. It is safe for concurrent use.
type Virtual struct {
	mono func() time.Duration

	mu sync.Mutex
	// The line starts at monotonic reading anchorMono, where the clock read
	// anchorTime.
	anchorMono time.Duration
	anchorTime time.Time
	ppm        float64
	// slew is the offset still to amortize at the anchor (signed).
	slew time.Duration
}

// NewVirtual returns a clock that reads start when mono() returns its current
// value, and advances with mono from there. mono must never decrease (tests
// drive it by hand; NewVirtualFromHost uses the host's monotonic clock).
func NewVirtual(mono func() time.Duration, start time.Time) *Virtual {
	return &Virtual{mono: mono, anchorMono: mono(), anchorTime: start}
}

// NewVirtualFromHost returns a clock that starts at the host's current wall
// time and advances with the host's monotonic clock (Go's monotonic reading,
// which the host's clock steps do not affect).
func NewVirtualFromHost() *Virtual {
	origin := time.Now()
	return NewVirtual(func() time.Duration { return time.Since(origin) }, origin.Round(0))
}

// Now returns the clock's current time.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	t, _ := v.at(v.mono())
	return t
}

// at returns the time at monotonic reading m and the slew still left then.
// The caller holds v.mu.
func (v *Virtual) at(m time.Duration) (time.Time, time.Duration) {
	e := m - v.anchorMono
	if e < 0 {
		// A source that went backwards would make time go backwards: hold.
		e = 0
	}
	// Frequency correction, rounded to the nanosecond. e + round(e·f) never
	// decreases as e grows because |f| < 1.
	corr := time.Duration(math.Round(float64(e) * v.ppm / 1e6))
	// Slew at exactly 500 ppm, floored so that it never overshoots.
	applied := e / SlewRateDivisor
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
	m := v.mono()
	if m < v.anchorMono {
		m = v.anchorMono
	}
	v.anchorTime, v.slew = v.at(m)
	v.anchorMono = m
}

// Step jumps the clock by d (RFC 5905 §12: the offset exceeded the step
// threshold). A slew in progress is cancelled: the step corrects the whole
// measured offset, and the rest of an older slew would correct it twice.
func (v *Virtual) Step(d time.Duration) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.reanchor()
	v.anchorTime = v.anchorTime.Add(d)
	v.slew = 0
	return nil
}

// SetFrequency sets the frequency correction in ppm, clamped to
// ±MaxFrequencyPPM (RFC 5905 §11.3). NaN or an infinity is refused and
// changes nothing.
func (v *Virtual) SetFrequency(ppm float64) error {
	if math.IsNaN(ppm) || math.IsInf(ppm, 0) {
		return fmt.Errorf("set frequency %v: %w", ppm, ErrBadFrequency)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.reanchor()
	v.ppm = clampPPM(ppm)
	return nil
}

// Frequency returns the frequency correction in ppm.
func (v *Virtual) Frequency() float64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.ppm
}

// Slew starts amortizing d at 500 ppm of elapsed time, replacing any slew in
// progress (like adjtime(3)). A slew of d takes |d|·2000 of monotonic time.
func (v *Virtual) Slew(d time.Duration) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.reanchor()
	v.slew = d
	return nil
}

// SlewRemaining returns the part of the last Slew not yet applied.
func (v *Virtual) SlewRemaining() time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, left := v.at(max(v.mono(), v.anchorMono))
	return left
}

func clampPPM(ppm float64) float64 {
	return max(-MaxFrequencyPPM, min(MaxFrequencyPPM, ppm))
}

var _ Clock = (*Virtual)(nil)
