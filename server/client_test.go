package server

import (
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ntpagent/ntpagent/server/netconf"
)

// ncClient is a minimal NETCONF client written for these tests, over
// x/crypto/ssh and this package's framing: it sends exactly the bytes a
// test asks for, including broken ones.
type ncClient struct {
	t       testing.TB
	conn    *ssh.Client
	sess    *ssh.Session
	stdin   io.WriteCloser
	r       *netconf.FrameReader
	w       *netconf.FrameWriter
	hello   string
	id      string // session-id from the server hello
	next    int
	chunked bool
}

func sshConfig(user string, auth ssh.AuthMethod) *ssh.ClientConfig {
	return &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{auth},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
}

// dialNC connects and exchanges hellos; base11 announces base:1.1 too.
func dialNC(t *testing.T, addr string, cfg *ssh.ClientConfig, base11 bool) *ncClient {
	t.Helper()
	c, err := dialNCErr(t, addr, cfg, base11)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.conn.Close() })
	return c
}

func dialNCErr(t testing.TB, addr string, cfg *ssh.ClientConfig, base11 bool) (*ncClient, error) {
	conn, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	return startNC(t, conn, base11)
}

// dialNCFrom is dialNC from the local address src (any of 127.0.0.0/8
// on Linux), so that a test can play several sources.
func dialNCFrom(t *testing.T, src, addr string, cfg *ssh.ClientConfig, base11 bool) *ncClient {
	t.Helper()
	conn, err := sshDialFrom(src, addr, cfg)
	if err != nil {
		t.Fatalf("ssh from %s: %v", src, err)
	}
	c, err := startNC(t, conn, base11)
	if err != nil {
		t.Fatalf("netconf from %s: %v", src, err)
	}
	t.Cleanup(func() { c.conn.Close() })
	return c
}

func sshDialFrom(src, addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: cfg.Timeout}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	// Bound the handshake as ssh.Dial's Timeout does.
	_ = raw.SetDeadline(time.Now().Add(cfg.Timeout))
	c, chans, reqs, err := ssh.NewClientConn(raw, addr, cfg)
	if err != nil {
		raw.Close()
		return nil, err
	}
	_ = raw.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// startNC opens the netconf subsystem on conn and exchanges hellos.
func startNC(t testing.TB, conn *ssh.Client, base11 bool) (*ncClient, error) {
	sess, err := conn.NewSession()
	if err != nil {
		conn.Close()
		return nil, err
	}
	stdin, _ := sess.StdinPipe()
	stdout, _ := sess.StdoutPipe()
	if err := sess.RequestSubsystem("netconf"); err != nil {
		conn.Close()
		return nil, err
	}
	c := &ncClient{t: t, conn: conn, sess: sess, stdin: stdin, r: netconf.NewFrameReader(stdout, 0), w: netconf.NewFrameWriter(stdin)}
	h, err := c.r.ReadMessage()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("reading server hello: %w", err)
	}
	c.hello = string(h)
	m := regexp.MustCompile(`<session-id>(\d+)</session-id>`).FindStringSubmatch(c.hello)
	if m == nil {
		return nil, fmt.Errorf("server hello without session-id: %s", c.hello)
	}
	c.id = m[1]
	caps := `<capability>urn:ietf:params:netconf:base:1.0</capability>`
	if base11 {
		caps += `<capability>urn:ietf:params:netconf:base:1.1</capability>`
	}
	if err := c.w.WriteMessage([]byte(`<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>` + caps + `</capabilities></hello>`)); err != nil {
		return nil, err
	}
	if base11 && strings.Contains(c.hello, "base:1.1") {
		c.r.SetChunked()
		c.w.SetChunked()
		c.chunked = true
	}
	return c, nil
}

// rpc sends one <rpc> holding body and returns the reply text.
func (c *ncClient) rpc(body string) string {
	c.t.Helper()
	c.next++
	msg := fmt.Sprintf(`<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="%d">%s</rpc>`, c.next, body)
	if err := c.w.WriteMessage([]byte(msg)); err != nil {
		c.t.Fatalf("sending rpc: %v", err)
	}
	return c.read()
}

func (c *ncClient) read() string {
	c.t.Helper()
	m, err := c.r.ReadMessage()
	if err != nil {
		c.t.Fatalf("reading reply: %v", err)
	}
	return string(m)
}

// raw writes bytes without framing.
func (c *ncClient) raw(b string) {
	c.t.Helper()
	if _, err := c.stdin.Write([]byte(b)); err != nil {
		c.t.Fatalf("writing: %v", err)
	}
}

func wantOK(t *testing.T, reply string) {
	t.Helper()
	if !strings.Contains(reply, "<ok/>") || strings.Contains(reply, "rpc-error") {
		t.Fatalf("want <ok/>, got %s", reply)
	}
}

func wantErrorTag(t *testing.T, reply, tag string) {
	t.Helper()
	if !strings.Contains(reply, "<error-tag>"+tag+"</error-tag>") {
		t.Fatalf("want error-tag %s, got %s", tag, reply)
	}
}

var _ net.Addr

func dialNCBench(b *testing.B, a *testAgent) *ncClient {
	c, err := dialNCErr(b, a.addr, a.adminKey(), true)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.conn.Close() })
	return c
}
