package server

import (
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ntpagent/ntpagent/internal/clock"
)

// Names of the connection limits, as logged when one refuses a connection.
const (
	limitStartups          = "max-startups"
	limitStartupsEarlyDrop = "max-startups-random-early-drop"
	limitStartupsPerSource = "max-startups-per-source"
	limitConnections       = "max-connections"
)

// startups admits the SSH connections that have not completed
// authentication, all together and per source, with the ideas of OpenSSH's
// MaxStartups start:rate:full and PerSourceMaxStartups, so that whoever
// floods the port does not keep administrators out:
//
//   - a source past perSource is refused: it fills its own share only;
//   - from start unauthenticated connections on, a new one is dropped at
//     random, with probability rate % at start rising linearly to 100 % at
//     full (random early drop);
//   - but before a newcomer is dropped, a connection that is plainly an
//     attacker's gives way to it: from start on, one that has sent no SSH
//     byte for idleVictimAge (a real client sends its version line at once,
//     RFC 4253 §4.2); at full, else the oldest of a source holding more
//     than one slot (more than a fair share while others wait). Only when
//     no connection is either is the newcomer refused at full.
//
// Entries leave when their connection authenticates or ends. A key is in
// bySource only while its count is above zero, so the memory is bounded by
// full.
type startups struct {
	start, rate, full, perSource int

	mu       sync.Mutex
	rng      *rand.Rand
	entries  map[*startup]struct{}
	bySource map[string]int
}

// startup is one counted connection.
type startup struct {
	source string
	since  time.Time
	// sentBytes tells whether the client has sent anything yet.
	sentBytes func() bool
	// evict closes the connection (when it gives way to a newcomer).
	evict   func()
	counted bool
}

// idleVictimAge is how long a connection may stay silent before it can
// give way to a newcomer at full: a client that has just connected gets
// the time to send its version line.
const idleVictimAge = time.Second

func newStartups(start, rate, full, perSource int, seed uint64) *startups {
	if start <= 0 || start > full {
		start = full
	}
	return &startups{start: start, rate: min(max(rate, 0), 100), full: full, perSource: perSource,
		rng: rand.New(rand.NewPCG(seed, seed>>32|1)), entries: map[*startup]struct{}{}, bySource: map[string]int{}}
}

// acquire counts one more unauthenticated connection; when it is refused
// it counts nothing and returns the limit's name. A connection that gives
// way to it is returned as victim (no longer counted; the caller closes it
// outside the lock).
func (s *startups) acquire(e *startup, now time.Time) (victim *startup, refusedBy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bySource[e.source] >= s.perSource {
		return nil, limitStartupsPerSource
	}
	if n := len(s.entries); n >= s.start {
		v, silent := s.victim(now)
		switch {
		case v != nil && (silent || n >= s.full):
			victim = v
			s.remove(v)
		case n >= s.full:
			return nil, limitStartups
		case s.rng.IntN(100*(s.full-s.start)) < s.rate*(s.full-s.start)+(100-s.rate)*(n-s.start):
			// rate % at start, rising linearly to 100 % at full.
			return nil, limitStartupsEarlyDrop
		}
	}
	e.counted = true
	s.entries[e] = struct{}{}
	s.bySource[e.source]++
	return victim, ""
}

// victim picks the connection that gives way to a newcomer, or nil: a
// silent one (from start on), else one of the most crowded source (at
// full).
func (s *startups) victim(now time.Time) (v *startup, silent bool) {
	var quiet, crowded *startup
	for e := range s.entries {
		if !e.sentBytes() && now.Sub(e.since) >= idleVictimAge && (quiet == nil || e.since.Before(quiet.since)) {
			quiet = e
		}
		if s.bySource[e.source] > 1 && (crowded == nil || s.bySource[e.source] > s.bySource[crowded.source] ||
			(s.bySource[e.source] == s.bySource[crowded.source] && e.since.Before(crowded.since))) {
			crowded = e
		}
	}
	if quiet != nil {
		return quiet, true
	}
	return crowded, false
}

// release uncounts e (once authenticated, or when its connection ends).
func (s *startups) release(e *startup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.counted {
		s.remove(e)
	}
}

func (s *startups) remove(e *startup) {
	e.counted = false
	delete(s.entries, e)
	if n := s.bySource[e.source]; n <= 1 {
		delete(s.bySource, e.source)
	} else {
		s.bySource[e.source] = n - 1
	}
}

// count returns the unauthenticated connections of source and of all
// sources together.
func (s *startups) count(source string) (fromSource, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bySource[source], len(s.entries)
}

// sourceKey is what the per-source limit counts by: the IPv4 address
// (IPv4-mapped IPv6 included), or the /64 prefix of an IPv6 address, since
// one IPv6 host commonly owns a whole /64 (RFC 4291 §2.5.4, RFC 8981) and
// could otherwise open each connection from a new address.
func sourceKey(a net.Addr) string {
	var ip netip.Addr
	switch a := a.(type) {
	case *net.TCPAddr:
		ip = a.AddrPort().Addr()
	default:
		if a == nil {
			return ""
		}
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return a.String()
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	if !ip.Is6() {
		return ip.String()
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return ip.String()
	}
	return p.String()
}

// refusalLog writes the Warn line for a refused connection at most once
// per source per second, and for at most refusalLogSources sources per
// second: the refusals beyond that are counted and the count is logged with
// the next line. Its memory is bounded by refusalLogSources.
type refusalLog struct {
	log   *slog.Logger
	clock clock.Clock

	mu         sync.Mutex
	window     time.Time
	logged     map[string]bool // sources logged in the current window
	suppressed int             // refusals not logged since the last line
}

const (
	refusalLogWindow  = time.Second
	refusalLogSources = 16
)

func newRefusalLog(log *slog.Logger, clk clock.Clock) *refusalLog {
	return &refusalLog{log: log, clock: clk, logged: map[string]bool{}}
}

// refused logs that a connection from remote (whose per-source key is
// source) was refused by limit.
func (r *refusalLog) refused(source, remote, limit string, bound int) {
	r.logf("ssh connection refused before the handshake", source, remote, limit, bound)
}

// gaveWay logs that an unauthenticated connection was closed to make room
// for a new one (see startups).
func (r *refusalLog) gaveWay(source string, bound int) {
	r.logf("ssh connection not yet logged in closed to make room for a new one", source, source, limitStartups, bound)
}

func (r *refusalLog) logf(msg, source, remote, limit string, bound int) {
	now := r.clock.Now()
	r.mu.Lock()
	if now.Sub(r.window) >= refusalLogWindow || now.Before(r.window) {
		r.window = now
		clear(r.logged)
	}
	if r.logged[source] || len(r.logged) >= refusalLogSources {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	r.logged[source] = true
	suppressed := r.suppressed
	r.suppressed = 0
	r.mu.Unlock()
	r.log.Warn(msg, "source", source, "remote", remote,
		"limit", limit, "max", bound,
		"refused_unlogged", suppressed)
}
