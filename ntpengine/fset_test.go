package ntpengine

import (
	"math"
	"strings"
	"testing"
)

func ptrFloat(f float64) *float64 { return &f }

// TestDisciplineFSET is one row per transition out of FSET (RFC 5905
// Appendix A.5.5.6): the discipline started with a frequency from a file.
func TestDisciplineFSET(t *testing.T) {
	for _, mode := range []DisciplineMode{DisciplineRFC, DisciplineRegression} {
		name := map[DisciplineMode]string{DisciplineRFC: "rfc", DisciplineRegression: "regression"}[mode]
		t.Run(name+"/RFC5905 A.5.5.6 FSET small offset → phase only, SYNC", func(t *testing.T) {
			d := newDisc(mode)
			d.setInitialFrequency(-40e-6)
			if d.state != stateFSET || d.freq != -40e-6 {
				t.Fatalf("state %v freq %v", d.state, d.freq)
			}
			r, o := d.update(0.01, 1, 1, 0.001)
			if r != resultSlew || d.state != stateSYNC || o.stepped {
				t.Errorf("result %v state %v out %+v", r, d.state, o)
			}
			// The frequency is not adjusted at the first update; the
			// clock is told the file's frequency and to slew the offset.
			if d.freq != -40e-6 || !o.setFreq || o.freq != -40e-6 || !o.doSlew || o.slew != 0.01 {
				t.Errorf("freq %v out %+v", d.freq, o)
			}
		})
		t.Run(name+"/RFC5905 A.5.5.6 FSET offset above 128 ms → step, SYNC (not FREQ)", func(t *testing.T) {
			d := newDisc(mode)
			d.setInitialFrequency(12e-6)
			r, o := d.update(0.5, 1, 1, 0.001)
			if r != resultStep || d.state != stateSYNC || !o.stepped || o.step != 0.5 || d.freq != 12e-6 {
				t.Errorf("result %v state %v freq %v out %+v", r, d.state, d.freq, o)
			}
		})
	}
	t.Run("regression: the file's frequency holds against a short noisy fit", func(t *testing.T) {
		// Three samples 2 s apart whose offsets say +20 ppm, with delays
		// that vary by 300 µs (so offsets are known to some 50 µs); the
		// file says 0. The fit's slope (standard error ≫ 1 ppm) must
		// not replace the file's frequency.
		d := newDisc(DisciplineRegression)
		d.setInitialFrequency(0)
		delays := []float64{1.0e-3, 1.3e-3, 1.2e-3}
		for i, off := range []float64{0, 40e-6, 80e-6} {
			ts := float64(1 + 2*i)
			d.update(off-d.phaseAt(ts), ts, ts, delays[i])
		}
		if !fitOf(d).fitOK || !d.priorOn {
			t.Fatalf("fit %v prior %v", fitOf(d).fitOK, d.priorOn)
		}
		if math.Abs(d.freq) > 5e-6 {
			t.Errorf("frequency %v ppm after 3 noisy samples, want near the file's 0", d.freq*1e6)
		}
	})
}

// TestInitialFrequencyConfig: the engine starts in FSET with the frequency
// given, and commands it to the clock at its first Tick; out-of-range
// values are refused.
func TestInitialFrequencyConfig(t *testing.T) {
	e := mustNew(t, Config{Peers: []PeerConfig{peerCfg(AssocClient)}, InitialFrequencyPPM: ptrFloat(-23.5)})
	st := e.Status(at(0))
	if st.ClockState != "FSET" || st.FrequencyPPM != -23.5 || st.FrequencySettled || st.Synchronized {
		t.Errorf("status after New: %+v", st)
	}
	rd := e.Tick(at(0.5))
	found := false
	for _, c := range rd.Clock {
		found = found || c.Op == ClockSetFrequency && c.FrequencyPPM == -23.5
	}
	if !found {
		t.Errorf("first Tick's clock commands %+v, want SetFrequency(-23.5)", rd.Clock)
	}
	if st := mustNew(t, Config{}).Status(at(0)); st.ClockState != "NSET" {
		t.Errorf("without a frequency: %v, want NSET", st.ClockState)
	}
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"initial frequency 500.001 ppm", Config{InitialFrequencyPPM: ptrFloat(500.001)}},
		{"initial frequency -501 ppm", Config{InitialFrequencyPPM: ptrFloat(-501)}},
		{"initial frequency NaN", Config{InitialFrequencyPPM: ptrFloat(math.NaN())}},
		{"initial frequency +Inf", Config{InitialFrequencyPPM: ptrFloat(math.Inf(1))}},
		{"settled frequency error negative", Config{SettledFrequencyPPM: -1}},
		{"initial frequency beyond the clock's frequency limit", Config{FrequencyLimitPPM: 1000, InitialFrequencyPPM: ptrFloat(1001)}},
		{"frequency limit negative", Config{FrequencyLimitPPM: -1}},
		{"frequency limit beyond 500,000 ppm", Config{FrequencyLimitPPM: 500001}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg, t0)
			if !errorsIs(err, ErrConfig) {
				t.Fatalf("New = %v, want ErrConfig", err)
			}
			if !strings.Contains(err.Error(), "frequency") {
				t.Errorf("error %q does not say which setting", err)
			}
		})
	}
	for _, f := range []float64{-500, 500, 0} {
		if _, err := New(Config{InitialFrequencyPPM: ptrFloat(f)}, t0); err != nil {
			t.Errorf("initial frequency %v ppm: %v", f, err)
		}
	}
	if _, err := New(Config{FrequencyLimitPPM: 100000, InitialFrequencyPPM: ptrFloat(-50000)}, t0); err != nil {
		t.Errorf("initial frequency -50000 ppm within a limit of 100000: %v", err)
	}
	// Reconfigure does not restart the discipline.
	e.disc.state = stateSYNC
	if _, err := e.Reconfigure(Config{Peers: []PeerConfig{peerCfg(AssocClient)}, InitialFrequencyPPM: ptrFloat(7)}, at(1)); err != nil {
		t.Fatal(err)
	}
	if e.disc.state != stateSYNC || e.disc.freq != -23.5e-6 {
		t.Errorf("after Reconfigure: state %v freq %v", e.disc.state, e.disc.freq)
	}
}

// TestFrequencySettled: the frequency is worth saving only in SYNC, after
// settleUpdates updates there, with a precise enough estimate.
func TestFrequencySettled(t *testing.T) {
	d := newDisc(DisciplineRegression)
	// A clock 30 ppm fast (its offset falls), measured precisely; the
	// correction is -30 ppm.
	off := func(t float64) float64 { return -30e-6 * t }
	for i := 0; i < 40 && d.state != stateSYNC; i++ {
		ts := 1 + 2*float64(i)
		d.update(off(ts)-d.phaseAt(ts), ts, ts, 0.001)
	}
	if d.state != stateSYNC || d.settled() {
		t.Fatalf("just after FREQ: state %v settled %v", d.state, d.settled())
	}
	ts := 100.0
	for i := 0; i < settleUpdates-1; i++ {
		ts += 64
		d.update(off(ts)-d.phaseAt(ts), ts, ts, 0.001)
		if d.settled() {
			t.Fatalf("settled after %d updates in SYNC, want %d", i+1, settleUpdates)
		}
	}
	ts += 64
	d.update(off(ts)-d.phaseAt(ts), ts, ts, 0.001)
	if !d.settled() || math.Abs(d.freq+30e-6) > 0.1e-6 {
		t.Fatalf("after %d updates: settled %v se %v freq %v ppm", settleUpdates, d.settled(), fitOf(d).fit.se, d.freq*1e6)
	}
	// A spike: not settled while it is held off.
	ts += 64
	d.update(0.5, ts, ts, 0.001)
	if d.state != stateSPIK || d.settled() {
		t.Errorf("in %v: settled %v", d.state, d.settled())
	}
	// A step: the count starts again.
	d.rst(stateSYNC, ts, 0)
	var o clockOut
	d.doStep(0.2, &o)
	if d.settled() {
		t.Error("settled right after a step")
	}
	// A loose threshold settles a noisy estimate.
	d.settledFreq = 1
	d.syncUpdates = settleUpdates
	if !d.settled() {
		t.Error("not settled with a 1 s/s threshold")
	}
}
