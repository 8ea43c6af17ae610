package agent

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ntpagent/ntpagent/internal/atomicfile"
	"github.com/ntpagent/ntpagent/ntpengine"
)

// The frequency (drift) file keeps the clock's frequency correction across
// restarts, as ntpd's driftfile does: one decimal number, the correction
// in ppm, and a newline. At start the engine takes it as
// Config.InitialFrequencyPPM and begins in FSET (RFC 5905 A.5.5.6) instead
// of measuring the frequency again. It is written only while the engine
// says the frequency is worth saving (ntpengine.Status.FrequencySettled,
// which implies synchronized), at most once per Options.DriftInterval and
// at a clean stop, atomically: a temporary file in the same folder,
// fsync, rename over the old file, fsync of the folder.

// maxDriftFile bounds what is read of a drift file: ntpd's is about ten
// bytes; anything longer is not one.
const maxDriftFile = 64

// defaultDriftInterval is how often the drift file is rewritten at most
// (ntpd writes its own about once an hour).
const defaultDriftInterval = time.Hour

// readDriftFile returns the frequency in ppm stored at path. A missing
// file is an error that wraps fs.ErrNotExist.
func readDriftFile(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxDriftFile+1))
	if err != nil {
		return 0, err
	}
	if len(b) > maxDriftFile {
		return 0, fmt.Errorf("larger than %d bytes: not a drift file", maxDriftFile)
	}
	return parseDrift(string(b))
}

// parseDrift parses the content of a drift file: one decimal number in
// ppm (sign, digits, point, exponent), optionally followed by white space.
func parseDrift(s string) (float64, error) {
	v := strings.TrimRight(s, " \t\r\n")
	if v == "" {
		return 0, errors.New("empty: want one number (ppm)")
	}
	if i := strings.IndexFunc(v, func(r rune) bool { return !strings.ContainsRune("0123456789+-.eE", r) }); i >= 0 {
		return 0, fmt.Errorf("%q: want one decimal number (ppm)", v)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: want one decimal number (ppm)", v)
	}
	if !(math.Abs(f) <= ntpengine.MaxFrequencyPPM) {
		return 0, fmt.Errorf("%v ppm is beyond the ±%v ppm the clock discipline allows", f, ntpengine.MaxFrequencyPPM)
	}
	return f, nil
}

// formatDrift is the content written: ntpd's format, three decimals.
func formatDrift(ppm float64) []byte { return []byte(strconv.FormatFloat(ppm, 'f', 3, 64) + "\n") }

// initialFrequency reads opts.DriftFile for the engine's start. Any
// problem is logged and leaves the engine to measure the frequency: a bad
// or missing drift file never stops the service.
func (o *Options) initialFrequency() *float64 {
	if o.DriftFile == "" || o.Engine.InitialFrequencyPPM != nil {
		return o.Engine.InitialFrequencyPPM
	}
	log := o.Logger.With("component", "agent", "drift_file", o.DriftFile)
	f, err := readDriftFile(o.DriftFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		log.Info("no drift file yet: the clock's frequency will be measured")
		return nil
	case err != nil:
		log.Warn("drift file ignored: the clock's frequency will be measured", "err", err)
		return nil
	}
	log.Info("clock frequency from the drift file", "ppm", f)
	return &f
}

// saveDrift writes the drift file when the engine's frequency is worth
// saving and the last write (or failed attempt) is at least
// DriftInterval old, or always when final (a clean stop). Never while
// unsynchronized.
func (a *Agent) saveDrift(final bool) {
	if a.opts.DriftFile == "" {
		return
	}
	if !final && !a.driftAt.IsZero() && a.proc.Now().Sub(a.driftAt) < a.opts.DriftInterval {
		return
	}
	a.engMu.Lock()
	st := a.eng.Status(a.ntpClock.Now())
	a.engMu.Unlock()
	if !st.Synchronized || !st.FrequencySettled {
		return
	}
	a.driftAt = a.proc.Now()
	if err := atomicfile.Write(a.opts.DriftFile, formatDrift(st.FrequencyPPM), 0o644); err != nil {
		a.log.Warn("drift file not written", "err", err)
		return
	}
	a.log.Debug("drift file written", "path", a.opts.DriftFile, "ppm", st.FrequencyPPM)
}
