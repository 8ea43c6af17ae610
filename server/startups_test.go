package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/fakeclock"
	"github.com/ntpagent/ntpagent/internal/nctest"
	"github.com/ntpagent/ntpagent/internal/testtool"
)

// idleConn opens a TCP connection from src to addr that sends nothing, and
// waits for the server's SSH version line: the server has then counted it.
func idleConn(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	c, err := dialFrom(src, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "SSH-2.0-") {
		t.Fatalf("idle connection from %s: got %q, %v; want the server's version line", src, line, err)
	}
	return c
}

func dialFrom(src, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	return d.Dial("tcp", addr)
}

// wantRefused opens a connection from src and wants the server to close it
// without sending a byte (a read ends in EOF or a reset, within a bounded
// wait).
func wantRefused(t *testing.T, src, addr string) {
	t.Helper()
	c, err := dialFrom(src, addr)
	if err != nil {
		return // refused even earlier: fine
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	var ne net.Error
	switch {
	case n > 0:
		t.Fatalf("connection from %s got %q; want it closed before any SSH byte", src, buf[:n])
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("connection from %s was accepted and kept open; want it closed", src)
	case err == nil:
		t.Fatalf("connection from %s: empty read without an error", src)
	}
	// io.EOF or a connection reset: closed by the server.
	if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("connection from %s: %v; want EOF or reset", src, err)
	}
}

// waitStartups waits (bounded) until the server counts at most want
// unauthenticated connections from source; closing happens asynchronously.
func waitStartups(t *testing.T, a *testAgent, source string, want int) {
	t.Helper()
	testtool.WaitFor(t, 10*time.Second, fmt.Sprintf("at most %d unauthenticated connections from %s", want, source), func() bool {
		n, _ := a.srv.startups.count(source)
		return n <= want
	})
}

// A source at its MaxStartupsPerSource gets its next connection closed at
// once, with a Warn line naming the source and the limit, while an
// administrator from another address still logs in.
func TestStartupsPerSourceLimit(t *testing.T) {
	var logs testtool.Buffer
	a := startAgent(t, func(c *agentConfig) {
		c.MaxStartups, c.MaxStartupsPerSource = 10, 3
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	for range 3 {
		idleConn(t, "127.0.0.1", a.addr)
	}
	wantRefused(t, "127.0.0.1", a.addr)
	wantRefused(t, "127.0.0.1", a.addrs[1]) // the limit spans the listeners
	c := dialNCFrom(t, "127.0.0.2", a.addr, a.adminPassword(), true)
	if !strings.Contains(c.Hello, "urn:ietf:params:netconf:base:1.0") {
		t.Fatalf("hello: %s", c.Hello)
	}
	nctest.WantOK(t, c.RPC(`<lock><target><candidate/></target></lock>`))
	out := logs.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "source=127.0.0.1") ||
		!strings.Contains(out, "limit="+limitStartupsPerSource) {
		t.Fatalf("no warning naming the source and the limit:\n%s", out)
	}
	// Two refusals within a second: one line (the clock is the host's, so
	// a slow machine may have crossed into a second window: at most two).
	if n := strings.Count(out, "ssh connection refused"); n < 1 || n > 2 {
		t.Fatalf("%d refusal lines for 2 refusals:\n%s", n, out)
	}
}

// At MaxStartups, with nobody to give way (every connection fresh, one per
// source), a newcomer is refused; slots come back when unauthenticated
// connections close, and the table empties.
func TestStartupsGlobalLimitAndRelease(t *testing.T) {
	a := startAgent(t, func(c *agentConfig) { c.MaxStartups, c.MaxStartupsStart, c.MaxStartupsPerSource = 4, 4, 1 })
	var idle []net.Conn
	for _, src := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		idle = append(idle, idleConn(t, src, a.addr))
	}
	wantRefused(t, "127.0.0.5", a.addr)
	if _, err := sshDialFrom("127.0.0.6", a.addr, a.adminPassword()); err == nil {
		t.Fatal("a login got through past MaxStartups")
	}
	// Closing two idle connections frees two slots.
	idle[0].Close()
	idle[2].Close()
	waitStartups(t, a, "127.0.0.1", 0)
	waitStartups(t, a, "127.0.0.3", 0)
	dialNCFrom(t, "127.0.0.5", a.addr, a.adminPassword(), false)
	idle = append(idle, idleConn(t, "127.0.0.5", a.addr), idleConn(t, "127.0.0.3", a.addr))
	// Full again (the login above no longer counts).
	wantRefused(t, "127.0.0.6", a.addr)
	for _, c := range idle {
		c.Close()
	}
	for _, src := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"} {
		waitStartups(t, a, src, 0)
	}
	if _, total := a.srv.startups.count(""); total != 0 {
		t.Fatalf("%d still counted", total)
	}
	for range 3 {
		idleConn(t, "127.0.0.1", a.addr).Close()
		waitStartups(t, a, "127.0.0.1", 0)
	}
	a.srv.startups.mu.Lock()
	defer a.srv.startups.mu.Unlock()
	if len(a.srv.startups.bySource) != 0 || len(a.srv.startups.entries) != 0 {
		t.Fatalf("tables kept %v, %d entries", a.srv.startups.bySource, len(a.srv.startups.entries))
	}
}

// At MaxStartups a source holding more than one slot gives its oldest
// connection up to a newcomer from elsewhere: a few sources cannot hold
// every slot while an administrator waits.
func TestStartupsCrowdedSourceGivesWay(t *testing.T) {
	var logs testtool.Buffer
	a := startAgent(t, func(c *agentConfig) {
		c.MaxStartups, c.MaxStartupsStart, c.MaxStartupsPerSource = 4, 4, 3
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	first := idleConn(t, "127.0.0.1", a.addr)
	idleConn(t, "127.0.0.1", a.addr)
	idleConn(t, "127.0.0.1", a.addr)
	idleConn(t, "127.0.0.2", a.addr)
	c := dialNCFrom(t, "127.0.0.5", a.addr, a.adminPassword(), true)
	nctest.WantOK(t, c.RPC(`<lock><target><candidate/></target></lock>`))
	wantClosed(t, first)
	if n, _ := a.srv.startups.count("127.0.0.1"); n != 2 {
		t.Fatalf("the crowded source holds %d slots, want 2", n)
	}
	if !strings.Contains(logs.String(), "closed to make room") {
		t.Fatalf("no warning for the connection that gave way:\n%s", logs.String())
	}
}

// wantClosed wants the server to have closed c (a read ends in EOF or a
// reset within a bounded wait).
func wantClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("connection not closed by the server: %v", err)
	}
}

// The attacks that locked administrators out: idle TCP connections filling
// every unauthenticated slot, from four addresses (eight each, the
// per-source limit) or from forty. With the default limits an
// administrator still logs in, again and again, while the attacker keeps
// reopening what is closed.
func TestIdleConnectionFloodDoesNotLockOutTheAdministrator(t *testing.T) {
	if testing.Short() {
		t.Skip("opens about a hundred connections over a few seconds")
	}
	for _, tc := range []struct {
		name    string
		sources int
		each    int
	}{
		{"four addresses, eight each", 4, 8},
		{"forty addresses, one each", 40, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startAgent(t) // default limits: 16:30:32, 8 per source
			var mu sync.Mutex
			var held []net.Conn
			fill := func() {
				for i := range tc.sources {
					for range tc.each {
						c, err := dialFrom(fmt.Sprintf("127.0.1.%d", i+1), a.addr)
						if err != nil {
							continue
						}
						mu.Lock()
						held = append(held, c)
						mu.Unlock()
					}
				}
			}
			t.Cleanup(func() {
				mu.Lock()
				defer mu.Unlock()
				for _, c := range held {
					c.Close()
				}
			})
			fill()
			// The server counts a connection once its accept loop has
			// taken it, which on a loaded machine trails the dial.
			testtool.WaitFor(t, 10*time.Second, "the flood to hold every unauthenticated slot", func() bool {
				_, total := a.srv.startups.count("")
				return total >= a.srv.cfg.MaxStartupsStart
			})
			for round := range 3 {
				// The flood's connections have said nothing for a second.
				time.Sleep(idleVictimAge + 100*time.Millisecond)
				c := dialNCFrom(t, "127.0.0.1", a.addr, a.adminPassword(), false)
				nctest.WantOK(t, c.RPC(`<discard-changes/>`))
				t.Logf("round %d: logged in with %d unauthenticated connections held", round, func() int { _, n := a.srv.startups.count(""); return n }())
				fill() // the attacker reopens
			}
		})
	}
}

// A connection whose client sends no byte — not even its version line — is
// closed after PreambleTimeout; one that has spoken is not.
func TestSilentConnectionClosedAfterPreamble(t *testing.T) {
	clk := fakeclock.New()
	a := startAgent(t, func(c *agentConfig) { c.Clock = clk; c.PreambleTimeout = 3 * time.Second })
	silent := idleConn(t, "127.0.0.1", a.addr)
	spoke := idleConn(t, "127.0.0.2", a.addr)
	if _, err := spoke.Write([]byte("SSH-2.0-test\r\n")); err != nil {
		t.Fatal(err)
	}
	// The server has read the version line of the connection that spoke.
	testtool.WaitFor(t, 10*time.Second, "the version line from 127.0.0.2 read", func() bool {
		a.srv.startups.mu.Lock()
		defer a.srv.startups.mu.Unlock()
		for e := range a.srv.startups.entries {
			if e.source == "127.0.0.2" && e.sentBytes() {
				return true
			}
		}
		return false
	})
	clk.Advance(3 * time.Second)
	wantClosed(t, silent)
	waitStartups(t, a, "127.0.0.1", 0)
	if n, _ := a.srv.startups.count("127.0.0.2"); n != 1 {
		t.Fatalf("the connection that spoke was closed too")
	}
}

// A connection that has authenticated leaves the startup count: it no
// longer takes one of its source's slots.
func TestStartupsAuthenticatedDoesNotCount(t *testing.T) {
	a := startAgent(t, func(c *agentConfig) { c.MaxStartups, c.MaxStartupsPerSource = 10, 3 })
	idleConn(t, "127.0.0.1", a.addr)
	idleConn(t, "127.0.0.1", a.addr)
	c := dialNCFrom(t, "127.0.0.1", a.addr, a.adminKey(), true)
	idleConn(t, "127.0.0.1", a.addr)
	wantRefused(t, "127.0.0.1", a.addr)
	nctest.WantOK(t, c.RPC(`<lock><target><candidate/></target></lock>`))
	if n, total := a.srv.startups.count("127.0.0.1"); n != 3 || total != 3 {
		t.Fatalf("counted %d from the source, %d in all; want 3 idle ones", n, total)
	}
}

// The per-source key: an IPv4 address, or an IPv6 /64.
func TestSourceKey(t *testing.T) {
	tcp := func(s string) net.Addr {
		a, err := net.ResolveTCPAddr("tcp", s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, tc := range []struct {
		name string
		addr net.Addr
		want string
	}{
		{"IPv4 address", tcp("192.0.2.7:50000"), "192.0.2.7"},
		{"IPv4 other port, same key", tcp("192.0.2.7:50001"), "192.0.2.7"},
		{"IPv4 neighbour, own key", tcp("192.0.2.8:50000"), "192.0.2.8"},
		{"IPv4-mapped IPv6 is the IPv4 address", tcp("[::ffff:192.0.2.7]:50000"), "192.0.2.7"},
		{"RFC 4291 2.5.4 IPv6 keyed by /64", tcp("[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:22"), "2001:db8:1:2::/64"},
		{"RFC 8981 another address of the same /64", tcp("[2001:db8:1:2::1]:22"), "2001:db8:1:2::/64"},
		{"IPv6 next /64, own key", tcp("[2001:db8:1:3::1]:22"), "2001:db8:1:3::/64"},
		{"IPv6 loopback", tcp("[::1]:22"), "::/64"},
		{"link-local zone dropped", &net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 22, Zone: "eth0"}, "fe80::/64"},
		{"non-TCP address with a port", fakeAddr("[2001:db8::5]:7"), "2001:db8::/64"},
		{"non-TCP address without a port", fakeAddr("pipe"), "pipe"},
		{"no address", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sourceKey(tc.addr); got != tc.want {
				t.Fatalf("sourceKey(%v) = %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "fake" }
func (a fakeAddr) String() string  { return string(a) }

// The counters refuse past either limit, count nothing for a refusal, and
// keep no entry for a source with nothing counted.
func TestStartupsCounting(t *testing.T) {
	now := time.Unix(1e9, 0)
	s := newStartups(3, 30, 3, 2, 1) // start = full: no early drop
	spoke := func() bool { return true }
	entries := map[string][]*startup{}
	for i, step := range []struct {
		acquire, release, want string
	}{
		{acquire: "a"}, {acquire: "a"},
		{acquire: "a", want: limitStartupsPerSource},
		{acquire: "b"},
		// Full: "a" holds two slots, so its oldest gives way.
		{acquire: "c"},
		{acquire: "d", want: limitStartups},
		{release: "b"},
		{acquire: "d"},
	} {
		if step.release != "" {
			s.release(entries[step.release][0])
			continue
		}
		e := &startup{source: step.acquire, since: now.Add(time.Duration(i) * time.Millisecond), sentBytes: spoke}
		victim, got := s.acquire(e, now)
		if got != step.want {
			t.Fatalf("step %d: acquire(%s) = %q, want %q", i, step.acquire, got, step.want)
		}
		if got == "" {
			entries[step.acquire] = append(entries[step.acquire], e)
		}
		if victim != nil && victim != entries["a"][0] {
			t.Fatalf("step %d: %s gave way, not the oldest of the crowded source", i, victim.source)
		}
	}
	for _, es := range entries {
		for _, e := range es {
			s.release(e)
			s.release(e) // twice: no effect
		}
	}
	if _, total := s.count("a"); total != 0 || len(s.bySource) != 0 {
		t.Fatalf("after releasing everything: total %d, table %v", total, s.bySource)
	}
	for i := range 10000 {
		e := &startup{source: fmt.Sprintf("10.0.%d.%d", i/256, i%256), since: now, sentBytes: spoke}
		if _, why := s.acquire(e, now); why != "" {
			t.Fatal(e.source, why)
		}
		s.release(e)
	}
	if len(s.bySource) != 0 {
		t.Fatalf("table grew to %d entries", len(s.bySource))
	}
}

// OpenSSH's MaxStartups start:rate:full: with n unauthenticated
// connections, start <= n < full, a newcomer is dropped with probability
// rate + (100-rate)·(n-start)/(full-start) percent.
func TestStartupsRandomEarlyDrop(t *testing.T) {
	now := time.Unix(1e9, 0)
	const start, rate, full = 16, 30, 32
	s := newStartups(start, rate, full, full, 42)
	spoke := func() bool { return true }
	for n := range full {
		if n >= start {
			const tries = 20000
			dropped := 0
			for i := range tries {
				e := &startup{source: fmt.Sprintf("new-%d", i), since: now, sentBytes: spoke}
				if _, why := s.acquire(e, now); why == limitStartupsEarlyDrop {
					dropped++
				} else if why == "" {
					s.release(e)
				} else {
					t.Fatalf("n=%d: refused by %s", n, why)
				}
			}
			want := (rate + float64(100-rate)*float64(n-start)/float64(full-start)) / 100
			if got := float64(dropped) / tries; got < want-0.02 || got > want+0.02 {
				t.Fatalf("n=%d: dropped %.3f of newcomers, want %.3f", n, got, want)
			}
		}
		// Grow the table by one, retrying past the early drop.
		for i := 0; ; i++ {
			e := &startup{source: fmt.Sprintf("held-%d", n), since: now, sentBytes: spoke}
			if _, why := s.acquire(e, now); why == "" {
				break
			}
			if i == 1000 {
				t.Fatalf("n=%d: 1,000 newcomers in a row dropped", n)
			}
		}
	}
	// Below start nothing is dropped: a fresh table admits start in a row.
	s = newStartups(start, rate, full, full, 7)
	for i := range start {
		if _, why := s.acquire(&startup{source: fmt.Sprint(i), since: now, sentBytes: spoke}, now); why != "" {
			t.Fatalf("connection %d below start refused by %s", i, why)
		}
	}
}

// A connection silent past idleVictimAge gives way from start on, before
// any newcomer is dropped; a fresh silent one does not.
func TestStartupsSilentConnectionGivesWay(t *testing.T) {
	now := time.Unix(1e9, 0)
	s := newStartups(2, 100, 4, 4, 1) // rate 100: every newcomer past start would be dropped
	quiet := func() bool { return false }
	old := &startup{source: "old", since: now.Add(-2 * idleVictimAge), sentBytes: quiet}
	fresh := &startup{source: "fresh", since: now, sentBytes: quiet}
	for _, e := range []*startup{old, fresh} {
		if _, why := s.acquire(e, now); why != "" {
			t.Fatal(why)
		}
	}
	v, why := s.acquire(&startup{source: "admin", since: now, sentBytes: quiet}, now)
	if why != "" || v != old {
		t.Fatalf("newcomer: refused by %q, victim %v; want the old silent connection to give way", why, v)
	}
	if _, why := s.acquire(&startup{source: "next", since: now, sentBytes: quiet}, now); why != limitStartupsEarlyDrop {
		t.Fatalf("with no old silent connection left, the newcomer is dropped at rate 100: got %q", why)
	}
}

// Refusal lines: one per source per second, at most refusalLogSources
// sources per second, the rest counted into the next line.
func TestRefusalLogRateLimited(t *testing.T) {
	var out testtool.Buffer
	clk := fakeclock.New()
	r := newRefusalLog(slog.New(slog.NewTextHandler(&out, nil)), clk)
	lines := func() int { return strings.Count(out.String(), "\n") }
	for range 100 {
		r.refused("192.0.2.1", "192.0.2.1", limitStartupsPerSource, 8)
	}
	if n := lines(); n != 1 {
		t.Fatalf("100 refusals of one source in one second: %d lines", n)
	}
	for i := range 1000 {
		src := fmt.Sprintf("198.51.%d.%d", i/256, i%256)
		r.refused(src, src, limitStartups, 32)
	}
	if n := lines(); n != refusalLogSources {
		t.Fatalf("1,000 sources in one second: %d lines, want %d", n, refusalLogSources)
	}
	if len(r.logged) > refusalLogSources {
		t.Fatalf("remembered %d sources", len(r.logged))
	}
	clk.Advance(time.Second)
	r.refused("192.0.2.1", "192.0.2.1", limitStartupsPerSource, 8)
	if n := lines(); n != refusalLogSources+1 {
		t.Fatalf("a new second: %d lines", n)
	}
	last := out.String()[strings.LastIndex(strings.TrimSuffix(out.String(), "\n"), "\n")+1:]
	if want := fmt.Sprintf("refused_unlogged=%d", 1000-(refusalLogSources-1)); !strings.Contains(last, want) {
		t.Fatalf("last line %q lacks %s", last, want)
	}
}
