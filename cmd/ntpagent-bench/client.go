//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"
)

const (
	capBase10 = "urn:ietf:params:netconf:base:1.0"
	capBase11 = "urn:ietf:params:netconf:base:1.1"
	nsBase    = "urn:ietf:params:xml:ns:netconf:base:1.0"
)

// Target is one NETCONF server to time.
type Target struct {
	Name string // "ntpagent" or "netconfd"
	Addr string // host:port of its SSH server (loopback)
	SSH  *ssh.ClientConfig
	// HelloPause is slept after our hello before the first rpc (netconfd
	// drops an rpc that arrives in the same read as the hello); never timed.
	HelloPause time.Duration
	// Framing11 allows base:1.1 chunked framing when the server offers it.
	Framing11 bool
	// Timeout bounds every single operation (dial, one rpc).
	Timeout time.Duration
	// MaxMessage bounds one reply.
	MaxMessage int
}

// Session is one NETCONF session over its own TCP connection and SSH
// transport (RFC 6242).
type Session struct {
	t       *Target
	conn    net.Conn
	client  *ssh.Client
	sess    *ssh.Session
	w       io.WriteCloser
	r       *frameReader
	framing Framing
	hello   []byte // the server's hello
	msgID   int
	out     []byte
}

// Dial opens TCP, SSH and the netconf subsystem and reads the server's hello.
// It does not send ours: see SendHello.
func Dial(ctx context.Context, t *Target) (*Session, error) {
	d := net.Dialer{Timeout: t.Timeout}
	conn, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return nil, fmt.Errorf("%s: dial: %w", t.Name, err)
	}
	_ = conn.SetDeadline(time.Now().Add(t.Timeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, t.Addr, t.SSH)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: ssh: %w", t.Name, err)
	}
	client := ssh.NewClient(c, chans, reqs)
	s := &Session{t: t, conn: conn, client: client}
	if err := s.open(); err != nil {
		client.Close()
		return nil, err
	}
	return s, nil
}

func (s *Session) open() error {
	var err error
	if s.sess, err = s.client.NewSession(); err != nil {
		return fmt.Errorf("%s: ssh session: %w", s.t.Name, err)
	}
	if s.w, err = s.sess.StdinPipe(); err != nil {
		return fmt.Errorf("%s: stdin: %w", s.t.Name, err)
	}
	stdout, err := s.sess.StdoutPipe()
	if err != nil {
		return fmt.Errorf("%s: stdout: %w", s.t.Name, err)
	}
	if err := s.sess.RequestSubsystem("netconf"); err != nil {
		return fmt.Errorf("%s: netconf subsystem: %w", s.t.Name, err)
	}
	s.r = newFrameReader(stdout, s.t.MaxMessage)
	// RFC 6242 §4.1: hellos are sent with end-of-message framing.
	if s.hello, err = s.r.Read(EndOfMessage); err != nil {
		return fmt.Errorf("%s: reading server hello: %w", s.t.Name, err)
	}
	if !bytes.Contains(s.hello, []byte("hello")) || !bytes.Contains(s.hello, []byte(capBase10)) && !bytes.Contains(s.hello, []byte(capBase11)) {
		return fmt.Errorf("%s: server hello without a base capability: %.300s", s.t.Name, s.hello)
	}
	return nil
}

// SendHello sends our hello and chooses the framing: chunked when both
// hellos carry base:1.1 (RFC 6242 §4.1). Then it sleeps HelloPause.
func (s *Session) SendHello() error {
	caps := "<capability>" + capBase10 + "</capability>"
	if s.t.Framing11 {
		caps += "<capability>" + capBase11 + "</capability>"
	}
	hello := `<?xml version="1.0" encoding="UTF-8"?><hello xmlns="` + nsBase + `"><capabilities>` + caps + `</capabilities></hello>`
	if err := s.write(EndOfMessage, []byte(hello)); err != nil {
		return fmt.Errorf("%s: sending hello: %w", s.t.Name, err)
	}
	if s.t.Framing11 && bytes.Contains(s.hello, []byte(capBase11)) {
		s.framing = Chunked
	}
	if s.t.HelloPause > 0 {
		time.Sleep(s.t.HelloPause)
	}
	return nil
}

func (s *Session) write(f Framing, msg []byte) error {
	s.out = frame(s.out[:0], f, msg)
	_, err := s.w.Write(s.out)
	return err
}

// RPCError is an <rpc-reply> that carried <rpc-error>.
type RPCError struct{ Reply string }

func (e *RPCError) Error() string { return "rpc-error: " + e.Reply }

// RPC sends <rpc> around body and returns the <rpc-reply>. A reply with
// <rpc-error> is an *RPCError; a reply for another message-id is an error.
func (s *Session) RPC(body string) ([]byte, error) {
	s.msgID++
	id := strconv.Itoa(s.msgID)
	msg := `<rpc message-id="` + id + `" xmlns="` + nsBase + `">` + body + `</rpc>`
	_ = s.conn.SetDeadline(time.Now().Add(s.t.Timeout))
	if err := s.write(s.framing, []byte(msg)); err != nil {
		return nil, fmt.Errorf("%s: sending rpc: %w", s.t.Name, err)
	}
	reply, err := s.r.Read(s.framing)
	if err != nil {
		return nil, fmt.Errorf("%s: reading reply: %w", s.t.Name, err)
	}
	if err := checkReply(reply, id); err != nil {
		return reply, fmt.Errorf("%s: %w", s.t.Name, err)
	}
	return reply, nil
}

// checkReply checks that reply is the rpc-reply to message-id id and carries
// no rpc-error. It matches text, so that the check costs little next to the
// exchange being timed; full XML parsing is done outside the timing.
func checkReply(reply []byte, id string) error {
	i := bytes.Index(reply, []byte("rpc-reply"))
	if i < 0 {
		return fmt.Errorf("not an rpc-reply: %.300s", reply)
	}
	head := reply[i:]
	if j := bytes.IndexByte(head, '>'); j >= 0 {
		head = head[:j]
	}
	if !bytes.Contains(head, []byte(`message-id="`+id+`"`)) && !bytes.Contains(head, []byte(`message-id='`+id+`'`)) {
		return fmt.Errorf("rpc-reply for another message-id (want %s): %.300s", id, reply)
	}
	if bytes.Contains(reply, []byte("rpc-error>")) {
		return &RPCError{Reply: string(reply)}
	}
	return nil
}

// IsOK reports whether a reply is <ok/>.
func IsOK(reply []byte) bool {
	return bytes.Contains(reply, []byte("<ok/>")) || bytes.Contains(reply, []byte(":ok/>"))
}

// Close ends the session with <close-session> when polite is set, then
// closes the SSH connection.
func (s *Session) Close(polite bool) error {
	if polite {
		_, _ = s.RPC("<close-session/>")
	}
	var errs []error
	if s.sess != nil {
		s.sess.Close()
	}
	errs = append(errs, s.client.Close())
	if err := errors.Join(errs...); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
