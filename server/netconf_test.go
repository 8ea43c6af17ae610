package server

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/fakeclock"
	"github.com/ntpagent/ntpagent/server/netconf"
	"golang.org/x/crypto/ssh"
)

const ntpNS = "urn:ntpagent:yang:ntpagent-ntp"

func peerConfig(addr, extra string) string {
	return `<config><ntp xmlns="` + ntpNS + `"><unicast-peer><address>` + addr +
		`</address><vpn-instance>_public_</vpn-instance>` + extra + `</unicast-peer></ntp></config>`
}

func TestNETCONFEditCommitGetConfig(t *testing.T) {
	a := startAgent(t)
	for _, base11 := range []bool{false, true} {
		c := dialNC(t, a.addr, a.adminKey(), base11)
		if c.chunked != base11 {
			t.Fatalf("base11=%v: chunked=%v", base11, c.chunked)
		}
		addr := "10.0.0.1"
		if base11 {
			addr = "10.0.0.2"
		}
		wantOK(t, c.rpc(`<edit-config><target><candidate/></target>`+peerConfig(addr, "<minpoll>4</minpoll>")+`</edit-config>`))
		wantOK(t, c.rpc(`<validate><source><candidate/></source></validate>`))
		wantOK(t, c.rpc(`<commit/>`))
		r := c.rpc(`<get-config><source><running/></source></get-config>`)
		if !strings.Contains(r, "<address>"+addr+"</address>") || !strings.Contains(r, "<minpoll>4</minpoll>") {
			t.Fatalf("get-config after commit: %s", r)
		}
		wantOK(t, c.rpc(`<close-session/>`))
	}
}

func TestNETCONFReplyCopiesAttributesAndBaseNamespace(t *testing.T) {
	a := startAgent(t)
	c := dialNC(t, a.addr, a.adminKey(), false)
	c.next++
	if err := c.w.WriteMessage([]byte(`<nc:rpc xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:ex="urn:example" message-id="urn:uuid:42" ex:user="fred"><nc:get-config><nc:source><nc:running/></nc:source></nc:get-config></nc:rpc>`)); err != nil {
		t.Fatal(err)
	}
	r := c.read()
	if !strings.HasPrefix(r, `<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:ex="urn:example" message-id="urn:uuid:42" ex:user="fred">`) &&
		!strings.HasPrefix(r, `<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:ex="urn:example" message-id="urn:uuid:42" ex:user="fred">`) {
		t.Fatalf("reply = %s", r)
	}
}

// Config.HelloTimeout reaches the NETCONF server: a client that sends no
// <hello> is ended after it, well before netconf's own 60 s default. The
// clock is hand-driven, advanced one second at a time.
func TestNETCONFHelloTimeoutFromConfig(t *testing.T) {
	clk := fakeclock.New()
	a := startAgent(t, func(c *agentConfig) { c.Clock, c.nc.HelloTimeout = clk, 3*time.Second })
	conn, err := ssh.Dial("tcp", a.addr, a.adminKey())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sess, err := conn.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := sess.StdoutPipe()
	if err := sess.RequestSubsystem("netconf"); err != nil {
		t.Fatal(err)
	}
	r := netconf.NewFrameReader(out, 0)
	if _, err := r.ReadMessage(); err != nil {
		t.Fatalf("server hello: %v", err)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := r.ReadMessage()
		ended <- err
	}()
	// The hello timer starts just after the server's hello is written:
	// step the clock until the session ends, for less than the default.
	for step := 1; step < 60; step++ {
		clk.Advance(time.Second)
		select {
		case err := <-ended:
			if err != io.EOF && !strings.Contains(err.Error(), "EOF") {
				t.Fatalf("session ended with %v; want EOF", err)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatal("no hello for 59 s of clock time and the session is still open")
}
