package ntpengine

import "math"

// pllFLL is the textbook estimator of RFC 5905 §11.3 (A.5.5.6
// local_clock), DisciplineRFC: the hybrid phase/frequency-locked loop.
// The phase is amortized with time constant 16·2^τ s (adjust), the
// frequency changes by the PLL's and, beyond the Allan intercept, the
// FLL's share of each offset. After FREQ and after FSET's first update
// the offset left is slewed at the clock's slew rate (fast) until an
// offset is within the jitter (at least 200 µs); then the loop takes
// over.
type pllFLL struct{}

func (pllFLL) update(d *discipline, offset, _, _, _, mu float64) (phase, dfreq float64) {
	if d.state == stateFSET {
		// First update with the frequency from a file (A.5.5.6 FSET):
		// adjust the phase, not the frequency, and go to SYNC. As
		// after FREQ, the offset is slewed at the clock's slew rate.
		d.fast = true
		return offset, 0
	}
	if d.fast {
		if math.Abs(offset) < math.Max(4*d.jitter, 200e-6) {
			d.fast = false
		}
		return offset, 0
	}
	poll := math.Ldexp(1, int(d.poll))
	// FLL part, effective beyond the Allan intercept.
	if poll > allan/2 {
		g := float64(fllGain - int(d.poll))
		if g < avgConst {
			g = avgConst
		}
		dfreq += (offset - d.offset) / (math.Max(mu, allan) * g)
	}
	// PLL part.
	g := math.Min(mu, poll)
	den := 4 * pllGain * poll
	dfreq += offset * g / (den * den)
	return offset, dfreq
}

// freqMeasured: the RFC measures the frequency for the whole stepout.
func (pllFLL) freqMeasured(*discipline, float64, float64, bool) bool { return false }

// pollSteady is the RFC's test: the residual offset within PGATE times
// the jitter; not counted while the offset is slewed (fast).
func (pllFLL) pollSteady(d *discipline) (steady, counts bool) {
	return math.Abs(d.offset) < pollGate*d.jitter, !d.fast
}

// freqSE is the wander, the RMS of the loop's frequency changes (RFC 5905
// §11.3).
func (pllFLL) freqSE(d *discipline) (float64, bool) { return d.wander, true }

func (pllFLL) offsetSD(float64) (float64, bool) { return 0, false }

func (pllFLL) fits() bool { return false }
