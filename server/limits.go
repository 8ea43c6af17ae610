package server

import "sync"

// sessionLimits bounds what logged-in users hold, so that neither a busy
// account nor the users of a lesser role can lock the administrators out:
//
//   - sessions (NETCONF and CLI): maxSessions in all; users of roles other
//     than admin together at most maxSessions-reserve; one user at most
//     perUser;
//   - authenticated SSH connections: maxSessions+8 in all, other roles
//     together at most that less reserve (a connection costs a goroutine
//     and buffers even with no session open).
type sessionLimits struct {
	maxSessions, reserve, perUser int

	mu                   sync.Mutex
	sessions, nonAdmin   int
	conns, nonAdminConns int
	byUser               map[string]int
}

// The limits a session can be refused by, as logged.
const (
	limitSessions        = "max-sessions"
	limitAdminReserve    = "admin-reserve"
	limitSessionsPerUser = "max-sessions-per-user"
)

func newSessionLimits(maxSessions, reserve, perUser int) *sessionLimits {
	return &sessionLimits{maxSessions: maxSessions, reserve: reserve, perUser: perUser, byUser: map[string]int{}}
}

// acquireSession counts one more session of user, or returns the limit
// that refuses it.
func (l *sessionLimits) acquireSession(user string, role Role) (refusedBy string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.sessions >= l.maxSessions:
		return limitSessions
	case role != RoleAdmin && l.nonAdmin >= l.maxSessions-l.reserve:
		return limitAdminReserve
	case l.byUser[user] >= l.perUser:
		return limitSessionsPerUser
	}
	l.sessions++
	if role != RoleAdmin {
		l.nonAdmin++
	}
	l.byUser[user]++
	return ""
}

func (l *sessionLimits) releaseSession(user string, role Role) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sessions--
	if role != RoleAdmin {
		l.nonAdmin--
	}
	if n := l.byUser[user]; n <= 1 {
		delete(l.byUser, user)
	} else {
		l.byUser[user] = n - 1
	}
}

// acquireConn counts one more authenticated connection of role.
func (l *sessionLimits) acquireConn(role Role) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	maxConns := l.maxSessions + 8
	if l.conns >= maxConns || (role != RoleAdmin && l.nonAdminConns >= maxConns-l.reserve) {
		return false
	}
	l.conns++
	if role != RoleAdmin {
		l.nonAdminConns++
	}
	return true
}

func (l *sessionLimits) releaseConn(role Role) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conns--
	if role != RoleAdmin {
		l.nonAdminConns--
	}
}
