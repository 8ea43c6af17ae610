package ntpengine

import "math"

// keepFilters reports whether the associations keep their clock filters
// across a step that the discipline took from state before. RFC 5905
// A.5.5.4 clears them after every step, because an ntpd filter holds
// offsets of the clock before the step. This engine's filters hold each
// sample with the correction in force when it was taken (filterSample.
// Correction), so a step of our own leaves them valid. The step that ends
// DisciplineRegression's frequency measurement (from NSET or FREQ) is
// computed from exactly those samples: clearing them would cost the
// filter's fill and the root distance test again (§11.2) — four polls
// without a burst, in which the clock runs on its freshly measured
// frequency but can drift past the step threshold again at long polls.
// A step out of SPIK (an offset held beyond the stepout) still clears
// them: samples on both sides of a jump of the reference disagree.
// DisciplineRFC keeps the RFC's clear.
func (e *Engine) keepFilters(before discState) bool {
	return e.disc.est.fits() && (before == stateNSET || before == stateFREQ)
}

// filterFreq is the frequency the clock filters project their samples
// with (clockFilter.add): the discipline's, once it has one (from a file,
// or measured: not in NSET or FREQ); NaN before, for the filters' own
// slope.
func (e *Engine) filterFreq() float64 {
	if e.disc.state == stateNSET || e.disc.state == stateFREQ {
		return math.NaN()
	}
	return e.disc.freq
}
