package ntpengine

import (
	"math"
	"slices"
)

// point is one sample of a frequency fit: its time, the offset of the
// uncorrected clock then, and its round-trip delay, s.
type point struct{ t, off, delay float64 }

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
// sample for the same reason); and with its age (ageDisp). Noise that the
// delays do not explain (excessVariance) weighs on every sample alike.
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
	// s2 is the variance of the samples' noise beyond what their delays
	// explain (excessVariance), s².
	s2 float64
	ok bool
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
	f, _ := fitWeights(p, precision)
	return f
}

// fitWeights is fitWeighted, with the weights it fitted with.
func fitWeights(p []point, precision float64) (lineFit, []float64) {
	if len(p) < 2 {
		return lineFit{}, nil
	}
	dmin := math.Inf(1)
	for _, x := range p {
		dmin = math.Min(dmin, x.delay)
	}
	sigma0 := noiseFloor(p, dmin, precision)
	w := make([]float64, len(p))
	tmax := p[len(p)-1].t
	for i, x := range p {
		e := (x.delay-dmin)/2 + sigma0 + ageDisp*(tmax-x.t)
		w[i] = 1 / (e * e)
	}
	f := fitWith(p, w)
	if !f.ok || len(p) < excessMinSamples {
		return f, w
	}
	// Noise the delays do not explain is every sample's alike: add it to
	// each one's variance and fit again, so that a few samples of low
	// delay do not carry the line alone.
	s2 := excessVariance(p, w, f)
	if s2 > 0 {
		for i := range w {
			w[i] = 1 / (1/w[i] + s2)
		}
		if g := fitWith(p, w); g.ok {
			f = g
		}
	}
	f.s2 = s2
	return f, w
}

// fitWith is the least-squares line through p with weights w, taken as
// the inverse variances of the samples.
func fitWith(p []point, w []float64) lineFit {
	var sw, mt, mo float64
	for i, x := range p {
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
	// Standard error of the slope with the weights taken as inverse
	// variances, inflated by the reduced chi-square when the residuals
	// are larger than the weights predict.
	chi2 := math.Max(1, rss/(n-2))
	return lineFit{slope: slope, icept: icept, se: math.Sqrt(chi2 / stt), mt: mt, vmean: chi2 / sw, ok: true}
}

// excessVariance is the variance s², added to every sample's expected
// error e_i² (w_i = 1/e_i²), at which the residuals of the fit f are as
// large as those errors say: the median of r_i²/(e_i²+s²) is that of a χ²
// variable of one degree of freedom (chi2Median), scaled by (n−2)/n for
// the two parameters fitted. The delays explain the noise of a path whose
// directions queue packets (RFC 5905 §8: an offset is off by at most half
// the delay's excess); they do not explain a host that timestamps late now
// and then, or a path whose two directions change alike. The median, not
// the sum, so that one wild sample does not count as noise of them all:
// the term of sample i reaches the median where s² = r_i²/c − e_i², and s²
// is the median of those, at least 0.
func excessVariance(p []point, w []float64, f lineFit) float64 {
	n := float64(len(p))
	c := chi2Median * (n - 2) / n
	s := make([]float64, len(p))
	for i, x := range p {
		r := x.off - f.icept - f.slope*x.t
		s[i] = r*r/c - 1/w[i]
	}
	slices.Sort(s)
	return math.Max(0, s[len(s)/2])
}

// excessMinSamples is the fewest samples whose residuals tell an excess
// variance (excessVariance) from chance; chi2Median is the median of a χ²
// variable of one degree of freedom.
const (
	excessMinSamples = 8
	chi2Median       = 0.455
)

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
