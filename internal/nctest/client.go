package nctest

import (
	"context"
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

// Hello10 and Hello11 are client hellos announcing base:1.0 only, and
// base:1.0 and base:1.1 (RFC 6241 §8.1).
const (
	Hello10 = `<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>` +
		`<capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>`
	Hello11 = `<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>` +
		`<capability>urn:ietf:params:netconf:base:1.0</capability>` +
		`<capability>urn:ietf:params:netconf:base:1.1</capability></capabilities></hello>`
)

// ReplyTimeout bounds the wait for one message; reaching it is a failure of
// the test, not a measurement.
const ReplyTimeout = 30 * time.Second

// Client is one NETCONF session of a test.
type Client struct {
	tb testing.TB
	// Stdin is the raw byte stream to the server (no framing).
	Stdin io.WriteCloser
	R     *netconf.FrameReader
	W     *netconf.FrameWriter
	// Hello is the server's hello, SessionID the session-id in it.
	Hello     string
	SessionID string
	// Chunked tells whether both sides switched to chunked framing.
	Chunked bool
	// SSH is the SSH connection of a client from DialSSH or OverSSH.
	SSH *ssh.Client

	closer  io.Closer
	next    int
	pending []string // notifications read while waiting for a reply
}

var sessionIDRE = regexp.MustCompile(`<session-id>(\d+)</session-id>`)

// Open starts a session on a byte stream: it reads the server's hello and
// returns, without sending the client's (see SendHello). tb is where RPC,
// OK, Read and Raw report failures; it may be nil for a client that only
// uses RPCErr and ReadErr (one polled from a goroutine).
func Open(tb testing.TB, in io.Reader, out io.WriteCloser, closer io.Closer) (*Client, error) {
	c := &Client{tb: tb, Stdin: out, R: netconf.NewFrameReader(in, 0), W: netconf.NewFrameWriter(out), closer: closer}
	h, err := c.R.ReadMessage()
	if err != nil {
		return nil, fmt.Errorf("reading the server hello: %w", err)
	}
	c.Hello = string(h)
	m := sessionIDRE.FindStringSubmatch(c.Hello)
	if m == nil {
		return nil, fmt.Errorf("server hello without session-id: %s", c.Hello)
	}
	c.SessionID = m[1]
	return c, nil
}

// SendHello sends the client's hello (base:1.1 too when base11) and switches
// to chunked framing when both sides announced base:1.1 (RFC 6242 §4.1).
func (c *Client) SendHello(base11 bool) error {
	hello := Hello10
	if base11 {
		hello = Hello11
	}
	if err := c.W.WriteMessage([]byte(hello)); err != nil {
		return err
	}
	if base11 && strings.Contains(c.Hello, "urn:ietf:params:netconf:base:1.1") {
		c.R.SetChunked()
		c.W.SetChunked()
		c.Chunked = true
	}
	return nil
}

// Pipe serves one session of srv described by info on an in-memory pipe
// and returns its client after the server's hello; the client's hello is
// not sent yet. The session ends when the test does.
func Pipe(tb testing.TB, srv *netconf.Server, info netconf.SessionInfo) *Client {
	tb.Helper()
	a, b := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), b, info) }()
	tb.Cleanup(func() { a.Close(); <-done })
	c, err := Open(tb, a, a, a)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// PipeHello is Pipe followed by the client's hello.
func PipeHello(tb testing.TB, srv *netconf.Server, info netconf.SessionInfo, base11 bool) *Client {
	tb.Helper()
	c := Pipe(tb, srv, info)
	if err := c.SendHello(base11); err != nil {
		tb.Fatal(err)
	}
	return c
}

// DialSSH logs in to addr, opens the "netconf" subsystem and exchanges
// hellos. The connection is the caller's to close (Close).
func DialSSH(tb testing.TB, addr string, cfg *ssh.ClientConfig, base11 bool) (*Client, error) {
	conn, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	return OverSSH(tb, conn, base11)
}

// DialSSHConn is DialSSH over a connection the caller made (from a chosen
// source address, or inside a network namespace); its deadline bounds the
// SSH handshake.
func DialSSHConn(tb testing.TB, raw net.Conn, addr string, cfg *ssh.ClientConfig, base11 bool) (*Client, error) {
	sc, chans, reqs, err := ssh.NewClientConn(raw, addr, cfg)
	if err != nil {
		raw.Close()
		return nil, err
	}
	_ = raw.SetDeadline(time.Time{})
	return OverSSH(tb, ssh.NewClient(sc, chans, reqs), base11)
}

// OverSSH opens the "netconf" subsystem on conn and exchanges hellos. On
// failure conn is closed.
func OverSSH(tb testing.TB, conn *ssh.Client, base11 bool) (*Client, error) {
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
	c, err := Open(tb, stdout, stdin, conn)
	if err == nil {
		err = c.SendHello(base11)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	c.SSH = conn
	return c, nil
}

// Close ends the session's transport (the SSH connection, or the pipe).
func (c *Client) Close() error { return c.closer.Close() }

// RPCErr sends one <rpc> holding body and returns the reply; notifications
// that arrive first are kept for Read.
func (c *Client) RPCErr(body string) (string, error) {
	c.next++
	msg := fmt.Sprintf(`<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="%d">%s</rpc>`, c.next, body)
	if err := c.W.WriteMessage([]byte(msg)); err != nil {
		return "", fmt.Errorf("sending rpc: %w", err)
	}
	for {
		m, err := c.readTimed(ReplyTimeout)
		if err != nil {
			return "", fmt.Errorf("reading the reply: %w", err)
		}
		if !strings.Contains(m, "<notification") || strings.Contains(m, "<rpc-reply") {
			return m, nil
		}
		c.pending = append(c.pending, m)
	}
}

// RPC is RPCErr that ends the test on a transport error.
func (c *Client) RPC(body string) string {
	c.tb.Helper()
	r, err := c.RPCErr(body)
	if err != nil {
		c.tb.Fatal(err)
	}
	return r
}

// OK sends body and ends the test unless the reply is <ok/>.
func (c *Client) OK(body string) {
	c.tb.Helper()
	WantOK(c.tb, c.RPC(body))
}

// ReadErr returns the next message: a notification kept by RPCErr, or
// the next from the server, waiting at most ReplyTimeout.
func (c *Client) ReadErr() (string, error) { return c.ReadWithin(ReplyTimeout) }

// ReadWithin is ReadErr waiting at most limit (for an event that takes
// longer than a reply); after limit the session's transport is closed.
func (c *Client) ReadWithin(limit time.Duration) (string, error) {
	if len(c.pending) > 0 {
		m := c.pending[0]
		c.pending = c.pending[1:]
		return m, nil
	}
	return c.readTimed(limit)
}

// Read is ReadErr that ends the test on an error.
func (c *Client) Read() string {
	c.tb.Helper()
	m, err := c.ReadErr()
	if err != nil {
		c.tb.Fatalf("reading a message: %v", err)
	}
	return m
}

// readTimed reads one message, closing the transport after limit so that
// a silent server fails the test instead of hanging it.
func (c *Client) readTimed(limit time.Duration) (string, error) {
	t := time.AfterFunc(limit, func() { c.closer.Close() })
	m, err := c.R.ReadMessage()
	if !t.Stop() && err != nil {
		err = fmt.Errorf("no message within %v: %w", limit, err)
	}
	return string(m), err
}

// Raw writes b without framing.
func (c *Client) Raw(b string) {
	c.tb.Helper()
	if _, err := io.WriteString(c.Stdin, b); err != nil {
		c.tb.Fatalf("writing: %v", err)
	}
}

// WantOK ends the test unless reply is <ok/> without an error.
func WantOK(tb testing.TB, reply string) {
	tb.Helper()
	if !strings.Contains(reply, "<ok/>") || strings.Contains(reply, "rpc-error") {
		tb.Fatalf("want <ok/>, got %s", reply)
	}
}

// WantErrorTag ends the test unless reply holds an <rpc-error> with tag.
func WantErrorTag(tb testing.TB, reply, tag string) {
	tb.Helper()
	if !strings.Contains(reply, "<error-tag>"+tag+"</error-tag>") {
		tb.Fatalf("want error-tag %s, got %s", tag, reply)
	}
}

// PeerConfig is a <config> holding one unicast peer at addr in the public
// vpn-instance, with the further leaves of extra.
func PeerConfig(addr, extra string) string {
	return `<config><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><unicast-peer><address>` + addr +
		`</address><vpn-instance>_public_</vpn-instance>` + extra + `</unicast-peer></ntp></config>`
}
