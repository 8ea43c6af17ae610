package server

import (
	"sync"
	"time"

	delay "github.com/ntpagent/ntpagent/internal/backoff"
	"github.com/ntpagent/ntpagent/internal/clock"
)

// backoff slows down password guessing per source (sourceKey: an IPv4
// address or an IPv6 /64, since one host may own a whole /64): after
// freeFailures failed passwords, the source is refused without checking for
// a delay that doubles with each further failure, up to maxDelay. A
// successful login clears the record.
//
// begin checks and records an attempt in one critical section: an attempt
// counts as a failure from the moment it is let through until it succeeds,
// so many guesses sent at once from one source get no more checks than
// the same guesses sent one after another.
type backoff struct {
	clock clock.Clock
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

func newBackoff(c clock.Clock) *backoff {
	return &backoff{clock: c, src: map[string]*failures{}}
}

// begin lets an attempt from src through, counted as a failure until
// succeed clears it, or refuses it while src is backing off.
func (b *backoff) begin(src string) bool {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.src[src]
	if f != nil && now.Before(f.until) {
		return false
	}
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
		f.until = now.Add(delay.Doubling{First: firstDelay, Max: maxDelay}.Delay(f.count - freeFailures))
	}
	return true
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

// blocked tells whether src is backing off, recording nothing: a public
// key offered and refused is not a guess (clients offer every key they
// hold), and a signature cannot be guessed.
func (b *backoff) blocked(src string) bool {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.src[src]
	return f != nil && now.Before(f.until)
}
