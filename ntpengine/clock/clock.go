package clock

import "time"

// Clock is the clock that the NTP engine disciplines. The engine itself never
// holds a Clock: it returns commands (step, frequency, slew) that its caller —
// the agent or the simulator — applies here. Implementations must be safe for
// concurrent use.
type Clock interface {
	// Now returns the clock's current time.
	Now() time.Time
	// Step jumps the clock by d (RFC 5905 §12, step threshold exceeded).
	// It cancels a slew in progress: the step corrects the whole measured
	// offset, and the rest of an older slew would correct it twice.
	Step(d time.Duration) error
	// SetFrequency sets the frequency correction in parts per million
	// (positive makes the clock run faster); clamped to ±500 ppm (RFC 5905 §11.3).
	SetFrequency(ppm float64) error
	// Frequency returns the frequency correction currently applied, in ppm.
	Frequency() float64
	// Slew starts amortizing the phase offset d gradually, replacing any slew in
	// progress, at no more than 500 ppm, like adjtime(3).
	Slew(d time.Duration) error
}
