package ntpengine

import (
	"cmp"
	"math"
	"slices"
)

// Constants of the clock discipline, RFC 5905 Appendix A.1.1.
const (
	stepThreshold  = 0.128  // STEPT, s
	stepout        = 900.0  // WATCH, s
	panicThreshold = 1000.0 // PANICT, s
	pllGain        = 16     // PLL
	fllGain        = maxPollLimit + 1
	avgConst       = 4    // AVG
	allan          = 1500 // ALLAN, s
	pollLimit      = 30   // LIMIT
	pollGate       = 4    // PGATE
	maxFreq        = 500e-6
	// defaultSlewRate is the rate of a ClockSlew unless Config.MaxSlewRate
	// says otherwise: the 500 ppm of adjtime(3).
	defaultSlewRate = 500e-6
	// freqEstimateDone is the standard error of the initial frequency
	// estimate (s/s) at which regression mode leaves FREQ at once.
	freqEstimateDone = 5e-6
	// freqMinSamples is the fewest samples of the initial frequency fit.
	freqMinSamples = 3
	// freqPriorSigma is the standard error assumed of a frequency read
	// from a file (Config.InitialFrequencyPPM), s/s: a quartz oscillator's
	// frequency moves by about 0.1 ppm per °C, so a file written an hour or
	// a day before the start is good to about a ppm.
	freqPriorSigma = 1e-6
	// defaultSettledFreq is the standard error of the frequency estimate
	// below which the frequency is worth saving (Status.FrequencySettled)
	// unless Config.SettledFrequencyPPM says otherwise: the error assumed
	// when such a file is read back (freqPriorSigma).
	defaultSettledFreq = freqPriorSigma
	// settleUpdates is the fewest updates in SYNC, since the last step or
	// frequency measurement, before the frequency counts as settled.
	settleUpdates = 8
)

// MaxFrequencyPPM is the largest frequency correction of the discipline
// (RFC 5905 Appendix A.1.1 MAXFREQ), ppm; Config.InitialFrequencyPPM must be
// within ±MaxFrequencyPPM.
const MaxFrequencyPPM = maxFreq * 1e6

// DisciplineState is the state of the clock discipline (RFC 5905 §11.3,
// Appendix A.5.5.6).
type DisciplineState int

// The states. The discipline starts in NSET, or in FSET when the caller
// gives it a frequency (Config.InitialFrequencyPPM, read from a drift
// file by the caller).
const (
	StateNSET DisciplineState = iota // never set
	StateFREQ                        // measuring the frequency
	StateSPIK                        // spike detected, waiting for stepout
	StateSYNC                        // normal operation
	StateFSET                        // frequency set from a file, no update yet
)

func (s DisciplineState) String() string {
	return [...]string{"NSET", "FREQ", "SPIK", "SYNC", "FSET"}[s]
}

// Result is what one discipline update did.
type Result int

// The results of local_clock (A.5.5.6).
const (
	ResultIgnore Result = iota
	ResultSlew
	ResultStep
	ResultPanic
)

type point struct{ t, off, delay float64 }

// Mode selects the steady-state algorithm of the discipline.
type DisciplineMode int

const (
	// DisciplineRegression (the default) keeps the RFC 5905 state machine
	// (NSET, FREQ, SPIK, SYNC; step, stepout and panic thresholds;
	// ±500 ppm) but estimates the frequency by a least-squares fit over
	// the recent samples, weighted by their delay, and slews the fitted
	// offset at the clock's slew rate (Config.MaxSlewRate). Much more
	// accurate than the textbook loop.
	DisciplineRegression DisciplineMode = iota
	// DisciplineRFC is the textbook hybrid PLL/FLL of RFC 5905 §11.3 in
	// SYNC (phase amortized with time constant 16·2^τ s).
	DisciplineRFC
)

// discipline is the clock discipline of RFC 5905 §11.3 (A.5.5.6
// local_clock and A.5.6.1 clock_adjust). It returns its corrections as
// clock commands — steps, a frequency, and slews — that the caller applies.
//
// The state machine is the RFC's: NSET → (step if |θ| > 128 ms) → FREQ →
// SYNC, or, with a frequency from a file, FSET → (step if |θ| > 128 ms) →
// SYNC at the first update; in SYNC an offset above 128 ms is a spike (SPIK) ignored until it
// has lasted the 900 s stepout, then stepped; offsets above 1000 s are a
// panic and are not acted on; the frequency is held within ±500 ppm.
//
// Deliberate refinements, because the textbook loop needs hours to settle
// a 0.1 s offset and is several times noisier than chrony:
//   - FREQ lets the clock run free and fits a line through the samples
//     (weighted by delay) instead of one difference after the 900 s
//     stepout, which DisciplineRFC waits for; DisciplineRegression (which
//     keeps fitting afterwards) leaves FREQ as soon as three samples span
//     8 s.
//   - The offset left after FREQ is slewed at the clock's slew rate
//     (clock.Clock.Slew, Config.MaxSlewRate: 83,333 ppm for the virtual
//     clock, 500 ppm for adjtime) rather than through the 16·2^τ s PLL
//     time constant. Samples are freed of our corrections with the
//     cumulative correction at their T1 and T4, exact through fast slews.
//   - FREQ starts with the system peer's earlier filter samples (those
//     that came before it passed the fitness test), so that it usually
//     ends within the initial burst.
//   - DisciplineRegression (the default) replaces the PLL/FLL in SYNC by
//     the same weighted fit over up to 64 samples spanning 8 polls, or
//     more when the samples are noisy (regressPolls, runsWindow):
//     its slope is the frequency and its value now is the offset, which
//     is slewed at once. The poll interval follows the RFC's jiggle
//     counter, driven by the fit's prediction error against the noise
//     the delays predict, so wander shortens the poll.
//   - After FSET, DisciplineRegression weighs the file's frequency into
//     its fit as a prior of 1 ppm standard error (freqPriorSigma), so that
//     a few close burst samples do not replace it with a noisier slope;
//     the prior is dropped for good once the fit alone is as precise.
//   - Offsets are handled as offsets of the uncorrected clock (offset +
//     the cumulative correction applied, phase), so steps and slews of
//     our own never look like the peer's jitter or drift.
type discipline struct {
	mode      DisciplineMode
	state     DisciplineState
	t         float64 // time of the last update
	offset    float64 // phase still to amortize, s
	last      float64 // last offset measured
	freq      float64 // frequency correction, s/s
	jitter    float64
	wander    float64
	count     int
	poll      int8
	minPoll   int8
	maxPoll   int8
	precision float64
	fast      bool
	// fx holds the samples of the frequency fit: offsets of the
	// uncorrected clock (offset + phase) at their sample times.
	fx []point
	// seed: earlier samples for a frequency fit that has none (earlier).
	seed []point

	phase     float64 // cumulative correction applied (frequency, slews, steps), s
	adjT      float64 // time of the last clock adjustment
	phaseRate float64 // phase correction rate in force (PLL), s/s
	// slewRate is the rate at which the clock applies a ClockSlew, s/s
	// (Config.MaxSlewRate).
	slewRate float64
	// slewing: the clock is slewing d.offset at slewRate (fast mode);
	// newSlew: a new slew target must be commanded. slewStart and
	// slewTotal are when the slew in progress was commanded and its
	// (signed) size.
	slewing, newSlew     bool
	slewStart, slewTotal float64
	// rateKnown: the caller stated slewRate (Config.MaxSlewRate ≠ 0).
	rateKnown bool
	// Regression mode: the last fit and the error of its prediction for
	// the newest sample.
	fitSlope, fitIcept, fitSigma, predErr, predNoise float64
	fitOK                                            bool
	applied                                          float64 // total frequency last commanded, s/s
	commanded                                        bool
	// fitSE is the standard error of the frequency of the last
	// regression fit (with the prior, when one is in force), s/s; fit is
	// that fit (valid while fitOK).
	fitSE float64
	fit   lineFit
	// prior is the frequency from a file (FSET), used as a prior of
	// the regression fit's slope while priorOn (see regress).
	prior   float64
	priorOn bool
	// syncUpdates counts the updates in SYNC since the last step or
	// frequency measurement; settledFreq is Config.SettledFrequencyPPM
	// in s/s (see settled).
	syncUpdates int
	settledFreq float64
}

func newDiscipline(precision float64, minPoll, maxPoll int8) discipline {
	return discipline{minPoll: minPoll, maxPoll: maxPoll, poll: minPoll, precision: precision, jitter: precision,
		slewRate: defaultSlewRate, settledFreq: defaultSettledFreq}
}

// setInitialFrequency starts the discipline in FSET with frequency f
// (s/s, within ±maxFreq), as RFC 5905 Appendix A.1 main() does when a
// frequency file is present: the initial frequency measurement (FREQ) is
// skipped. The next adjust commands the frequency to the clock.
func (d *discipline) setInitialFrequency(f float64) {
	d.setFreq(f)
	d.state = StateFSET
	d.prior, d.priorOn = d.freq, true
}

// settled reports whether the frequency estimate is worth saving to a
// file: the discipline is in SYNC (not holding off a spike), has taken
// settleUpdates updates there since its last step or frequency
// measurement, and the estimate's standard error is at most settledFreq:
// the regression fit's (DisciplineRegression), or the wander, the RMS of
// the PLL/FLL's frequency changes (DisciplineRFC, RFC 5905 §11.3).
func (d *discipline) settled() bool {
	if d.state != StateSYNC || d.syncUpdates < settleUpdates {
		return false
	}
	if d.mode == DisciplineRegression {
		return d.fitOK && d.fitSE <= d.settledFreq
	}
	return d.wander <= d.settledFreq
}

// clockOut collects the clock commands of one update.
type clockOut struct {
	step    float64
	stepped bool
	slew    float64
	doSlew  bool
	freq    float64
	setFreq bool
}

// update is local_clock: offset is the combined offset at t; sampleT is
// when it was measured (used by the frequency fit).
func (d *discipline) update(offset, sampleT, t, delay float64) (Result, clockOut) {
	var out clockOut
	if math.Abs(offset) > panicThreshold {
		return ResultPanic, out
	}
	d.adjust(t, &out)
	mu := t - d.t
	var freq float64
	res := ResultSlew
	if d.state == StateFREQ {
		return d.freqState(offset, sampleT, t, delay, &out)
	}
	if d.state == StateNSET && d.mode == DisciplineRegression {
		// First sample: start measuring the frequency (FREQ) with the
		// earlier samples of the peer (seed), which may complete it at
		// once; then the fitted offset is stepped or slewed. Otherwise
		// an offset above STEPT is stepped now, as A.5.5.6 does, but
		// the measurement keeps the samples so far: the fit takes
		// offsets of the uncorrected clock, which our step leaves
		// valid, where the RFC starts measuring afresh after it.
		d.state = StateFREQ
		d.fx = append(d.fx[:0], d.earlier(sampleT)...)
		d.t = t
		d.last = offset
		res, _ := d.freqState(offset, sampleT, t, delay, &out)
		if d.state != StateFREQ || math.Abs(offset) <= stepThreshold {
			return res, out
		}
		d.doStep(offset, &out)
		d.adjust(t, &out)
		return ResultStep, out
	}
	if math.Abs(offset) > stepThreshold {
		switch d.state {
		case StateSYNC:
			d.state = StateSPIK
			return ResultIgnore, out
		case StateSPIK:
			if mu < stepout {
				return ResultIgnore, out
			}
		}
		// NSET and FSET step at once (A.5.5.6); from FSET the
		// discipline goes on to SYNC with the file's frequency.
		d.doStep(offset, &out)
		if d.state == StateNSET {
			d.state = StateFREQ
			d.fx = d.fx[:0]
			d.t = t
			d.adjust(t, &out)
			return ResultStep, out
		}
		d.rst(StateSYNC, t, 0)
		d.fast = false
		res = ResultStep
	} else {
		if d.state != StateNSET && d.state != StateFSET { // no previous offset to compare with
			e := d.jitter * d.jitter
			x := math.Max(math.Abs(offset-d.last), d.precision)
			d.jitter = math.Sqrt(e + (x*x-e)/avgConst)
		}
		switch d.state {
		case StateNSET:
			// First sample: start measuring the frequency with the
			// clock running free.
			// With earlier samples of the peer (seed) the measurement
			// may be complete at once.
			d.state = StateFREQ
			d.fx = append(d.fx[:0], d.earlier(sampleT)...)
			d.t = t
			d.last = offset
			return d.freqState(offset, sampleT, t, delay, &out)
		case StateFSET:
			// First update with the frequency from a file (A.5.5.6
			// FSET): adjust the phase, not the frequency, and go to
			// SYNC. As after FREQ, the offset is slewed at the
			// clock's slew rate (fast). Regression mode starts its
			// fit with this sample; the file's frequency stays its
			// prior (regress).
			if d.mode == DisciplineRegression {
				offset = d.regress(offset, sampleT, t, delay)
			}
			d.fast = true
		default: // SYNC, SPIK
			if d.mode == DisciplineRegression {
				offset = d.regress(offset, sampleT, t, delay)
				d.rst(StateSYNC, t, offset)
				d.fast, d.newSlew = true, true
				break
			}
			if !d.fast {
				poll := math.Ldexp(1, int(d.poll))
				// FLL part, effective beyond the Allan intercept.
				if poll > allan/2 {
					g := float64(fllGain - int(d.poll))
					if g < avgConst {
						g = avgConst
					}
					freq += (offset - d.offset) / (math.Max(mu, allan) * g)
				}
				// PLL part.
				g := math.Min(mu, poll)
				den := 4 * pllGain * poll
				freq += offset * g / (den * den)
			} else if math.Abs(offset) < math.Max(4*d.jitter, 200e-6) {
				d.fast = false
			}
		}
		d.rst(StateSYNC, t, offset)
		d.newSlew = d.fast
	}
	if d.mode != DisciplineRegression || res == ResultStep {
		d.setFreq(d.freq + freq)
	}
	if res == ResultSlew {
		d.syncUpdates++
	}
	e := d.wander * d.wander
	d.wander = math.Sqrt(e + (freq*freq-e)/avgConst)
	// Poll adjustment (jiggle counter, A.5.5.6).
	// In regression mode the test is the error of the fit's prediction
	// against the noise of the samples: wander makes it grow and the poll
	// interval shrink.
	x, gate := math.Abs(d.offset), pollGate*d.jitter
	if d.mode == DisciplineRegression {
		x, gate = math.Abs(d.predErr), regressPollGate*math.Max(d.predNoise, d.precision)
	}
	if (!d.fast || d.mode == DisciplineRegression) && res == ResultSlew {
		if x < gate && d.freqKnown() {
			d.count += int(d.poll)
			if d.count > pollLimit {
				d.count = pollLimit
				if d.poll < d.maxPoll {
					d.count = 0
					d.poll++
				}
			}
		} else {
			d.count -= int(d.poll) << 1
			if d.count < -pollLimit {
				d.count = -pollLimit
				if d.poll > d.minPoll {
					d.count = 0
					d.poll--
				}
			}
		}
	}
	d.adjust(t, &out)
	return res, out
}

// freqState measures the frequency while the clock runs free (FREQ).
func (d *discipline) freqState(offset, sampleT, t, delay float64, out *clockOut) (Result, clockOut) {
	if len(d.fx) == 0 {
		d.fx = append(d.fx, d.earlier(sampleT)...)
	}
	d.fx = append(d.fx, point{sampleT, d.uncorrected(offset, sampleT, t), delay})
	if len(d.fx) > 64 {
		d.fx = d.fx[1:]
	}
	mu := sampleT - d.fx[0].t
	slope, icept, se, ok := fitLine(d.fx, d.precision)
	// DisciplineRFC measures for the whole stepout, as the RFC does.
	done := false
	if d.mode == DisciplineRegression {
		// The fit goes on in SYNC: leave FREQ when three samples span
		// 8 s, or two span a minimum poll interval (samples are scarce:
		// better a rough frequency than a clock left running free).
		done = len(d.fx) >= freqMinSamples && (ok && se <= freqEstimateDone || mu >= 8) ||
			len(d.fx) >= 2 && mu >= math.Ldexp(1, int(d.minPoll))
		done = done && d.credibleFrequency(se)
	}
	if !done && !(mu >= stepout && len(d.fx) >= 2) {
		return ResultIgnore, *out
	}
	if !ok {
		p0, p1 := d.fx[0], d.fx[len(d.fx)-1]
		slope = (p1.off - p0.off) / (p1.t - p0.t)
		icept = p1.off - slope*p1.t
	}
	// The slope is per second of our clock, which ran free during FREQ
	// at 1+r true seconds per second (r the rate error to correct): it
	// is −r/(1+r), and the correction −r is slope/(1+slope). At 100 ppm
	// the difference is 0.01 ppm, 80 µs over a 2^13 s poll.
	d.setFreq(d.freq + slope/(1+slope))
	now := icept + slope*t - d.phase // fitted offset now, less noisy than the last sample
	res := ResultSlew
	if math.Abs(now) > stepThreshold {
		d.doStep(now, out)
		d.rst(StateSYNC, t, 0)
		res = ResultStep
	} else {
		d.rst(StateSYNC, t, now)
		d.fast, d.newSlew = true, true
	}
	if d.mode != DisciplineRegression {
		// Regression mode keeps its points: they are offsets of the
		// uncorrected clock, unaffected by our steps and slews.
		d.fx = d.fx[:0]
	} else {
		// Their times, though, are seconds of the clock running free,
		// 1/(1+slope) true seconds each, and from now on the corrected
		// clock counts true seconds: put them on that scale, or the
		// fit would see a kink of slope² where FREQ ended (0.01 ppm at
		// 100 ppm, 80 µs over a 2^13 s poll).
		for i := range d.fx {
			d.fx[i].t = t - (t-d.fx[i].t)*(1+slope)
		}
	}
	d.adjust(t, out)
	return res, *out
}

// credibleFrequency reports whether a first frequency estimate of
// standard error se (s/s; +Inf with two samples, which cannot tell) may
// end FREQ: its error (three standard errors) must not carry the offset
// beyond half the step threshold within a minimum poll interval. Beyond
// that, the samples that should correct it would arrive as spikes (above
// STEPT, RFC 5905 §11.3) and be held off for the whole stepout while the
// clock runs away at the wrong frequency: with 100 ms of jitter, a fit
// through a burst 8 s long is thousands of ppm uncertain. Measuring goes
// on instead, up to the stepout.
func (d *discipline) credibleFrequency(se float64) bool {
	return math.IsInf(se, 1) || 3*se*math.Ldexp(1, int(d.minPoll)) <= stepThreshold/2
}

// earlier returns the seed samples older than sampleT and forgets them.
// The engine sets seed, before the first update of a frequency
// measurement, to the system peer's earlier valid filter samples: the
// fitness test (root distance, RFC 5905 §11.2) lets a peer's samples
// reach the discipline only once its filter holds several, and those
// before are good measurements that the frequency fit should not lose.
func (d *discipline) earlier(sampleT float64) []point {
	var p []point
	for _, x := range d.seed {
		if x.t < sampleT {
			p = append(p, x)
		}
	}
	d.seed = nil
	return p
}

// ageDisp is how fast an old sample loses weight in the fits, s/s: the
// expected error of a sample grows by 30 ns per second of its age
// against the newest. A clock's frequency wanders (tens of ppb within an
// hour for a quartz oscillator), so a line through old samples bends away
// from the present; without this, one old sample of low delay can hold
// the fit for hours while the newer ones drift away. It plays the part of
// the RFC's dispersion growth PHI (15 ppm, a bound for the worst clock)
// at the scale of a typical clock's stability.
const ageDisp = 30e-9

// fitLine is a weighted least-squares fit off = icept + slope·t, with the
// standard error of the slope. A sample's weight falls with its delay
// above the smallest in the set: the extra delay of one direction shifts
// the offset by up to half of it (RFC 5905 §10 picks the minimum-delay
// sample for the same reason); and with its age (ageDisp).
func fitLine(p []point, precision float64) (slope, icept, se float64, ok bool) {
	f := fitWeighted(p, precision)
	return f.slope, f.icept, f.se, f.ok
}

// lineFit is the result of fitWeighted: the line, the standard error of
// its slope, and the weighted mean time the line is anchored at.
type lineFit struct {
	slope, icept, se, mt float64
	// vmean is the variance of the line's value at mt, s².
	vmean float64
	ok    bool
}

// predSD is the standard error of the line's value at t: that of its
// value at the weighted mean time, and that of its slope times the
// distance from it.
func (f lineFit) predSD(t float64) float64 {
	dt := t - f.mt
	return math.Sqrt(f.vmean + f.se*f.se*dt*dt)
}

// withPrior combines the fitted slope with a prior estimate of standard
// error sigma, weighting each by its inverse variance, and moves the line
// to the combined slope about its weighted mean point (where a slope error
// moves it least).
func (f lineFit) withPrior(prior, sigma float64) lineFit {
	wf, wp := 0.0, 1/(sigma*sigma)
	if f.se > 0 && !math.IsInf(f.se, 1) {
		wf = 1 / (f.se * f.se)
	}
	mo := f.icept + f.slope*f.mt
	f.slope = (wf*f.slope + wp*prior) / (wf + wp)
	f.icept = mo - f.slope*f.mt
	f.se = 1 / math.Sqrt(wf+wp)
	return f
}

func fitWeighted(p []point, precision float64) lineFit {
	if len(p) < 2 {
		return lineFit{}
	}
	dmin := math.Inf(1)
	for _, x := range p {
		dmin = math.Min(dmin, x.delay)
	}
	sigma0 := noiseFloor(p, dmin, precision)
	w := make([]float64, len(p))
	var sw, mt, mo float64
	tmax := p[len(p)-1].t
	for i, x := range p {
		e := (x.delay-dmin)/2 + sigma0 + ageDisp*(tmax-x.t)
		w[i] = 1 / (e * e)
		sw += w[i]
		mt += w[i] * x.t
		mo += w[i] * x.off
	}
	mt /= sw
	mo /= sw
	var stt, sto float64
	for i, x := range p {
		stt += w[i] * (x.t - mt) * (x.t - mt)
		sto += w[i] * (x.t - mt) * (x.off - mo)
	}
	if stt == 0 {
		return lineFit{}
	}
	slope := sto / stt
	icept := mo - slope*mt
	if len(p) < 3 {
		return lineFit{slope: slope, icept: icept, se: math.Inf(1), mt: mt, ok: true}
	}
	var rss float64
	for i, x := range p {
		r := x.off - icept - slope*x.t
		rss += w[i] * r * r
	}
	n := float64(len(p))
	// Weighted residual variance, scaled so that the weights only matter
	// relative to each other.
	// Standard error of the slope with the weights taken as inverse
	// variances, inflated by the reduced chi-square when the residuals
	// are larger than the delays predict.
	chi2 := math.Max(1, rss/(n-2))
	return lineFit{slope: slope, icept: icept, se: math.Sqrt(chi2 / stt), mt: mt, vmean: chi2 / sw, ok: true}
}

func (d *discipline) rst(state DisciplineState, t, offset float64) {
	d.state = state
	d.t = t
	d.offset = offset
	d.last = offset
}

func (d *discipline) doStep(offset float64, out *clockOut) {
	out.step += offset
	out.stepped = true
	d.phase += offset
	d.offset = 0
	d.phaseRate = 0
	d.slewing = false // clock.Clock.Step cancels a slew in progress
	d.syncUpdates = 0
	d.count = 0
	d.poll = d.minPoll
}

func (d *discipline) setFreq(f float64) {
	d.freq = math.Max(-maxFreq, math.Min(maxFreq, f))
}

// adjust is clock_adjust (A.5.6.1): it accounts for the phase corrected
// since the last call at the rate then in force and sets the rate for
// the time until the next call (expected within a second).
func (d *discipline) adjust(now float64, out *clockOut) {
	dt := now - d.adjT
	if dt > 0 {
		if d.slewing {
			done := math.Copysign(math.Min(math.Abs(d.offset), d.clockSlewRate(d.offset)*dt), d.offset)
			d.offset -= done
			d.phase += done
		} else {
			d.offset -= d.phaseRate * dt
		}
		d.phase += d.applied * dt
	}
	d.adjT = now
	rate := 0.0
	inSync := d.state == StateSYNC || d.state == StateSPIK
	switch {
	case inSync && d.fast:
		// Fast mode: the clock slews the whole offset at its slew
		// rate (clock.Clock.Slew), on top of the frequency.
		if d.newSlew {
			out.slew, out.doSlew = d.offset, true
			d.newSlew = false
			d.slewStart, d.slewTotal = now, d.offset
		}
		d.slewing = true
	case d.slewing:
		// Leaving fast mode (or stepped): stop the clock's slew.
		out.slew, out.doSlew = 0, true
		d.slewing = false
	}
	if inSync && !d.fast {
		rate = d.offset / (pllGain * math.Min(math.Ldexp(1, int(d.poll)), allan))
		if math.Abs(rate) > math.Abs(d.offset) { // do not overshoot within 1 s
			rate = d.offset
		}
	}
	total := math.Max(-maxFreq, math.Min(maxFreq, d.freq+rate))
	d.phaseRate = total - d.freq
	if !d.commanded || math.Abs(total-d.applied) > 1e-12 {
		d.applied = total
		d.commanded = true
		out.freq = total
		out.setFreq = true
	}
}

// active reports whether the phase is being amortized, so that adjust
// must run every second.
func (d *discipline) active() bool {
	return !d.slewing && (d.phaseRate != 0 || d.offset != 0 && (d.state == StateSYNC || d.state == StateSPIK))
}

// slewBusy reports whether, with a slew rate the caller did not state
// (Config.MaxSlewRate 0, taken as adjtime's 500 ppm), a slew that needs
// more than a second at that rate is in progress. Samples whose T1 or T4
// falls in such a slew are not used: the correction the clock has
// applied at those instants is known only as well as its slew rate, and
// a clock slewing faster than assumed (clock.Virtual, 83,333 ppm) would
// make them wrong by up to the slew's size, and the frequency fit with
// them. Short slews (all of them in steady state) do not block sampling;
// with a stated rate the accounting is trusted and nothing is blocked.
func (d *discipline) slewBusy() bool {
	return !d.rateKnown && d.slewing && math.Abs(d.offset) > d.slewRate*slewBusyTime
}

// clockSlewRate is the slew rate per second of the disciplined clock, for
// a slew in the direction of dir. The clock slews at slewRate of elapsed
// (monotonic) time, and while it slews forward it runs 1+slewRate times as
// fast as that time, backward 1−slewRate times: at chrony's 83,333 ppm
// the engine's time, read from that clock, would otherwise misplace the
// slew's progress by 8 %, milliseconds for the initial 0.1 s.
func (d *discipline) clockSlewRate(dir float64) float64 {
	if dir < 0 {
		return d.slewRate / (1 - d.slewRate)
	}
	return d.slewRate / (1 + d.slewRate)
}

// slewBusyTime is the slew duration, s, beyond which sampling waits.
const slewBusyTime = 1.0

// regressMax bounds the samples of the steady-state fit.
const regressMax = 64

// regressSpanPolls is how many poll intervals the steady-state fit spans
// when the samples are precise: long enough to average their noise, short
// enough that a clock's wander (a random walk of its frequency) does not
// bend the offsets away from a line within it.
const regressSpanPolls = 8

// noiseRef is the sample noise (noiseFloor) up to which the fit spans
// regressSpanPolls; see regressPolls.
const noiseRef = 50e-6

// regressPolls is the span of the steady-state fit in poll intervals. The
// error of a line fit's value at its newest end falls with the number of
// samples, as σ/√n, while the bend that wander puts into the offsets
// grows with the span T as T^(3/2): the best span grows as √σ. So noisy
// samples (1 ms of jitter and more) are fitted over more polls, up to
// regressMax: 8·√(σ/noiseRef). A runs test (runsWindow) then trims a long
// window whose offsets no longer follow a line.
func regressPolls(p []point, precision float64) float64 {
	dmin := math.Inf(1)
	for _, x := range p {
		dmin = math.Min(dmin, x.delay)
	}
	if len(p) == 0 {
		return regressSpanPolls
	}
	s := noiseFloor(p, dmin, precision)
	return math.Max(regressSpanPolls, math.Min(regressMax, regressSpanPolls*math.Sqrt(s/noiseRef)))
}

// runsMin is the fewest samples the runs test judges.
const runsMin = 8

// runsWindow chooses how many of the samples (oldest first) the line fit
// should use, as chrony's regression does: the most whose residuals pass
// a runs test. Residual signs of a line through samples that a line
// describes change at random; wander or a frequency change bends the
// offsets, and the residuals then come in long runs of one sign. It
// returns the index of the first sample to keep: starting with all of
// them, it drops older samples until the number of runs is no longer
// significantly low (normal approximation, one-sided, z = runsZ).
func runsWindow(p []point, precision float64) int {
	start := 0
	for len(p)-start > runsMin {
		q := p[start:]
		slope, icept, _, ok := fitLine(q, precision)
		if !ok {
			break
		}
		var pos, neg, runs int
		last := 0
		for _, x := range q {
			s := 1
			if x.off-icept-slope*x.t < 0 {
				s = -1
			}
			if s > 0 {
				pos++
			} else {
				neg++
			}
			if s != last {
				runs++
				last = s
			}
		}
		n := float64(len(q))
		n1, n2 := float64(pos), float64(neg)
		mu := 1 + 2*n1*n2/n
		v := 2 * n1 * n2 * (2*n1*n2 - n) / (n * n * (n - 1))
		if pos > 0 && neg > 0 && float64(runs) >= mu-runsZ*math.Sqrt(math.Max(v, 0)) {
			return start
		}
		start += max(1, (len(p)-start)/8)
	}
	return start
}

// runsZ is the significance of the runs test (about 2 % one-sided).
const runsZ = 2.0

// regressPollGate: in regression mode the poll interval grows only while
// the fit predicts each new sample within the noise its delay implies
// (PGATE of the RFC is 4; 1 measured best in every ntpsim scenario, as it
// keeps the interval short enough for wander to stay below the noise).
const regressPollGate = 1

// pollFreqSE is the standard error of the frequency estimate (s/s) up to
// which regression mode lets the poll interval grow whatever the noise:
// that of a frequency read from a file (freqPriorSigma).
const pollFreqSE = freqPriorSigma

// freqKnown reports whether the frequency is known well enough for the
// poll interval to grow: its standard error is at most pollFreqSE, or
// the offset error it can build up over the longer interval is below
// the noise of the best samples. While the frequency is less certain, a
// longer interval lets its error carry the clock away between updates
// (20 ppm over 64 s is 1.3 ms) and gives the fit fewer samples to learn
// it from, yet the offsets can look steady enough for the jiggle
// counter, because each update slews the fitted offset away. The gate
// holds the start-up (and a restart of the fit) at the shorter intervals,
// as chrony keeps its minimum poll while its regression holds few
// samples; in steady state the fit knows the frequency far better and
// the RFC's counter alone decides. DisciplineRFC keeps the RFC's rule.
func (d *discipline) freqKnown() bool {
	if d.mode != DisciplineRegression {
		return true
	}
	if !d.fitOK {
		return false
	}
	if d.fitSE <= pollFreqSE {
		return true
	}
	dmin := math.Inf(1)
	for _, x := range d.fx {
		dmin = math.Min(dmin, x.delay)
	}
	return d.fitSE*math.Ldexp(1, int(d.poll)+1) <= noiseFloor(d.fx, dmin, d.precision)
}

// regress adds a sample to the steady-state fit, sets the frequency from
// its slope and returns the fitted offset at t.
func (d *discipline) regress(offset, sampleT, t, delay float64) float64 {
	u := d.uncorrected(offset, sampleT, t)
	d.predErr = 0
	if d.fitOK {
		// Judge the prediction error against the noise expected of this
		// sample: the fit's residual plus half its excess delay.
		dmin := math.Inf(1)
		for _, x := range d.fx {
			dmin = math.Min(dmin, x.delay)
		}
		d.predNoise = math.Max(0, delay-dmin)/2 + noiseFloor(d.fx, dmin, d.precision)
		d.predErr = u - (d.fitIcept + d.fitSlope*sampleT)
		if math.Abs(d.predErr) > 8*d.predNoise && len(d.fx) > 3 {
			// The model no longer predicts: start again from the
			// latest samples.
			d.fx = d.fx[len(d.fx)-2:]
		}
	}
	d.fx = append(d.fx, point{sampleT, u, delay})
	// Keep at most regressMax samples, within regressPolls poll
	// intervals, and of those the recent ones that a line fits.
	if len(d.fx) > regressMax {
		d.fx = d.fx[len(d.fx)-regressMax:]
	}
	polls := regressPolls(d.fx, d.precision)
	span := polls * math.Ldexp(1, int(d.poll))
	for len(d.fx) > freqMinSamples && sampleT-d.fx[0].t > span {
		d.fx = d.fx[1:]
	}
	if polls > regressSpanPolls {
		d.fx = d.fx[runsWindow(d.fx, d.precision):]
	}
	f := fitWeighted(d.fx, d.precision)
	if d.priorOn && f.ok {
		if f.se <= freqPriorSigma {
			// The samples alone now know the frequency at least as
			// well as the file did: drop the prior for good, so that
			// a stale file does not bias the fit later.
			d.priorOn = false
		} else {
			f = f.withPrior(d.prior, freqPriorSigma)
		}
	}
	if !f.ok || len(d.fx) < freqMinSamples {
		d.fitOK = false
		return offset
	}
	slope, icept := f.slope, f.icept
	d.fit = f
	d.fitSlope, d.fitIcept, d.fitSE, d.fitOK = slope, icept, f.se, true
	d.fitSigma = residualSigma(d.fx, slope, icept)
	old := d.freq
	d.setFreq(slope)
	e := d.wander * d.wander
	df := d.freq - old
	d.wander = math.Sqrt(e + (df*df-e)/avgConst)
	return icept + slope*t - d.phase
}

// offsetSD is the standard error of the offset the last regression fit
// set the clock to, projected to t (the fit's value there), s; ok is
// false when there is no such fit (DisciplineRFC, or fewer than three
// samples since the fit started).
func (d *discipline) offsetSD(t float64) (sd float64, ok bool) {
	if d.mode != DisciplineRegression || !d.fitOK || math.IsInf(d.fit.se, 1) {
		return 0, false
	}
	return d.fit.predSD(t), true
}

// residualSigma is the RMS residual of the fit over the better half of
// the samples by delay: the measurement noise the fit should explain.
func residualSigma(p []point, slope, icept float64) float64 {
	q := slices.Clone(p)
	slices.SortFunc(q, func(a, b point) int { return cmp.Compare(a.delay, b.delay) })
	q = q[:max(2, len(q)/2)]
	var s float64
	for _, x := range q {
		r := x.off - icept - slope*x.t
		s += r * r
	}
	return math.Sqrt(s / float64(len(q)))
}

// phaseAt is the cumulative correction at time ts: exact at the last
// adjustment and after it (the rates in force, the slew in progress
// ending when its offset is done); before it, the frequency now in force
// is assumed to have held since ts and only the slew in progress is
// counted (the engine records the phase at its transmit times instead).
func (d *discipline) phaseAt(ts float64) float64 {
	p := d.phase + d.applied*(ts-d.adjT)
	if !d.slewing {
		return p
	}
	if ts >= d.adjT {
		return p + math.Copysign(math.Min(math.Abs(d.offset), d.clockSlewRate(d.offset)*(ts-d.adjT)), d.offset)
	}
	// The slew in progress has applied done since slewStart, linearly.
	done := d.slewTotal - d.offset
	doneAt := math.Copysign(math.Min(math.Abs(done), d.clockSlewRate(done)*math.Max(0, ts-d.slewStart)), done)
	return p - (done - doneAt)
}

// uncorrected turns an offset projected to t back into the offset of the
// uncorrected clock at its sample time, the quantity the fits work on.
func (d *discipline) uncorrected(offset, sampleT, t float64) float64 {
	return offset + d.phase - d.freq*(t-sampleT)
}

// noiseFloor is the offset noise expected of the best sample: a quarter of
// the median excess delay, at least the precision. It comes from delays
// alone, so that wander (which breaks the linear model) does not raise it.
func noiseFloor(p []point, dmin, precision float64) float64 {
	ex := make([]float64, 0, len(p))
	for _, x := range p {
		ex = append(ex, x.delay-dmin)
	}
	slices.Sort(ex)
	return math.Max(precision, ex[len(ex)/2]/4)
}
