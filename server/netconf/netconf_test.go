package netconf_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/fakeclock"
	"github.com/ntpagent/ntpagent/internal/nctest"
	"github.com/ntpagent/ntpagent/server/netconf"
)

func TestNETCONFEditCommitGetConfig(t *testing.T) {
	a := newFixture(t)
	for _, base11 := range []bool{false, true} {
		c := a.admin(t, base11)
		if c.Chunked != base11 {
			t.Fatalf("base11=%v: chunked=%v", base11, c.Chunked)
		}
		addr := "10.0.0.1"
		if base11 {
			addr = "10.0.0.2"
		}
		nctest.WantOK(t, c.RPC(`<edit-config><target><candidate/></target>`+nctest.PeerConfig(addr, "<minpoll>4</minpoll>")+`</edit-config>`))
		nctest.WantOK(t, c.RPC(`<validate><source><candidate/></source></validate>`))
		nctest.WantOK(t, c.RPC(`<commit/>`))
		r := c.RPC(`<get-config><source><running/></source></get-config>`)
		if !strings.Contains(r, "<address>"+addr+"</address>") || !strings.Contains(r, "<minpoll>4</minpoll>") {
			t.Fatalf("get-config after commit: %s", r)
		}
		nctest.WantOK(t, c.RPC(`<close-session/>`))
	}
}

func TestNETCONFReplyCopiesAttributesAndBaseNamespace(t *testing.T) {
	a := newFixture(t)
	c := a.admin(t, false)
	if err := c.W.WriteMessage([]byte(`<nc:rpc xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:ex="urn:example" message-id="urn:uuid:42" ex:user="fred"><nc:get-config><nc:source><nc:running/></nc:source></nc:get-config></nc:rpc>`)); err != nil {
		t.Fatal(err)
	}
	r := c.Read()
	if !strings.HasPrefix(r, `<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:ex="urn:example" message-id="urn:uuid:42" ex:user="fred">`) &&
		!strings.HasPrefix(r, `<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:ex="urn:example" message-id="urn:uuid:42" ex:user="fred">`) {
		t.Fatalf("reply = %s", r)
	}
}

// Config.HelloTimeout ends a session whose client sends no <hello> after
// it, well before the 60 s default. The clock is hand-driven, advanced one
// second at a time.
func TestNETCONFHelloTimeoutFromConfig(t *testing.T) {
	clk := fakeclock.New()
	a := newFixture(t, func(c *netconf.Config) { c.Clock, c.HelloTimeout = clk, 3*time.Second })
	c := nctest.Pipe(t, a.srv, netconf.SessionInfo{ID: 1, User: "admin"})
	ended := make(chan error, 1)
	go func() {
		_, err := c.R.ReadMessage()
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
