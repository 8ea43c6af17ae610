package cli

import (
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/internal/nctest"
	"github.com/ntpagent/ntpagent/server/netconf"
	"github.com/ntpagent/ntpagent/yang"
)

// dialNETCONF opens a NETCONF session (admin, base:1.0) of a NETCONF
// server over the CLI's datastore, on an in-memory pipe.
func (e *env) dialNETCONF(t *testing.T) *nctest.Client {
	t.Helper()
	sch, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netconf.New(netconf.Config{Store: e.store, Schema: sch})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return nctest.PipeHello(t, srv, netconf.SessionInfo{ID: 1000, User: "admin"}, false)
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
	defer nc.Close()

	e.runSSH("batch", RoleAdmin, 80, 24, "system-view\nntp unicast-peer 10.7.7.7 preferred iburst\nntp allow-unauthenticated-passive-peers")
	got := nc.RPC(`<get-config><source><candidate/></source></get-config>`)
	for _, want := range []string{"<address>10.7.7.7</address>", "<preferred>true</preferred>", "<iburst>true</iburst>",
		"<allow-unauthenticated-passive-peers>true</allow-unauthenticated-passive-peers>"} {
		if !strings.Contains(got, want) {
			t.Fatalf("CLI edit not in NETCONF get-config candidate (%s):\n%s", want, got)
		}
	}
	if strings.Contains(got, "<burst>") {
		t.Fatalf("burst set without the CLI option:\n%s", got)
	}

	nc.OK(`<edit-config><target><candidate/></target><config><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">` +
		`<unicast-peer><address>2001:db8::77</address><vpn-instance>_public_</vpn-instance><maxpoll>12</maxpoll><burst>true</burst></unicast-peer>` +
		`</ntp></config></edit-config>`)
	nc.OK(`<commit/>`)
	shown := e.runSSH("exec", RoleAdmin, 80, 24, "display current-configuration")
	for _, want := range []string{"ntp allow-unauthenticated-passive-peers", "ntp unicast-peer 10.7.7.7 preferred iburst", "ntp unicast-peer ipv6 2001:db8::77 maxpoll 12 burst"} {
		if !strings.Contains(shown, want) {
			t.Fatalf("display current-configuration lacks %q:\n%s", want, shown)
		}
	}

	nc.OK(`<lock><target><candidate/></target></lock>`)
	out := e.runSSH("batch", RoleAdmin, 80, 24, "system-view\nundo ntp unicast-peer 10.7.7.7")
	if !strings.Contains(out, "Error: The candidate datastore is locked by session") || !strings.HasSuffix(out, "[exit status 1]\n") {
		t.Fatalf("CLI edit under a NETCONF lock:\n%s", out)
	}
	nc.OK(`<unlock><target><candidate/></target></unlock>`)
	out = e.runSSH("batch", RoleAdmin, 80, 24, "system-view\nundo ntp unicast-peer 10.7.7.7\ncommit\ndisplay current-configuration | include 10.7.7.7")
	if !strings.HasSuffix(out, "[~ntpagent]display current-configuration | include 10.7.7.7\n[exit status 0]\n") {
		t.Fatalf("CLI edit after the unlock:\n%s", out)
	}
	got = nc.RPC(`<get-config><source><running/></source></get-config>`)
	if strings.Contains(got, "10.7.7.7") || !strings.Contains(got, "2001:db8::77") {
		t.Fatalf("NETCONF running after the CLI commit:\n%s", got)
	}
}
