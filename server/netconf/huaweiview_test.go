package netconf_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/server/netconf"
	"github.com/ntpagent/ntpagent/view"
	"github.com/ntpagent/ntpagent/view/huawei"
	"github.com/ntpagent/ntpagent/yang"
)

const nsVRP = "http://www.huawei.com/netconf/vrp"

// withHuaweiView serves the Huawei legacy view beside the native modules.
func withHuaweiView(t testing.TB) func(*netconf.Config) {
	hv, err := huawei.New()
	if err != nil {
		t.Fatal(err)
	}
	set, err := view.NewSet(hv)
	if err != nil {
		t.Fatal(err)
	}
	return func(c *netconf.Config) { c.Views = set }
}

// vrpEntry is an ntpUCastCfg as ce_ntp writes it (leaf order and neid
// included), with an operation attribute.
func vrpEntry(op, family, v4, v6, typ, vpn, keyID, preferred, ifName string) string {
	return `<ntp xmlns="` + nsVRP + `" content-version="1.0" format-version="1.0"><ntpUCastCfgs><ntpUCastCfg operation="` + op + `">` +
		`<addrFamily>` + family + `</addrFamily><ipv4Addr>` + v4 + `</ipv4Addr><ipv6Addr>` + v6 + `</ipv6Addr><type>` + typ + `</type>` +
		`<vpnName>` + vpn + `</vpnName><keyId>` + keyID + `</keyId><isPreferred>` + preferred + `</isPreferred><ifName>` + ifName + `</ifName>` +
		`<neid>0-0</neid></ntpUCastCfg></ntpUCastCfgs></ntp>`
}

// ceNTPFilter is the subtree filter of ce_ntp's <get>, attributes included.
const ceNTPFilter = `<filter type="subtree"><ntp xmlns="` + nsVRP + `" content-version="1.0" format-version="1.0">` +
	`<ntpUCastCfgs><ntpUCastCfg><addrFamily></addrFamily><vpnName></vpnName><ifName></ifName><ipv4Addr></ipv4Addr>` +
	`<ipv6Addr></ipv6Addr><type></type><isPreferred></isPreferred><keyId></keyId></ntpUCastCfg></ntpUCastCfgs></ntp></filter>`

const nativeFilter = `<filter type="subtree"><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><unicast-peer/><unicast-server/></ntp></filter>`

func editCandidate(config string) string {
	return `<edit-config><target><candidate/></target><config>` + config + `</config></edit-config>`
}

// TestHuaweiViewEditsTheSameCandidateAsTheNativeModule: in one session, an
// edit through the Huawei view reads back through ntpagent-ntp and the
// other way round; one commit commits both; an error of the native
// validation names the view's node when the edit came through the view.
func TestHuaweiViewEditsTheSameCandidateAsTheNativeModule(t *testing.T) {
	f := newFixture(t, withHuaweiView(t))
	c := f.admin(t, true)

	c.OK(editCandidate(vrpEntry("merge", "IPv4", "192.0.2.1", "::", "Peer", "_public_", "", "true", "40ge1/0/22")))
	r := c.RPC(`<get-config><source><candidate/></source>` + nativeFilter + `</get-config>`)
	if want := `<unicast-peer><address>192.0.2.1</address><vpn-instance>_public_</vpn-instance><source-interface>40ge1_0_22</source-interface><preferred>true</preferred></unicast-peer>`; !strings.Contains(r, want) {
		t.Fatalf("the view's edit read through ntpagent-ntp:\n%s\nwant %s", r, want)
	}

	c.OK(editCandidate(`<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><unicast-server><address>2001:db8::7</address><vpn-instance>vrf1</vpn-instance>` +
		`<source-interface>eth-trunk10.100</source-interface><minpoll>4</minpoll></unicast-server></ntp>`))
	r = c.RPC(`<get-config><source><candidate/></source>` + ceNTPFilter + `</get-config>`)
	entry := `<ntpUCastCfg><addrFamily>IPv6</addrFamily><ipv4Addr>0.0.0.0</ipv4Addr><ipv6Addr>2001:db8::7</ipv6Addr><type>Server</type><vpnName>vrf1</vpnName>` +
		`<ifName>Eth-Trunk10.100</ifName><isPreferred>false</isPreferred><keyId/></ntpUCastCfg>` // empty, as VRP answers
	if !strings.Contains(r, `<ntp xmlns="`+nsVRP+`">`) || !strings.Contains(r, entry) {
		t.Fatalf("ntpagent-ntp's edit read through the view:\n%s\nwant %s", r, entry)
	}

	r = c.RPC(editCandidate(vrpEntry("merge", "IPv4", "192.0.2.1", "::", "Peer", "_public_", "99", "true", "40ge1/0/22")))
	if !strings.Contains(r, "<rpc-error>") || !strings.Contains(r, "[vrp:type='Peer'][vrp:vpnName='_public_']/vrp:keyId</error-path>") {
		t.Fatalf("an unknown key through the view: %s", r)
	}

	c.OK(`<commit/>`)
	running := c.RPC(`<get-config><source><running/></source>` + nativeFilter + `</get-config>`)
	if !strings.Contains(running, "192.0.2.1") || !strings.Contains(running, "2001:db8::7") || strings.Contains(running, "<authentication-keyid>") {
		t.Fatalf("running after one commit: %s", running)
	}
	// The other family's address leaf and neid are not data of the entry:
	// the projection, not the edit, decides what a reply holds.
	if r := c.RPC(`<get>` + ceNTPFilter + `</get>`); strings.Contains(r, "neid") || strings.Count(r, "<ntpUCastCfg>") != 2 {
		t.Fatalf("get through the view: %s", r)
	}
}

// TestHuaweiViewToleratesTheDeleteOfAnAbsentEntry: VRP answers <ok/> to a
// delete of an entry that does not exist, and ce_ntp sends one on every
// state: absent run; the second delete changes nothing.
func TestHuaweiViewToleratesTheDeleteOfAnAbsentEntry(t *testing.T) {
	f := newFixture(t, withHuaweiView(t))
	c := f.admin(t, true)
	c.OK(editCandidate(vrpEntry("merge", "IPv4", "192.0.2.1", "::", "Peer", "_public_", "", "false", "")))
	c.OK(`<commit/>`)
	del := `<edit-config><target><running/></target><default-operation>merge</default-operation><error-option>rollback-on-error</error-option><config>` +
		`<ntp xmlns="` + nsVRP + `" content-version="1.0" format-version="1.0"><ntpUCastCfgs><ntpUCastCfg operation="delete">` +
		`<addrFamily>IPv4</addrFamily><ipv4Addr>192.0.2.1</ipv4Addr><ipv6Addr>::</ipv6Addr><type>Peer</type><vpnName>_public_</vpnName><neid>0-0</neid>` +
		`</ntpUCastCfg></ntpUCastCfgs></ntp></config></edit-config>`
	c.OK(del)
	if r := c.RPC(`<get-config><source><running/></source></get-config>`); strings.Contains(r, "192.0.2.1") {
		t.Fatalf("the delete left the peer: %s", r)
	}
	before := c.RPC(`<get><filter type="subtree"><commit-history xmlns="urn:ntpagent:yang:ntpagent-system"/></filter></get>`)
	c.OK(del)
	if after := c.RPC(`<get><filter type="subtree"><commit-history xmlns="urn:ntpagent:yang:ntpagent-system"/></filter></get>`); strings.Count(after, "<commit>") != strings.Count(before, "<commit>") {
		t.Fatalf("the second delete committed something:\nbefore %s\nafter %s", before, after)
	}
}

// TestHuaweiViewRepliesValidate: yanglint finds the view's replies valid
// against the module the server serves for it, with every kind of entry
// (IPv4 and IPv6, peer and server, with and without key and interface).
func TestHuaweiViewRepliesValidate(t *testing.T) {
	yl := testtool.Require(t, "yanglint")
	f := newFixture(t, withHuaweiView(t))
	c := f.admin(t, true)
	c.OK(editCandidate(`<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><authentication><key><key-id>32</key-id><mode>md5</mode><key-value>k</key-value></key></authentication></ntp>`))
	c.OK(editCandidate(vrpEntry("merge", "IPv4", "192.0.2.1", "::", "Peer", "_public_", "32", "true", "40GE1/0/22")))
	c.OK(editCandidate(vrpEntry("merge", "IPv6", "0.0.0.0", "fd00::1", "Server", "vrf1", "", "false", "")))
	c.OK(editCandidate(`<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><unicast-server><address>198.51.100.7</address><vpn-instance>_public_</vpn-instance>` +
		`<source-interface>eth0</source-interface></unicast-server><unicast-peer><address>ntp.example.net</address><vpn-instance>_public_</vpn-instance></unicast-peer></ntp>`))
	c.OK(`<commit/>`)

	sch, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	text, err := sch.Text(huawei.Module, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mod := filepath.Join(dir, huawei.Module+".yang")
	if err := os.WriteFile(mod, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, rpc := range map[string]string{
		"ce_ntp-get":        `<get>` + ceNTPFilter + `</get>`,
		"get-config":        `<get-config><source><running/></source><filter type="subtree"><ntp xmlns="` + nsVRP + `"/></filter></get-config>`,
		"get-config-report": `<get-config><source><running/></source><filter type="subtree"><ntp xmlns="` + nsVRP + `"/></filter><with-defaults xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults">report-all</with-defaults></get-config>`,
	} {
		r := c.RPC(rpc)
		i, j := strings.Index(r, "<data>"), strings.LastIndex(r, "</data>")
		if i < 0 || j < i || strings.Count(r, "<ntpUCastCfg>") != 3 {
			t.Fatalf("%s: want 3 entries (the domain-name peer has no place in the view): %s", name, r)
		}
		data := filepath.Join(dir, name+".xml")
		if err := os.WriteFile(data, []byte(r[i+len("<data>"):j]), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(yl, "-t", "config", "-p", dir, mod, data).CombinedOutput(); err != nil {
			t.Errorf("yanglint %s: %v\n%s\n%s", name, err, out, r)
		}
	}
}
