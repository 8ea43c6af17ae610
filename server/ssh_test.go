package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/internal/fakeclock"
	"github.com/ntpagent/ntpagent/internal/nctest"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/server/netconf"
	"golang.org/x/crypto/ssh"
)

func openStore(t *testing.T) *datastore.Store {
	t.Helper()
	st, err := datastore.Open(datastore.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// startWithState starts a Server as the daemon does, from cfg's state
// directory and Store (New makes or reads the users file and host key
// there), on 127.0.0.1:0 with the NETCONF subsystem. It is closed when the
// test ends.
func startWithState(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.Listen = []string{"127.0.0.1:0"}
	cfg.Subsystems = netconfSubsystem(t, cfg.Store, nil)
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestFirstStartCreatesAdminAndHostKey(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t)
	var announce bytes.Buffer
	srv := startWithState(t, Config{StateDir: dir, Store: st, Announce: &announce})
	m := regexp.MustCompile(`created user admin with password (\S+) `).FindStringSubmatch(announce.String())
	if m == nil {
		t.Fatalf("announcement: %q", announce.String())
	}
	var hostKey1 []byte
	cfg := sshConfig("admin", ssh.Password(m[1]))
	cfg.HostKeyCallback = func(_ string, _ net.Addr, k ssh.PublicKey) error { hostKey1 = k.Marshal(); return nil }
	c := dialNC(t, srv.Addrs()[0].String(), cfg, false)
	nctest.WantOK(t, c.RPC(`<lock><target><candidate/></target></lock>`))
	c.Close()
	srv.Close()
	if fi, err := os.Stat(filepath.Join(dir, HostKeyFileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("host key file: %v %v", fi, err)
	}

	// Second start: same host key, same users, nothing announced.
	announce.Reset()
	srv = startWithState(t, Config{StateDir: dir, Store: st, Announce: &announce})
	if announce.Len() != 0 {
		t.Fatalf("announced again: %q", announce.String())
	}
	var hostKey2 []byte
	cfg.HostKeyCallback = func(_ string, _ net.Addr, k ssh.PublicKey) error { hostKey2 = k.Marshal(); return nil }
	dialNC(t, srv.Addrs()[0].String(), cfg, false)
	if !bytes.Equal(hostKey1, hostKey2) {
		t.Fatal("host key changed across restarts")
	}
}

func TestFirstStartAdminPasswordFromConfig(t *testing.T) {
	dir := t.TempDir()
	var announce bytes.Buffer
	st := openStore(t)
	srv := startWithState(t, Config{StateDir: dir, Store: st, Announce: &announce, AdminPassword: "from-env-1"})
	if announce.Len() != 0 {
		t.Fatalf("a given password must not be printed: %q", announce.String())
	}
	b, _ := os.ReadFile(filepath.Join(dir, UsersFileName))
	if strings.Contains(string(b), "from-env-1") || !strings.Contains(string(b), "$2a$") {
		t.Fatalf("users file must hold a bcrypt hash only: %s", b)
	}
	dialNC(t, srv.Addrs()[0].String(), sshConfig("admin", ssh.Password("from-env-1")), false)
}

func TestUsersFileRefusesBadContent(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"bad role":     `{"users":[{"name":"x","role":"root"}]}`,
		"no name":      `{"users":[{"role":"admin"}]}`,
		"bad key":      `{"users":[{"name":"x","role":"admin","authorized-keys":["ssh-ed25519 nope"]}]}`,
		"unknown key":  `{"users":[{"name":"x","role":"admin","shell":"/bin/sh"}]}`,
		"not json":     `users: x`,
		"empty file":   ``,
		"no users":     `{"users":[]}`,
		"a name twice": `{"users":[{"name":"admin","role":"admin","password-hash":"$2a$10$x"},{"name":"admin","role":"operator"}]}`,
	} {
		p := filepath.Join(dir, "users.json")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadUsers(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Authentication attempts per connection are bounded (MaxAuthTries).
func TestAuthAttemptsBounded(t *testing.T) {
	a := startAgent(t, func(c *agentConfig) { c.MaxAuthTries = 3 })
	tries := 0
	cfg := sshConfig("admin", ssh.RetryableAuthMethod(ssh.PasswordCallback(func() (string, error) {
		tries++
		return "wrong", nil
	}), 20))
	_, err := ssh.Dial("tcp", a.addr, cfg)
	if err == nil {
		t.Fatal("wrong password accepted")
	}
	if tries > 3 {
		t.Fatalf("server allowed %d password attempts on one connection, want at most 3", tries)
	}
}

// After repeated failures a source backs off: even the right password is
// refused until the back-off delay has passed on the (hand-driven) clock.
func TestPerSourceBackoff(t *testing.T) {
	clk := fakeclock.New()
	a := startAgent(t, func(c *agentConfig) { c.Clock = clk; c.MaxAuthTries = 2 })
	bad := sshConfig("operator", ssh.Password("wrong"))
	for i := 0; i < freeFailures+1; i++ {
		if _, err := ssh.Dial("tcp", a.addr, bad); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	if _, err := ssh.Dial("tcp", a.addr, a.operator()); err == nil {
		t.Fatal("right password accepted while the source backs off")
	}
	clk.Advance(maxDelay)
	c, err := ssh.Dial("tcp", a.addr, a.operator())
	if err != nil {
		t.Fatalf("after the back-off: %v", err)
	}
	c.Close()
}

func TestBackoffTableStaysBounded(t *testing.T) {
	b := newBackoff(fakeclock.New())
	for i := 0; i < maxTracked*2; i++ {
		b.begin(strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune(i)))
	}
	if len(b.src) > maxTracked {
		t.Fatalf("%d sources tracked", len(b.src))
	}
}

func TestIdleTimeoutClosesConnection(t *testing.T) {
	clk := fakeclock.New()
	a := startAgent(t, func(c *agentConfig) { c.Clock = clk; c.IdleTimeout = 10 * time.Minute })
	c := dialNC(t, a.addr, a.adminKey(), true)
	// One round trip, so the server has read the client hello before the
	// clock jumps past the hello timeout.
	nctest.WantOK(t, c.RPC(`<discard-changes/>`))
	clk.Advance(9 * time.Minute)
	nctest.WantOK(t, c.RPC(`<lock><target><candidate/></target></lock>`)) // activity resets the timer
	clk.Advance(9 * time.Minute)
	nctest.WantOK(t, c.RPC(`<unlock><target><candidate/></target></unlock>`))
	clk.Advance(10 * time.Minute)
	if _, err := c.R.ReadMessage(); err == nil {
		t.Fatal("idle connection still open")
	}
}

// A session subscribed to events sends nothing while it waits for them:
// the idle timeout leaves it alone, and applies again once it ends.
func TestIdleTimeoutSparesSubscriptions(t *testing.T) {
	clk := fakeclock.New()
	a := startAgent(t, func(c *agentConfig) { c.Clock = clk; c.IdleTimeout = 10 * time.Minute })
	c := dialNC(t, a.addr, a.adminKey(), true)
	nctest.WantOK(t, c.RPC(`<create-subscription xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"/>`))
	clk.Advance(11 * time.Minute)
	clk.Advance(11 * time.Minute)
	other := dialNC(t, a.addr, a.adminKey(), true)
	nctest.WantOK(t, other.RPC(`<discard-changes/>`))
	// The subscriber still gets the session-start event of the other session.
	if m := c.Read(); !strings.Contains(m, "netconf-session-start") {
		t.Fatalf("subscriber: %s", m)
	}
}

func TestMaxSessions(t *testing.T) {
	a := startAgent(t, func(c *agentConfig) { c.MaxSessions = 2 })
	c1 := dialNC(t, a.addr, a.adminKey(), true)
	dialNC(t, a.addr, a.adminKey(), true)
	if _, err := dialNCErr(t, a.addr, a.adminKey(), true); err == nil {
		t.Fatal("third session accepted with MaxSessions 2")
	}
	c1.Close()
	// The slot comes back once the first session has ended.
	testtool.WaitFor(t, 10*time.Second, "the session slot released", func() bool {
		c, err := dialNCErr(t, a.addr, a.adminKey(), true)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// recordingTerminal is a TerminalHandler that echoes what it was given.
type recordingTerminal struct {
	mu       sync.Mutex
	sessions []*TerminalSession
}

func (r *recordingTerminal) ServeTerminal(ctx context.Context, s *TerminalSession) int {
	r.mu.Lock()
	r.sessions = append(r.sessions, s)
	r.mu.Unlock()
	if s.Command != "" {
		io.WriteString(s.Stdout, "ran "+s.Command+" as "+string(s.Role)+"\n")
		return 3
	}
	io.WriteString(s.Stdout, "<ntpagent>")
	select {
	case sz := <-s.Resize:
		io.WriteString(s.Stdout, " resized "+itoa(sz[0])+"x"+itoa(sz[1]))
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
	}
	return 0
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestShellAndExecGoToTerminalHandler(t *testing.T) {
	term := &recordingTerminal{}
	a := startAgent(t, func(c *agentConfig) { c.Terminal = term })
	conn, err := ssh.Dial("tcp", a.addrs[1], a.operator())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s, err := conn.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Output("display ntp status")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 3 || string(out) != "ran display ntp status as operator\n" {
		t.Fatalf("exec: %q %v", out, err)
	}
	s, err = conn.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("xterm", 24, 80, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	s.Stdout = &buf
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	if err := s.WindowChange(50, 132); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "<ntpagent> resized 132x50" {
		t.Fatalf("shell output %q", buf.String())
	}
	term.mu.Lock()
	defer term.mu.Unlock()
	if len(term.sessions) != 2 {
		t.Fatalf("%d terminal sessions", len(term.sessions))
	}
	sh := term.sessions[1]
	if !sh.PTY || sh.Term != "xterm" || sh.Width != 80 || sh.Height != 24 || sh.User != "operator" || sh.Role != RoleOperator {
		t.Fatalf("shell session %+v", sh)
	}
	if term.sessions[0].ID == 0 || term.sessions[0].ID == sh.ID {
		t.Fatalf("session ids %d %d", term.sessions[0].ID, sh.ID)
	}
}

// Without a CLI handler shell is refused, but NETCONF works on the CLI port.
func TestNetconfOnEveryListener(t *testing.T) {
	a := startAgent(t)
	c := dialNC(t, a.addrs[1], a.adminKey(), false)
	nctest.WantOK(t, c.RPC(`<discard-changes/>`))
	conn, err := ssh.Dial("tcp", a.addrs[1], a.adminKey())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s, _ := conn.NewSession()
	if err := s.Shell(); err == nil {
		t.Fatal("shell accepted without a CLI handler")
	}
}

// RFC 6470 §2.3 over the real transport: a session ended by the idle
// timeout is reported with termination-reason "timeout", a killed one with
// "killed" and killed-by, a closed one with "closed".
func TestSessionEndReasonsOverSSH(t *testing.T) {
	clk := fakeclock.New()
	a := startAgent(t, func(c *agentConfig) { c.Clock = clk; c.IdleTimeout = 10 * time.Minute })
	sub := dialNC(t, a.addr, a.adminKey(), true)
	nctest.WantOK(t, sub.RPC(`<create-subscription xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><filter type="subtree"><netconf-session-end xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"/></filter></create-subscription>`))

	idle := dialNC(t, a.addr, a.adminKey(), true)
	// One round trip, so the server has read the client hello (the session
	// is registered) before the timeout.
	nctest.WantOK(t, idle.RPC(`<discard-changes/>`))
	clk.Advance(11 * time.Minute)
	if _, err := idle.R.ReadMessage(); err == nil {
		t.Fatal("idle connection still open")
	}
	if m := sub.Read(); !strings.Contains(m, "<session-id>"+idle.SessionID+"</session-id>") || !strings.Contains(m, "<termination-reason>timeout</termination-reason>") {
		t.Fatalf("idle session end: %s", m)
	}

	victim := dialNC(t, a.addr, a.adminKey(), true)
	nctest.WantOK(t, victim.RPC(`<discard-changes/>`))
	killer := dialNC(t, a.addr, a.adminKey(), true)
	nctest.WantOK(t, killer.RPC(`<kill-session><session-id>`+victim.SessionID+`</session-id></kill-session>`))
	if m := sub.Read(); !strings.Contains(m, "<session-id>"+victim.SessionID+"</session-id>") || !strings.Contains(m, "<killed-by>"+killer.SessionID+"</killed-by>") ||
		!strings.Contains(m, "<termination-reason>killed</termination-reason>") {
		t.Fatalf("killed session end: %s", m)
	}
	nctest.WantOK(t, killer.RPC(`<close-session/>`))
	if m := sub.Read(); !strings.Contains(m, "<session-id>"+killer.SessionID+"</session-id>") || !strings.Contains(m, "<termination-reason>closed</termination-reason>") {
		t.Fatalf("closed session end: %s", m)
	}
}

// One login cannot open hundreds of session channels (each holds a
// goroutine and a 2 MiB window): beyond MaxChannels opens are refused with
// resource-shortage, and a channel that asks for nothing is closed after
// ChannelRequestTimeout while a NETCONF channel stays.
func TestChannelsPerConnectionBounded(t *testing.T) {
	clk := fakeclock.New()
	a := startAgent(t, func(c *agentConfig) { c.Clock = clk; c.ChannelRequestTimeout = 5 * time.Second })
	conn, err := ssh.Dial("tcp", a.addr, a.operator())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	nc, _, err := conn.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := nc.SendRequest("subsystem", true, ssh.Marshal(struct{ Name string }{"netconf"})); !ok || err != nil {
		t.Fatalf("subsystem: %v %v", ok, err)
	}
	ncr, ncw := netconf.NewFrameReader(nc, 0), netconf.NewFrameWriter(nc)
	if _, err := ncr.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	getConfig := func() {
		t.Helper()
		if err := ncw.WriteMessage([]byte(`<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1"><get-config><source><running/></source></get-config></rpc>`)); err != nil {
			t.Fatal(err)
		}
		if m, err := ncr.ReadMessage(); err != nil || !strings.Contains(string(m), "<data") {
			t.Fatalf("netconf channel: %q %v", m, err)
		}
	}
	if err := ncw.WriteMessage([]byte(`<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>`)); err != nil {
		t.Fatal(err)
	}
	getConfig() // the hello has been read before the clock moves
	var idle []ssh.Channel
	for i := 1; i < 8; i++ {
		ch, _, err := conn.OpenChannel("session", nil)
		if err != nil {
			t.Fatalf("channel %d: %v", i+1, err)
		}
		idle = append(idle, ch)
	}
	before := runtime.NumGoroutine()
	for i := 0; i < 50; i++ {
		_, _, err := conn.OpenChannel("session", nil)
		var oe *ssh.OpenChannelError
		if !errors.As(err, &oe) || oe.Reason != ssh.ResourceShortage {
			t.Fatalf("extra channel %d: err = %v, want resource-shortage", i, err)
		}
	}
	if after := runtime.NumGoroutine(); after > before+4 {
		t.Fatalf("goroutines grew from %d to %d while channels were refused", before, after)
	}
	closed := make(chan error, 1)
	go func() {
		for i, ch := range idle {
			if _, err := ch.Read(make([]byte, 1)); err == nil {
				closed <- fmt.Errorf("idle channel %d sent data", i)
				return
			}
		}
		closed <- nil
	}()
	// The channel goroutines arm their timers just after the opens; advance
	// until all idle channels are closed (bounded: 10 s).
	for i := 0; ; i++ {
		clk.Advance(6 * time.Second)
		select {
		case err := <-closed:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Millisecond):
			if i == 500 {
				t.Fatal("idle channels still open")
			}
			continue
		}
		break
	}
	// The NETCONF channel is still served.
	getConfig()
	// The closed channels' slots come back.
	testtool.WaitFor(t, 10*time.Second, "the channel slots released", func() bool {
		ch, _, err := conn.OpenChannel("session", nil)
		if err == nil {
			ch.Close()
		}
		return err == nil
	})
}

// A users file that exists but is damaged stops the server: an empty one
// used to recreate admin with a new password.
func TestEmptyUsersFileIsRefusedNotRecreated(t *testing.T) {
	dir := t.TempDir()
	store, err := datastore.Open(datastore.Options{Dir: filepath.Join(dir, "ds")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	os.WriteFile(filepath.Join(dir, UsersFileName), nil, 0o600)
	var announce bytes.Buffer
	if _, err := New(Config{StateDir: dir, Store: store, Announce: &announce}); err == nil || !strings.Contains(err.Error(), UsersFileName) {
		t.Fatalf("New with an empty users file: %v", err)
	}
	if announce.Len() != 0 {
		t.Fatalf("a user was created: %s", announce.String())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, UsersFileName)); len(b) != 0 {
		t.Fatal("the users file was rewritten")
	}
}

// A host key missing at a later start is created again with a warning
// (clients will see a new key); state files open to other users are
// warned about.
func TestHostKeyRecreatedAndLooseModesAreWarned(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o700)
	store, err := datastore.Open(datastore.Options{Dir: filepath.Join(dir, "ds")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	start := func() string {
		var logs testtool.Buffer
		if _, err := New(Config{StateDir: dir, Store: store, Announce: io.Discard, Logger: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
			t.Fatal(err)
		}
		return logs.String()
	}
	if out := start(); strings.Contains(out, "level=WARN") {
		t.Fatalf("first start warned:\n%s", out)
	}
	os.Remove(filepath.Join(dir, HostKeyFileName))
	os.Chmod(filepath.Join(dir, UsersFileName), 0o644)
	out := start()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "host key was missing") {
		t.Errorf("host key recreated without a warning:\n%s", out)
	}
	if !strings.Contains(out, "open to other users") || !strings.Contains(out, UsersFileName) || !strings.Contains(out, "mode=0644") {
		t.Errorf("no warning for a users file readable by others:\n%s", out)
	}
}
