package server

import (
	"sync"
	"time"

	"github.com/ntpagent/ntpagent/server/netconf"
)

// backoff slows down password guessing per source address: after
// freeFailures failed passwords, the source is refused without checking for
// a delay that doubles with each further failure, up to maxDelay. A
// successful login clears the record.
type backoff struct {
	clock netconf.Clock
	mu    sync.Mutex
	src   map[string]*failures
}

type failures struct {
	count int
	until time.Time
	last  time.Time
}

const (
	freeFailures   = 5
	firstDelay     = time.Second
	maxDelay       = time.Minute
	maxTracked     = 4096
	forgetFailures = 15 * time.Minute
)

func newBackoff(c netconf.Clock) *backoff {
	return &backoff{clock: c, src: map[string]*failures{}}
}

func (b *backoff) allowed(src string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.src[src]
	return f == nil || !b.clock.Now().Before(f.until)
}

func (b *backoff) fail(src string) {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.src[src]
	if f == nil {
		if len(b.src) >= maxTracked {
			b.prune(now)
		}
		f = &failures{}
		b.src[src] = f
	}
	if now.Sub(f.last) > forgetFailures {
		f.count = 0
	}
	f.count++
	f.last = now
	if f.count > freeFailures {
		d := firstDelay << min(f.count-freeFailures-1, 6)
		f.until = now.Add(min(d, maxDelay))
	}
}

func (b *backoff) succeed(src string) {
	b.mu.Lock()
	delete(b.src, src)
	b.mu.Unlock()
}

// prune drops stale records, then, if still full, everything: the table
// must stay bounded even under a flood of sources.
func (b *backoff) prune(now time.Time) {
	for k, f := range b.src {
		if now.Sub(f.last) > forgetFailures && !now.Before(f.until) {
			delete(b.src, k)
		}
	}
	if len(b.src) >= maxTracked {
		clear(b.src)
	}
}
