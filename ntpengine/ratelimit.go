package ntpengine

import "net/netip"

// rateLimiter is a token bucket per source address for the stateless
// server, bounded in the number of sources it remembers (oldest first out).
type rateLimiter struct {
	interval float64 // s per request on average; 0 disables
	burst    float64
	kod      bool
	max      int
	entries  map[netip.Addr]*rlEntry
	order    []netip.Addr
}

type rlEntry struct {
	tokens  float64
	last    float64
	lastKoD float64
	kodSent bool
}

func newRateLimiter(c RateLimit) rateLimiter {
	var r rateLimiter
	r.entries = map[netip.Addr]*rlEntry{}
	r.configure(c)
	return r
}

func (r *rateLimiter) configure(c RateLimit) {
	switch {
	case c.Interval < 0:
		r.interval = 0
	case c.Interval == 0:
		r.interval = 1
	default:
		r.interval = c.Interval.Seconds()
	}
	r.burst = float64(c.Burst)
	if c.Burst <= 0 {
		r.burst = 8
	}
	r.kod = !c.NoKoD
	r.max = c.MaxSources
	if r.max <= 0 {
		r.max = 4096
	}
}

// allow reports whether a request from addr at t is served; when it is
// not, kod says whether a RATE kiss may be sent (at most one per interval).
func (r *rateLimiter) allow(addr netip.Addr, t float64) (ok, kod bool) {
	if r.interval == 0 {
		return true, false
	}
	addr = addr.Unmap()
	en := r.entries[addr]
	if en == nil {
		for len(r.order) >= r.max {
			delete(r.entries, r.order[0])
			r.order = r.order[1:]
		}
		en = &rlEntry{tokens: r.burst, last: t}
		r.entries[addr] = en
		r.order = append(r.order, addr)
	}
	if dt := t - en.last; dt > 0 {
		en.tokens = min(r.burst, en.tokens+dt/r.interval)
	}
	en.last = t
	if en.tokens >= 1 {
		en.tokens--
		return true, false
	}
	if r.kod && (!en.kodSent || t-en.lastKoD >= r.interval) {
		en.kodSent, en.lastKoD = true, t
		return false, true
	}
	return false, false
}
