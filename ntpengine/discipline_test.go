package ntpengine

import (
	"math"
	"math/rand/v2"
	"testing"
)

func newDisc(mode DisciplineMode) *discipline {
	d := newDiscipline(1e-6, 6, 10)
	d.setMode(mode)
	return &d
}

// fitOf is the regression estimator of d.
func fitOf(d *discipline) *regression { return d.est.(*regression) }

// trueRate is the frequency correction for offsets that change by s per
// second of the free-running clock (TestFrequencyMeasuredInTrueSeconds).
func trueRate(s float64) float64 { return s / (1 + s) }

// feed gives the discipline samples of a clock whose offset is off0 +
// slope·t, every step seconds from t0, and returns the last result.
func feed(d *discipline, t0, step float64, n int, off func(t float64) float64) (updateResult, clockOut, float64) {
	var r updateResult
	var o clockOut
	t := t0
	for i := 0; i < n; i++ {
		t = t0 + float64(i)*step
		r, o = d.update(off(t)-d.phaseAt(t), t, t, 0.001)
	}
	return r, o, t
}

// TestDisciplineTransitions is one row per state transition of the clock
// discipline state machine (RFC 5905 §11.3, A.5.5.6).
func TestDisciplineTransitions(t *testing.T) {
	t.Run("RFC5905 §11.3 NSET small offset → FREQ, ignored", func(t *testing.T) {
		d := newDisc(DisciplineRFC)
		r, o := d.update(0.01, 1, 1, 0.001)
		if r != resultIgnore || d.state != stateFREQ || o.stepped {
			t.Errorf("result %v state %v out %+v", r, d.state, o)
		}
	})
	t.Run("RFC5905 §11.3 NSET offset above 128 ms → step, FREQ", func(t *testing.T) {
		d := newDisc(DisciplineRFC)
		r, o := d.update(0.2, 1, 1, 0.001)
		if r != resultStep || d.state != stateFREQ || !o.stepped || o.step != 0.2 {
			t.Errorf("result %v state %v out %+v", r, d.state, o)
		}
	})
	t.Run("RFC5905 §11.3 offset above panic threshold → panic, nothing done", func(t *testing.T) {
		d := newDisc(DisciplineRFC)
		r, o := d.update(1001, 1, 1, 0.001)
		if r != resultPanic || o.stepped || d.state != stateNSET {
			t.Errorf("result %v state %v out %+v", r, d.state, o)
		}
	})
	t.Run("RFC5905 §11.3 FREQ measures the frequency, then SYNC", func(t *testing.T) {
		d := newDisc(DisciplineRFC)
		// The clock gains 50 µs/s: the offset falls 50 ppm.
		r, _, last := feed(d, 0, 64, 16, func(t float64) float64 { return 0.01 - 50e-6*t })
		if r != resultSlew || d.state != stateSYNC || last < stepout {
			t.Fatalf("result %v state %v", r, d.state)
		}
		if math.Abs(d.freq-trueRate(-50e-6)) > 1e-12 {
			t.Errorf("frequency %v ppm", d.freq*1e6)
		}
	})
	t.Run("RFC5905 §11.3 FREQ with noisy samples waits for the stepout", func(t *testing.T) {
		d := newDisc(DisciplineRFC)
		noise := []float64{0.04, -0.03, 0.05, -0.06, 0.02, 0.035, -0.04, 0.01, -0.02, 0.03, -0.05, 0.04, 0.0, 0.03, -0.03, 0.01}
		i := 0
		r, _, last := feed(d, 0, 64, 16, func(float64) float64 { i++; return noise[i-1] })
		if last < stepout || r != resultSlew || d.state != stateSYNC {
			t.Errorf("left FREQ at %v with %v, state %v", last, r, d.state)
		}
	})
	t.Run("RFC5905 §11.3 FREQ ends with a step when the offset grew past 128 ms", func(t *testing.T) {
		d := newDisc(DisciplineRFC)
		r, o, _ := feed(d, 0, 64, 16, func(t float64) float64 { return 0.1 + 40e-6*t })
		if r != resultStep || !o.stepped || d.state != stateSYNC {
			t.Errorf("result %v state %v out %+v", r, d.state, o)
		}
	})
	sync := func(mode DisciplineMode) *discipline {
		d := newDisc(mode)
		feed(d, 0, 64, 16, func(float64) float64 { return 0 })
		if d.state != stateSYNC {
			t.Fatal("not in SYNC")
		}
		return d
	}
	t.Run("RFC5905 §11.3 SYNC offset above 128 ms → SPIK, ignored", func(t *testing.T) {
		d := sync(DisciplineRFC)
		r, o := d.update(0.3, d.t+64, d.t+64, 0.001)
		if r != resultIgnore || d.state != stateSPIK || o.stepped {
			t.Errorf("result %v state %v", r, d.state)
		}
	})
	t.Run("RFC5905 §11.3 SPIK then a normal offset → SYNC", func(t *testing.T) {
		d := sync(DisciplineRFC)
		d.update(0.3, d.t+64, d.t+64, 0.001)
		r, _ := d.update(0.001, d.t+128, d.t+128, 0.001)
		if r != resultSlew || d.state != stateSYNC {
			t.Errorf("result %v state %v", r, d.state)
		}
	})
	t.Run("RFC5905 §11.3 SPIK persisting past the stepout → step", func(t *testing.T) {
		d := sync(DisciplineRFC)
		t0 := d.t
		d.update(0.3, t0+64, t0+64, 0.001)
		r, _ := d.update(0.3, t0+600, t0+600, 0.001)
		if r != resultIgnore {
			t.Errorf("within stepout: %v", r)
		}
		r, o := d.update(0.3, t0+stepout+1, t0+stepout+1, 0.001)
		if r != resultStep || !o.stepped || d.state != stateSYNC || d.poll != d.minPoll {
			t.Errorf("result %v state %v out %+v", r, d.state, o)
		}
	})
	t.Run("RFC5905 §11.3 PLL frequency update", func(t *testing.T) {
		d := sync(DisciplineRFC)
		d.fast = false
		f0 := d.freq
		mu := 64.0
		d.update(0.001, d.t+mu, d.t+mu, 0.001)
		den := 4 * pllGain * 64.0
		want := f0 + 0.001*mu/(den*den)
		if math.Abs(d.freq-want) > 1e-15 {
			t.Errorf("freq %v want %v", d.freq, want)
		}
	})
	t.Run("RFC5905 §11.3 clock_adjust amortizes the phase over 16·2^τ s", func(t *testing.T) {
		d := sync(DisciplineRFC)
		d.fast = false
		_, o := d.update(0.002, d.t+64, d.t+64, 0.001)
		want := d.freq + 0.002/(pllGain*64)
		if !o.setFreq || math.Abs(o.freq-want) > 1e-12 {
			t.Errorf("commanded %v want %v", o.freq, want)
		}
	})
	t.Run("RFC5905 §11.3 frequency limited to ±500 ppm", func(t *testing.T) {
		d := newDisc(DisciplineRFC)
		feed(d, 0, 64, 16, func(t float64) float64 { return -900e-6 * t })
		if d.freq != -maxFreq {
			t.Errorf("freq %v ppm", d.freq*1e6)
		}
	})
	t.Run("beyond RFC5905 §11.3 MAXFREQ: the clock's frequency limit", func(t *testing.T) {
		for _, mode := range []DisciplineMode{DisciplineRFC, DisciplineRegression} {
			d := newDisc(mode)
			d.freqLimit = 0.1 // Config.FrequencyLimitPPM of a virtual clock
			feed(d, 0, 64, 16, func(t float64) float64 { return -0.05 * t })
			if want := trueRate(-0.05); math.Abs(d.freq-want) > 1e-9 || math.Abs(d.applied-want) > 1e-3 {
				t.Errorf("mode %d: freq %v ppm, commanded %v ppm, want %v", mode, d.freq*1e6, d.applied*1e6, want*1e6)
			}
		}
	})
	t.Run("RFC5905 A.5.5.6 poll interval rises with small offsets", func(t *testing.T) {
		d := sync(DisciplineRFC)
		d.fast = false
		d.jitter = 0.001
		for i := 0; i < 40; i++ {
			d.update(0.0001*float64(1-2*(i%2)), d.t+64, d.t+64, 0.001)
		}
		if d.poll <= 6 {
			t.Errorf("poll %d", d.poll)
		}
	})
	t.Run("RFC5905 A.5.5.6 poll interval falls with large offsets", func(t *testing.T) {
		d := sync(DisciplineRFC)
		d.fast = false
		d.poll = 9
		for i := 0; i < 40; i++ {
			d.update(0.05, d.t+512, d.t+512, 0.001)
		}
		if d.poll != d.minPoll {
			t.Errorf("poll %d", d.poll)
		}
	})
	t.Run("regression mode: FREQ → SYNC after 4 samples 2 s apart (freqSEMinSamples), offset slewed", func(t *testing.T) {
		d := newDisc(DisciplineRegression)
		if r, _, _ := feed(d, 0, 2, 3, func(t float64) float64 { return 0.05 - 80e-6*t }); r != resultIgnore || d.state != stateFREQ {
			t.Fatalf("three samples over 4 s: result %v state %v, want FREQ", r, d.state)
		}
		d = newDisc(DisciplineRegression)
		r, o, _ := feed(d, 0, 2, 4, func(t float64) float64 { return 0.05 - 80e-6*t })
		if r != resultSlew || d.state != stateSYNC || !o.doSlew {
			t.Fatalf("result %v state %v out %+v", r, d.state, o)
		}
		if math.Abs(d.freq-trueRate(-80e-6)) > 1e-12 || math.Abs(o.slew-(0.05-80e-6*6)) > 1e-6 {
			t.Errorf("freq %v slew %v", d.freq, o.slew)
		}
	})
}

func TestFitLine(t *testing.T) {
	p := []point{{0, 1, 0.01}, {10, 2, 0.01}, {20, 3, 0.01}, {30, 4.5, 0.5}}
	slope, icept, se, ok := fitLine(p, 1e-6)
	// The high-delay point has almost no weight.
	if !ok || math.Abs(slope-0.1) > 0.01 || math.Abs(icept-1) > 0.05 || se <= 0 {
		t.Errorf("slope %v icept %v se %v", slope, icept, se)
	}
	if _, _, _, ok := fitLine(p[:1], 1e-6); ok {
		t.Error("one point fitted")
	}
}

// TestDisciplineSlewAccounting: the discipline accounts for a slew at the
// clock's slew rate (Config.MaxSlewRate) of elapsed time, never beyond its
// size: per second of the slewing clock itself, a forward slew advances by
// rate/(1+rate).
func TestDisciplineSlewAccounting(t *testing.T) {
	for _, rate := range []float64{500e-6, 1.0 / 12} {
		d := newDisc(DisciplineRegression)
		d.slewRate, d.rateKnown = rate, true
		_, o, t0 := feed(d, 0, 2, 4, func(t float64) float64 { return 0.05 - 80e-6*t })
		if !o.doSlew || o.slew < 0.049 {
			t.Fatalf("rate %v: no slew commanded: %+v", rate, o)
		}
		slew, p0, f := o.slew, d.phase, d.applied
		perClockSecond := rate / (1 + rate)
		model := func(ts float64) float64 { return p0 + f*(ts-t0) + math.Min(slew, perClockSecond*(ts-t0)) }
		for _, dt := range []float64{0.3, 1, 5, 100, 1000} {
			if got := d.phaseAt(t0 + dt); math.Abs(got-model(t0+dt)) > 1e-12 {
				t.Errorf("rate %v: phaseAt(+%v) = %v, want %v", rate, dt, got, model(t0+dt))
			}
		}
		var co clockOut
		d.adjust(t0+0.5, &co)
		if math.Abs(d.phase-model(t0+0.5)) > 1e-12 {
			t.Errorf("rate %v: phase after adjust %v, want %v", rate, d.phase, model(t0+0.5))
		}
		// Looking back into the slew in progress.
		if got := d.phaseAt(t0 + 0.25); math.Abs(got-model(t0+0.25)) > 1e-12 {
			t.Errorf("rate %v: phaseAt(+0.25) looking back = %v, want %v", rate, got, model(t0+0.25))
		}
		d.adjust(t0+3000, &co)
		if math.Abs(d.phase-model(t0+3000)) > 1e-9 || d.offset != 0 {
			t.Errorf("rate %v: slew overshot: phase %v want %v, left %v", rate, d.phase, model(t0+3000), d.offset)
		}
	}
}

// TestSlewBusy: samples wait only for long slews at a rate the caller did
// not state.
func TestSlewBusy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rate     float64
		known    bool
		offset   float64
		wantBusy bool
	}{
		{"unstated rate, 50 ms slew (100 s at 500 ppm): busy", defaultSlewRate, false, 0.05, true},
		{"unstated rate, 100 µs slew (0.2 s): not busy", defaultSlewRate, false, 100e-6, false},
		{"stated 500 ppm, 50 ms slew: accounted, not busy", 500e-6, true, 0.05, false},
		{"stated 83,333 ppm, 50 ms slew: not busy", 1.0 / 12, true, 0.05, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDisc(DisciplineRegression)
			d.slewRate, d.rateKnown = tc.rate, tc.known
			d.slewing, d.offset = true, tc.offset
			if got := d.slewBusy(); got != tc.wantBusy {
				t.Errorf("slewBusy = %v", got)
			}
		})
	}
}

// TestFrequencyFitSeeded: the samples that reached the filter before the
// peer passed the fitness test seed the frequency fit, so that FREQ ends
// at the first update when they span 8 s.
func TestFrequencyFitSeeded(t *testing.T) {
	d := newDisc(DisciplineRegression)
	line := func(t float64) float64 { return 0.05 - 100e-6*t }
	for _, s := range []float64{0, 2, 4, 6} {
		d.seed = append(d.seed, point{s, line(s), 0.001})
	}
	d.seed = append(d.seed, point{9, 1, 0.001}) // not older than the sample: ignored
	r, o := d.update(line(8), 8, 8, 0.001)
	if r != resultSlew || d.state != stateSYNC || !o.doSlew {
		t.Fatalf("result %v state %v: FREQ did not end at the first update", r, d.state)
	}
	if math.Abs(d.freq-trueRate(-100e-6)) > 1e-12 || d.seed != nil {
		t.Errorf("frequency %v ppm, seed %v", d.freq*1e6, d.seed)
	}
}

// TestRunsWindow: a line with noise keeps every sample; offsets that bend
// (a frequency change) lose the older ones.
func TestRunsWindow(t *testing.T) {
	noise := func(i int) float64 { return 20e-6 * math.Sin(float64(i)*2.7) }
	var line, bent []point
	for i := 0; i < 48; i++ {
		x := float64(i) * 64
		line = append(line, point{x, 1e-6*x + noise(i), 0.001})
		b := 1e-6 * x
		if i < 24 {
			b += 2e-6 * (float64(i-24) * 64) // the frequency changed by 2 ppm at sample 24
		}
		bent = append(bent, point{x, b + noise(i), 0.001})
	}
	if got := runsWindow(line, 1e-6); got != 0 {
		t.Errorf("line: window starts at %d, want 0", got)
	}
	if got := runsWindow(bent, 1e-6); got < 12 {
		t.Errorf("bent: window starts at %d, want the older samples dropped", got)
	}
}

// TestRegressPolls: the steady-state fit spans 8 polls for precise samples
// and more, up to 64, for noisy ones (√σ).
func TestRegressPolls(t *testing.T) {
	mk := func(excess float64) []point {
		var p []point
		for i := 0; i < 16; i++ {
			p = append(p, point{float64(i), 0, 0.0002 + excess*float64(i%2)})
		}
		return p
	}
	for _, tc := range []struct {
		name   string
		excess float64
		want   float64
	}{
		{"precise samples: 8 polls", 0, 8},
		{"median excess 100 µs (σ 25 µs): 8 polls", 100e-6, 8},
		{"median excess 2 ms (σ 0.5 ms): 8·√10 polls", 2e-3, 8 * math.Sqrt(10)},
		{"median excess 1 s: capped at 64", 1, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := regressPolls(mk(tc.excess), 1e-6); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("regressPolls = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFitLineAgesOldSamples: of samples with the same delay, the older
// weigh less (ageDisp): with equal weights the line through these three
// would read -16.7 µs at the newest.
func TestFitLineAgesOldSamples(t *testing.T) {
	p := []point{{0, 100e-6, 0.001}, {1000, 0, 0.001}, {2000, 0, 0.001}}
	slope, icept, _, ok := fitLine(p, 1e-6)
	if now := icept + slope*2000; !ok || math.Abs(now) > 5e-6 {
		t.Errorf("fitted offset at the newest sample %.1f µs, want ≈ 0", now*1e6)
	}
}

// TestPollHeldWhileFrequencyUncertain: in regression mode the poll
// interval does not grow while the standard error of the frequency
// estimate is above pollFreqSE, even when every new sample falls within
// the noise the fit expects (which alone would let the jiggle counter of
// RFC 5905 A.5.5.6 raise it); it grows once the frequency is known. The
// samples are those of a path with 1 ms of exponential jitter each way:
// the error of an offset is at most half its delay's excess.
func TestPollHeldWhileFrequencyUncertain(t *testing.T) {
	d := newDiscipline(1e-6, 4, 6)
	r := rand.New(rand.NewPCG(3, 5))
	const freq = -20e-6 // the clock loses 20 µs/s: the offset grows
	held, grew := 0, false
	// A start burst of 24 samples 2 s apart (its updates would fill the
	// jiggle counter within a minute), then one sample per 16 s.
	next := func(ts float64) float64 {
		if ts < 48 {
			return ts + 2
		}
		return ts + 16
	}
	for ts := 1.0; ts < 3000; ts = next(ts) {
		out, back := r.ExpFloat64()*1e-3, r.ExpFloat64()*1e-3
		off := -freq*ts + (back-out)/2 - d.phaseAt(ts)
		poll, count := d.poll, d.count
		d.update(off, ts, ts, 2e-3+out+back)
		if d.state != stateSYNC {
			continue
		}
		if d.poll > poll {
			// The offset error the frequency's uncertainty builds up
			// over the new interval, against the noise of the best
			// samples (the smallest excess delay is about 0.1 ms).
			drift := fitOf(&d).fit.se * math.Ldexp(1, int(d.poll))
			if fitOf(&d).fit.se > pollFreqSE && drift > noiseFloor(d.fx, 2e-3, d.precision) {
				t.Fatalf("t=%.0f s: poll %d → %d with the frequency's standard error at %.2f ppm (%.0f µs per interval)",
					ts, poll, d.poll, fitOf(&d).fit.se*1e6, drift*1e6)
			}
			if ts < 100 {
				t.Errorf("t=%.0f s: poll %d → %d within the first 100 s (frequency SE %.2f ppm)", ts, poll, d.poll, fitOf(&d).fit.se*1e6)
			}
		}
		if d.poll == poll && d.count == count && math.Abs(fitOf(&d).predErr) < regressPollGate*math.Max(fitOf(&d).predNoise, d.precision) {
			held++ // a sample the counter would have counted
		}
		grew = grew || d.poll > poll
	}
	if held == 0 || !grew {
		t.Errorf("gate held the counter %d times; poll grew: %v (poll %d, frequency SE %.2f ppm)", held, grew, d.poll, fitOf(&d).fit.se*1e6)
	}
}

// TestFrequencyMeasuredInTrueSeconds: RFC 5905 §11.3 FREQ — the clock
// runs free while its frequency is measured, so the samples' times are
// its own seconds, 1+r true seconds each; the correction set when FREQ
// ends is the true rate error −r, not the slope per clock second
// (−r/(1+r)), which is 0.25 ppm short at 500 ppm.
func TestFrequencyMeasuredInTrueSeconds(t *testing.T) {
	for _, r := range []float64{500e-6, -500e-6, 100e-6} {
		d := newDiscipline(1e-6, 4, 10)
		// True time t, clock time c = t + e, e = 0.01 + r·t; the offset
		// measured is −e.
		for tt := 0.0; tt < 64 && d.state != stateSYNC; tt += 2 {
			e := 0.01 + r*tt
			c := tt + e
			d.update(-e, c, c, 1e-3) // running free: no correction yet
		}
		if d.state != stateSYNC {
			t.Fatalf("r %v: still in %v", r, d.state)
		}
		if got := d.freq; math.Abs(got+r) > 1e-10 {
			t.Errorf("r %+.0f ppm: correction %+.6f ppm, want %+.6f ppm", r*1e6, got*1e6, -r*1e6)
		}
	}
}

// TestFirstFrequencyWaitsUntilCredible: RFC 5905 §11.3 — with 100 ms of
// noise, a fit through a start burst (eight samples 2 s apart) is
// thousands of ppm uncertain; ending FREQ with it would let the offset
// run past the step threshold (128 ms) within a poll, and the samples
// that should correct it would be held off as spikes for the stepout.
// Regression mode measures on until the estimate's error over a minimum
// poll interval stays within half the step threshold, and then sets a
// frequency within its error of the true one.
func TestFirstFrequencyWaitsUntilCredible(t *testing.T) {
	d := newDiscipline(1e-6, 6, 10)
	r := rand.New(rand.NewPCG(7, 9))
	const rate = 40e-6 // the offset grows 40 µs/s
	sample := func(ts float64) {
		out, back := r.ExpFloat64()*0.1, r.ExpFloat64()*0.1
		d.update(0.05+rate*ts+(back-out)/2, ts, ts, 0.002+out+back)
	}
	for ts := 1.0; ts <= 15; ts += 2 {
		sample(ts)
	}
	if d.state != stateFREQ {
		t.Fatalf("after a burst of 100 ms noise: state %v, frequency %+.0f ppm", d.state, d.freq*1e6)
	}
	ts := 15.0
	for d.state == stateFREQ && ts < stepout {
		ts += 64
		sample(ts)
	}
	_, _, se, _ := fitLine(d.fx, d.precision)
	if d.state == stateFREQ || 3*se*64 > stepThreshold/2 || math.Abs(d.freq-rate) > 3*se {
		t.Errorf("t=%.0f s: state %v, frequency %+.1f ppm (true %+.1f), standard error %.1f ppm",
			ts, d.state, d.freq*1e6, rate*1e6, se*1e6)
	}
}

// TestSmallOffsetsSlewedGently: in fast mode an offset up to gentleMax is
// amortized through the frequency over an eighth of a poll interval (at
// least 8 s), a larger one
// faster (as o²), so that the clock's rate never leaves ±500 ppm for a
// routine correction; the start's 0.1 s is slewed by the clock at its
// slew rate. The phase accounting is exact either way.
func TestSmallOffsetsSlewedGently(t *testing.T) {
	for _, tc := range []struct {
		name      string
		offset    float64
		wantRate  float64 // 0: the clock's slew
		wantSlews bool
	}{
		{"50 µs over 8 s", 50e-6, 50e-6 / 8, false},
		{"1 ms over 8 s", 1e-3, 1e-3 / 8, false},
		{"1.5 ms 1.5 times as fast (rate grows as o²)", 1.5e-3, 1.5e-3 / 8 * 1.5, false},
		{"3 ms: beyond 500 ppm, the clock's slew", 3e-3, 0, true},
		{"RFC5905 §11.3 0.1 s: the clock's slew", 0.1, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDisc(DisciplineRegression)
			d.slewRate, d.rateKnown = 1.0/12, true
			d.rst(stateSYNC, 100, tc.offset)
			d.fast, d.newSlew = true, true
			var o clockOut
			d.adjust(100, &o)
			if o.doSlew != tc.wantSlews || d.slewing != tc.wantSlews {
				t.Fatalf("clock slew commanded %v (%+v), want %v", o.doSlew, o, tc.wantSlews)
			}
			if tc.wantSlews {
				return
			}
			if math.Abs(d.phaseRate-tc.wantRate) > 1e-15 || math.Abs(d.applied) > maxFreq {
				t.Errorf("rate %v ppm, want %v ppm", d.phaseRate*1e6, tc.wantRate*1e6)
			}
			p0 := d.phase
			for ts := 101.0; ts <= 200; ts++ {
				d.adjust(ts, &o)
			}
			if math.Abs(d.phase-p0-tc.offset) > 1e-12 || math.Abs(d.offset) > 1e-12 || d.phaseRate != 0 {
				t.Errorf("corrected %v of %v, %v left, rate %v", d.phase-p0, tc.offset, d.offset, d.phaseRate)
			}
		})
	}
}

// TestFrequencyBeyondMAXFREQOnlyWhenSignificant: with a clock range wider
// than RFC 5905's ±500 ppm, a fitted frequency beyond it is taken only
// when it is three standard errors beyond; two samples (no standard
// error) are taken as they are.
func TestFrequencyBeyondMAXFREQOnlyWhenSignificant(t *testing.T) {
	for _, tc := range []struct {
		name     string
		f, se    float64
		wantFreq float64
	}{
		{"5 % off, 1 ppm standard error: believed", -0.05, 1e-6, -0.05},
		{"1,200 ppm, 400 ppm standard error: held at MAXFREQ", 1.2e-3, 400e-6, maxFreq},
		{"two samples: believed", 2e-3, math.Inf(1), 2e-3},
		{"within MAXFREQ: as measured", -300e-6, 400e-6, -300e-6},
		{"beyond the clock's range: its limit", 0.2, 1e-6, 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDisc(DisciplineRegression)
			d.freqLimit = 0.1
			d.setFreqEstimate(tc.f, tc.se)
			if d.freq != tc.wantFreq {
				t.Errorf("freq %v ppm, want %v ppm", d.freq*1e6, tc.wantFreq*1e6)
			}
		})
	}
}

// quietPath drives a regression discipline (poll 16 s, the clock slewing
// at 83,333 ppm) with the samples of a path whose delay does not vary and
// whose offsets have noise sigma (the clock itself right, so the true
// error is the correction applied), a start burst 2 s apart, then one
// sample per poll until end s; shift(ts) is added to the offset measured
// at ts. It returns the true error at every sample from 80 s on.
func quietPath(seed uint64, sigma, end float64, shift func(ts float64) float64) (d *discipline, errs []float64) {
	dd := newDiscipline(math.Ldexp(1, -20), 4, 4)
	d = &dd
	d.configure(&Config{MaxSlewRate: 83333})
	r := rand.New(rand.NewPCG(seed, 7))
	next := func(ts float64) float64 {
		if ts < 16 {
			return ts + 2
		}
		return ts + 16
	}
	for ts := 2.0; ts < end; ts = next(ts) {
		e := d.phaseAt(ts)
		if ts >= 80 {
			errs = append(errs, e)
		}
		d.update(-e+shift(ts)+r.NormFloat64()*sigma, ts, ts, 2.1e-3)
		for tt := ts + 1; tt < next(ts); tt++ {
			var o clockOut
			d.adjust(tt, &o)
		}
	}
	return d, errs
}

// TestLoneOutlierIsNoChangeOfTheClock: on a quiet path (1 µs of noise that
// the delays do not show) a sample now and then 25 µs off (a host that
// timestamped late once) must not restart the regression: a line through
// it and the two samples before sets a frequency off by a ppm or more,
// whose error makes the next sample miss in turn, and the clock swings
// tens of µs for minutes. The regression keeps such a sample aside, and
// drops it when the next one is predicted again (RFC 5905 §10 drops
// popcorn spikes for the same reason).
func TestLoneOutlierIsNoChangeOfTheClock(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		n := 0
		d, errs := quietPath(seed, 1e-6, 600, func(ts float64) float64 {
			if n++; n%7 == 0 {
				return 25e-6
			}
			return 0
		})
		var s2 float64
		for _, e := range errs {
			s2 += e * e
		}
		if rms := math.Sqrt(s2 / float64(len(errs))); rms > 3e-6 || math.Abs(d.freq) > 0.05e-6 {
			t.Errorf("seed %d: true error RMS %.2f µs from 80 s on, frequency %+.3f ppm; want ≤ 3 µs, within 0.05 ppm",
				seed, rms*1e6, d.freq*1e6)
		}
	}
}

// TestLastingChangeRestartsTheFit: when the source's time steps by 200 µs
// (a change the samples keep showing, not an outlier), the regression
// takes the second sample that misses as the start of a new fit: the
// clock follows within three polls.
func TestLastingChangeRestartsTheFit(t *testing.T) {
	_, errs := quietPath(1, 1e-6, 400, func(ts float64) float64 {
		if ts >= 200 {
			return 200e-6
		}
		return 0
	})
	// errs[i] is the true error at 80 + 16·i s: the step's first sample
	// is at 208 s (index 8); by 256 s the clock is 200 µs ahead.
	for i, e := range errs {
		ts := 80 + 16*float64(i)
		if ts >= 256 && math.Abs(e-200e-6) > 10e-6 {
			t.Errorf("t=%.0f s: the clock %.1f µs ahead, want 200 ± 10 µs", ts, e*1e6)
		}
	}
}

// TestMakeStepStepsTheFirstUpdates: with Config.MakeStep (chrony's
// makestep 1e-2 1) the update that ends the frequency measurement steps
// an offset of 0.1 s, which RFC 5905 §10 slews (it is below STEPT); a
// later update slews again, as does every update without MakeStep.
func TestMakeStepStepsTheFirstUpdates(t *testing.T) {
	for _, tc := range []struct {
		name      string
		makeStep  MakeStep
		wantFirst updateResult
	}{
		{"RFC5905 §10 0.1 s below STEPT: slewed", MakeStep{}, resultSlew},
		{"makestep 1e-2 1: stepped", MakeStep{Threshold: 1e-2, Updates: 1}, resultStep},
		{"makestep 0.2 1: below its threshold, slewed", MakeStep{Threshold: 0.2, Updates: 1}, resultSlew},
		{"makestep 1e-2 -1: stepped", MakeStep{Threshold: 1e-2, Updates: -1}, resultStep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDisc(DisciplineRegression)
			d.configure(&Config{MakeStep: tc.makeStep, MaxSlewRate: 83333})
			off := func(float64) float64 { return 0.1 }
			var r updateResult
			var o clockOut
			ts := 0.0
			for ; d.state != stateSYNC && ts < 100; ts += 8 {
				r, o = d.update(off(ts)-d.phaseAt(ts), ts, ts, 0.001)
			}
			if r != tc.wantFirst || o.stepped != (tc.wantFirst == resultStep) {
				t.Fatalf("first update: result %v, out %+v; want %v", r, o, tc.wantFirst)
			}
			if o.stepped && math.Abs(o.step-0.1) > 1e-6 {
				t.Errorf("stepped %v s, want 0.1 s", o.step)
			}
			// The next update with 20 ms still to correct.
			ts += 8
			r, o = d.update(0.12-d.phaseAt(ts), ts, ts, 0.001)
			if want := tc.makeStep.Updates < 0 && tc.makeStep.Threshold > 0; o.stepped != want {
				t.Errorf("second update (20 ms off): stepped %v, want %v (%v)", o.stepped, want, r)
			}
		})
	}
}

// TestFitAveragesNoiseTheDelaysDoNotExplain: when the offsets scatter by
// 20 µs while the delays vary by 1 µs (a host whose timestamps are late
// by varying amounts, a path whose directions change alike), weighting by
// delay alone lets the few samples of least delay carry the line. With
// the noise the residuals show added to every sample's variance, the
// fitted offset at the newest sample is as good as an unweighted line's
// (measured in the same run, 300 fits of 16 samples 16 s apart).
func TestFitAveragesNoiseTheDelaysDoNotExplain(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 13))
	var weighted, plain float64
	const fits, n = 300, 16
	for range fits {
		p := make([]point, n)
		for i := range p {
			p[i] = point{float64(i) * 16, r.NormFloat64() * 20e-6, 2e-3 + r.ExpFloat64()*1e-6}
		}
		f := fitWeighted(p, math.Ldexp(1, -20))
		tn := p[n-1].t
		v := f.icept + f.slope*tn
		weighted += v * v
		w := make([]float64, n)
		for i := range w {
			w[i] = 1
		}
		g := fitWith(p, w)
		u := g.icept + g.slope*tn
		plain += u * u
	}
	weighted, plain = math.Sqrt(weighted/fits), math.Sqrt(plain/fits)
	if weighted > 1.15*plain {
		t.Errorf("fitted offset at the newest sample: RMS error %.1f µs, an unweighted line's %.1f µs", weighted*1e6, plain*1e6)
	}
}

// TestFirstFrequencyTakenOnlyWhenSignificant: RFC 5905 §11.3 FREQ — a line
// through a start burst of a path with 100 µs of jitter, 2 s apart, reads
// several ppm by chance for a clock without frequency error; the
// discipline leaves the frequency in force when the slope is within
// freqSignificance standard errors of it (the fit's, or what the delays'
// spread implies), and measures a clock 100 ppm off as before.
func TestFirstFrequencyTakenOnlyWhenSignificant(t *testing.T) {
	// Each direction's extra delay (µs): the offset is off by half
	// their difference, the delay long by their sum (RFC 5905 §8).
	out := []float64{10, 120, 30, 200, 5, 60}
	back := []float64{150, 5, 40, 20, 90, 10}
	noise, delays := make([]float64, len(out)), make([]float64, len(out))
	for i := range out {
		noise[i], delays[i] = (back[i]-out[i])/2*1e-6, 2e-3+(out[i]+back[i])*1e-6
	}
	for _, tc := range []struct {
		name     string
		rate     float64 // the clock's frequency error, s/s
		wantFreq float64
		tol      float64
	}{
		{"no frequency error: left at 0", 0, 0, 0},
		{"100 ppm fast: measured", 100e-6, -100e-6, 20e-6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDiscipline(math.Ldexp(1, -20), 4, 4)
			d.configure(&Config{MaxSlewRate: 83333})
			for i := 0; d.state != stateSYNC && i < len(noise); i++ {
				ts := 9 + 2*float64(i)
				d.update(-tc.rate*ts+noise[i]-d.phaseAt(ts), ts, ts, delays[i])
			}
			if d.state != stateSYNC {
				t.Fatalf("still in %v after the burst", d.state)
			}
			if math.Abs(d.freq-tc.wantFreq) > tc.tol {
				t.Errorf("first frequency %+.3f ppm, want %+.3f ± %.3f ppm", d.freq*1e6, tc.wantFreq*1e6, tc.tol*1e6)
			}
		})
	}
}

// TestPollDoesNotGrowWithinABurst: RFC 5905 A.5.5.6 counts one update per
// poll interval towards a longer poll; the updates of a start burst come
// seconds apart, and counted alike they raised the poll (to 64 s within
// 40 s on the real path, with the frequency still 0.8 ppm off). The
// regression counts them only once its samples span two poll intervals.
func TestPollDoesNotGrowWithinABurst(t *testing.T) {
	d := newDiscipline(math.Ldexp(1, -20), 4, 6)
	d.configure(&Config{MaxSlewRate: 83333})
	r := rand.New(rand.NewPCG(5, 5))
	sample := func(ts float64) {
		out, back := r.ExpFloat64()*1e-6, r.ExpFloat64()*1e-6
		d.update((back-out)/2-d.phaseAt(ts), ts, ts, 2e-3+out+back)
	}
	for ts := 1.0; ts <= 31; ts += 2 {
		sample(ts)
		if d.state == stateSYNC && d.poll > 4 {
			t.Fatalf("t=%.0f s: poll %d after a burst spanning %.0f s", ts, d.poll, d.fitSpan())
		}
	}
	grew := false
	for ts := 47.0; ts < 2000; ts += math.Ldexp(1, int(d.poll)) {
		sample(ts)
		grew = grew || d.poll > 4
	}
	if !grew {
		t.Errorf("poll never grew past 16 s at 1 µs of jitter")
	}
}

// jitterPath drives a regression discipline (poll 16 s, the clock
// slewing at 83,333 ppm) with the samples of a path of base delay 1 ms
// and exponential jitter of mean j in each direction, of a clock whose
// uncorrected offset is trend(ts), plus a normal noise of standard
// deviation extra that the delays do not show (a host's timestamps): a
// start burst of four samples 2 s apart from 2 s on, then one per poll
// until end s. After each update it calls each with the sample (its
// uncorrected offset and delay).
func jitterPath(seed uint64, j, extra, end float64, trend func(ts float64) float64, each func(d *discipline, x point)) {
	dd := newDiscipline(math.Ldexp(1, -20), 4, 4)
	d := &dd
	d.configure(&Config{MaxSlewRate: 83333})
	r := rand.New(rand.NewPCG(seed, 5))
	for i, ts := 0, 2.0; ts < end; i++ {
		x, y := r.ExpFloat64()*j, r.ExpFloat64()*j
		u := trend(ts) + (y-x)/2
		if extra > 0 {
			u += r.NormFloat64() * extra
		}
		d.update(u-d.phaseAt(ts), ts, ts, 1e-3+x+y)
		each(d, point{ts, u, 1e-3 + x + y})
		next := ts + 16
		if i < 3 {
			next = ts + 2
		}
		for tt := ts + 1; tt < next; tt++ {
			var o clockOut
			d.adjust(tt, &o)
		}
		ts = next
	}
}

// fitErrors runs jitterPath; from 120 s on it returns, at every sample,
// the error of the offset the discipline fitted at that sample (its
// regression's line), of a line through the samples of the regression's
// own window (d.fx) alone, and of a line through every sample since the
// start.
func fitErrors(seed uint64, j, end float64, trend func(ts float64) float64) (fitted, window, all []float64) {
	var every []point
	jitterPath(seed, j, 0, end, trend, func(d *discipline, x point) {
		every = append(every, x)
		reg := d.est.(*regression)
		if x.t >= 120 && reg.fitOK {
			at := func(f lineFit) float64 { return f.icept + f.slope*x.t - trend(x.t) }
			fitted = append(fitted, at(reg.fit))
			window = append(window, at(fitWeighted(d.fx, d.precision)))
			all = append(all, at(fitWeighted(every, d.precision)))
		}
	})
	return fitted, window, all
}

func rmsOf(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s / float64(len(v)))
}

// TestRegressionFitsItsWholeHistoryWithoutBend: on a path with 100 µs of
// jitter each way, polled every 16 s, the regression's window of eight
// polls holds eight samples; a clock that does not wander (a virtual
// clock over the host's) is measured better by every sample since the
// start, which the regression takes when a line describes them
// (regression.longFit). Its fitted offset at the newest sample is then
// closer to the truth than a line through its window alone (40 runs of
// 500 s, the two computed from the same samples).
func TestRegressionFitsItsWholeHistoryWithoutBend(t *testing.T) {
	var fitted, window []float64
	for seed := uint64(1); seed <= 40; seed++ {
		f, w, _ := fitErrors(seed, 100e-6, 500, func(float64) float64 { return 0 })
		fitted, window = append(fitted, f...), append(window, w...)
	}
	f, w := rmsOf(fitted), rmsOf(window)
	t.Logf("fitted offset: RMS error %.1f µs; a line through the window: %.1f µs", f*1e6, w*1e6)
	if f > 0.85*w {
		t.Errorf("fitted offset's RMS error %.1f µs, a line through the window's %.1f µs: want at most 0.85×", f*1e6, w*1e6)
	}
}

// TestRegressionKeepsItsWindowWhenTheOffsetsBend: a clock whose frequency
// wanders (a random walk of 0.1 ppm per √s, chrony's 007-largewander)
// bends its offsets away from a line within minutes; a line through every
// sample since the start misses the newest by far, and the regression,
// which tests its history for a bend (runs test, curvature) before it
// fits all of it, stays near a line through its window and far closer
// than a line through every sample. (A wander 100 times the typical
// quartz's that the tests cannot yet tell from noise costs the fit up
// to a third here: at 16 s polls, a history of 20 samples.)
func TestRegressionKeepsItsWindowWhenTheOffsetsBend(t *testing.T) {
	var fitted, window, all []float64
	for seed := uint64(1); seed <= 40; seed++ {
		r := rand.New(rand.NewPCG(seed, 3))
		walk := make([]float64, 501)
		f := 0.0
		for i := 1; i < len(walk); i++ {
			f += r.NormFloat64() * 1e-7
			walk[i] = walk[i-1] + f
		}
		fi, w, a := fitErrors(seed, 100e-6, 500, func(ts float64) float64 { return walk[int(ts)] })
		fitted, window, all = append(fitted, fi...), append(window, w...), append(all, a...)
	}
	f, w, a := rmsOf(fitted), rmsOf(window), rmsOf(all)
	t.Logf("fitted offset: RMS error %.1f µs; a line through the window: %.1f µs; through every sample: %.1f µs", f*1e6, w*1e6, a*1e6)
	if a < 2*w {
		t.Fatalf("the wander does not bend the offsets enough to test")
	}
	if f > 1.35*w || f > 0.75*a {
		t.Errorf("fitted offset's RMS error %.1f µs, want at most 1.35× a line through the window's and 0.75× one through every sample's", f*1e6)
	}
}

// TestFirstFrequencyAtTheSamplesLimit: RFC 5905 §11.3 FREQ and the first
// updates — on a path with 10 µs of exponential jitter each way (the real
// lab's floor), a start burst of four samples 2 s apart and then one per
// 16 s poll, the frequency after the sixth sample is as close to the
// truth as a line through those six can be: its RMS error over 400 starts
// is within 1.25× that of a line weighted by each sample's true error (of
// an offset whose directions add x + y of delay: uniform within ±(x+y)/2),
// computed from the same samples, and it is 0.5 ppm off in at most 1 %
// of the starts more than that line is. (Both are near the limit of six
// samples: a line's slope over 38 s through offsets of 7 µs noise is
// 0.15–0.2 ppm uncertain.)
func TestFirstFrequencyAtTheSamplesLimit(t *testing.T) {
	const runs, j = 400, 10e-6
	var got, ideal float64
	far, idealFar := 0, 0
	for seed := uint64(1); seed <= runs; seed++ {
		var p []point
		var freq float64
		jitterPath(seed, j, 0, 41, func(float64) float64 { return 0 }, func(d *discipline, x point) {
			p = append(p, point{x.t, x.off, x.delay - 1e-3})
			freq = d.freq
		})
		w := make([]float64, len(p))
		for i, x := range p {
			e := x.delay / math.Sqrt(12)
			w[i] = 1 / (e*e + 1e-14)
		}
		f := fitWith(p, w)
		got += freq * freq
		ideal += f.slope * f.slope
		if math.Abs(freq) > 0.5e-6 {
			far++
		}
		if math.Abs(f.slope) > 0.5e-6 {
			idealFar++
		}
	}
	got, ideal = math.Sqrt(got/runs), math.Sqrt(ideal/runs)
	t.Logf("frequency after six samples: RMS error %.3f ppm, %d of %d starts beyond 0.5 ppm (ideally weighted line: %.3f ppm, %d)",
		got*1e6, far, runs, ideal*1e6, idealFar)
	if got > 1.25*ideal || far > idealFar+runs/100 {
		t.Errorf("RMS error %.3f ppm, want at most 1.25 × %.3f; %d starts beyond 0.5 ppm, want at most %d", got*1e6, ideal*1e6, far, idealFar+runs/100)
	}
}

// TestFirstFrequencyWithNoiseTheDelaysDoNotShow: RFC 5905 §11.3 FREQ on a
// path whose offsets scatter by 17 µs while the delays vary by a few
// (a loaded host's loopback: the real lab at zero jitter). Three burst
// samples 4 s apart cannot tell that noise, and their delays make them
// look precise; FREQ waits for a fourth (freqSEMinSamples), so the
// frequency after six samples is within 1.4× the error of an unweighted
// line through them (400 starts; it was 2.1× when three samples ended
// FREQ: 8 ppm slopes, then restarts).
func TestFirstFrequencyWithNoiseTheDelaysDoNotShow(t *testing.T) {
	const runs = 400
	var got, plain float64
	for seed := uint64(1); seed <= runs; seed++ {
		var p []point
		var freq float64
		jitterPath(seed, 3e-6, 17e-6, 41, func(float64) float64 { return 0 }, func(d *discipline, x point) {
			p = append(p, x)
			freq = d.freq
		})
		w := make([]float64, len(p))
		for i := range w {
			w[i] = 1
		}
		f := fitWith(p, w)
		got += freq * freq
		plain += f.slope * f.slope
	}
	got, plain = math.Sqrt(got/runs), math.Sqrt(plain/runs)
	t.Logf("frequency after six samples: RMS error %.3f ppm; an unweighted line through them: %.3f ppm", got*1e6, plain*1e6)
	if got > 1.4*plain {
		t.Errorf("RMS error %.3f ppm, want at most 1.4 × %.3f ppm", got*1e6, plain*1e6)
	}
}
