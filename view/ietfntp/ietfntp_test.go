package ietfntp_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/nctest"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/server/netconf"
	"github.com/ntpagent/ntpagent/view"
	"github.com/ntpagent/ntpagent/view/huawei"
	"github.com/ntpagent/ntpagent/view/ietfntp"
	"github.com/ntpagent/ntpagent/view/ocsys"
	"github.com/ntpagent/ntpagent/yang"
)

const (
	nsIETF   = `urn:ietf:params:xml:ns:yang:ietf-ntp`
	nsNative = `urn:ntpagent:yang:ntpagent-ntp`
)

type fixture struct {
	srv   *netconf.Server
	store *datastore.Store
	ids   atomic.Uint32
}

// newFixture is a NETCONF server speaking ntpagent-ntp and ietf-ntp (and
// the other views given) over one Store; state fills the operational
// state of <get> when not nil.
func newFixture(t testing.TB, state func(*gen.Device), others ...view.View) *fixture {
	t.Helper()
	st, err := datastore.Open(datastore.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	sch, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	v, err := ietfntp.New()
	if err != nil {
		t.Fatal(err)
	}
	set, err := view.NewSet(append([]view.View{v}, others...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netconf.New(netconf.Config{Store: st, Schema: sch, Views: set, State: state})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); st.Close() })
	return &fixture{srv: srv, store: st}
}

func (f *fixture) session(t testing.TB, readOnly bool) *nctest.Client {
	t.Helper()
	return nctest.PipeHello(t, f.srv, netconf.SessionInfo{
		ID: f.ids.Add(1), User: "admin", ReadOnly: readOnly, SourceHost: "127.0.0.1", Transport: "netconf-ssh",
	}, true)
}

func edit(target, config string) string {
	return `<edit-config><target><` + target + `/></target><config>` + config + `</config></edit-config>`
}

func getConfig(source, filter string) string {
	return `<get-config><source><` + source + `/></source><filter type="subtree">` + filter + `</filter></get-config>`
}

// mustContain fails unless reply holds every fragment.
func mustContain(t *testing.T, what, reply string, frags ...string) {
	t.Helper()
	for _, f := range frags {
		if !strings.Contains(reply, f) {
			t.Errorf("%s: %q missing from\n%s", what, f, reply)
		}
	}
}

// One datastore, two models: a server configured through ietf-ntp is a
// unicast-server of ntpagent-ntp in the same session's candidate, and a
// peer configured natively is a uc-peer of ietf-ntp.
func TestEditThroughIETFNTPReadsBackNatively(t *testing.T) {
	f := newFixture(t, nil)
	c := f.session(t, false)
	c.OK(edit("candidate", `<ntp xmlns="`+nsIETF+`"><unicast-configuration>
		<address>192.0.2.1</address><type>uc-server</type><iburst>true</iburst><minpoll>4</minpoll><prefer>true</prefer>
		<source>eth0</source><version>4</version></unicast-configuration></ntp>`))
	got := c.RPC(getConfig("candidate", `<ntp xmlns="`+nsNative+`"><unicast-server/></ntp>`))
	mustContain(t, "native view of an ietf-ntp edit", got,
		`<unicast-server><address>192.0.2.1</address><vpn-instance>_public_</vpn-instance><version>4</version>`,
		`<source-interface>eth0</source-interface><preferred>true</preferred><minpoll>4</minpoll><iburst>true</iburst></unicast-server>`)

	c.OK(edit("candidate", `<ntp xmlns="`+nsNative+`"><unicast-peer><address>2001:db8::7</address>
		<vpn-instance>_public_</vpn-instance><maxpoll>8</maxpoll><authentication-keyid>5</authentication-keyid></unicast-peer>
		<authentication><key><key-id>5</key-id><mode>md5</mode><key-value>secret</key-value><trusted>true</trusted></key></authentication></ntp>`))
	got = c.RPC(getConfig("candidate", `<ntp xmlns="`+nsIETF+`"/>`))
	mustContain(t, "ietf-ntp view of a native edit", got,
		`<unicast-configuration><address>2001:db8::7</address><type xmlns:ntp="`+nsIETF+`">ntp:uc-peer</type><authentication><keyid>5</keyid></authentication><maxpoll>8</maxpoll></unicast-configuration>`,
		`<authentication-keys><keyid>5</keyid><algorithm xmlns:ntp="`+nsIETF+`">ntp:md5</algorithm><key><keystring>%^%#`,
		`<istrusted>true</istrusted>`)
	if strings.Contains(got, "secret") {
		t.Errorf("the key is shown in clear through ietf-ntp:\n%s", got)
	}
	// Running is untouched until the commit.
	if got := c.RPC(getConfig("running", `<ntp xmlns="`+nsIETF+`"/>`)); strings.Contains(got, "unicast-configuration") {
		t.Errorf("running changed before the commit:\n%s", got)
	}
}

// Entries of ntpagent-ntp with no place in ietf-ntp (another vpn-instance,
// a domain name) are not shown there, and an edit through ietf-ntp that
// replaces the whole list keeps them.
func TestEntriesOutsideIETFNTPAreHiddenAndKept(t *testing.T) {
	f := newFixture(t, nil)
	c := f.session(t, false)
	c.OK(edit("candidate", `<ntp xmlns="`+nsNative+`">
		<unicast-peer><address>10.1.1.1</address><vpn-instance>_public_</vpn-instance></unicast-peer>
		<unicast-peer><address>10.1.1.1</address><vpn-instance>blue</vpn-instance></unicast-peer>
		<unicast-server><address>ntp.example.net</address><vpn-instance>_public_</vpn-instance></unicast-server></ntp>`))
	got := c.RPC(getConfig("candidate", `<ntp xmlns="`+nsIETF+`"/>`))
	if n := strings.Count(got, "<unicast-configuration>"); n != 1 || strings.Contains(got, "example") {
		t.Fatalf("ietf-ntp shows %d entries, want only the public IP one:\n%s", n, got)
	}
	// RFC 6241 §7.2 default-operation replace: the whole ietf-ntp
	// configuration is the one given; what ietf-ntp does not show stays.
	c.OK(`<edit-config><target><candidate/></target><default-operation>replace</default-operation><config><ntp xmlns="` + nsIETF + `">
		<unicast-configuration><address>192.0.2.9</address><type>uc-peer</type></unicast-configuration></ntp></config></edit-config>`)
	got = c.RPC(getConfig("candidate", `<ntp xmlns="`+nsNative+`"/>`))
	mustContain(t, "native entries after replacing the ietf-ntp configuration", got,
		`<address>10.1.1.1</address><vpn-instance>blue</vpn-instance>`,
		`<address>192.0.2.9</address><vpn-instance>_public_</vpn-instance>`,
		`<address>ntp.example.net</address>`)
	if strings.Contains(got, `<address>10.1.1.1</address><vpn-instance>_public_</vpn-instance>`) {
		t.Errorf("the public 10.1.1.1, not in the replacing configuration, is still there:\n%s", got)
	}
	c.OK(`<edit-config><target><candidate/></target><config><ntp xmlns="` + nsIETF + `"><unicast-configuration xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" nc:operation="delete">
		<address>192.0.2.9</address><type>uc-peer</type></unicast-configuration></ntp></config></edit-config>`)
	if got := c.RPC(getConfig("candidate", `<ntp xmlns="`+nsNative+`"/>`)); strings.Contains(got, "192.0.2.9") || !strings.Contains(got, "blue") {
		t.Errorf("delete through ietf-ntp removed the wrong entries:\n%s", got)
	}
}

// An edit-config holding both models' content is applied whole, and one
// commit commits it.
func TestMixedEditIsOneCommit(t *testing.T) {
	f := newFixture(t, nil)
	c := f.session(t, false)
	before := len(f.store.History())
	c.OK(edit("candidate", `<ntp xmlns="`+nsNative+`"><unicast-peer><address>10.2.2.2</address><vpn-instance>_public_</vpn-instance></unicast-peer></ntp>
		<ntp xmlns="`+nsIETF+`"><unicast-configuration><address>192.0.2.2</address><type>uc-server</type></unicast-configuration></ntp>`))
	c.OK(`<commit/>`)
	if n := len(f.store.History()) - before; n != 1 {
		t.Fatalf("%d commits, want 1", n)
	}
	got := c.RPC(getConfig("running", `<ntp xmlns="`+nsIETF+`"/>`))
	mustContain(t, "running through ietf-ntp", got, `<address>10.2.2.2</address>`, `<address>192.0.2.2</address>`)
}

var errorPathRE = regexp.MustCompile(`<error-path[^>]*>([^<]*)</error-path>`)

// A validation error of an edit made through ietf-ntp names the node in
// ietf-ntp, not in the native model where the datastore found it; the
// edit changes nothing.
func TestValidationErrorNamesIETFNTPPath(t *testing.T) {
	f := newFixture(t, nil)
	c := f.session(t, false)
	reply, err := c.RPCErr(edit("candidate", `<ntp xmlns="`+nsIETF+`"><unicast-configuration>
		<address>192.0.2.3</address><type>uc-peer</type><minpoll>10</minpoll><maxpoll>6</maxpoll></unicast-configuration></ntp>`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reply, `<error-path xmlns:ntp="`+nsIETF+`">`) {
		t.Errorf("the error-path does not declare ietf-ntp's prefix: %s", reply)
	}
	m := errorPathRE.FindStringSubmatch(reply)
	if m == nil || !strings.HasPrefix(m[1], "/ntp:ntp/ntp:unicast-configuration[ntp:address='192.0.2.3'][ntp:type='ntp:uc-peer']/ntp:") {
		t.Fatalf("error-path is not in ietf-ntp: %s", reply)
	}
	if got := c.RPC(getConfig("candidate", `<ntp xmlns="`+nsNative+`"/>`)); strings.Contains(got, "192.0.2.3") {
		t.Errorf("a refused edit changed the candidate:\n%s", got)
	}
	// A value the view itself cannot carry is refused with the view's path.
	reply, _ = c.RPCErr(edit("candidate", `<ntp xmlns="`+nsIETF+`"><unicast-configuration>
		<address>192.0.2.3</address><type>uc-peer</type><minpoll>-2</minpoll></unicast-configuration></ntp>`))
	mustContain(t, "negative minpoll", reply, `/ntp:ntp/ntp:unicast-configuration[ntp:address='192.0.2.3'][ntp:type='ntp:uc-peer']/ntp:minpoll</error-path>`)
}

// RFC 7950 §7.9.2: a key given as a hexadecimal string after a keystring
// replaces it (one case of the choice); an AES-CMAC key's length picks the
// device's AES mode; an algorithm the device lacks is refused.
func TestKeysThroughIETFNTP(t *testing.T) {
	f := newFixture(t, nil)
	c := f.session(t, false)
	c.OK(edit("candidate", `<ntp xmlns="`+nsIETF+`"><authentication><auth-enabled>true</auth-enabled><authentication-keys>
		<keyid>7</keyid><algorithm>aes-cmac</algorithm><key><hexadecimal-string>00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff</hexadecimal-string></key>
		<istrusted>true</istrusted></authentication-keys></authentication></ntp>`))
	got := c.RPC(getConfig("candidate", `<ntp xmlns="`+nsNative+`"><authentication/></ntp>`))
	mustContain(t, "native key from ietf-ntp", got, `<enable>true</enable>`, `<key-id>7</key-id><mode>aes-128-cmac</mode><key-value>%^%#`)
	reply, _ := c.RPCErr(edit("candidate", `<ntp xmlns="`+nsIETF+`"><authentication><authentication-keys>
		<keyid>8</keyid><algorithm>hmac-sha1-12</algorithm><key><keystring>abc</keystring></key></authentication-keys></authentication></ntp>`))
	mustContain(t, "unsupported algorithm", reply, `<error-tag>invalid-value</error-tag>`,
		`/ntp:ntp/ntp:authentication/ntp:authentication-keys[ntp:keyid='8']/ntp:algorithm</error-path>`)
	// A read-only session sees no key material (RFC 8341 §3.4.5, the
	// module's nacm:default-deny-all).
	op := f.session(t, true)
	if got := op.RPC(getConfig("candidate", `<ntp xmlns="`+nsIETF+`"/>`)); strings.Contains(got, "keystring") {
		t.Errorf("a read-only session reads key material:\n%s", got)
	}
}

// Unknown namespaces stay refused with the view layer in place.
func TestUnknownNamespaceIsRefused(t *testing.T) {
	f := newFixture(t, nil)
	c := f.session(t, false)
	reply, _ := c.RPCErr(edit("candidate", `<ntp xmlns="urn:example:nothing"/>`))
	mustContain(t, "unknown namespace", reply, `<error-tag>unknown-namespace</error-tag>`)
}

// fakeState is the agent's state for one synchronized public server and
// one session in another vpn-instance.
func fakeState(d *gen.Device) {
	n := d.GetOrCreateNtp()
	n.Status = &gen.NtpagentNtp_Ntp_Status{
		ClockState: gen.NtpagentNtp_Ntp_Status_ClockState_synchronized, Stratum: ptr(uint8(3)),
		ReferenceId: ptr("192.0.2.1"), Precision: ptr(int8(-20)), Offset: ptr(0.125), RootDelay: ptr(1.5),
		RootDispersion: ptr(2.25), ReferenceTime: ptr("2026-12-05T10:00:00.5Z"), SystemPeer: ptr("192.0.2.1"),
		SyncState: gen.NtpagentNtp_Ntp_Status_SyncState_synchronized,
	}
	n.Statistics = &gen.NtpagentNtp_Ntp_Statistics{PacketsSent: ptr(uint64(1)<<32 + 5), PacketsReceived: ptr(uint64(9)),
		BadFormat: ptr(uint64(2)), DiscontinuityTime: ptr("2026-12-05T09:00:00Z")}
	n.Sessions = &gen.NtpagentNtp_Ntp_Sessions{Session: map[gen.NtpagentNtp_Ntp_Sessions_Session_Key]*gen.NtpagentNtp_Ntp_Sessions_Session{}}
	for _, s := range []struct {
		addr, vpn string
		mode      gen.E_NtpagentNtp_Ntp_Sessions_Session_LocalMode
	}{{"192.0.2.1", "_public_", gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_client},
		{"10.9.9.9", "blue", gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_active}} {
		n.Sessions.Session[gen.NtpagentNtp_Ntp_Sessions_Session_Key{Address: s.addr, VpnInstance: s.vpn, Port: 123}] = &gen.NtpagentNtp_Ntp_Sessions_Session{
			Address: ptr(s.addr), VpnInstance: ptr(s.vpn), Port: ptr(uint16(123)), LocalMode: s.mode, Configured: ptr(true),
			Stratum: ptr(uint8(2)), ReferenceId: ptr("GPS"), Reach: ptr(uint8(255)), Poll: ptr(int8(6)), Now: ptr(uint32(12)),
			Offset: ptr(0.25), Delay: ptr(0.5), Dispersion: ptr(0.75), PacketsSent: ptr(uint64(4)), PacketsReceived: ptr(uint64(4)),
		}
	}
}

func ptr[T any](v T) *T { return &v }

// <get> through ietf-ntp shows the clock and the public associations, and
// yanglint accepts the replies of get-config and get against ietf-ntp with
// the device's features and deviations.
func TestRepliesAreValidIETFNTP(t *testing.T) {
	f := newFixture(t, fakeState)
	c := f.session(t, false)
	c.OK(edit("running", `<ntp xmlns="`+nsIETF+`"><authentication><authentication-keys><keyid>3</keyid><algorithm>md5</algorithm>
		<key><keystring>k3</keystring></key></authentication-keys></authentication>
		<unicast-configuration><address>192.0.2.1</address><type>uc-server</type><authentication><keyid>3</keyid></authentication></unicast-configuration></ntp>`))
	get := c.RPC(`<get><filter type="subtree"><ntp xmlns="` + nsIETF + `"/></filter></get>`)
	mustContain(t, "get through ietf-ntp", get,
		`<clock-state><system-status><clock-state xmlns:ntp="`+nsIETF+`">ntp:synchronized</clock-state><clock-stratum>3</clock-stratum><clock-refid>192.0.2.1</clock-refid>`,
		`<associations-address>192.0.2.1</associations-address>`,
		`<association><address>192.0.2.1</address><local-mode xmlns:ntp="`+nsIETF+`">ntp:client</local-mode><isconfigured>true</isconfigured><stratum>2</stratum>`,
		`<ntp-statistics><discontinuity-time>2026-12-05T09:00:00Z</discontinuity-time><packet-sent>5</packet-sent><packet-received>9</packet-received><packet-dropped>2</packet-dropped></ntp-statistics>`)
	if strings.Contains(get, "10.9.9.9") {
		t.Errorf("an association of another vpn-instance is shown:\n%s", get)
	}
	cfg := c.RPC(getConfig("running", `<ntp xmlns="`+nsIETF+`"/>`))
	yanglintData(t, "getconfig", cfg)
	yanglintData(t, "get", get)
}

var dataRE = regexp.MustCompile(`(?s)<data[^>]*>(.*)</data>`)

// yanglintData validates the content of a reply's <data> with the real
// yanglint against ietf-ntp, the device's deviation module and features.
func yanglintData(t *testing.T, kind, reply string) {
	t.Helper()
	yl := testtool.Require(t, "yanglint")
	m := dataRE.FindStringSubmatch(reply)
	if m == nil {
		t.Fatalf("no <data> in %s", reply)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, kind+".xml")
	if err := os.WriteFile(file, []byte(m[1]), 0o644); err != nil {
		t.Fatal(err)
	}
	yangDir, _ := filepath.Abs("../../yang")
	args := []string{"-p", filepath.Join(yangDir, "ietf"), "-p", filepath.Join(yangDir, "views"),
		"-F", "ietf-ntp:ntp-port,authentication,deprecated,hex-key-string,unicast-configuration",
		"-t", kind, filepath.Join(yangDir, "ietf", "ietf-ntp@2022-07-05.yang"),
		filepath.Join(yangDir, "views", "ntpagent-ietf-ntp-deviations.yang"), file}
	out, err := exec.Command(yl, args...).CombinedOutput()
	if err != nil || strings.Contains(string(out), "libyang err") {
		t.Errorf("yanglint -t %s rejects the reply: %v\n%s\n%s", kind, err, out, m[1])
	}
}

// One transaction across views: every view of the daemon edits
// the same candidate, so an edit through ietf-ntp is read back through
// OpenConfig and Huawei's schema in the same session, and edits through
// those read back through ietf-ntp.
func TestEditsAreVisibleThroughEveryView(t *testing.T) {
	hv, err := huawei.New()
	if err != nil {
		t.Fatal(err)
	}
	c := newFixture(t, nil, ocsys.New(), hv).session(t, false)
	const (
		nsOC     = "http://openconfig.net/yang/system"
		nsHuawei = "http://www.huawei.com/netconf/vrp"
	)
	ocFilter := `<system xmlns="` + nsOC + `"><ntp/></system>`
	hwFilter := `<ntp xmlns="` + nsHuawei + `"><ntpUCastCfgs/></ntp>`
	c.OK(edit("candidate", `<ntp xmlns="`+nsIETF+`"><unicast-configuration><address>192.0.2.44</address><type>uc-server</type></unicast-configuration></ntp>`))
	mustContain(t, "OpenConfig reads an ietf-ntp edit", c.RPC(getConfig("candidate", ocFilter)), `<address>192.0.2.44</address>`, `<association-type>SERVER</association-type>`)
	mustContain(t, "Huawei's schema reads an ietf-ntp edit", c.RPC(getConfig("candidate", hwFilter)), `<ipv4Addr>192.0.2.44</ipv4Addr>`, `<type>Server</type>`)

	c.OK(edit("candidate", `<system xmlns="`+nsOC+`"><ntp><servers><server><address>192.0.2.45</address><config><address>192.0.2.45</address>
		<association-type>PEER</association-type></config></server></servers></ntp></system>`))
	c.OK(edit("candidate", `<ntp xmlns="`+nsHuawei+`"><ntpUCastCfgs><ntpUCastCfg><addrFamily>IPv4</addrFamily><vpnName>_public_</vpnName>
		<ipv4Addr>192.0.2.46</ipv4Addr><ipv6Addr>::</ipv6Addr><type>Server</type></ntpUCastCfg></ntpUCastCfgs></ntp>`))
	mustContain(t, "ietf-ntp reads OpenConfig's and Huawei's edits", c.RPC(getConfig("candidate", `<ntp xmlns="`+nsIETF+`"/>`)),
		`<address>192.0.2.45</address><type xmlns:ntp="`+nsIETF+`">ntp:uc-peer</type>`,
		`<address>192.0.2.46</address><type xmlns:ntp="`+nsIETF+`">ntp:uc-server</type>`)
}

// RFC 6241 §7.3 and §8.6: an inline <config> of copy-config and validate
// may be written in ietf-ntp; it becomes the whole configuration.
func TestInlineConfigInIETFNTP(t *testing.T) {
	f := newFixture(t, nil)
	c := f.session(t, false)
	c.OK(edit("candidate", `<ntp xmlns="`+nsNative+`"><unicast-peer><address>10.7.7.7</address><vpn-instance>_public_</vpn-instance></unicast-peer></ntp>`))
	inline := `<config><ntp xmlns="` + nsIETF + `"><unicast-configuration><address>192.0.2.70</address><type>uc-server</type><maxpoll>12</maxpoll></unicast-configuration></ntp></config>`
	c.OK(`<validate><source>` + inline + `</source></validate>`)
	c.OK(`<copy-config><target><candidate/></target><source>` + inline + `</source></copy-config>`)
	got := c.RPC(getConfig("candidate", `<ntp xmlns="`+nsNative+`"/>`))
	mustContain(t, "candidate after copy-config in ietf-ntp", got, `<unicast-server><address>192.0.2.70</address><vpn-instance>_public_</vpn-instance><maxpoll>12</maxpoll></unicast-server>`)
	if strings.Contains(got, "10.7.7.7") {
		t.Errorf("copy-config kept a peer the whole configuration does not have:\n%s", got)
	}
	reply, _ := c.RPCErr(`<validate><source><config><ntp xmlns="` + nsIETF + `"><unicast-configuration><address>192.0.2.71</address><type>uc-peer</type>
		<minpoll>9</minpoll><maxpoll>5</maxpoll></unicast-configuration></ntp></config></source></validate>`)
	mustContain(t, "validate of a bad inline ietf-ntp config", reply, `<error-path xmlns:ntp="`+nsIETF+`">/ntp:ntp/ntp:unicast-configuration[ntp:address='192.0.2.71'][ntp:type='ntp:uc-peer']/ntp:`)
}
