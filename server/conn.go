package server

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntpagent/ntpagent/internal/clock"
	"golang.org/x/crypto/ssh"
)

// activityConn records when the client last sent bytes, for the idle timeout.
type activityConn struct {
	net.Conn
	clock clock.Clock
	last  atomic.Int64 // UnixNano
	// waiting counts event subscriptions on the connection; while one is
	// active the connection is not idle, only waiting for events.
	waiting atomic.Int32
	// timedOut is set when watchIdle closed the connection.
	timedOut atomic.Bool
	// sentBytes is set once the client has sent anything.
	sentBytes atomic.Bool
	// out writes what the transport writes, holding it while a
	// subsystem's message is written (coalesce.go).
	out *coalescer
}

func newActivityConn(c net.Conn, clk clock.Clock) *activityConn {
	return &activityConn{Conn: c, clock: clk, out: &coalescer{conn: c}}
}

func (c *activityConn) Write(p []byte) (int, error) { return c.out.write(p) }

func (c *activityConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.last.Store(c.clock.Now().UnixNano())
		c.sentBytes.Store(true)
	}
	return n, err
}

// watchIdle closes c once it has been idle for d. It returns a stop function.
func watchIdle(c *activityConn, d time.Duration) func() {
	var mu sync.Mutex
	stopped := false
	var t clock.Timer
	var check func()
	check = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		idle := c.clock.Now().Sub(time.Unix(0, c.last.Load()))
		if c.waiting.Load() > 0 {
			idle = 0
			c.last.Store(c.clock.Now().UnixNano())
		}
		if idle >= d {
			c.timedOut.Store(true)
			c.Close()
			return
		}
		t = c.clock.AfterFunc(d-idle, check)
	}
	mu.Lock()
	t = c.clock.AfterFunc(d, check)
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		if t != nil {
			t.Stop()
		}
		mu.Unlock()
	}
}

// handleConn serves one SSH connection; it calls authenticated once the
// client has logged in.
func (s *Server) handleConn(c *activityConn, authenticated func()) {
	raw := c.Conn
	_ = raw.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	// A client sends its version line at once (RFC 4253 §4.2): a
	// connection silent for PreambleTimeout is not one.
	preamble := s.clock.AfterFunc(s.cfg.PreambleTimeout, func() {
		if !c.sentBytes.Load() {
			s.log.Debug("ssh connection closed: no byte from the client", "remote", raw.RemoteAddr().String(), "after", s.cfg.PreambleTimeout)
			raw.Close()
		}
	})
	sc, chans, reqs, err := ssh.NewServerConn(c, s.ssh)
	preamble.Stop()
	if err != nil {
		s.log.Debug("ssh handshake failed", "remote", raw.RemoteAddr().String(), "err", err)
		return
	}
	authenticated()
	_ = raw.SetDeadline(time.Time{})
	defer sc.Close()
	role := Role(sc.Permissions.Extensions["role"])
	if !s.limits.acquireConn(role) {
		s.log.Warn("ssh connection refused after login: connection limit of its role reached", "user", sc.User(), "role", role,
			"source", hostOf(raw.RemoteAddr()))
		return
	}
	defer s.limits.releaseConn(role)
	if s.cfg.IdleTimeout > 0 {
		stop := watchIdle(c, s.cfg.IdleTimeout)
		defer stop()
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	// open counts the channels being served: each costs a goroutine and a
	// receive window, so one login cannot open hundreds.
	var open atomic.Int32
	for nch := range chans {
		if nch.ChannelType() != "session" {
			_ = nch.Reject(ssh.UnknownChannelType, "only session channels are served")
			continue
		}
		if open.Load() >= int32(s.cfg.MaxChannels) {
			s.log.Warn("ssh channel refused: per-connection limit reached", "user", sc.User(), "max", s.cfg.MaxChannels)
			_ = nch.Reject(ssh.ResourceShortage, "too many channels on this connection")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		open.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer open.Add(-1)
			s.handleChannel(ctx, sc, c, ch, creqs)
		}()
	}
	cancel()
	wg.Wait()
}
