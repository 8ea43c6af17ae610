package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

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
	var n int
	for range 400 { // bounded: 10 s
		if n, _ = a.srv.startups.count(source); n <= want {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s still has %d unauthenticated connections counted; want %d", source, n, want)
}

// A source at its MaxStartupsPerSource gets its next connection closed at
// once, with a Warn line naming the source and the limit, while an
// administrator from another address still logs in (issue 4, limits).
func TestStartupsPerSourceLimit(t *testing.T) {
	var logs testtool.Buffer
	a := startAgent(t, func(c *Config) {
		c.MaxStartups, c.MaxStartupsPerSource = 10, 3
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	for range 3 {
		idleConn(t, "127.0.0.1", a.addr)
	}
	wantRefused(t, "127.0.0.1", a.addr)
	wantRefused(t, "127.0.0.1", a.addrs[1]) // the limit spans the listeners
	c := dialNCFrom(t, "127.0.0.2", a.addr, a.adminPassword(), true)
	if !strings.Contains(c.hello, "urn:ietf:params:netconf:base:1.0") {
		t.Fatalf("hello: %s", c.hello)
	}
	wantOK(t, c.rpc(`<lock><target><candidate/></target></lock>`))
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

// MaxStartups counts every source together; slots come back when
// unauthenticated connections close.
func TestStartupsGlobalLimitAndRelease(t *testing.T) {
	a := startAgent(t, func(c *Config) { c.MaxStartups, c.MaxStartupsPerSource = 4, 2 })
	var idle []net.Conn
	for _, src := range []string{"127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		idle = append(idle, idleConn(t, src, a.addr))
	}
	wantRefused(t, "127.0.0.4", a.addr)
	wantRefused(t, "127.0.0.3", a.addr)
	if _, err := sshDialFrom("127.0.0.5", a.addr, a.adminPassword()); err == nil {
		t.Fatal("a login got through past MaxStartups")
	}
	// Closing two idle connections frees two slots.
	idle[0].Close()
	idle[2].Close()
	waitStartups(t, a, "127.0.0.1", 1)
	waitStartups(t, a, "127.0.0.2", 0)
	dialNCFrom(t, "127.0.0.5", a.addr, a.adminPassword(), false)
	idle = append(idle, idleConn(t, "127.0.0.4", a.addr), idleConn(t, "127.0.0.2", a.addr))
	// Full again (the login above no longer counts).
	wantRefused(t, "127.0.0.6", a.addr)
	// Every idle connection closed: nothing is counted and the source
	// table is empty.
	for _, c := range idle {
		c.Close()
	}
	for _, src := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		waitStartups(t, a, src, 0)
	}
	if _, total := a.srv.startups.count(""); total != 0 {
		t.Fatalf("%d still counted", total)
	}
	// The slots come back each time.
	for range 3 {
		idleConn(t, "127.0.0.1", a.addr).Close()
		waitStartups(t, a, "127.0.0.1", 0)
	}
	a.srv.startups.mu.Lock()
	defer a.srv.startups.mu.Unlock()
	if len(a.srv.startups.bySource) != 0 {
		t.Fatalf("source table kept %v", a.srv.startups.bySource)
	}
}

// A connection that has authenticated leaves the startup count: it no
// longer takes one of its source's slots.
func TestStartupsAuthenticatedDoesNotCount(t *testing.T) {
	a := startAgent(t, func(c *Config) { c.MaxStartups, c.MaxStartupsPerSource = 10, 3 })
	idleConn(t, "127.0.0.1", a.addr)
	idleConn(t, "127.0.0.1", a.addr)
	c := dialNCFrom(t, "127.0.0.1", a.addr, a.adminKey(), true)
	idleConn(t, "127.0.0.1", a.addr)
	wantRefused(t, "127.0.0.1", a.addr)
	wantOK(t, c.rpc(`<lock><target><candidate/></target></lock>`))
	if n, total := a.srv.startups.count("127.0.0.1"); n != 3 || total != 3 {
		t.Fatalf("counted %d from the source, %d in all; want 3 idle ones", n, total)
	}
}

// The total connection limit (MaxSessions+8) still holds when the startup
// limits are wider, and its refusals are logged too.
func TestConnectionLimitKept(t *testing.T) {
	var logs testtool.Buffer
	a := startAgent(t, func(c *Config) {
		c.MaxSessions, c.MaxStartups, c.MaxStartupsPerSource = 1, 100, 100
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	for range 1 + 8 {
		idleConn(t, "127.0.0.1", a.addr)
	}
	wantRefused(t, "127.0.0.2", a.addr)
	if out := logs.String(); !strings.Contains(out, "limit="+limitConnections) {
		t.Fatalf("no warning naming the connection limit:\n%s", out)
	}
	// The refused connection was not left counted as a startup.
	if n, total := a.srv.startups.count("127.0.0.2"); n != 0 || total != 9 {
		t.Fatalf("counted %d from the refused source, %d in all; want 0 and 9", n, total)
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
	s := newStartups(3, 2)
	for i, step := range []struct {
		acquire, release, want string
	}{
		{acquire: "a"}, {acquire: "a"},
		{acquire: "a", want: limitStartupsPerSource},
		{acquire: "b"},
		{acquire: "c", want: limitStartups},
		{acquire: "b", want: limitStartups},
		{release: "a"},
		{acquire: "c"},
		{release: "nobody"}, // no effect
		{acquire: "d", want: limitStartups},
	} {
		if step.release != "" {
			s.release(step.release)
			continue
		}
		if got := s.acquire(step.acquire); got != step.want {
			t.Fatalf("step %d: acquire(%s) = %q, want %q", i, step.acquire, got, step.want)
		}
	}
	for _, src := range []string{"a", "b", "c"} {
		s.release(src)
	}
	if _, total := s.count("a"); total != 0 || len(s.bySource) != 0 {
		t.Fatalf("after releasing everything: total %d, table %v", total, s.bySource)
	}
	for i := range 10000 {
		src := fmt.Sprintf("10.0.%d.%d", i/256, i%256)
		if s.acquire(src) != "" {
			t.Fatal(src)
		}
		s.release(src)
	}
	if len(s.bySource) != 0 {
		t.Fatalf("table grew to %d entries", len(s.bySource))
	}
}

// Refusal lines: one per source per second, at most refusalLogSources
// sources per second, the rest counted into the next line.
func TestRefusalLogRateLimited(t *testing.T) {
	var out testtool.Buffer
	clk := newFakeClock()
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
