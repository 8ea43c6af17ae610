package main

import (
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A server configured through openconfig-system is a client association of
// the running daemon (RFC 5905 mode 3): it synchronizes to a reference
// daemon, and <get> through the view shows the association's state
// (stratum, offset, poll interval) and the system's.
func TestDaemonOpenConfigServerSynchronizes(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: two daemons until one synchronizes to the other; make test runs it")
	}
	ref := testSettings(t)
	ref.LocalStratum = 3
	ref.NTPListen = "127.0.0.43:0"
	rd := startDaemon(t, ref)
	s := testSettings(t)
	s.NTPListen = "127.0.0.42:0"
	d := startDaemon(t, s)
	nc := dialNETCONF(t, d.started.SSH[0], adminPassword(t, d.out.String()))
	nc.rpc(`<create-subscription xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"/>`)
	host, port, _ := net.SplitHostPort(rd.started.NTP)
	nc.rpc(`<edit-config><target><candidate/></target><config><system xmlns="http://openconfig.net/yang/system"><ntp><servers>
<server><address>` + host + `</address><config><address>` + host + `</address><port>` + port + `</port>
<association-type>SERVER</association-type><iburst>true</iburst></config></server></servers></ntp></system></config></edit-config>`)
	nc.rpc(`<commit/>`)
	m := nc.notification(60*time.Second, "<sync-state-change")
	if !strings.Contains(m, "<clock-state>synchronized</clock-state>") || !strings.Contains(m, "<system-peer>"+host+"</system-peer>") {
		t.Fatalf("the daemon did not synchronize to the server configured through openconfig-system: %s", m)
	}
	get := nc.rpc(`<get><filter type="subtree"><system xmlns="http://openconfig.net/yang/system"/></filter></get>`)
	for _, re := range []string{
		`<state><enabled>true</enabled><enable-ntp-auth>false</enable-ntp-auth>`,
		`<state><address>` + regexp.QuoteMeta(host) + `</address><port>` + port + `</port><version>4</version><association-type>SERVER</association-type><iburst>true</iburst><prefer>false</prefer>` +
			`<stratum>3</stratum><root-delay>[0-9.]+</root-delay><root-dispersion>[0-9.]+</root-dispersion><offset>-?[0-9.]+</offset><poll-interval>[0-9]+</poll-interval></state>`,
	} {
		if !regexp.MustCompile(re).MatchString(get) {
			t.Errorf("<get> through openconfig-system lacks %s:\n%s", re, get)
		}
	}
	native := nc.rpc(`<get><filter type="subtree"><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><sessions/></ntp></filter></get>`)
	if !strings.Contains(native, "<local-mode>client</local-mode>") {
		t.Errorf("the association is not in client mode:\n%s", native)
	}
}
