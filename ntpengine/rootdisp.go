package ntpengine

import "math"

// maxClockError is the frequency error, s/s, that the local clock may
// take on between two updates beyond what the frequency fit knows: a
// quartz oscillator moves by about 0.1 ppm per °C, so 1 ppm covers a
// change of several degrees within a poll interval. chrony assumes the
// same by default (its maxclockerror).
const maxClockError = 1e-6

// rootDispersion is the system root dispersion at a clock update from the
// system peer p with the combined offset at t, and the rate, s/s, at which
// it grows afterwards.
//
// RFC 5905 §11.3 (A.5.5.4 clock_update) adds to the peer's root
// dispersion its filter dispersion aged at PHI (15 ppm), the offset just
// measured, and the peer and system jitters, with a floor of MINDISP
// (10 ms), and lets the sum grow at PHI. DisciplineRFC keeps exactly
// that: its PLL amortizes the offset over minutes, so the offset is
// still an error of the clock. DisciplineRegression departs from it, as
// chrony does, and states what it measured instead:
//
//   - the peer's root dispersion (what its own sources and clock add);
//   - the two clocks' reading errors, 2^precision of the peer's and ours
//     (the ε of a sample in RFC 5905 §8 without its PHI·δ term, tens of
//     nanoseconds at millisecond delays);
//   - the standard error of the offset the fit set the clock to: the fit
//     slews that offset away at once, so what is left of it is its error,
//     not the offset itself;
//
// and grows at the frequency fit's standard error plus maxClockError.
//
// The RFC's sum is a bound for the worst clock and path. Its 10 ms floor
// alone was 150 times chrony's figure for a stratum-1 peer 2 ms away, and
// every client downstream adds our root dispersion to the half-width of
// our selection interval (root distance, §11.2): a 10 ms interval lets a
// source 5 ms off intersect the truechimers and be combined. The
// asymmetry a path can hide is already bounded by half the root delay,
// which the root distance also holds; the dispersion need only carry the
// estimation error beyond it. Until the fit has three samples the RFC's
// sum is used.
func (e *Engine) rootDispersion(p *association, offset, t float64) (disp, rate float64) {
	if sd, ok := e.disc.est.offsetSD(t); ok {
		reading := math.Ldexp(1, int(p.precision)) + e.prec
		se, _ := e.disc.est.freqSE(&e.disc)
		return p.rootDisp + reading + sd, se + maxClockError
	}
	d := math.Sqrt(p.filter.Jitter*p.filter.Jitter + e.sys.jitter*e.sys.jitter)
	d += math.Max(p.filter.Dispersion+phi*(t-p.filter.t)+math.Abs(offset), minDisp)
	return p.rootDisp + d, phi
}

// rootDispAt is the system root dispersion at t: as set at the last clock
// update, grown at its rate since.
func (e *Engine) rootDispAt(t float64) float64 {
	return e.sys.rootDisp + e.sys.dispRate*math.Max(0, t-e.sys.t)
}
