package ntpclock

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
	// (positive makes the clock run faster); clamped to the clock's range
	// (MaxFrequency).
	SetFrequency(ppm float64) error
	// Frequency returns the frequency correction currently applied, in ppm.
	Frequency() float64
	// Slew starts amortizing the phase offset d gradually, replacing any slew in
	// progress, at the clock's maximum slew rate: 500 ppm like adjtime(3)
	// unless the clock implements SlewRater and says otherwise.
	Slew(d time.Duration) error
}

// AdjtimeSlewRate is the rate, in ppm, at which adjtime(3) and the kernel's
// ADJ_OFFSET_SINGLESHOT amortize an offset: 500 µs per second. It is the
// slew rate of System and of any Clock that does not implement SlewRater.
const AdjtimeSlewRate = 500.0

// DefaultVirtualSlewRate is the maximum slew rate of a Virtual clock unless
// SetMaxSlewRate changes it, in ppm: 1/12 s per second (83,333 ppm), chrony's
// maxslewrate default. A software clock has no kernel limit; a slewed
// correction of 0.1 s takes 1.2 s instead of adjtime's 200 s.
const DefaultVirtualSlewRate = 1e6 / 12

// MaxVirtualSlewRate is the largest slew rate a Virtual clock accepts, in
// ppm: with the largest frequency correction (MaxVirtualFrequencyPPM) on
// top, the clock still advances at 0.4 times the rate of its source, so
// time never stops.
const MaxVirtualSlewRate = 500000.0

// SlewRater is implemented by clocks that know how fast Slew amortizes an
// offset. The engine must be told this rate (ntpengine.Config.MaxSlewRate):
// it keeps account of the correction applied while a slew is in progress.
type SlewRater interface {
	// MaxSlewRate returns the slew rate in ppm (µs of correction per s).
	MaxSlewRate() float64
}

// FrequencyLimiter is implemented by clocks whose frequency correction
// reaches beyond RFC 5905's ±500 ppm. The engine must be told the range
// (ntpengine.Config.FrequencyLimitPPM), or it never commands more.
type FrequencyLimiter interface {
	// MaxFrequency returns the largest frequency correction in ppm.
	MaxFrequency() float64
}

// MaxFrequency returns the frequency range of c in ppm: c.MaxFrequency() if
// c implements FrequencyLimiter, else MaxFrequencyPPM.
func MaxFrequency(c Clock) float64 {
	if r, ok := c.(FrequencyLimiter); ok {
		return r.MaxFrequency()
	}
	return MaxFrequencyPPM
}

// HostOffsetter is implemented by clocks that run on the host's clocks
// without being the host's clock (Virtual): HostOffset returns the clock's
// time minus the host's wall time at one instant, ok false when the clock
// does not run on the host.
type HostOffsetter interface {
	HostOffset() (offset time.Duration, ok bool)
}

// MaxSlewRate returns the rate in ppm at which c slews: c.MaxSlewRate() if c
// implements SlewRater, else AdjtimeSlewRate.
func MaxSlewRate(c Clock) float64 {
	if r, ok := c.(SlewRater); ok {
		return r.MaxSlewRate()
	}
	return AdjtimeSlewRate
}
