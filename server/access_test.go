package server

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/fakeclock"
	"github.com/ntpagent/ntpagent/internal/nctest"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"golang.org/x/crypto/ssh"
)

// A busy operator cannot take the sessions an administrator needs: users
// of other roles share MaxSessions-AdminReserve sessions; admins get the
// rest. One user gets at most MaxSessionsPerUser.
func TestAdminReserveAndPerUserSessionLimits(t *testing.T) {
	a := startAgent(t, func(c *agentConfig) { c.MaxSessions, c.AdminReserve, c.MaxSessionsPerUser = 4, 2, 3 })
	dialNC(t, a.addr, a.operator(), true)
	dialNC(t, a.addr, a.operator(), true)
	if _, err := dialNCErr(t, a.addr, a.operator(), true); err == nil {
		t.Fatal("an operator took a session of the administrators' reserve")
	}
	dialNC(t, a.addr, a.adminKey(), true)
	dialNC(t, a.addr, a.adminKey(), true)
	if _, err := dialNCErr(t, a.addr, a.adminKey(), true); err == nil {
		t.Fatal("a fifth session with MaxSessions 4")
	}

	b := startAgent(t, func(c *agentConfig) { c.MaxSessions, c.AdminReserve, c.MaxSessionsPerUser = 10, 2, 3 })
	for range 3 {
		dialNC(t, b.addr, b.adminKey(), true)
	}
	if _, err := dialNCErr(t, b.addr, b.adminKey(), true); err == nil {
		t.Fatal("a fourth session of one user with MaxSessionsPerUser 3")
	}
	dialNC(t, b.addr, b.operator(), true) // another user still gets one
}

// Logged-in connections are bounded too (MaxSessions+8), with the same
// reserve: an operator holding connections without sessions cannot keep
// an administrator from logging in.
func TestAuthenticatedConnectionsKeepTheAdminReserve(t *testing.T) {
	a := startAgent(t, func(c *agentConfig) { c.MaxSessions, c.AdminReserve = 2, 1 }) // 10 connections, 9 for operators
	var held []*ssh.Client
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	for range 9 {
		c, err := ssh.Dial("tcp", a.addr, a.operator())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	testtool.WaitFor(t, 10*time.Second, "nine operator connections counted", func() bool {
		a.srv.limits.mu.Lock()
		defer a.srv.limits.mu.Unlock()
		return a.srv.limits.nonAdminConns == 9
	})
	// A tenth operator login succeeds, and the server closes it at once.
	if extra, err := ssh.Dial("tcp", a.addr, a.operator()); err == nil {
		done := make(chan error, 1)
		go func() { done <- extra.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("an operator connection past the reserve was kept open")
		}
	}
	c := dialNC(t, a.addr, a.adminKey(), true)
	nctest.WantOK(t, c.RPC(`<lock><target><candidate/></target></lock>`))
	a.srv.limits.mu.Lock()
	defer a.srv.limits.mu.Unlock()
	if a.srv.limits.nonAdminConns != 9 || a.srv.limits.conns != 10 {
		t.Fatalf("counted %d operator connections, %d in all; want 9 and 10", a.srv.limits.nonAdminConns, a.srv.limits.conns)
	}
}

// fakeMeta is the ssh.ConnMetadata of a login from addr.
type fakeMeta struct {
	user string
	addr net.Addr
}

func (m fakeMeta) User() string          { return m.user }
func (m fakeMeta) SessionID() []byte     { return nil }
func (m fakeMeta) ClientVersion() []byte { return []byte("SSH-2.0-test") }
func (m fakeMeta) ServerVersion() []byte { return []byte("SSH-2.0-ntpagent") }
func (m fakeMeta) RemoteAddr() net.Addr  { return m.addr }
func (m fakeMeta) LocalAddr() net.Addr   { return &net.TCPAddr{IP: net.IPv6loopback, Port: 830} }

// Password guesses from one IPv6 /64 count together, whichever address of
// it each comes from (RFC 4291 §2.5.4: one host may own the whole /64):
// after freeFailures, even the right password is refused.
func TestBackoffCountsAnIPv6Slash64AsOneSource(t *testing.T) {
	clk := fakeclock.New()
	a := startAgent(t, func(c *agentConfig) { c.Clock = clk })
	from := func(i int) net.Addr {
		return &net.TCPAddr{IP: net.ParseIP(fmt.Sprintf("2001:db8:7:7:%x::1", i+1)), Port: 40000 + i}
	}
	checked := 0
	for i := range 35 {
		_, err := a.srv.checkPassword(fakeMeta{"operator", from(i)}, []byte("wrong"))
		if err != nil && strings.Contains(err.Error(), "wrong user or password") {
			checked++
		}
	}
	if checked > freeFailures+1 {
		t.Fatalf("%d guesses from one /64 were checked; the back-off allows %d", checked, freeFailures+1)
	}
	if _, err := a.srv.checkPassword(fakeMeta{"operator", from(99)}, []byte(operatorPassword)); err == nil {
		t.Fatal("the right password from the same /64 was let through while it backs off")
	}
	other := &net.TCPAddr{IP: net.ParseIP("2001:db8:7:8::1"), Port: 1}
	if _, err := a.srv.checkPassword(fakeMeta{"operator", other}, []byte(operatorPassword)); err != nil {
		t.Fatalf("another /64 is not backing off: %v", err)
	}
}

// Guesses sent at once get no more checks than the same guesses sent one
// after another: the check and the record are one critical section.
func TestBackoffConcurrentGuessesAreCountedBeforeTheyAreChecked(t *testing.T) {
	a := startAgent(t, func(c *agentConfig) { c.Clock = fakeclock.New() })
	src := &net.TCPAddr{IP: net.ParseIP("192.0.2.9"), Port: 1}
	var mu sync.Mutex
	checked := 0
	var wg sync.WaitGroup
	for range 13 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.srv.checkPassword(fakeMeta{"operator", src}, []byte("wrong"))
			if err != nil && strings.Contains(err.Error(), "wrong user or password") {
				mu.Lock()
				checked++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if checked > freeFailures+1 {
		t.Fatalf("%d of 13 concurrent guesses were checked; the back-off allows %d", checked, freeFailures+1)
	}
}
