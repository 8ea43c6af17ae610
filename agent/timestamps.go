package agent

import (
	"sync"
	"time"
)

// hostNow reads the host's CLOCK_REALTIME, the clock of netio's kernel
// timestamps. It is neither the disciplined clock (which NTP steers) nor
// the process clock (which times the agent's waits and may be a test's
// fake): a kernel timestamp's age can only be measured against the clock
// that wrote it.
func hostNow() time.Time { return time.Now() }

// rxTime converts a host-clock time of netio (a kernel receive or transmit
// timestamp, a time read before a send) to the disciplined clock (see the
// package documentation).
func (a *Agent) rxTime(host time.Time) time.Time {
	now := a.ntpClock.Now()
	age := hostNow().Sub(host)
	if age < 0 {
		age = 0
	}
	return now.Add(-age)
}

// clockPair is a reading of the disciplined clock and one of the host
// clock, taken together. Safe for concurrent use; allocates nothing.
type clockPair struct {
	mu      sync.Mutex
	clk, hs time.Time
}

func (p *clockPair) set(clk, host time.Time) {
	p.mu.Lock()
	p.clk, p.hs = clk, host
	p.mu.Unlock()
}

// txPairWindow is how far from the last send's pair of readings a kernel
// transmit timestamp may be to be converted from it.
const txPairWindow = 100 * time.Millisecond

// txTime converts a kernel transmit timestamp (host CLOCK_REALTIME) to the
// disciplined clock: from the pair of readings taken just before the last
// send, which is microseconds away, so that a clock running at another
// rate than the host's (a disciplined or test clock) adds no error; from
// the current readings (rxTime) when that pair is too old.
func (a *Agent) txTime(host time.Time) time.Time {
	p := &a.sendPair
	p.mu.Lock()
	clk, hs := p.clk, p.hs
	p.mu.Unlock()
	if d := host.Sub(hs); !hs.IsZero() && d > -txPairWindow && d < txPairWindow {
		return clk.Add(d)
	}
	return a.rxTime(host)
}
