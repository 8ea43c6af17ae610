//go:build linux

package wirelab

import (
	"testing"
	"time"
)

// Figures: mean, RMS and largest error from Settle on; the time to sync is
// one second after the last sample beyond 1 ms (counted from the start),
// "never" when the last sample is beyond it.
func TestFiguresFromSettleAndSyncTime(t *testing.T) {
	s := Series{Samples: []Sample{
		{At: 1 * time.Second, Offset: 5 * time.Millisecond},
		{At: 2 * time.Second, Offset: -2 * time.Millisecond, FrequencyPPM: 9},
		{At: 3 * time.Second, Offset: 30 * time.Microsecond, FrequencyPPM: 3},
		{At: 4 * time.Second, Offset: -10 * time.Microsecond, FrequencyPPM: -4},
	}}
	f := s.Figures(3 * time.Second)
	if f.N != 2 || f.Mean != 10*time.Microsecond || f.MaxAbs != 30*time.Microsecond {
		t.Errorf("N %d mean %v max %v, want 2, 10µs, 30µs", f.N, f.Mean, f.MaxAbs)
	}
	if want := 22361 * time.Nanosecond; f.RMS != want { // √((30²+10²)/2) µs
		t.Errorf("RMS %v, want %v", f.RMS, want)
	}
	if f.SyncTime != 3*time.Second || f.Never {
		t.Errorf("sync time %v never %v, want 3s false", f.SyncTime, f.Never)
	}
	if f.FrequencyRMS != 3.5355339059327378 || f.Frequency != -4 { // √((3²+4²)/2)
		t.Errorf("frequency RMS %v last %v, want √12.5 and -4", f.FrequencyRMS, f.Frequency)
	}
	s.Samples = append(s.Samples, Sample{At: 5 * time.Second, Offset: 1001 * time.Microsecond})
	if f := s.Figures(0); !f.Never || f.SyncTime != 6*time.Second {
		t.Errorf("last sample beyond 1 ms: sync time %v never %v, want 6s true", f.SyncTime, f.Never)
	}
}

// The figures compare the clients over the time, from the settling time
// on, during which both say they are synchronized at every sample.
func TestBothSyncedIsTheCommonSynchronizedTail(t *testing.T) {
	series := func(synced ...bool) Series {
		var s Series
		for i, ok := range synced {
			s.Samples = append(s.Samples, Sample{At: time.Duration(i+1) * time.Second, Synced: ok})
		}
		return s
	}
	for _, c := range []struct {
		name           string
		agent, chronyd Series
		settle, want   time.Duration
	}{
		{"both from the start: the settling time", series(true, true, true, true), series(true, true, true, true), 2 * time.Second, 2 * time.Second},
		{"chronyd later", series(true, true, true, true), series(false, false, true, true), time.Second, 3 * time.Second},
		{"the agent lost it once", series(true, false, true, true), series(true, true, true, true), time.Second, 3 * time.Second},
		{"not at the end: none", series(true, true, true, false), series(true, true, true, true), time.Second, 10 * time.Second},
	} {
		r := Result{Config: Config{Duration: 10 * time.Second}, Agent: c.agent, Chronyd: c.chronyd}
		if got := r.BothSynced(c.settle); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// A run counts as stalled by the host when either line sent a datagram
// more than HostStall past its deadline from one maximum poll interval
// before the settling time on; earlier stalls, and lateness below it, do
// not count.
func TestHostStallsInOrJustBeforeTheWindow(t *testing.T) {
	start := time.Date(2026, 12, 5, 20, 0, 0, 0, time.UTC)
	at := func(s int, late time.Duration) Datagram {
		return Datagram{Arrived: start.Add(time.Duration(s) * time.Second), Late: late}
	}
	r := Result{
		Config: Config{MaxPoll: 4},
		Start:  start,
		AgentDatagrams: []Datagram{
			at(10, 16*time.Millisecond), // long before the window
			at(70, 2*time.Millisecond),  // one poll (16 s) before settle: spoils a sample in it
			at(90, 900*time.Microsecond),
		},
		ChronydDatagrams: []Datagram{at(63, 5*time.Millisecond), at(120, 1500*time.Microsecond)},
	}
	got := r.HostStalls(80 * time.Second)
	if len(got) != 2 || got[0] != r.AgentDatagrams[1] || got[1] != r.ChronydDatagrams[1] {
		t.Errorf("stalls %v, want the agent's at 70 s and chronyd's at 120 s", got)
	}
	if r.AgentDatagrams = r.AgentDatagrams[:1]; len(r.HostStalls(80*time.Second)) != 1 {
		t.Errorf("the agent's stalls only before the window: %v, want chronyd's one", r.HostStalls(80*time.Second))
	}
}
