package ntpengine

import "math"

// regression is the default estimator (DisciplineRegression): in SYNC it
// fits a line through up to 64 samples spanning 8 polls, or more when the
// samples are noisy (regressPolls, runsWindow), or through every sample
// of its history when a line describes them all (longFit), weighted by
// their delay and age (fitWeighted). Its slope is the frequency and its
// value now the offset, which is slewed at once at the clock's slew
// rate. The poll
// interval follows the RFC's jiggle counter, driven by the fit's
// prediction error against the noise the delays predict, so wander
// shortens the poll; it grows only once the frequency is known
// (freqKnown). After FSET it weighs the file's frequency into its fit as
// a prior of 1 ppm standard error (freqPriorSigma), so that a few close
// burst samples do not replace it with a noisier slope; the prior is
// dropped for good once the fit alone is as precise.
//
// A sample that misses the fit's prediction by more than missGate times
// the error expected of the difference (the sample's noise, including
// what its delay does not explain, and the prediction's own uncertainty)
// is a change of the clock or the path only if the next one misses on
// the same side; then the fit starts again from those two. A lone miss is
// an outlier, left out of the fit (RFC 5905 §10 drops popcorn spikes for
// the same reason): restarting from it, as a fit of three samples with it
// at the end, set a frequency a ppm or more off on a quiet path with one
// late timestamp, and the next sample missed in turn.
//
// The samples (discipline.fx) are those of FREQ, kept: offsets of the
// uncorrected clock, which our steps and slews leave valid.
type regression struct {
	// fit is the last fit, valid while fitOK.
	fit   lineFit
	fitOK bool
	// predErr is the error of the last fit's prediction for the newest
	// sample, predNoise the noise expected of that sample.
	predErr, predNoise float64
	// held is a sample that missed the fit's prediction by more than
	// missGate times its expected error, kept out of the fit (heldErr
	// its prediction error) until the next sample tells an outlier
	// (predicted again) from a change of the clock or the path (missed
	// on the same side).
	held    point
	heldErr float64
	holding bool
	// hist holds the samples of d.fx and older ones of the same fit, up
	// to regressMax within wanderSpan: the longer window longFit may
	// choose.
	hist []point
}

func (r *regression) update(d *discipline, offset, sampleT, t, delay, _ float64) (phase, dfreq float64) {
	d.fast = true
	return r.regress(d, offset, sampleT, t, delay), 0
}

// freqMeasured ends FREQ when three samples span freqMinSpan, or two span a
// minimum poll interval (samples are scarce: better a rough frequency
// than a clock left running free), or freqSEMinSamples have a slope
// whose standard error is at most freqEstimateDone, and the estimate is
// credible.
func (r *regression) freqMeasured(d *discipline, mu, se float64, ok bool) bool {
	done := len(d.fx) >= freqMinSamples && (ok && se <= freqEstimateDone && len(d.fx) >= freqSEMinSamples || mu >= freqMinSpan) ||
		len(d.fx) >= 2 && mu >= math.Ldexp(1, int(d.minPoll))
	return done && d.credibleFrequency(se)
}

// pollSteady: the poll interval grows only while the fit predicts each
// new sample within the noise its delay implies, and the frequency is
// known (freqKnown).
func (r *regression) pollSteady(d *discipline) (steady, counts bool) {
	return math.Abs(r.predErr) < regressPollGate*math.Max(r.predNoise, d.precision) && r.freqKnown(d), true
}

// freqSE is the standard error of the last fit's slope (with the prior,
// when one is in force).
func (r *regression) freqSE(*discipline) (float64, bool) { return r.fit.se, r.fitOK }

func (r *regression) fits() bool { return true }

// freqSEMinSamples is the fewest samples whose fit's standard error may
// end FREQ before they span freqMinSpan. Three samples 2 s apart leave
// the fit one degree of freedom: their residuals cannot tell noise that
// the delays do not show (a loaded host's timestamps, 17 µs with delays
// within a few µs), and the standard error the delays imply let a slope
// 8 ppm off end FREQ; the next sample, 16 s on, then missed the line by
// 130 µs, and the fit restarted from two samples with that frequency
// kept. With four, the frequency after six samples at that noise is
// 0.63 ppm RMS where it was 1.17 (an unweighted line's: 0.51).
const freqSEMinSamples = 4

// missGate is how many times its expected error a sample must miss the
// fit's prediction by for the fit to count it as a miss (regress).
const missGate = 8

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
// the RFC's counter alone decides.
func (r *regression) freqKnown(d *discipline) bool {
	if !r.fitOK {
		return false
	}
	if r.fit.se <= pollFreqSE {
		return true
	}
	dmin := math.Inf(1)
	for _, x := range d.fx {
		dmin = math.Min(dmin, x.delay)
	}
	return r.fit.se*math.Ldexp(1, int(d.poll)+1) <= noiseFloor(d.fx, dmin, d.precision)
}

// regress adds a sample to the steady-state fit, sets the frequency from
// its slope and returns the fitted offset at t.
func (r *regression) regress(d *discipline, offset, sampleT, t, delay float64) float64 {
	u := d.uncorrected(offset, sampleT, t)
	r.predErr = 0
	if r.fitOK {
		// Judge the prediction error against the error expected of it:
		// the sample's noise (half its excess delay above the fit's
		// noise floor, and the noise the delays do not explain,
		// lineFit.s2) and the uncertainty of the prediction itself.
		dmin := math.Inf(1)
		for _, x := range d.fx {
			dmin = math.Min(dmin, x.delay)
		}
		e := math.Max(0, delay-dmin)/2 + noiseFloor(d.fx, dmin, d.precision)
		r.predNoise = math.Sqrt(e*e + r.fit.s2)
		r.predErr = u - (r.fit.icept + r.fit.slope*sampleT)
		last := d.fx[len(d.fx)-1].t
		miss := len(d.fx) > 3 && math.Abs(r.predErr) > missGate*math.Hypot(r.predNoise, r.fit.predSD(sampleT))
		switch {
		case miss && r.holding && r.held.t > last && r.heldErr*r.predErr > 0:
			// The model no longer predicts, twice on the same side:
			// start again from these two samples (the frequency
			// stays until a third comes).
			d.fx = append(d.fx[:0], r.held)
			r.hist = r.hist[:0]
			r.holding = false
		case miss && sampleT-last <= 2*math.Ldexp(1, int(d.poll)):
			// Once may be an outlier: keep it aside, and the clock on
			// the fit. Restarting from it would fit a line through it
			// and two samples before, whose slope would carry the
			// clock off until the next samples missed in turn.
			r.held, r.heldErr, r.holding = point{sampleT, u, delay}, r.predErr, true
			return r.fit.icept + r.fit.slope*t - d.phase
		case miss:
			// After a gap (a source answering now and then) the
			// clock's wander alone may explain a miss: start again.
			d.fx = d.fx[len(d.fx)-2:]
			r.hist = r.hist[:0]
			r.holding = false
		default:
			r.holding = false
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
	// Gaps without samples (a source that stopped answering, a switch
	// to another) count as two polls in the span: they say nothing
	// about the wander, and cutting the history at the new sample would
	// leave a line through a few samples to be extrapolated across them.
	for len(d.fx) > freqMinSamples && sampledSpan(d.fx, 2*math.Ldexp(1, int(d.poll))) > span {
		d.fx = d.fx[1:]
	}
	if polls > regressSpanPolls {
		if cut := runsWindow(d.fx, d.precision); cut > 0 {
			// The offsets bend: what is older is of no use to a
			// longer window either.
			d.fx = d.fx[cut:]
			r.hist = r.hist[:0]
		}
	}
	f := fitWeighted(d.fx, d.precision)
	r.keepHistory(d)
	if g, ok := r.longFit(d); ok {
		f = g
	}
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
		r.fitOK = false
		return offset
	}
	r.fit, r.fitOK = f, true
	old := d.freq
	d.setFreqEstimate(f.slope, f.se)
	e := d.wander * d.wander
	df := d.freq - old
	d.wander = math.Sqrt(e + (df*df-e)/avgConst)
	return f.icept + f.slope*t - d.phase
}

// sampledSpan is the time p covers with every gap between consecutive
// samples counted as at most maxGap.
func sampledSpan(p []point, maxGap float64) float64 {
	s := 0.0
	for i := 1; i < len(p); i++ {
		s += math.Min(p[i].t-p[i-1].t, maxGap)
	}
	return s
}

// offsetSD is the standard error of the offset the last fit set the
// clock to, projected to t (the fit's value there), s; ok is false when
// there is no such fit (fewer than three samples since it started).
func (r *regression) offsetSD(t float64) (sd float64, ok bool) {
	if !r.fitOK || math.IsInf(r.fit.se, 1) {
		return 0, false
	}
	return r.fit.predSD(t), true
}

// keepHistory adds the newest sample of d.fx to the history, or starts
// the history afresh from d.fx when the fit started again (a change of
// the clock or the path, FREQ's samples put on a new time scale), and
// keeps it within regressMax samples and the span a line may cover if
// the clock wanders as a typical oscillator does (wanderSpan). Gaps
// count as in the fit's span (sampledSpan).
func (r *regression) keepHistory(d *discipline) {
	n, m := len(r.hist), len(d.fx)
	if m < 2 || n < m-1 || r.hist[n-1] != d.fx[m-2] || r.hist[n-m+1] != d.fx[0] {
		r.hist = append(r.hist[:0], d.fx...)
		return
	}
	r.hist = append(r.hist, d.fx[m-1])
	span := wanderSpan(r.hist, d.precision)
	maxGap := 2 * math.Ldexp(1, int(d.poll))
	drop := 0
	for len(r.hist)-drop > regressMax || len(r.hist)-drop > m && sampledSpan(r.hist[drop:], maxGap) > span {
		drop++
	}
	if drop > 0 {
		r.hist = append(r.hist[:0], r.hist[drop:]...)
	}
}

// wanderPrior is the wander assumed of a clock whose own wander the
// samples cannot tell, as the standard deviation of its frequency's
// random walk per √s: a quartz oscillator's, and the default of chrony's
// simulation tests (1 ppb/s).
const wanderPrior = 1e-9

// wanderSpan is the longest span, s, over which such a wander keeps a
// clock's offsets within the noise floor of the samples p from a line:
// a random walk of ω per √s bends them by about ω·T^(3/2) over T.
func wanderSpan(p []point, precision float64) float64 {
	dmin := math.Inf(1)
	for _, x := range p {
		dmin = math.Min(dmin, x.delay)
	}
	return math.Pow(noiseFloor(p, dmin, precision)/wanderPrior, 2.0/3)
}

// longFit is the fit through the whole history (regression.hist) when
// it holds more samples than d.fx, at least longMinSamples, and a line
// describes it: its residuals pass the runs test (runsWindow keeps them
// all) and a weighted quadratic through it has no curvature beyond
// bendZ standard errors. The span of d.fx (regressPolls) is counted in
// poll intervals, eight at low noise: at a 16 s poll, eight samples,
// whose line's value at the newest end is off by about twice their
// noise over √8. Where the clock's wander cannot bend the offsets within
// the history's span (wanderSpan) and the samples show no bend, every
// sample of it serves better — as chrony's regression keeps up to 64
// samples while a runs test finds no bend.
func (r *regression) longFit(d *discipline) (lineFit, bool) {
	if len(r.hist) < longMinSamples || len(r.hist) <= len(d.fx) || runsWindow(r.hist, d.precision) != 0 {
		return lineFit{}, false
	}
	if c, se, ok := curvature(r.hist, d.precision); !ok || math.Abs(c) > bendZ*se {
		return lineFit{}, false
	}
	f := fitWeighted(r.hist, d.precision)
	return f, f.ok
}

// longMinSamples is the fewest samples of a history longFit fits; bendZ
// how many standard errors of its curvature say that it bends.
const (
	longMinSamples = 16
	bendZ          = 1.5
)

// curvature is the coefficient c of a weighted least-squares quadratic
// off = a + b·u + c·u² (u = t less the weighted mean time) through p,
// with the weights of fitWeighted, and its standard error (inflated by
// the reduced chi-square, as fitWith's slope).
func curvature(p []point, precision float64) (c, se float64, ok bool) {
	_, w := fitWeights(p, precision)
	var sw, mt float64
	for i, x := range p {
		sw += w[i]
		mt += w[i] * x.t
	}
	mt /= sw
	// Normal equations of the basis 1, u, u².
	var m [3][3]float64
	var rhs [3]float64
	for i, x := range p {
		u := x.t - mt
		b := [3]float64{1, u, u * u}
		for j := range 3 {
			for k := range 3 {
				m[j][k] += w[i] * b[j] * b[k]
			}
			rhs[j] += w[i] * b[j] * x.off
		}
	}
	inv, ok := invert3(m)
	if !ok {
		return 0, 0, false
	}
	var coef [3]float64
	for j := range 3 {
		for k := range 3 {
			coef[j] += inv[j][k] * rhs[k]
		}
	}
	var rss float64
	for i, x := range p {
		u := x.t - mt
		e := x.off - coef[0] - coef[1]*u - coef[2]*u*u
		rss += w[i] * e * e
	}
	chi2 := math.Max(1, rss/float64(len(p)-3))
	return coef[2], math.Sqrt(chi2 * inv[2][2]), true
}

// invert3 inverts a symmetric 3×3 matrix by its adjugate.
func invert3(m [3][3]float64) (inv [3][3]float64, ok bool) {
	c00 := m[1][1]*m[2][2] - m[1][2]*m[2][1]
	c01 := m[1][2]*m[2][0] - m[1][0]*m[2][2]
	c02 := m[1][0]*m[2][1] - m[1][1]*m[2][0]
	det := m[0][0]*c00 + m[0][1]*c01 + m[0][2]*c02
	if det == 0 || math.IsNaN(det) || math.IsInf(det, 0) {
		return inv, false
	}
	inv[0][0] = c00 / det
	inv[0][1] = (m[0][2]*m[2][1] - m[0][1]*m[2][2]) / det
	inv[0][2] = (m[0][1]*m[1][2] - m[0][2]*m[1][1]) / det
	inv[1][0] = c01 / det
	inv[1][1] = (m[0][0]*m[2][2] - m[0][2]*m[2][0]) / det
	inv[1][2] = (m[0][2]*m[1][0] - m[0][0]*m[1][2]) / det
	inv[2][0] = c02 / det
	inv[2][1] = (m[0][1]*m[2][0] - m[0][0]*m[2][1]) / det
	inv[2][2] = (m[0][0]*m[1][1] - m[0][1]*m[1][0]) / det
	return inv, true
}
