// Package backoff is the one exponential back-off of the daemon: a delay
// that starts at First and doubles with each further failure, up to Max.
// The SSH server backs off password guessing with it, the agent the
// retries of domain-name lookups. It imports nothing of ours.
package backoff

import "time"

// Doubling is a back-off whose delay after the n-th consecutive failure is
// First·2^(n−1), at most Max. The zero value is no delay.
type Doubling struct {
	First, Max time.Duration
}

// Delay returns the delay after the n-th consecutive failure (n ≥ 1); 0
// for n ≤ 0.
func (b Doubling) Delay(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := b.First
	for i := 1; i < n && d > 0 && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}
