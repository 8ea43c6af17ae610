package server

import (
	"net"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/nctest"
	"golang.org/x/crypto/ssh"
)

func sshConfig(user string, auth ssh.AuthMethod) *ssh.ClientConfig {
	return &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{auth},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
}

// dialNC logs in, opens the netconf subsystem and exchanges hellos
// (base11 announces base:1.1 too); the connection ends with the test.
func dialNC(t *testing.T, addr string, cfg *ssh.ClientConfig, base11 bool) *nctest.Client {
	t.Helper()
	c, err := nctest.DialSSH(t, addr, cfg, base11)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dialNCErr(t testing.TB, addr string, cfg *ssh.ClientConfig, base11 bool) (*nctest.Client, error) {
	return nctest.DialSSH(t, addr, cfg, base11)
}

// dialNCFrom is dialNC from the local address src (any of 127.0.0.0/8
// on Linux), so that a test can play several sources.
func dialNCFrom(t *testing.T, src, addr string, cfg *ssh.ClientConfig, base11 bool) *nctest.Client {
	t.Helper()
	conn, err := sshDialFrom(src, addr, cfg)
	if err != nil {
		t.Fatalf("ssh from %s: %v", src, err)
	}
	c, err := nctest.OverSSH(t, conn, base11)
	if err != nil {
		t.Fatalf("netconf from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
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

func dialNCBench(b *testing.B, a *testAgent) *nctest.Client {
	c, err := dialNCErr(b, a.addr, a.adminKey(), true)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}
