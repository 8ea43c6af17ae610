//go:build linux

package wirelab

import (
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/gen"
)

// chronyd's measurements log: one line per sample of each source, the
// offset (RFC 5905 θ) and delay in seconds in the 12th and 13th fields;
// headers and other sources are skipped.
func TestMeasurementsLogOffsetAndDelayOfOneSource(t *testing.T) {
	log := `========================================================================================================================================
   Date (UTC) Time     IP Address   L St 123 567 ABCD  LP RP Score    Offset  Peer del. Peer disp.  Root del. Root disp. Refid     MTxRx
========================================================================================================================================
2026-12-05 14:40:12 198.18.0.2     N  1 111 111 1111   4  4 0.00 -1.234e-05  2.001e-03  1.000e-06  1.000e-06  1.000e-06 7F7F0101 4B K K
2026-12-05 14:40:13 198.19.0.9     N  1 111 111 1111   4  4 0.00  9.000e-03  2.001e-03  1.000e-06  1.000e-06  1.000e-06 7F7F0101 4B K K
2026-12-05 14:40:28 198.18.0.2     N  1 111 111 1111   4  4 0.00  3.000e-06  2.100e-03  1.000e-06  1.000e-06  1.000e-06 7F7F0101 4I K K
`
	start := time.Date(2026, 12, 5, 14, 40, 2, 600e6, time.UTC)
	got, err := parseMeasurementsLog(strings.NewReader(log), "198.18.0.2", start)
	if err != nil {
		t.Fatal(err)
	}
	want := []Measurement{
		{At: 10 * time.Second, Offset: -12340 * time.Nanosecond, Delay: 2001 * time.Microsecond},
		{At: 26 * time.Second, Offset: 3 * time.Microsecond, Delay: 2100 * time.Microsecond, Interleaved: true},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// A sample's error is its offset plus the client's true error when it was
// taken (RFC 5905 §8: an exact sample reads minus the client's error): the
// last reading at least a second before the sample's time (a sample is
// seen at the reading after it, or logged to the second), before any
// correction made from it.
func TestMeasurementErrorIsOffsetPlusTrueErrorBeforeIt(t *testing.T) {
	s := Series{
		Samples: []Sample{
			{At: time.Second, Offset: 10 * time.Microsecond},
			{At: 2 * time.Second, Offset: 20 * time.Microsecond},
			{At: 3 * time.Second, Offset: 90 * time.Microsecond}, // corrected after the sample
		},
		Measurements: []Measurement{
			{At: time.Second, Offset: -12 * time.Microsecond}, // no reading before it
			{At: 2 * time.Second, Offset: -12 * time.Microsecond},
			{At: 3 * time.Second, Offset: -20 * time.Microsecond},
			{At: 4 * time.Second, Offset: 0}, // after the last reading
		},
	}
	s.withErrors()
	if len(s.Measurements) != 2 || s.Measurements[0].Error != -2*time.Microsecond || s.Measurements[1].Error != 0 {
		t.Errorf("got %+v, want errors -2 µs and 0, the first and last dropped", s.Measurements)
	}
	if f := s.SampleFigures(0); f.N != 2 || f.Mean != -time.Microsecond || f.MedianAbs != 2*time.Microsecond {
		t.Errorf("figures %v, want n=2 mean -1 µs, median magnitude 2 µs (the upper of two)", f)
	}

	// RFC 9769: an interleaved sample is of the exchange before the one
	// that completed it, the previous measurement's.
	s.Measurements = []Measurement{
		{At: 2 * time.Second, Offset: -12 * time.Microsecond},
		{At: 4 * time.Second, Offset: -20 * time.Microsecond, Interleaved: true},
	}
	s.Samples = append(s.Samples, Sample{At: 4 * time.Second, Offset: 50 * time.Microsecond})
	s.withErrors()
	if s.Measurements[1].Error != -10*time.Microsecond {
		t.Errorf("interleaved: error %v, want -10 µs (offset -20 µs, true error +10 µs before the previous measurement)", s.Measurements[1].Error)
	}
}

// The agent's new samples are the entries of its filter register (newest
// first) ahead of the newest one seen at the last reading.
func TestAgentFilterNewSamplesSinceLastReading(t *testing.T) {
	reg := func(offsetsMS ...float64) *gen.NtpagentNtp_Ntp_Sessions {
		ss := &gen.NtpagentNtp_Ntp_Sessions{}
		s, err := ss.NewSession("198.18.0.2", "near", 123)
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range offsetsMS {
			e, _ := s.NewFilter(uint8(i + 1))
			o, d := o, 2.0
			e.Offset, e.Delay = &o, &d
		}
		return ss
	}
	var f agentFilter
	if got := f.newSamples(time.Second, reg(0.002, 0.001)); len(got) != 2 || got[0].Offset != time.Microsecond || got[1].Offset != 2*time.Microsecond {
		t.Errorf("first reading: %+v, want both, oldest first", got)
	}
	if got := f.newSamples(2*time.Second, reg(0.002, 0.001)); len(got) != 0 {
		t.Errorf("no new sample: %+v", got)
	}
	if got := f.newSamples(3*time.Second, reg(0.004, 0.003, 0.002, 0.001)); len(got) != 2 || got[0].Offset != 3*time.Microsecond || got[1].At != 3*time.Second {
		t.Errorf("two new: %+v, want 3 µs and 4 µs at 3 s", got)
	}
	// A poll without reply shifts in a dummy stage (RFC 5905 A.5.7.1,
	// delay MAXDISP): no sample.
	dummy := reg(0, 0.004, 0.003, 0.002, 0.001)
	for _, s := range dummy.Session {
		d := 16000.0
		s.Filter[1].Delay = &d
	}
	if got := f.newSamples(4*time.Second, dummy); len(got) != 0 {
		t.Errorf("a dummy stage: %+v, want no sample", got)
	}
}

// The samples a client's filter can use are those within the excess of
// the least delay: a sample whose datagram was held up (its delay and its
// error both off by milliseconds) is left out of their figures.
func TestSampleFiguresNearLeastDelayLeaveHeldUpSamplesOut(t *testing.T) {
	s := Series{Measurements: []Measurement{
		{At: time.Second, Delay: 1900 * time.Microsecond, Error: 50 * time.Microsecond}, // before settle
		{At: 10 * time.Second, Delay: 2010 * time.Microsecond, Error: 4 * time.Microsecond},
		{At: 20 * time.Second, Delay: 2000 * time.Microsecond, Error: -2 * time.Microsecond},
		{At: 30 * time.Second, Delay: 4840 * time.Microsecond, Error: -1420 * time.Microsecond}, // held up
	}}
	all, near := s.SampleFigures(5*time.Second), s.SampleFiguresNearLeastDelay(5*time.Second, 100*time.Microsecond)
	if all.N != 3 || all.Mean != -472667*time.Nanosecond {
		t.Errorf("all samples from settle: %+v, want 3, mean -472.7 µs", all)
	}
	if near.N != 2 || near.Mean != time.Microsecond {
		t.Errorf("samples near the least delay: %+v, want 2, mean +1 µs", near)
	}
}
