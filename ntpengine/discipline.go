package ntpengine

import "math"

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
	// freqMinSamples is the fewest samples of the initial frequency fit;
	// freqMinSpan (s) the time they span, unless their fit is precise
	// already (freqEstimateDone).
	freqMinSamples = 3
	freqMinSpan    = 8.0
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

// MaxFrequencyPPM is RFC 5905's largest frequency correction (Appendix
// A.1.1 MAXFREQ), ppm: the discipline's range unless
// Config.FrequencyLimitPPM states the clock's.
const MaxFrequencyPPM = maxFreq * 1e6

// MaxFrequencyLimitPPM bounds Config.FrequencyLimitPPM: a clock off by
// more than half its rate is broken, not drifting (chrony's maxdrift).
const MaxFrequencyLimitPPM = 500000.0

// discState is the state of the clock discipline (RFC 5905 §11.3,
// Appendix A.5.5.6).
type discState int

// The states. The discipline starts in NSET, or in FSET when the caller
// gives it a frequency (Config.InitialFrequencyPPM, read from a drift
// file by the caller).
const (
	stateNSET discState = iota // never set
	stateFREQ                  // measuring the frequency
	stateSPIK                  // spike detected, waiting for stepout
	stateSYNC                  // normal operation
	stateFSET                  // frequency set from a file, no update yet
)

func (s discState) String() string {
	return [...]string{"NSET", "FREQ", "SPIK", "SYNC", "FSET"}[s]
}

// updateResult is what one discipline update did.
type updateResult int

// The results of local_clock (A.5.5.6).
const (
	resultIgnore updateResult = iota
	resultSlew
	resultStep
	resultPanic
)

// DisciplineMode selects the frequency and phase estimator of the
// discipline in SYNC (the estimator interface).
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

// discipline is the clock discipline of RFC 5905 §11.3: the state machine
// of A.5.5.6 local_clock and the phase accounting of A.5.6.1
// clock_adjust. It returns its corrections as clock commands — steps, a
// frequency, and slews — that the caller applies. What it does with an
// offset once it has a frequency (FSET, SYNC, SPIK) is its estimator's:
// the RFC's PLL/FLL (pllFLL, discipline_rfc.go) or the regression
// (discipline_regress.go).
//
// The state machine is the RFC's: NSET → (step if |θ| > 128 ms) → FREQ →
// SYNC, or, with a frequency from a file, FSET → (step if |θ| > 128 ms) →
// SYNC at the first update; in SYNC an offset above 128 ms is a spike
// (SPIK) ignored until it has lasted the 900 s stepout, then stepped;
// offsets above 1000 s are a panic and are not acted on; the frequency is
// held within ±500 ppm.
//
// Deliberate refinements, because the textbook loop needs hours to settle
// a 0.1 s offset and is several times noisier than chrony:
//   - FREQ lets the clock run free and fits a line through the samples
//     (weighted by delay, fitWeighted) instead of one difference after
//     the 900 s stepout, which the PLL/FLL waits for; the regression
//     (which keeps fitting afterwards) leaves FREQ as soon as three
//     samples span 8 s.
//   - The offset left after FREQ is slewed at the clock's slew rate
//     (clock.Clock.Slew, Config.MaxSlewRate: 83,333 ppm for the virtual
//     clock, 500 ppm for adjtime) rather than through the 16·2^τ s PLL
//     time constant. Samples are freed of our corrections with the
//     cumulative correction at their T1 and T4, exact through fast slews.
//   - FREQ starts with the system peer's earlier filter samples (those
//     that came before it passed the fitness test), so that it usually
//     ends within the initial burst.
//   - An estimator that fits offsets of the uncorrected clock (fits)
//     measures the frequency before the first step, keeps its samples
//     across steps of our own, and takes every new sample.
//   - With Config.MakeStep, an offset above its threshold within its
//     first updates is stepped, not slewed (chrony's makestep).
//   - Offsets are handled as offsets of the uncorrected clock (offset +
//     the cumulative correction applied, phase), so steps and slews of
//     our own never look like the peer's jitter or drift.
type discipline struct {
	// mode is the estimator's kind (Config.Discipline); est the estimator.
	mode      DisciplineMode
	est       estimator
	state     discState
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
	// fast: the offset is slewed at the clock's slew rate, not amortized
	// by the PLL.
	fast bool
	// fx holds the samples of the frequency fit: offsets of the
	// uncorrected clock (offset + phase) at their sample times; FREQ's,
	// and afterwards the regression's.
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
	// gentleRate is the rate, s/s, at which fast mode amortizes the
	// offset through the frequency when the clock is not slewing it
	// (gentleSlew).
	gentleRate float64
	// gap is the time between the last two updates, s (gentleSlew).
	gap float64
	// rateKnown: the caller stated slewRate (Config.MaxSlewRate ≠ 0).
	rateKnown bool
	applied   float64 // total frequency last commanded, s/s
	commanded bool
	// prior is the frequency from a file (FSET); priorOn while an
	// estimator still weighs it in (the regression's prior).
	prior   float64
	priorOn bool
	// freqLimit bounds the frequency correction, s/s: the clock's range
	// (Config.FrequencyLimitPPM), RFC 5905's MAXFREQ by default.
	freqLimit float64
	// syncUpdates counts the updates in SYNC since the last step or
	// frequency measurement; settledFreq is Config.SettledFrequencyPPM
	// in s/s (see settled).
	syncUpdates int
	settledFreq float64
	// makeStep is Config.MakeStep; updates counts the clock updates
	// (slews and steps) since the start.
	makeStep MakeStep
	updates  int
}

// estimator is the part of the discipline that differs between the
// DisciplineModes: what becomes of an offset once the discipline has a
// frequency, and how well the frequency is known. The state machine
// (discipline) calls it and never asks which one it has.
type estimator interface {
	// update takes an offset accepted in FSET, SYNC or SPIK (within the
	// step threshold; mu s since the last update) and returns the phase
	// to correct now and a change of the frequency; it sets d.fast.
	update(d *discipline, offset, sampleT, t, delay, mu float64) (phase, dfreq float64)
	// freqMeasured reports whether the initial frequency measurement
	// (FREQ) may end before the stepout, with the samples d.fx spanning
	// mu s whose fit has slope standard error se (ok: a fit exists).
	freqMeasured(d *discipline, mu, se float64, ok bool) bool
	// pollSteady is the test of the jiggle counter (A.5.5.6): steady
	// counts up towards a longer poll, otherwise down; counts is false
	// when this update does not count.
	pollSteady(d *discipline) (steady, counts bool)
	// freqSE is the standard error of the frequency estimate, s/s; ok is
	// false while there is none.
	freqSE(d *discipline) (se float64, ok bool)
	// offsetSD is the standard error of the offset the clock was set to,
	// projected to t; ok is false when the estimator does not know it.
	offsetSD(t float64) (sd float64, ok bool)
	// fits reports whether the estimator fits a line through every
	// sample as an offset of the uncorrected clock, weighing samples by
	// their delay itself: it then takes every new sample rather than
	// the clock filter's choice, and keeps its samples across steps of
	// our own, which leave them valid (so the frequency is measured
	// before the first step).
	fits() bool
}

// newEstimator is the estimator of mode m.
func newEstimator(m DisciplineMode) estimator {
	if m == DisciplineRFC {
		return pllFLL{}
	}
	return &regression{}
}

func newDiscipline(precision float64, minPoll, maxPoll int8) discipline {
	return discipline{est: newEstimator(DisciplineRegression), minPoll: minPoll, maxPoll: maxPoll, poll: minPoll,
		precision: precision, jitter: precision, slewRate: defaultSlewRate, settledFreq: defaultSettledFreq,
		freqLimit: maxFreq}
}

// setMode sets the estimator of mode m; one of another mode starts
// afresh, the state machine keeps its state.
func (d *discipline) setMode(m DisciplineMode) {
	if d.mode != m || d.est == nil {
		d.mode, d.est = m, newEstimator(m)
	}
}

// configure takes the discipline's settings from cfg: the estimator,
// the clock's slew rate and frequency range, the settled threshold.
func (d *discipline) configure(cfg *Config) {
	d.setMode(cfg.Discipline)
	d.slewRate, d.rateKnown = cfg.slewRate(), cfg.MaxSlewRate != 0
	d.settledFreq = cfg.settledFreq()
	d.makeStep = cfg.MakeStep
	d.freqLimit = cfg.freqLimit()
}

// setInitialFrequency starts the discipline in FSET with frequency f
// (s/s, within ±freqLimit), as RFC 5905 Appendix A.1 main() does when a
// frequency file is present: the initial frequency measurement (FREQ) is
// skipped. The next adjust commands the frequency to the clock.
func (d *discipline) setInitialFrequency(f float64) {
	d.setFreq(f)
	d.state = stateFSET
	d.prior, d.priorOn = d.freq, true
}

// settled reports whether the frequency estimate is worth saving to a
// file: the discipline is in SYNC (not holding off a spike), has taken
// settleUpdates updates there since its last step or frequency
// measurement, and the estimate's standard error (estimator.freqSE) is
// at most settledFreq.
func (d *discipline) settled() bool {
	if d.state != stateSYNC || d.syncUpdates < settleUpdates {
		return false
	}
	se, ok := d.est.freqSE(d)
	return ok && se <= d.settledFreq
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
func (d *discipline) update(offset, sampleT, t, delay float64) (updateResult, clockOut) {
	var out clockOut
	if math.Abs(offset) > panicThreshold {
		return resultPanic, out
	}
	d.adjust(t, &out)
	mu := t - d.t
	d.gap = mu
	if d.state == stateFREQ {
		return d.freqState(offset, sampleT, t, delay, &out)
	}
	if d.state == stateNSET && (d.est.fits() || math.Abs(offset) <= stepThreshold) {
		// First sample: start measuring the frequency (FREQ) with the
		// clock running free and the earlier samples of the peer
		// (seed), which may complete it at once; then the fitted
		// offset is stepped or slewed. An estimator that fits keeps
		// measuring across a step of an offset above STEPT, which
		// A.5.5.6 takes at once: its offsets of the uncorrected clock
		// stay valid, where the RFC starts measuring afresh after it
		// (below).
		d.state = stateFREQ
		d.fx = append(d.fx[:0], d.earlier(sampleT)...)
		d.t = t
		d.last = offset
		res, _ := d.freqState(offset, sampleT, t, delay, &out)
		if d.state != stateFREQ || math.Abs(offset) <= stepThreshold {
			return res, out
		}
		d.doStep(offset, &out)
		d.adjust(t, &out)
		return resultStep, out
	}
	res := resultSlew
	var freq float64
	if math.Abs(offset) > stepThreshold {
		switch d.state {
		case stateSYNC:
			d.state = stateSPIK
			return resultIgnore, out
		case stateSPIK:
			if mu < stepout {
				return resultIgnore, out
			}
		}
		// NSET and FSET step at once (A.5.5.6); from FSET the
		// discipline goes on to SYNC with the file's frequency.
		d.doStep(offset, &out)
		if d.state == stateNSET {
			d.state = stateFREQ
			d.fx = d.fx[:0]
			d.t = t
			d.adjust(t, &out)
			return resultStep, out
		}
		d.rst(stateSYNC, t, 0)
		d.fast = false
		res = resultStep
	} else {
		if d.state != stateFSET { // FSET has no previous offset to compare with
			e := d.jitter * d.jitter
			x := math.Max(math.Abs(offset-d.last), d.precision)
			d.jitter = math.Sqrt(e + (x*x-e)/avgConst)
		}
		offset, freq = d.est.update(d, offset, sampleT, t, delay, mu)
		if d.stepsSmall(offset) {
			d.doStep(offset, &out)
			d.rst(stateSYNC, t, 0)
			res = resultStep
		} else {
			d.rst(stateSYNC, t, offset)
			d.newSlew = d.fast
		}
	}
	d.setFreq(d.freq + freq)
	d.updates++
	if res == resultSlew {
		d.syncUpdates++
	}
	e := d.wander * d.wander
	d.wander = math.Sqrt(e + (freq*freq-e)/avgConst)
	// Poll adjustment (jiggle counter, A.5.5.6), with the estimator's
	// test. With a fitting estimator it counts towards a longer poll
	// only once the fit spans two poll intervals: the updates of a start
	// burst, seconds apart, would fill it within its first quarter minute
	// and let the poll grow before the fit has seen more than those
	// seconds.
	if steady, counts := d.est.pollSteady(d); counts && res == resultSlew && (!steady || !d.est.fits() || d.fitSpan() >= 2*math.Ldexp(1, int(d.poll))) {
		if steady {
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

// fitSpan is the time the fit's samples span, s.
func (d *discipline) fitSpan() float64 {
	if len(d.fx) == 0 {
		return 0
	}
	return d.fx[len(d.fx)-1].t - d.fx[0].t
}

// freqState measures the frequency while the clock runs free (FREQ).
func (d *discipline) freqState(offset, sampleT, t, delay float64, out *clockOut) (updateResult, clockOut) {
	if len(d.fx) == 0 {
		d.fx = append(d.fx, d.earlier(sampleT)...)
	}
	d.fx = append(d.fx, point{sampleT, d.uncorrected(offset, sampleT, t), delay})
	if len(d.fx) > 64 {
		d.fx = d.fx[1:]
	}
	mu := sampleT - d.fx[0].t
	f := fitWeighted(d.fx, d.precision)
	slope, icept, se, ok := f.slope, f.icept, f.se, f.ok
	if ok && !math.IsInf(se, 1) && d.est.fits() && math.Abs(slope) < freqSignificance*math.Max(se, spreadSE(d.fx, d.precision)) {
		// A first frequency that the samples do not tell from the one
		// in force is left as it is: the line is taken flat through
		// their weighted mean.
		icept += slope * f.mt
		slope = 0
	}
	// Without the estimator's word, measure for the whole stepout, as
	// the RFC does.
	if !d.est.freqMeasured(d, mu, se, ok) && !(mu >= stepout && len(d.fx) >= 2) {
		return resultIgnore, *out
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
	d.setFreqEstimate(d.freq+slope/(1+slope), se)
	now := icept + slope*t - d.phase // fitted offset now, less noisy than the last sample
	res := resultSlew
	step := math.Abs(now) > stepThreshold || d.stepsSmall(now)
	d.updates++
	if step {
		d.doStep(now, out)
		d.rst(stateSYNC, t, 0)
		res = resultStep
	} else {
		d.rst(stateSYNC, t, now)
		d.fast, d.newSlew = true, true
	}
	if !d.est.fits() {
		d.fx = d.fx[:0]
	} else {
		// A fitting estimator keeps the points: they are offsets of
		// the uncorrected clock, unaffected by our steps and slews.
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

// stepsSmall reports whether an offset o within the step threshold is
// stepped rather than slewed (Config.MakeStep): above its threshold, within
// its first updates. Called before the update is counted.
func (d *discipline) stepsSmall(o float64) bool {
	m := d.makeStep
	return m.Threshold > 0 && math.Abs(o) > m.Threshold && (m.Updates < 0 || d.updates < m.Updates)
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

func (d *discipline) rst(state discState, t, offset float64) {
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

// setFreqEstimate sets a frequency estimated with standard error se (s/s;
// +Inf when two samples cannot tell). Beyond RFC 5905's MAXFREQ (±500 ppm)
// a fit of three or more samples is believed only when it is
// significantly so, by three standard errors, and held at ±500 ppm
// otherwise: a clock 5 % off measures as such within seconds at 100 µs of
// jitter, but a line through samples 100 ms apart can say 1,000 ppm for a
// clock 100 ppm off, and would carry it seconds away within the stepout.
// Two samples a minimum poll apart (credibleFrequency) are taken as
// they are: held at 500 ppm, a clock 5 % off would run into the step
// threshold before its next sample.
func (d *discipline) setFreqEstimate(f, se float64) {
	if !math.IsInf(se, 1) && math.Abs(f)-3*se <= maxFreq {
		f = math.Max(-maxFreq, math.Min(maxFreq, f))
	}
	d.setFreq(f)
}

func (d *discipline) setFreq(f float64) {
	d.freq = math.Max(-d.freqLimit, math.Min(d.freqLimit, f))
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
	inSync := d.state == stateSYNC || d.state == stateSPIK
	fast := inSync && d.fast
	switch {
	case fast && d.newSlew:
		// Fast mode: the whole offset is slewed, by the clock at its
		// slew rate (clock.Clock.Slew) on top of the frequency, or, if
		// it is small, through the frequency at a gentler rate
		// (gentleSlew).
		d.newSlew = false
		d.slewStart, d.slewTotal = now, d.offset
		d.gentleRate = d.gentleSlew(d.offset)
		if d.gentleRate == 0 {
			out.slew, out.doSlew = d.offset, true
			d.slewing = true
		} else if d.slewing {
			out.slew, out.doSlew = 0, true
			d.slewing = false
		}
	case d.slewing && !fast:
		// Leaving fast mode (or stepped): stop the clock's slew.
		out.slew, out.doSlew = 0, true
		d.slewing = false
	}
	switch {
	case inSync && !d.fast:
		rate = d.offset / (pllGain * math.Min(math.Ldexp(1, int(d.poll)), allan))
		if math.Abs(rate) > math.Abs(d.offset) { // do not overshoot within 1 s
			rate = d.offset
		}
	case fast && !d.slewing:
		rate = math.Copysign(math.Min(math.Abs(d.offset), d.gentleRate), d.offset)
	}
	total := math.Max(-d.freqLimit, math.Min(d.freqLimit, d.freq+rate))
	d.phaseRate = total - d.freq
	if !d.commanded || math.Abs(total-d.applied) > 1e-12 {
		d.applied = total
		d.commanded = true
		out.freq = total
		out.setFreq = true
	}
}

// gentleSlew is the rate, s/s, at which fast mode amortizes the offset o
// through the frequency, or 0 when the clock's slew should take it at its
// slew rate. A clock slewing at 83,333 ppm corrects 50 µs in 0.6 ms, but
// for that instant its rate is 8 % off, and a reader of the clock's rate
// (chrony's harness reads the total frequency every second, as clknetsim's
// get_total_freq) sees it so; chrony itself slews small offsets over a
// multiple of its update interval (corrtimeratio). So an offset up to
// gentleMax is amortized over an eighth of a poll interval, or of the
// time between the last two updates when that is longer (a source that
// answers one poll in 20), at least 8 s (gentleSpan, gentleMinSpan), a
// larger one in proportionally less time
// (its rate grows as o²), and only where that rate would exceed 500 ppm
// (RFC 5905's MAXFREQ, what a reader of the clock takes for a working
// oscillator; from 2 ms up) or the clock's slew rate does the clock slew
// it. The offset is an estimate whose noise the next update corrects in
// turn; a longer span would let wander build up meanwhile (chrony's
// 007-largewander measured 145 µs RMS with half a poll, 133 µs with an
// eighth), a shorter one shows as frequency error at short polls (108-peer
// at 8 s polls exceeded chrony's RMS frequency limit with 1 s).
func (d *discipline) gentleSlew(o float64) float64 {
	a := math.Abs(o)
	rate := a / math.Max(gentleMinSpan, math.Max(math.Ldexp(1, int(d.poll)), d.gap)*gentleSpan)
	if a > gentleMax {
		rate *= a / gentleMax
	}
	if rate > math.Min(maxFreq, d.slewRate) {
		return 0
	}
	return rate
}

// gentleSpan is the time over which fast mode amortizes an offset of at
// most gentleMax, in poll intervals, and at least gentleMinSpan (s);
// gentleMax is in s.
const (
	gentleSpan    = 0.125
	gentleMinSpan = 8.0
	gentleMax     = 1e-3
)

// active reports whether the phase is being amortized, so that adjust
// must run every second.
func (d *discipline) active() bool {
	return !d.slewing && (d.phaseRate != 0 || d.offset != 0 && (d.state == stateSYNC || d.state == stateSPIK))
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

// freqSignificance is how many standard errors the first frequency fit
// (FREQ) must put its slope away from the frequency in force for the
// discipline to take it; the standard error is the fit's, or the one the
// delays' spread implies if it is larger (spreadSE: the weights favour
// the samples of least delay, and three or four samples cannot tell their
// own noise). With 100 ms of jitter (chrony's 006-largejitter) a line
// through the first samples set hundreds of ppm for a clock 100 ppm off
// in one seed in ten, and the offset then ran into the step threshold and
// was held as a spike for the 900 s stepout; a clock whose frequency
// error stands out of the noise (5 %, 100 ppm at 100 µs of jitter) is
// measured as before. Samples whose noise their delays do not show (a
// loaded host) are not caught by it.
const freqSignificance = 2

// spreadSE is the standard error of an unweighted line's slope through p
// if each offset had the noise its delays suggest, whatever its own
// delay: a path with exponential jitter in each direction gives offsets
// of standard deviation about half the median excess delay (twice the
// fit's noise floor).
func spreadSE(p []point, precision float64) float64 {
	dmin := math.Inf(1)
	var mt float64
	for _, x := range p {
		dmin = math.Min(dmin, x.delay)
		mt += x.t
	}
	mt /= float64(len(p))
	sigma := 2 * noiseFloor(p, dmin, precision)
	var stt float64
	for _, x := range p {
		stt += (x.t - mt) * (x.t - mt)
	}
	return sigma / math.Sqrt(stt)
}
