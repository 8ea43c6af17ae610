package ntpengine

import (
	"cmp"
	"math"
	"slices"
)

// Constants of RFC 5905 Appendix A.1.1 used by the filter and mitigation.
const (
	maxStratum = 16   // MAXSTRAT
	maxDisp    = 16.0 // MAXDISP, s
	minDisp    = 0.01 // MINDISP, s
	maxDist    = 1.5  // MAXDIST, s (RFC 5905: 1; ntpd default 1.5, kinder to lossy paths)
	phi        = 15e-6
	nstage     = 8 // NSTAGE
	nmin       = 3 // NMIN: cluster stops at this many survivors
	sgate      = 3 // SGATE: popcorn spike gate
	unreachLim = 12
)

// filterSample is one stage of the clock filter register (RFC 5905 §10).
type filterSample struct {
	T          float64 // engine time of the sample, s
	Offset     float64 // as measured
	Delay      float64
	Dispersion float64
	// Correction is the cumulative correction the discipline had applied
	// to the clock when the sample was taken (steps, frequency and
	// slews). Offset+Correction is the offset of the uncorrected clock.
	Correction float64
	// Basic: a basic-mode sample (RFC 5905 §8), not an interleaved one
	// (RFC 9769; history).
	Basic bool
}

func (s filterSample) norm() float64 { return s.Offset + s.Correction }

// valid: the stage holds a sample (not a poll without reply, A.5.7.1).
func (s filterSample) valid() bool { return s.Dispersion < maxDisp && s.Delay < maxDisp }

// clockFilter is the 8-stage shift register of RFC 5905 §10 with the
// statistics computed from it.
type clockFilter struct {
	Stages [nstage]filterSample // Stages[0] is the newest
	// Last update time, for dispersion growth.
	t float64
	// Outputs. Offset is the best sample's offset of the uncorrected
	// clock, projected to time t with the frequency estimate (see add).
	Offset, Delay, Dispersion, Jitter float64
	// BestT is the time of the sample chosen (lowest delay), and
	// BestCorrection its Correction.
	BestT, BestCorrection float64
	started               bool
	// Newest is the newest sample's uncorrected offset.
	Newest float64
	valid  int
}

func newClockFilter() clockFilter {
	var f clockFilter
	f.reset()
	return f
}

func (f *clockFilter) reset() {
	for i := range f.Stages {
		f.Stages[i] = filterSample{Delay: maxDisp, Dispersion: maxDisp}
	}
	f.Offset, f.Delay, f.Dispersion, f.Jitter = 0, maxDisp, maxDisp, 0
	f.BestT, f.BestCorrection = 0, 0
	f.t = 0
	f.valid = 0
	f.started = false
}

// history returns the valid stages, oldest first, as points of the
// uncorrected clock's offset (Offset+Correction) for the frequency fit. A
// step, the only correction that could make them disagree, resets the
// filter.
//
// Once the filter holds interleaved samples (RFC 9769 §3, §4), a
// basic-mode sample with a longer delay than all of them is left out: a
// peer's basic-mode transmit timestamp is read before the send, which
// makes T3 early by the peer's send latency, the offset off by half of it
// and the delay longer by all of it, where an interleaved sample carries
// the departure. Fitted with the exact samples that follow, the step
// between them, tens of µs within a few seconds, reads as a frequency
// error of ppm. Basic-mode samples within the interleaved ones' delays
// show no such latency and stay. Neither RFC 5905 nor RFC 9769 speaks of
// fitting the two kinds together; the filter itself (§10) keeps every
// stage, and picks by delay, which puts the exact samples first.
func (f *clockFilter) history() []point {
	exactDelay := math.Inf(-1)
	for _, s := range f.Stages {
		if !s.Basic && s.valid() {
			exactDelay = math.Max(exactDelay, s.Delay)
		}
	}
	var p []point
	for i := nstage - 1; i >= 0; i-- {
		s := f.Stages[i]
		late := s.Basic && !math.IsInf(exactDelay, -1) && s.Delay > exactDelay
		if s.valid() && s.T > 0 && !late {
			p = append(p, point{s.T, s.norm(), s.Delay})
		}
	}
	return p
}

// add shifts a sample in (RFC 5905 §10 / A.5.2 clock_filter): older stages
// age by PHI per second, the stages are ordered by delay, and the peer
// offset, delay, dispersion and jitter are recomputed. precision is the
// system precision in seconds (jitter floor).
//
// One refinement: before offsets of different ages are compared, each is
// projected to the time of the newest with freq, the discipline's current
// frequency estimate (s/s), and freed of our own corrections. The RFC
// assumes the residual frequency error times the sample age is negligible;
// at start, with 100 ppm and 8 stages of 64 s, it is not. A NaN freq (the
// discipline has not measured one yet) projects with the slope of the
// stages themselves (ownSlope): projected with none, a clock 100 ppm off
// polled every 2^13 s shows a jitter of the better part of a second, and
// the root distance test (§11.2) would never let its first sample through.
func (f *clockFilter) add(s filterSample, precision, freq float64) {
	age := s.T - f.t
	if !f.started || age < 0 {
		age = 0
	}
	f.started = true
	f.keepStartSamples(s)
	for i := nstage - 1; i > 0; i-- {
		f.Stages[i] = f.Stages[i-1]
		f.Stages[i].Dispersion = math.Min(f.Stages[i].Dispersion+phi*age, maxDisp)
	}
	f.Stages[0] = s
	f.t = s.T

	sorted := f.Stages
	slices.SortStableFunc(sorted[:], func(a, b filterSample) int {
		va, vb := a.Dispersion < maxDisp, b.Dispersion < maxDisp
		switch {
		case va && !vb:
			return -1
		case vb && !va:
			return 1
		}
		return cmp.Compare(a.Delay, b.Delay)
	})
	m := 0
	disp := 0.0
	for i := nstage - 1; i >= 0; i-- {
		disp = 0.5 * (disp + sorted[i].Dispersion)
		if sorted[i].Dispersion < maxDisp {
			m++
		}
	}
	f.valid = m
	f.Dispersion = disp
	if math.IsNaN(freq) {
		freq = f.ownSlope()
	}
	proj := func(x filterSample) float64 { return x.norm() + freq*(s.T-x.T) }
	f.Offset = proj(sorted[0])
	f.Delay = sorted[0].Delay
	f.BestT, f.BestCorrection = sorted[0].T, sorted[0].Correction
	// A dummy stage (a poll without reply, A.5.7.1) is no offset: the
	// newest is the newest valid stage.
	f.Newest = proj(f.newestValid())
	j := 0.0
	for i := 1; i < m; i++ {
		d := proj(sorted[i]) - proj(sorted[0])
		j += d * d
	}
	if m > 1 {
		j = math.Sqrt(j / float64(m-1))
	}
	f.Jitter = math.Max(j, precision)
}

// keepStartSamples makes room for s without lowering the samples in the
// filter below startSamples: if shifting s in would push out a sample
// and leave fewer, the oldest dummy stage (a poll without reply,
// A.5.7.1) goes instead.
//
// This departs from RFC 5905 A.5.7.1, whose register keeps the NSTAGE
// newest stages whatever they hold. That presumes a peer that answers
// more often than it stays silent: a server that answers one request in
// 20 gets five dummy stages (third to seventh poll without reply) for
// each sample and never holds more than two, so it never passes the
// fitness test (§11.2) and the clock is never set, however consistent
// its samples are. Age is accounted for without those stages: each
// stage's dispersion grows by PHI per second, the root distance by PHI
// times the time since the last update, the selection interval by the
// sample's age times the frequency error bound (selDist), and a peer
// whose reach register is empty is not fit at all (§11.2), so old samples
// keep no silent source selected. chrony likewise keeps an unreachable
// source's samples and selects it again when it answers. The dummy
// stages still raise the dispersion (and the RFC's root distance) of a
// filter that holds more samples, as the RFC's do.
func (f *clockFilter) keepStartSamples(s filterSample) {
	last := f.Stages[nstage-1]
	if last.Dispersion >= maxDisp {
		return
	}
	left := f.valid - 1
	if s.Dispersion < maxDisp {
		left++
	}
	if left >= startSamples {
		return
	}
	for i := nstage - 2; i >= 0; i-- {
		if x := f.Stages[i]; x.Dispersion >= maxDisp {
			copy(f.Stages[i:], f.Stages[i+1:])
			f.Stages[nstage-1] = x
			return
		}
	}
}

// emptyDispersion is the share of the empty stages in Dispersion: RFC 5905
// §10 sums the stages sorted valid first, stage i weighted 2^-(i+1), and
// an empty stage holds MAXDISP.
func (f *clockFilter) emptyDispersion() float64 {
	return maxDisp * (math.Ldexp(1, -f.valid) - math.Ldexp(1, -nstage))
}

// validSpan is the time between the oldest and the newest valid stage, s.
func (f *clockFilter) validSpan() float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range f.Stages {
		if x.Dispersion < maxDisp && x.Delay < maxDisp {
			lo, hi = math.Min(lo, x.T), math.Max(hi, x.T)
		}
	}
	return hi - lo
}

// newestValid is the newest stage holding a sample (not a dummy stage of a
// poll without reply); the newest stage if none does.
func (f *clockFilter) newestValid() filterSample {
	for _, x := range f.Stages {
		if x.Dispersion < maxDisp && x.Delay < maxDisp {
			return x
		}
	}
	return f.Stages[0]
}

// ownSlope is the rate of change of the valid stages' offsets of the
// uncorrected clock (least squares over their times), s/s; 0 with fewer
// than two stages at different times.
func (f *clockFilter) ownSlope() float64 {
	var n, st, so float64
	for _, x := range f.Stages {
		if x.Dispersion < maxDisp {
			n++
			st += x.T
			so += x.norm()
		}
	}
	if n < 2 {
		return 0
	}
	mt, mo := st/n, so/n
	var stt, sto float64
	for _, x := range f.Stages {
		if x.Dispersion < maxDisp {
			stt += (x.T - mt) * (x.T - mt)
			sto += (x.T - mt) * (x.norm() - mo)
		}
	}
	if stt == 0 {
		return 0
	}
	return sto / stt
}
