package cli

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/server/netconf"
	"github.com/ntpagent/ntpagent/yang"
)

// ncSession is a minimal NETCONF client (base:1.0 end-of-message framing,
// RFC 6242 §4.3) of a NETCONF server over the CLI's datastore, on an
// in-memory pipe.
type ncSession struct {
	t    *testing.T
	conn net.Conn
	r    *netconf.FrameReader
	w    *netconf.FrameWriter
	next int
}

func (e *env) dialNETCONF(t *testing.T) *ncSession {
	t.Helper()
	sch, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netconf.New(netconf.Config{Store: e.store, Schema: sch})
	if err != nil {
		t.Fatal(err)
	}
	conn, served := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), served, netconf.SessionInfo{ID: 1000, User: "admin"}) }()
	t.Cleanup(func() { conn.Close(); <-done; srv.Close() })
	c := &ncSession{t: t, conn: conn, r: netconf.NewFrameReader(conn, 0), w: netconf.NewFrameWriter(conn)}
	if _, err := c.r.ReadMessage(); err != nil {
		t.Fatalf("server hello: %v", err)
	}
	if err := c.w.WriteMessage([]byte(`<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>` +
		`<capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>`)); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *ncSession) rpc(body string) string {
	c.t.Helper()
	c.next++
	msg := fmt.Sprintf(`<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="%d">%s</rpc>`, c.next, body)
	if err := c.w.WriteMessage([]byte(msg)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
	m, err := c.r.ReadMessage()
	if err != nil {
		c.t.Fatalf("reply: %v", err)
	}
	return string(m)
}

func (c *ncSession) ok(body string) {
	c.t.Helper()
	if r := c.rpc(body); !strings.Contains(r, "<ok/>") {
		c.t.Fatalf("%s: %s", body, r)
	}
}

// TestCrossInterfaceOverNETCONF: over one datastore, a CLI edit over SSH shows in
// NETCONF <get-config> of the candidate; a NETCONF edit and <commit> show in
// display current-configuration; a NETCONF <lock> on the candidate refuses
// CLI edits until <unlock>.
func TestCrossInterfaceOverNETCONF(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	e := newEnv(t)
	e.startSSH(t)
	nc := e.dialNETCONF(t)
	defer nc.conn.Close()

	e.runSSH("batch", RoleAdmin, 80, 24, "system-view\nntp unicast-peer 10.7.7.7 preferred iburst\nntp allow-unauthenticated-passive-peers")
	got := nc.rpc(`<get-config><source><candidate/></source></get-config>`)
	for _, want := range []string{"<address>10.7.7.7</address>", "<preferred>true</preferred>", "<iburst>true</iburst>",
		"<allow-unauthenticated-passive-peers>true</allow-unauthenticated-passive-peers>"} {
		if !strings.Contains(got, want) {
			t.Fatalf("CLI edit not in NETCONF get-config candidate (%s):\n%s", want, got)
		}
	}
	if strings.Contains(got, "<burst>") {
		t.Fatalf("burst set without the CLI option:\n%s", got)
	}

	nc.ok(`<edit-config><target><candidate/></target><config><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">` +
		`<unicast-peer><address>2001:db8::77</address><vpn-instance>_public_</vpn-instance><maxpoll>12</maxpoll><burst>true</burst></unicast-peer>` +
		`</ntp></config></edit-config>`)
	nc.ok(`<commit/>`)
	shown := e.runSSH("exec", RoleAdmin, 80, 24, "display current-configuration")
	for _, want := range []string{"ntp allow-unauthenticated-passive-peers", "ntp unicast-peer 10.7.7.7 preferred iburst", "ntp unicast-peer ipv6 2001:db8::77 maxpoll 12 burst"} {
		if !strings.Contains(shown, want) {
			t.Fatalf("display current-configuration lacks %q:\n%s", want, shown)
		}
	}

	nc.ok(`<lock><target><candidate/></target></lock>`)
	out := e.runSSH("batch", RoleAdmin, 80, 24, "system-view\nundo ntp unicast-peer 10.7.7.7")
	if !strings.Contains(out, "Error: The candidate datastore is locked by session") || !strings.HasSuffix(out, "[exit status 1]\n") {
		t.Fatalf("CLI edit under a NETCONF lock:\n%s", out)
	}
	nc.ok(`<unlock><target><candidate/></target></unlock>`)
	out = e.runSSH("batch", RoleAdmin, 80, 24, "system-view\nundo ntp unicast-peer 10.7.7.7\ncommit\ndisplay current-configuration | include 10.7.7.7")
	if !strings.HasSuffix(out, "[~ntpagent]display current-configuration | include 10.7.7.7\n[exit status 0]\n") {
		t.Fatalf("CLI edit after the unlock:\n%s", out)
	}
	got = nc.rpc(`<get-config><source><running/></source></get-config>`)
	if strings.Contains(got, "10.7.7.7") || !strings.Contains(got, "2001:db8::77") {
		t.Fatalf("NETCONF running after the CLI commit:\n%s", got)
	}
}
