//go:build linux

package wirelab

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ntpagent/ntpagent/gen"
)

// Measurement is one offset sample a client took of the reference, and
// the error it carried. RFC 5905 §8: a sample's offset is the server's
// clock minus the client's, so a sample taken exactly reads minus the
// client's true error at that time, and Error, its offset plus that true
// error, is what the path and the timestamps put into it: the delay
// line's asymmetry for that exchange (half the difference of the delays
// up and down), the lab's own, and any timestamp not taken where the
// packet left or arrived. What a client's clock error adds to its samples'
// errors is its own processing of them (filter, selection, discipline).
type Measurement struct {
	At     time.Duration // since the clients started (to the second; see Series.withErrors)
	Offset time.Duration // the sample's offset, θ
	Delay  time.Duration // its round-trip delay, δ
	Error  time.Duration // Offset plus the client's true error at the exchange measured
	// Interleaved (RFC 9769): the sample is of the exchange before the
	// one that completed it, a poll interval earlier (the previous
	// measurement's).
	Interleaved bool
}

// SampleFigures summarize a Series' measurements.
type SampleFigures struct {
	N         int
	Mean, RMS time.Duration
	// MedianAbs is the median magnitude of the errors: unlike the RMS,
	// not made by the one datagram in a hundred that a busy host delays
	// by milliseconds (which the clients' filters drop).
	MedianAbs time.Duration
}

func (f SampleFigures) String() string {
	return fmt.Sprintf("samples' error RMS %s mean %+.1f µs median magnitude %s (n=%d)", us(f.RMS), float64(f.Mean)/1e3, us(f.MedianAbs), f.N)
}

// SampleFigures computes the figures of s's measurements from settle on.
func (s Series) SampleFigures(settle time.Duration) SampleFigures {
	return s.sampleFigures(settle, -1)
}

// SampleFiguresNearLeastDelay computes the figures of s's measurements from
// settle on whose round-trip delay is within excess of the least among
// them: the samples a client's filter can use (RFC 5905 §10 keeps the
// sample of least delay; one whose datagram the path or the host held up
// is never it).
func (s Series) SampleFiguresNearLeastDelay(settle, excess time.Duration) SampleFigures {
	return s.sampleFigures(settle, excess)
}

// sampleFigures computes the figures of s's measurements from settle on,
// of those whose delay is within excess of the least (all when excess is
// negative).
func (s Series) sampleFigures(settle, excess time.Duration) SampleFigures {
	least := time.Duration(-1)
	for _, m := range s.Measurements {
		if m.At >= settle && (least < 0 || m.Delay < least) {
			least = m.Delay
		}
	}
	var errs, mags []time.Duration
	for _, m := range s.Measurements {
		if m.At >= settle && (excess < 0 || m.Delay <= least+excess) {
			errs = append(errs, m.Error)
			mags = append(mags, max(m.Error, -m.Error))
		}
	}
	f := SampleFigures{N: len(errs)}
	f.Mean, f.RMS = meanRMS(errs)
	if f.N > 0 {
		slices.Sort(mags)
		f.MedianAbs = mags[len(mags)/2]
	}
	return f
}

// trueErrorBefore is the series' true error at the last reading taken at
// least a second before at: before a measurement taken at at (the agent's
// are seen at the first reading after them, chronyd's logged to the
// second), so before any correction the client made from it (chronyd -x
// applies its corrections at once).
func (s Series) trueErrorBefore(at time.Duration) (time.Duration, bool) {
	e, ok := time.Duration(0), false
	for _, x := range s.Samples {
		if x.At > at-time.Second {
			break
		}
		e, ok = x.Offset, true
	}
	return e, ok
}

// withErrors fills in the Error of every measurement from s's true errors
// at the exchange it measured (an interleaved one's is the previous
// measurement's), dropping those taken before the first reading or after
// the last.
func (s *Series) withErrors() {
	kept := s.Measurements[:0]
	var prev time.Duration
	for i, m := range s.Measurements {
		exchange := m.At
		if m.Interleaved && i > 0 {
			exchange = prev
		}
		prev = m.At
		e, ok := s.trueErrorBefore(exchange)
		if ok && len(s.Samples) > 0 && m.At <= s.Samples[len(s.Samples)-1].At {
			m.Error = m.Offset + e
			kept = append(kept, m)
		}
	}
	s.Measurements = kept
}

// parseMeasurementsLog reads the samples chronyd logged from source
// (`log measurements`, one line per sample: date, time (UTC, to the
// second), source, leap, stratum, the RFC 5905 test bits, local and remote
// poll, score, the offset and the round-trip delay in seconds, dispersion,
// root delay and dispersion, reference ID, then the mode with B for basic
// or I for interleaved), At counted from start.
func parseMeasurementsLog(r io.Reader, source string, start time.Time) ([]Measurement, error) {
	var out []Measurement
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 13 || f[2] != source {
			continue // a header, a separator or another source
		}
		at, err := time.Parse("2006-01-02 15:04:05", f[0]+" "+f[1])
		if err != nil {
			continue
		}
		off, err1 := strconv.ParseFloat(f[11], 64)
		del, err2 := strconv.ParseFloat(f[12], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("wirelab: chronyd's measurements log: %q", sc.Text())
		}
		out = append(out, Measurement{
			At:          at.Sub(start.Truncate(time.Second)),
			Offset:      time.Duration(math.Round(off * 1e9)),
			Delay:       time.Duration(math.Round(del * 1e9)),
			Interleaved: len(f) > 17 && strings.Contains(f[17], "I"),
		})
	}
	return out, sc.Err()
}

// dummyDelayMS is the delay of a filter stage that holds no sample (RFC
// 5905 MAXDISP, 16 s), in ms.
const dummyDelayMS = 16000

// agentFilter finds the agent's new samples in its session's clock filter
// register (newest first, RFC 5905 §10), read once a second.
type agentFilter struct {
	newest [2]float64 // offset and delay, ms, of the newest sample seen
	seen   bool
}

// newSamples returns the samples that entered the register of the
// agent's one session since the last call, as taken at at.
func (f *agentFilter) newSamples(at time.Duration, sessions *gen.NtpagentNtp_Ntp_Sessions) []Measurement {
	if sessions == nil {
		return nil
	}
	var reg [][2]float64 // newest first
	interleaved := false
	for _, s := range sessions.Session {
		interleaved = s.GetInterleaved()
		for stage := uint8(1); stage <= 8; stage++ {
			e := s.Filter[stage]
			if e == nil || e.Offset == nil || e.Delay == nil {
				break
			}
			reg = append(reg, [2]float64{e.GetOffset(), e.GetDelay()})
		}
		break // the lab's agent has one session
	}
	if len(reg) == 0 {
		return nil
	}
	fresh := len(reg)
	if f.seen {
		fresh = 0
		for fresh < len(reg) && reg[fresh] != f.newest {
			fresh++
		}
	}
	f.newest, f.seen = reg[0], true
	var out []Measurement
	for i := fresh - 1; i >= 0; i-- {
		if reg[i][1] >= dummyDelayMS {
			continue // a poll without reply (RFC 5905 A.5.7.1), no sample
		}
		out = append(out, Measurement{
			At:          at,
			Offset:      time.Duration(math.Round(reg[i][0] * 1e6)),
			Delay:       time.Duration(math.Round(reg[i][1] * 1e6)),
			Interleaved: interleaved,
		})
	}
	return out
}
