package agent

import (
	"context"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/ntpengine"
)

// debugLogger logs everything to w.
func debugLogger(w *testtool.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// samePPM compares frequencies to a nano-ppm: the engine keeps them in s/s.
func samePPM(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func (ta *testAgent) engineStatus() ntpengine.Status {
	ta.engMu.Lock()
	defer ta.engMu.Unlock()
	return ta.eng.Status(ta.ntpClock.Now())
}

// stop ends Run as a clean shutdown (SIGTERM in the daemon) and waits.
func (ta *testAgent) stop(t *testing.T) {
	t.Helper()
	ta.cancel()
	select {
	case err := <-ta.done:
		if err != nil {
			t.Fatalf("agent.Run: %v", err)
		}
		ta.done <- nil // for the cleanup's wait
	case <-time.After(10 * time.Second):
		t.Fatal("agent.Run did not return")
	}
}

// onlyFile fails unless dir holds exactly the file name (no temporary
// files left by the atomic write).
func onlyFile(t *testing.T, dir, name string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != name {
		t.Errorf("folder holds %v, want only %s", names, name)
	}
}

// TestDriftFileRoundTrip: an agent synchronized to a peer writes the drift
// file once its frequency is settled and again when it stops cleanly; the
// next agent started with the file begins in FSET with that frequency.
func TestDriftFileRoundTrip(t *testing.T) {
	t.Parallel()
	const scale = 16
	dir := t.TempDir()
	path := filepath.Join(dir, "ntp.drift")
	b := startAgent(t, Options{Clock: fastClock(scale),
		Engine: ntpengine.Config{LocalStratum: 5}})
	// Loopback timestamps of two fast clocks are noisy in their own time
	// scale: a loose threshold lets the frequency count as settled after
	// the 8 updates in SYNC that the engine also requires.
	a := startAgent(t, Options{Clock: fastClock(scale), DriftFile: path,
		Engine: ntpengine.Config{SettledFrequencyPPM: 500}})
	if st := a.engineStatus(); st.ClockState != "NSET" {
		t.Fatalf("without a drift file the engine starts in %s, want NSET", st.ClockState)
	}
	a.apply(t, config(false, nil, peer{address: "127.0.0.1", port: b.addr.Port()}))
	testtool.WaitFor(t, 60*time.Second, "the drift file", func() bool {
		_, err := os.Stat(path)
		return err == nil
	})
	if st := a.engineStatus(); !st.Synchronized {
		t.Errorf("drift file written; engine status %+v", st)
	}
	if _, err := readDriftFile(path); err != nil { // a number within range, as ntpd writes it
		t.Fatalf("drift file written by the agent: %v", err)
	}
	onlyFile(t, dir, "ntp.drift")

	// Within the hour nothing more is written; a clean stop writes the
	// latest frequency.
	if err := os.WriteFile(path, []byte("499.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 10 { // as every tick does
		if !a.do(ctx, func() { a.saveDrift(false) }) {
			t.Fatal("the agent stopped")
		}
	}
	if data, _ := os.ReadFile(path); string(data) != "499.5\n" {
		t.Errorf("drift file rewritten within DriftInterval: %q", data)
	}
	testtool.WaitFor(t, 30*time.Second, "a settled frequency before the stop", func() bool { return a.engineStatus().FrequencySettled })
	a.stop(t)
	got, err := readDriftFile(path)
	if err != nil || got == 499.5 {
		t.Fatalf("after a clean stop the drift file holds %v (%v), want the agent's frequency", got, err)
	}
	onlyFile(t, dir, "ntp.drift")

	// The next start reads it back.
	c := startAgent(t, Options{Clock: fastClock(scale), DriftFile: path})
	st := c.engineStatus()
	if st.ClockState != "FSET" || !samePPM(st.FrequencyPPM, got) {
		t.Errorf("after restart: state %s frequency %v ppm, want FSET %v ppm", st.ClockState, st.FrequencyPPM, got)
	}
}

// TestDriftFileNotWrittenUnsynchronized: an agent that never synchronizes
// leaves the drift file as it found it, and does not create one, even at a
// clean stop; the file it found still set its start (FSET).
func TestDriftFileNotWrittenUnsynchronized(t *testing.T) {
	t.Parallel()
	for _, existing := range []string{"", "-12.125\n"} {
		dir := t.TempDir()
		path := filepath.Join(dir, "ntp.drift")
		if existing != "" {
			if err := os.WriteFile(path, []byte(existing), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// A peer that never answers (a closed port of 127.0.0.1).
		a := startAgent(t, Options{Clock: handClock(), DriftFile: path,
			Engine: ntpengine.Config{SettledFrequencyPPM: 500}})
		if st := a.engineStatus(); existing != "" && (st.ClockState != "FSET" || !samePPM(st.FrequencyPPM, -12.125)) {
			t.Errorf("started with %q: state %s frequency %v", existing, st.ClockState, st.FrequencyPPM)
		}
		a.apply(t, config(false, nil, peer{address: "127.0.0.1", port: 9}))
		// Ten minutes of polls that nobody answers.
		a.advance(t, 10*time.Minute, time.Second)
		if sent := a.State().GetNtp().GetStatistics().GetPacketsSent(); sent < 2 {
			t.Fatalf("%d packets sent in 10 minutes, want polls", sent)
		}
		if st := a.engineStatus(); st.Synchronized || st.FrequencySettled {
			t.Fatalf("the agent synchronized to nobody: %+v", st)
		}
		a.stop(t)
		data, err := os.ReadFile(path)
		switch {
		case existing == "" && !os.IsNotExist(err):
			t.Errorf("drift file created while unsynchronized: %q %v", data, err)
		case existing != "" && string(data) != existing:
			t.Errorf("drift file now %q (%v), want it untouched: %q", data, err, existing)
		}
	}
}

// TestDriftFileContents: what a drift file may hold. Anything else is
// logged at Warn and ignored: the engine starts in NSET and measures.
func TestDriftFileContents(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, content string
		ok            bool
		want          float64
	}{
		{"ntpd's format", "-12.345\n", true, -12.345},
		{"no newline", "7", true, 7},
		{"trailing white space", "3.5  \r\n\n", true, 3.5},
		{"exponent", "1.5e1\n", true, 15},
		{"limit +500 ppm", "500.000\n", true, 500},
		{"limit -500 ppm", "-500\n", true, -500},
		{"empty", "", false, 0},
		{"only a newline", "\n", false, 0},
		{"text", "hello\n", false, 0},
		{"two numbers (chrony's driftfile)", "-12.345 0.021\n", false, 0},
		{"leading space", " 12\n", false, 0},
		{"beyond +500 ppm", "500.001\n", false, 0},
		{"beyond -500 ppm", "-600\n", false, 0},
		{"NaN", "NaN\n", false, 0},
		{"Inf", "+Inf\n", false, 0},
		{"overflow", "1e400\n", false, 0},
		{"hexadecimal float", "0x1p3\n", false, 0},
		{"too long", strings.Repeat("1", 70) + "\n", false, 0},
		{"a comma", "12,5\n", false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "ntp.drift")
			if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			var logs testtool.Buffer
			a := startAgent(t, Options{DriftFile: path, Logger: debugLogger(&logs)})
			st := a.engineStatus()
			warned := strings.Contains(logs.String(), "level=WARN msg=\"drift file ignored")
			if c.ok {
				if st.ClockState != "FSET" || !samePPM(st.FrequencyPPM, c.want) || warned {
					t.Errorf("%q: state %s frequency %v warned %v, want FSET %v", c.content, st.ClockState, st.FrequencyPPM, warned, c.want)
				}
				return
			}
			if st.ClockState != "NSET" || st.FrequencyPPM != 0 || !warned {
				t.Errorf("%q: state %s frequency %v, want NSET 0 and a warning; log:\n%s", c.content, st.ClockState, st.FrequencyPPM, logs.String())
			}
		})
	}
	t.Run("missing file: no warning", func(t *testing.T) {
		t.Parallel()
		var logs testtool.Buffer
		a := startAgent(t, Options{DriftFile: filepath.Join(t.TempDir(), "ntp.drift"), Logger: debugLogger(&logs)})
		if st := a.engineStatus(); st.ClockState != "NSET" || strings.Contains(logs.String(), "level=WARN") {
			t.Errorf("state %s; log:\n%s", st.ClockState, logs.String())
		}
	})
	t.Run("a folder instead of a file", func(t *testing.T) {
		t.Parallel()
		var logs testtool.Buffer
		a := startAgent(t, Options{DriftFile: t.TempDir(), Logger: debugLogger(&logs)})
		if st := a.engineStatus(); st.ClockState != "NSET" || !strings.Contains(logs.String(), "drift file ignored") {
			t.Errorf("state %s; log:\n%s", st.ClockState, logs.String())
		}
	})
	t.Run("an explicit engine frequency wins", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "ntp.drift")
		if err := os.WriteFile(path, []byte("10\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		f := 20.0
		a := startAgent(t, Options{DriftFile: path, Engine: ntpengine.Config{InitialFrequencyPPM: &f}})
		if st := a.engineStatus(); !samePPM(st.FrequencyPPM, 20) {
			t.Errorf("frequency %v, want the explicit 20", st.FrequencyPPM)
		}
	})
}

// TestFormatDrift: ntpd's format, one number in ppm with three decimals.
func TestFormatDrift(t *testing.T) {
	if got := string(formatDrift(-12.3456)); got != "-12.346\n" {
		t.Errorf("formatDrift = %q", got)
	}
}
