package main

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/testtool"

	"golang.org/x/crypto/ssh"
)

// A unicast server configured over NETCONF (edit-config + commit): the
// daemon becomes a client of the reference daemon (RFC 5905 mode 3),
// synchronizes one stratum below it, and shows the association as a
// configured client session in <get> and in the CLI; get-config and
// display current-configuration show the entry. A server at a multicast
// address and a peer at the server's address are refused with the path of
// the entry and change nothing.
func TestDaemonUnicastServerOverNETCONF(t *testing.T) {
	ref := testSettings(t)
	ref.LocalStratum = 5
	ref.NTPListen = "127.0.0.45:0"
	rd := startDaemon(t, ref)
	_, refPort, _ := net.SplitHostPort(rd.started.NTP)

	s := testSettings(t)
	s.NTPListen = "127.0.0.44:0"
	d := startDaemon(t, s)
	pw := adminPassword(t, d.out.String())
	nc := dialNETCONF(t, d.started.SSH[0], pw)
	nc.rpc(`<edit-config><target><candidate/></target><config>
<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><unicast-server>
<address>127.0.0.45</address><vpn-instance>_public_</vpn-instance><port>` + refPort + `</port>
<minpoll>3</minpoll><maxpoll>4</maxpoll><iburst>true</iburst></unicast-server></ntp></config></edit-config>`)
	nc.rpc(`<commit/>`)

	cfg := nc.rpc(`<get-config><source><running/></source><filter type="subtree"><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><unicast-server/></ntp></filter></get-config>`)
	want := `<unicast-server><address>127.0.0.45</address><vpn-instance>_public_</vpn-instance><port>` + refPort + `</port><minpoll>3</minpoll><maxpoll>4</maxpoll><iburst>true</iburst></unicast-server>`
	if !strings.Contains(cfg, want) {
		t.Errorf("get-config lacks %s:\n%s", want, cfg)
	}

	var get string
	testtool.WaitFor(t, 90*time.Second, "the daemon synchronized to its server", func() bool {
		get = nc.rpc(`<get><filter type="subtree"><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><status/><sessions/></ntp></filter></get>`)
		return strings.Contains(get, "<clock-state>synchronized</clock-state>")
	})
	for _, want := range []string{"<stratum>6</stratum>", "<system-peer>127.0.0.45</system-peer>",
		"<address>127.0.0.45</address>", "<local-mode>client</local-mode>", "<configured>true</configured>",
		"<selection-status>system-peer</selection-status>"} {
		if !strings.Contains(get, want) {
			t.Errorf("<get> lacks %s:\n%s", want, get)
		}
	}

	// Refused edits name the entry and leave running as it was.
	for _, c := range []struct{ config, path, message string }{
		{`<unicast-server><address>224.0.1.1</address><vpn-instance>_public_</vpn-instance></unicast-server>`,
			`unicast-server[ntpa:address='224.0.1.1'][ntpa:vpn-instance='_public_']/ntpa:address`, "The server address 224.0.1.1 is not a host address: it is a multicast address."},
		{`<unicast-peer><address>127.0.0.45</address><vpn-instance>_public_</vpn-instance></unicast-peer>`,
			`unicast-server[ntpa:address='127.0.0.45'][ntpa:vpn-instance='_public_']`, "127.0.0.45 in VPN instance _public_ is already a unicast peer"},
	} {
		reply := nc.rpcReply(`<edit-config><target><running/></target><config><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">` + c.config + `</ntp></config></edit-config>`)
		if !strings.Contains(reply, "<rpc-error>") || !strings.Contains(reply, c.path) || !strings.Contains(reply, c.message) {
			t.Errorf("edit %s: want an rpc-error at %s saying %q:\n%s", c.config, c.path, c.message, reply)
		}
	}
	if cfgAfter := nc.rpc(`<get-config><source><running/></source></get-config>`); strings.Contains(cfgAfter, "224.0.1.1") || strings.Contains(cfgAfter, "<unicast-peer>") || !strings.Contains(cfgAfter, want) {
		t.Errorf("a refused edit reached running:\n%s", cfgAfter)
	}

	// The CLI over SSH shows the same entry and session.
	sshCfg := &ssh.ClientConfig{User: "admin", Auth: []ssh.AuthMethod{ssh.Password(pw)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
	c, err := ssh.Dial("tcp", d.started.SSH[1].String(), sshCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for command, wants := range map[string][]string{
		"display current-configuration | include unicast":                       {"ntp unicast-server 127.0.0.45 port " + refPort + " maxpoll 4 minpoll 3 iburst\n"},
		"display ntp sessions verbose | include clock source|local mode|status": {"clock source: 127.0.0.45", "local mode: client", "clock status: master, selected, configured"},
	} {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		out, _ := sess.CombinedOutput(command)
		for _, w := range wants {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s lacks %q:\n%s", command, w, out)
			}
		}
	}
}
