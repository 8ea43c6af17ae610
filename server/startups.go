package server

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ntpagent/ntpagent/server/netconf"
)

// Names of the connection limits, as logged when one refuses a connection.
const (
	limitStartups          = "max-startups"
	limitStartupsPerSource = "max-startups-per-source"
	limitConnections       = "max-connections"
)

// startups counts the SSH connections that have not completed
// authentication, all together and per source (the idea of OpenSSH's
// MaxStartups and PerSourceMaxStartups): a source that opens idle TCP
// connections fills its own share, not the slots administrators log in with.
// A key is in bySource only while its count is above zero, so the map holds
// at most max entries.
type startups struct {
	max, perSource int

	mu       sync.Mutex
	total    int
	bySource map[string]int
}

func newStartups(max, perSource int) *startups {
	return &startups{max: max, perSource: perSource, bySource: map[string]int{}}
}

// acquire counts one more unauthenticated connection from source; when
// that would pass a limit it counts nothing and returns the limit's name.
func (s *startups) acquire(source string) (refusedBy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bySource[source] >= s.perSource {
		return limitStartupsPerSource
	}
	if s.total >= s.max {
		return limitStartups
	}
	s.total++
	s.bySource[source]++
	return ""
}

// release undoes one successful acquire of source.
func (s *startups) release(source string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.bySource[source]
	if n == 0 {
		return
	}
	s.total--
	if n == 1 {
		delete(s.bySource, source)
		return
	}
	s.bySource[source] = n - 1
}

// count returns the unauthenticated connections of source and of all
// sources together.
func (s *startups) count(source string) (fromSource, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bySource[source], s.total
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
	clock netconf.Clock

	mu         sync.Mutex
	window     time.Time
	logged     map[string]bool // sources logged in the current window
	suppressed int             // refusals not logged since the last line
}

const (
	refusalLogWindow  = time.Second
	refusalLogSources = 16
)

func newRefusalLog(log *slog.Logger, clock netconf.Clock) *refusalLog {
	return &refusalLog{log: log, clock: clock, logged: map[string]bool{}}
}

// refused logs that a connection from remote (whose per-source key is
// source) was refused by limit.
func (r *refusalLog) refused(source, remote, limit string, bound int) {
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
	r.log.Warn("ssh connection refused before the handshake", "source", source, "remote", remote,
		"limit", limit, "max", bound,
		"refused_unlogged", suppressed)
}
