package sim

import (
	"time"
)

// Clock is a simulated clock over the simulator's true time. Its error
// (clock − true) grows at its intrinsic frequency error plus the
// correction set through SetFrequency and any slew in progress. It
// implements ntpengine/ntpclock.Clock.
type Clock struct {
	net *Network
	// err is clock − true at trueAt.
	err    float64
	trueAt float64
	// intrinsic frequency error (s/s), driven by wander
	freqErr float64
	// correction set by SetFrequency (s/s)
	corr float64
	// slew in progress: remaining phase
	slewLeft float64
	// slewRate is the rate at which Slew amortizes an offset, s/s.
	slewRate float64
	// maxFreq bounds the correction set through SetFrequency, s/s.
	maxFreq float64
	// origin is the clock's reading at its creation, less the steps it
	// has taken since (TimerTime).
	origin float64
}

// DefaultMaxFrequency is the frequency range of a simulated clock unless
// World.MaxFrequency says otherwise, s/s: ±10 %, as
// ntpclock.MaxVirtualFrequencyPPM.
const DefaultMaxFrequency = 0.1

// DefaultSlewRate is the slew rate of a simulated clock unless
// Scenario.MaxSlewRate says otherwise, s/s: chrony's maxslewrate default
// (83,333 ppm), as clock.DefaultVirtualSlewRate.
const DefaultSlewRate = 1.0 / 12

// advance brings err up to true time t.
func (c *Clock) advance(t float64) {
	dt := t - c.trueAt
	if dt <= 0 {
		return
	}
	c.err += (c.freqErr + c.corr) * dt
	if c.slewLeft != 0 {
		s := c.slewRate * dt
		if s >= abs(c.slewLeft) {
			c.err += c.slewLeft
			c.slewLeft = 0
		} else if c.slewLeft > 0 {
			c.err += s
			c.slewLeft -= s
		} else {
			c.err -= s
			c.slewLeft += s
		}
	}
	c.trueAt = t
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// Error is clock − true time now, in seconds.
func (c *Clock) Error() float64 {
	c.advance(c.net.now)
	return c.err
}

// FrequencyError is the clock's rate error (intrinsic plus correction,
// slew excluded), s/s.
func (c *Clock) FrequencyError() float64 { return c.freqErr + c.corr }

// TotalFrequency is the clock's rate error at this instant, slew
// included (s/s): clknetsim's frequency (get_total_freq: the kernel's
// frequency, with which chrony slews, plus any slew in progress), which
// chrony's simulation tests limit, sampled each second. A fast slew is a
// rate error while it lasts, and counts.
func (c *Clock) TotalFrequency() float64 {
	c.advance(c.net.now)
	f := c.freqErr + c.corr
	switch {
	case c.slewLeft > 0:
		f += c.slewRate
	case c.slewLeft < 0:
		f -= c.slewRate
	}
	return f
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.advance(c.net.now)
	return c.net.epoch.Add(time.Duration((c.net.now + c.err) * 1e9))
}

// TimerTime is how many seconds the clock's own timers have counted since
// it was created: its reading now less its reading then and less the
// steps it took. A timer set for 64 s on a clock 100 ppm fast expires
// 6.4 ms early in true time; its slews and frequency corrections count,
// its steps do not (a step moves the reading, not the elapsed time an
// engine's timers count: ntpengine moves its epoch with each step).
func (c *Clock) TimerTime() float64 {
	c.advance(c.net.now)
	return c.net.now + c.err - c.origin
}

// Step jumps the clock by d and cancels a slew in progress (as
// clock.Clock specifies: the step corrects the whole measured offset).
func (c *Clock) Step(d time.Duration) error {
	c.advance(c.net.now)
	c.err += d.Seconds()
	c.origin += d.Seconds()
	c.slewLeft = 0
	return nil
}

// SetFrequency sets the frequency correction in ppm, clamped to the
// clock's range.
func (c *Clock) SetFrequency(ppm float64) error {
	c.advance(c.net.now)
	c.corr = max(-c.maxFreq, min(c.maxFreq, ppm*1e-6))
	return nil
}

// MaxFrequency returns the frequency range in ppm (ntpclock.FrequencyLimiter).
func (c *Clock) MaxFrequency() float64 { return c.maxFreq * 1e6 }

// Frequency returns the correction in ppm.
func (c *Clock) Frequency() float64 { return c.corr * 1e6 }

// Slew amortizes d at the clock's slew rate, replacing any slew in
// progress.
func (c *Clock) Slew(d time.Duration) error {
	c.advance(c.net.now)
	c.slewLeft = d.Seconds()
	return nil
}

// MaxSlewRate returns the slew rate in ppm (clock.SlewRater).
func (c *Clock) MaxSlewRate() float64 { return c.slewRate * 1e6 }
