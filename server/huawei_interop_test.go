package server

import (
	"os"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/view/huawei"
)

// withHuaweiView makes the agent's NETCONF server speak the Huawei legacy
// view beside ntpagent's own modules, as the daemon does.
func withHuaweiView(t testing.TB) agentOption {
	hv, err := huawei.New()
	if err != nil {
		t.Fatal(err)
	}
	return withViews(t, hv)
}

// ceNTPModule is where Debian's ansible package keeps community.network.ce_ntp.
const ceNTPModule = "/usr/lib/python3/dist-packages/ansible_collections/community/network/plugins/modules/ce_ntp.py"

// ceNTPFilter is the subtree filter ce_ntp sends in its <get>, attributes
// included.
const ceNTPFilter = `<filter type="subtree"><ntp xmlns="http://www.huawei.com/netconf/vrp" content-version="1.0" format-version="1.0">` +
	`<ntpUCastCfgs><ntpUCastCfg><addrFamily></addrFamily><vpnName></vpnName><ifName></ifName><ipv4Addr></ipv4Addr>` +
	`<ipv6Addr></ipv6Addr><type></type><isPreferred></isPreferred><keyId></keyId></ntpUCastCfg></ntpUCastCfgs></ntp></filter>`

// TestAnsibleCENTPInterop runs Debian's community.network.ce_ntp, unchanged,
// against the Huawei legacy view (testdata/netconf/ansible/ce_ntp.yml, which
// asserts what each task reports): IPv4 and IPv6 peers, a server, VRP
// interface names, a key, a VPN instance; each present task a second time
// changes nothing; a delete of the absent entry is no error. Then the
// native module shows what ce_ntp configured, only the five changing tasks
// committed, and yanglint finds the view's reply valid against the module
// the server serves.
func TestAnsibleCENTPInterop(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(ceNTPModule); err != nil {
		testtool.Missing(t, "community.network.ce_ntp is not installed (Debian package ansible)")
	}
	a := startAgent(t, withHuaweiView(t))
	c := dialNC(t, a.addr, a.adminKey(), true)
	if r := c.RPC(`<edit-config><target><running/></target><config><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><authentication>` +
		`<key><key-id>32</key-id><mode>md5</mode><key-value>ce-ntp-test-key</key-value></key></authentication></ntp></config></edit-config>`); !strings.Contains(r, "<ok/>") {
		t.Fatalf("key 32: %s", r)
	}
	commitsBefore := strings.Count(c.RPC(`<get><filter type="subtree"><commit-history xmlns="urn:ntpagent:yang:ntpagent-system"/></filter></get>`), "<commit>")

	out := runPlaybook(t, a, "community.network.ce", repoFile("testdata", "netconf", "ansible", "ce_ntp.yml"))
	t.Logf("ansible-playbook:\n%s", out)

	r := c.RPC(`<get-config><source><running/></source><filter type="subtree"><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"/></filter></get-config>`)
	for _, want := range []string{
		"<unicast-peer><address>2001:db8::1</address><vpn-instance>vrf1</vpn-instance></unicast-peer>",
		"<unicast-server><address>198.51.100.7</address><vpn-instance>_public_</vpn-instance><source-interface>loopback0</source-interface></unicast-server>",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("running lacks %s:\n%s", want, r)
		}
	}
	if strings.Contains(r, "192.0.2.1") {
		t.Errorf("the deleted peer is still in running:\n%s", r)
	}
	commits := strings.Count(c.RPC(`<get><filter type="subtree"><commit-history xmlns="urn:ntpagent:yang:ntpagent-system"/></filter></get>`), "<commit>")
	if got := commits - commitsBefore; got != 5 {
		t.Errorf("the playbook made %d commits; its five changing tasks should make five, the others none", got)
	}

	yl := schemaDirOf(t, a, "ntpagent-huawei-vrp")
	saveDataChildren(t, yl, "ce_ntp-get", c.RPC(`<get>`+ceNTPFilter+`</get>`))
	saveDataChildren(t, yl, "huawei-get-config", c.RPC(`<get-config><source><running/></source><filter type="subtree"><ntp xmlns="http://www.huawei.com/netconf/vrp"/></filter></get-config>`))
	if n := yanglintReplies(t, yl, "config", "*.xml"); n != 2 {
		t.Fatalf("%d replies validated", n)
	}
}
