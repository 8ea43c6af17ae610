//go:build linux

package wirelab

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// SyncLimit is the error beyond which a client is not synchronized, for
// the time to sync: 1 ms, chrony's time_max_limit.
const SyncLimit = time.Millisecond

// Figures summarize a Series.
type Figures struct {
	// N is the number of samples from Settle on.
	N int
	// Mean and RMS of the error, and its largest magnitude, from Settle on.
	Mean, RMS, MaxAbs time.Duration
	// SyncTime is one second after the last sample whose error was
	// beyond SyncLimit (0 if none; Never if the last one was).
	SyncTime time.Duration
	Never    bool
	// FrequencyRMS is the RMS of the frequency error from Settle on, in
	// ppm; Frequency its last value.
	FrequencyRMS, Frequency float64
}

// Figures computes s's figures with statistics from settle on.
func (s Series) Figures(settle time.Duration) Figures {
	var f Figures
	var errs []time.Duration
	var fsum2 float64
	for i, x := range s.Samples {
		if x.Offset > SyncLimit || x.Offset < -SyncLimit {
			f.SyncTime = x.At + time.Second
			f.Never = i == len(s.Samples)-1
		}
		f.Frequency = x.FrequencyPPM
		if x.At < settle {
			continue
		}
		errs = append(errs, x.Offset)
		fsum2 += x.FrequencyPPM * x.FrequencyPPM
		f.MaxAbs = max(f.MaxAbs, x.Offset, -x.Offset)
	}
	f.N = len(errs)
	f.Mean, f.RMS = meanRMS(errs)
	if f.N > 0 {
		f.FrequencyRMS = math.Sqrt(fsum2 / float64(f.N))
	}
	return f
}

// meanRMS is the mean and the RMS of errs (zero when there are none).
func meanRMS(errs []time.Duration) (mean, rms time.Duration) {
	if len(errs) == 0 {
		return 0, 0
	}
	var sum, sum2 float64
	for _, e := range errs {
		sum += float64(e)
		sum2 += float64(e) * float64(e)
	}
	n := float64(len(errs))
	return time.Duration(math.Round(sum / n)), time.Duration(math.Round(math.Sqrt(sum2 / n)))
}

// BothSynced is the start of the time, from settle on, during which both
// clients say they are synchronized at every sample: the time their
// figures compare. It is the run's Duration when there is none.
func (r Result) BothSynced(settle time.Duration) time.Duration {
	from := r.Config.Duration
	a, c := r.Agent.Samples, r.Chronyd.Samples
	for i := min(len(a), len(c)) - 1; i >= 0; i-- {
		if !a[i].Synced || !c[i].Synced || a[i].At < settle {
			break
		}
		from = a[i].At
	}
	return from
}

// String renders the figures on one line.
func (f Figures) String() string {
	sync := fmt.Sprintf("%.0f s", f.SyncTime.Seconds())
	if f.Never {
		sync = "never"
	}
	return fmt.Sprintf("error RMS %s mean %+.1f µs max %s (n=%d); within 1 ms from %s; frequency error RMS %.3f ppm, last %+.3f ppm",
		us(f.RMS), float64(f.Mean)/1e3, us(f.MaxAbs), f.N, sync, f.FrequencyRMS, f.Frequency)
}

// us renders a duration in microseconds with one decimal.
func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/1e3) }

// describe renders every tenth sample of a series, for a failing test.
func describe(s Series) string {
	out := ""
	for i, x := range s.Samples {
		if i%10 == 0 || i == len(s.Samples)-1 {
			out += fmt.Sprintf("\n  %4.0f s %+9.1f µs %+8.3f ppm synced=%v", x.At.Seconds(), float64(x.Offset)/1e3, x.FrequencyPPM, x.Synced)
		}
	}
	return out
}

// HostStall is how late past its deadline a delay line must send a
// datagram for the run to count as one the host stalled: the line sends
// within tens of microseconds of its deadlines unless the host stops
// scheduling it, and a stall of milliseconds holds up more than that
// datagram (the clients, the reference and the line's clock readings
// alike), which no client's filter can tell from the path.
const HostStall = time.Millisecond

// HostStalls are the datagrams of either delay line that the host held
// more than HostStall past their deadline from one maximum poll interval
// before settle on (a stall then reaches the window through the sample it
// spoils).
func (r Result) HostStalls(settle time.Duration) []Datagram {
	from := r.Start.Add(settle - time.Second<<r.Config.MaxPoll)
	var out []Datagram
	for _, d := range append(slices.Clip(r.AgentDatagrams), r.ChronydDatagrams...) {
		if d.Late > HostStall && !d.Arrived.Before(from) {
			out = append(out, d)
		}
	}
	return out
}
