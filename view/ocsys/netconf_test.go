package ocsys_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openconfig/ygot/ygot"

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
	nsOC   = "http://openconfig.net/yang/system"
	nsNtpa = "urn:ntpagent:yang:ntpagent-ntp"
)

// server is a NETCONF server over a fresh Store that speaks the native
// model and the OpenConfig view; state fills <get>'s state as the agent
// would (nil: none).
type server struct {
	srv   *netconf.Server
	store *datastore.Store
	ids   atomic.Uint32
}

func newServer(t *testing.T, state func(*gen.Device), more ...view.View) *server {
	t.Helper()
	st, err := datastore.Open(datastore.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	sch, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	set, err := view.NewSet(append([]view.View{ocsys.New()}, more...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netconf.New(netconf.Config{Store: st, Schema: sch, Views: set, State: state})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); st.Close() })
	return &server{srv: srv, store: st}
}

func (s *server) session(t *testing.T, user string, readOnly bool) *nctest.Client {
	t.Helper()
	return nctest.PipeHello(t, s.srv, netconf.SessionInfo{ID: s.ids.Add(1), User: user, ReadOnly: readOnly,
		SourceHost: "127.0.0.1", Transport: "netconf-ssh"}, true)
}

// ocConfig is a <config> of openconfig-system's /system/ntp.
func ocConfig(ntp string) string {
	return `<config><system xmlns="` + nsOC + `"><ntp>` + ntp + `</ntp></system></config>`
}

func ocServer(addr, config string) string {
	return `<servers><server><address>` + addr + `</address><config><address>` + addr + `</address>` + config + `</config></server></servers>`
}

func editCandidate(config string) string {
	return `<edit-config><target><candidate/></target>` + config + `</edit-config>`
}

const (
	ocFilter     = `<filter type="subtree"><system xmlns="` + nsOC + `"/></filter>`
	nativeFilter = `<filter type="subtree"><ntp xmlns="` + nsNtpa + `"/></filter>`
)

// yanglintReply validates the <data> of a reply with yanglint against the
// modules of the YANG library (typ: yanglint's -t, config or get).
func yanglintReply(t *testing.T, typ, reply string) {
	t.Helper()
	yl := testtool.Require(t, "yanglint")
	sch, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lib, err := sch.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-t", typ}, lib...)
	i, j := strings.Index(reply, "<data>"), strings.LastIndex(reply, "</data>")
	if i < 0 || j < i {
		t.Fatalf("no <data> in %s", reply)
	}
	f := filepath.Join(dir, "data.xml")
	if err := os.WriteFile(f, []byte(reply[i+len("<data>"):j]), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(yl, append(args, f)...).CombinedOutput(); err != nil {
		t.Errorf("yanglint -t %s rejects the reply: %v\n%s\n%s", typ, err, out, reply)
	}
}

// An edit through openconfig-system reads back through the native module in
// the same session (before and after commit), and a native edit reads back
// through openconfig-system: one datastore, two models.
func TestNETCONFEditThroughOpenConfigReadsBackNatively(t *testing.T) {
	s := newServer(t, nil)
	c := s.session(t, "admin", false)
	nctest.WantOK(t, c.RPC(editCandidate(ocConfig(
		`<config><enable-ntp-auth>true</enable-ntp-auth></config>`+
			`<ntp-keys><ntp-key><key-id>7</key-id><config><key-id>7</key-id>`+
			`<key-type xmlns:ntpa-oc-dev="urn:ntpagent:yang:ntpagent-openconfig-deviations">ntpa-oc-dev:NTP_AUTH_SHA1</key-type>`+
			`<key-value>0123456789abcdef</key-value></config></ntp-key></ntp-keys>`+
			ocServer("192.0.2.1", `<port>1123</port><association-type>SERVER</association-type><iburst>true</iburst>`)))))
	nctest.WantOK(t, c.RPC(editCandidate(ocConfig(ocServer("2001:db8::1", `<association-type>PEER</association-type><prefer>true</prefer>`)))))
	native := c.RPC(`<get-config><source><candidate/></source>` + nativeFilter + `</get-config>`)
	for _, want := range []string{
		`<unicast-peer><address>2001:db8::1</address><vpn-instance>_public_</vpn-instance>`,
		`<preferred>true</preferred>`,
		`<unicast-server><address>192.0.2.1</address><vpn-instance>_public_</vpn-instance>`,
		`<port>1123</port>`, `<iburst>true</iburst>`,
		`<authentication><enable>true</enable><key><key-id>7</key-id><mode>sha1</mode><key-value>%^%#`,
		`<trusted>true</trusted>`,
	} {
		if !strings.Contains(native, want) {
			t.Errorf("native get-config of the candidate lacks %s:\n%s", want, native)
		}
	}
	nctest.WantOK(t, c.RPC(`<commit/>`))
	running := c.RPC(`<get-config><source><running/></source>` + ocFilter + `</get-config>`)
	for _, want := range []string{
		`<server><address>192.0.2.1</address><config><address>192.0.2.1</address><port>1123</port><association-type>SERVER</association-type><iburst>true</iburst></config></server>`,
		`<server><address>2001:db8::1</address><config><address>2001:db8::1</address><association-type>PEER</association-type><prefer>true</prefer></config></server>`,
		`ntpa-oc-dev:NTP_AUTH_SHA1</key-type>`,
	} {
		if !strings.Contains(running, want) {
			t.Errorf("openconfig get-config of running lacks %s:\n%s", want, running)
		}
	}
	yanglintReply(t, "config", running)

	// And the other way: a native edit shows in the view; a peer of another
	// VPN instance does not.
	nctest.WantOK(t, c.RPC(editCandidate(nctest.PeerConfig("198.51.100.7", `<minpoll>4</minpoll>`))))
	nctest.WantOK(t, c.RPC(editCandidate(`<config><ntp xmlns="`+nsNtpa+`"><unicast-peer><address>198.18.0.9</address><vpn-instance>blue</vpn-instance></unicast-peer></ntp></config>`)))
	view := c.RPC(`<get-config><source><candidate/></source>` + ocFilter + `</get-config>`)
	if !strings.Contains(view, `<server><address>198.51.100.7</address><config><address>198.51.100.7</address><association-type>PEER</association-type></config></server>`) {
		t.Errorf("a native peer is not a PEER server of the view:\n%s", view)
	}
	if strings.Contains(view, "198.18.0.9") {
		t.Errorf("a peer of vpn-instance blue shows in the view, which has no network instance:\n%s", view)
	}
	yanglintReply(t, "config", view)
}

// Deleting a server through the view deletes the association, leaving the
// native options of the others and the other VPN instances alone; a
// replace of the view's list is a replace of the public associations.
func TestNETCONFDeleteAndReplaceThroughOpenConfig(t *testing.T) {
	s := newServer(t, nil)
	c := s.session(t, "admin", false)
	nctest.WantOK(t, c.RPC(editCandidate(`<config><ntp xmlns="`+nsNtpa+`">`+
		`<unicast-peer><address>192.0.2.1</address><vpn-instance>_public_</vpn-instance><minpoll>4</minpoll></unicast-peer>`+
		`<unicast-peer><address>192.0.2.2</address><vpn-instance>_public_</vpn-instance></unicast-peer>`+
		`<unicast-peer><address>192.0.2.3</address><vpn-instance>blue</vpn-instance></unicast-peer></ntp></config>`)))
	nctest.WantOK(t, c.RPC(editCandidate(`<config><system xmlns="`+nsOC+`" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><ntp><servers>`+
		`<server nc:operation="delete"><address>192.0.2.2</address></server>`+
		`<server><address>192.0.2.1</address><config><association-type>SERVER</association-type></config></server>`+
		`</servers></ntp></system></config>`)))
	native := c.RPC(`<get-config><source><candidate/></source>` + nativeFilter + `</get-config>`)
	if !regexp.MustCompile(`<unicast-server><address>192.0.2.1</address><vpn-instance>_public_</vpn-instance>.*<minpoll>4</minpoll>`).MatchString(native) ||
		strings.Contains(native, "192.0.2.2") || !strings.Contains(native, "<address>192.0.2.3</address><vpn-instance>blue</vpn-instance>") {
		t.Errorf("after delete of 192.0.2.2 and SERVER for 192.0.2.1 through the view:\n%s", native)
	}
	nctest.WantOK(t, c.RPC(editCandidate(`<config><system xmlns="`+nsOC+`" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><ntp><servers nc:operation="replace">`+
		`<server><address>203.0.113.9</address><config><address>203.0.113.9</address></config></server>`+
		`</servers></ntp></system></config>`)))
	native = c.RPC(`<get-config><source><candidate/></source>` + nativeFilter + `</get-config>`)
	if strings.Contains(native, "192.0.2.1") || !strings.Contains(native, "<unicast-server><address>203.0.113.9</address>") ||
		!strings.Contains(native, "192.0.2.3") {
		t.Errorf("replace of the view's servers must leave exactly 203.0.113.9 in _public_ and blue's peer:\n%s", native)
	}
}

// Errors name the node in the view the client used: the view's own
// refusals, and the device's rules on the native node the edit made.
// Nothing is changed by a refused edit.
func TestNETCONFErrorsNameTheOpenConfigPath(t *testing.T) {
	s := newServer(t, nil)
	c := s.session(t, "admin", false)
	before := c.RPC(`<get-config><source><candidate/></source></get-config>`)
	for _, tc := range []struct{ name, config, tag, path, msg string }{
		{"enabled false", `<config><enabled>false</enabled></config>`, "operation-failed",
			"/oc-sys:system/oc-sys:ntp/oc-sys:config/oc-sys:enabled", "cannot be disabled"},
		{"POOL", ocServer("pool.example.net", `<association-type>POOL</association-type>`), "operation-failed",
			"/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server[oc-sys:address='pool.example.net']/oc-sys:config/oc-sys:association-type", "pool"},
		{"broadcast address (device rule)", ocServer("255.255.255.255", ""), "invalid-value",
			"/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server[oc-sys:address='255.255.255.255']/oc-sys:config/oc-sys:address", "broadcast"},
		{"IPv6 with version 3 (device rule)", ocServer("2001:db8::9", "<version>3</version>"), "operation-failed",
			"/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server[oc-sys:address='2001:db8::9']/oc-sys:config/oc-sys:version", "version 4"},
		{"privileged port (device rule)", ocServer("192.0.2.9", "<port>80</port>"), "invalid-value",
			"/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server[oc-sys:address='192.0.2.9']/oc-sys:config/oc-sys:port", "123|1025..65535"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.RPC(editCandidate(ocConfig(tc.config)))
			nctest.WantErrorTag(t, r, tc.tag)
			if !strings.Contains(r, `xmlns:oc-sys="`+nsOC+`"`) || !strings.Contains(r, ">"+strings.ReplaceAll(tc.path, "'", "&#39;")+"</error-path>") &&
				!strings.Contains(r, ">"+tc.path+"</error-path>") {
				t.Errorf("error-path is not %s with oc-sys declared:\n%s", tc.path, r)
			}
			if !strings.Contains(r, tc.msg) {
				t.Errorf("error-message lacks %q:\n%s", tc.msg, r)
			}
		})
	}
	if after := c.RPC(`<get-config><source><candidate/></source></get-config>`); dataOf(after) != dataOf(before) {
		t.Errorf("refused edits changed the candidate:\n%s\n%s", before, after)
	}
	// A key still used by an association cannot be deleted through the
	// view: the error names the server that uses it.
	nctest.WantOK(t, c.RPC(editCandidate(`<config><ntp xmlns="`+nsNtpa+`"><unicast-peer><address>192.0.2.7</address><vpn-instance>_public_</vpn-instance>`+
		`<authentication-keyid>7</authentication-keyid></unicast-peer><authentication><key><key-id>7</key-id><mode>md5</mode><key-value>k</key-value></key></authentication></ntp></config>`)))
	r := c.RPC(editCandidate(`<config><system xmlns="` + nsOC + `" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><ntp><ntp-keys><ntp-key nc:operation="delete"><key-id>7</key-id></ntp-key></ntp-keys></ntp></system></config>`))
	nctest.WantErrorTag(t, r, "data-missing")
	if !strings.Contains(r, ">/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server[oc-sys:address='192.0.2.7']</error-path>") {
		t.Errorf("deleting a key in use: the error does not name the server in the view:\n%s", r)
	}
}

func dataOf(reply string) string {
	i, j := strings.Index(reply, "<data"), strings.LastIndex(reply, "</data>")
	if i < 0 || j < i {
		return reply
	}
	return reply[i:j]
}

// <get> shows each server's state from its association (RFC 5905 §9) and
// the system counters, and the reply is valid openconfig-system state.
func TestNETCONFGetShowsOpenConfigState(t *testing.T) {
	state := func(d *gen.Device) {
		n := d.GetOrCreateNtp()
		n.GetOrCreateStatus().Stratum = ygot.Uint8(3)
		n.GetOrCreateStatistics().AuthenticationFailures = ygot.Uint64(4)
		for k := range n.UnicastServer {
			a := n.GetOrCreateSessions().GetOrCreateSession(k.Address, k.VpnInstance, 123)
			a.Stratum, a.Offset, a.Delay, a.Dispersion, a.Poll = ygot.Uint8(2), ygot.Float64(-0.0415), ygot.Float64(0.2), ygot.Float64(0.0012), ygot.Int8(4)
		}
	}
	s := newServer(t, state)
	c := s.session(t, "admin", false)
	nctest.WantOK(t, c.RPC(`<edit-config><target><running/></target>`+ocConfig(ocServer("192.0.2.1", `<iburst>true</iburst>`))+`</edit-config>`))
	r := c.RPC(`<get>` + ocFilter + `</get>`)
	for _, want := range []string{
		`<state><enabled>true</enabled><enable-ntp-auth>false</enable-ntp-auth><auth-mismatch>4</auth-mismatch></state>`,
		`<stratum>2</stratum>`, `<offset>-0.0415</offset>`, `<root-delay>0.2</root-delay>`, `<root-dispersion>0.0012</root-dispersion>`,
		`<poll-interval>16</poll-interval>`, `<association-type>SERVER</association-type>`,
	} {
		if !strings.Contains(r, want) {
			t.Errorf("<get> of the view lacks %s:\n%s", want, r)
		}
	}
	yanglintReply(t, "get", r)
}

// A read-only session sees no key material through the view either.
func TestNETCONFOperatorSeesNoKeyValueThroughOpenConfig(t *testing.T) {
	s := newServer(t, nil)
	a := s.session(t, "admin", false)
	nctest.WantOK(t, a.RPC(`<edit-config><target><running/></target>`+ocConfig(
		`<ntp-keys><ntp-key><key-id>3</key-id><config><key-id>3</key-id><key-type xmlns:oc-sys="`+nsOC+`">oc-sys:NTP_AUTH_MD5</key-type>`+
			`<key-value>secret</key-value></config></ntp-key></ntp-keys>`)+`</edit-config>`))
	if r := a.RPC(`<get-config><source><running/></source>` + ocFilter + `</get-config>`); !strings.Contains(r, "<key-value>%^%#") {
		t.Fatalf("the admin does not see the stored (cipher) key through the view:\n%s", r)
	}
	o := s.session(t, "operator", true)
	for _, rpc := range []string{`<get-config><source><running/></source>` + ocFilter + `</get-config>`, `<get>` + ocFilter + `</get>`} {
		r := o.RPC(rpc)
		if !strings.Contains(r, "<key-id>3</key-id>") || strings.Contains(r, "key-value") {
			t.Errorf("operator's reply shows key material or no key:\n%s", r)
		}
	}
}

// One candidate, every model: in one session, before any commit, an edit
// through openconfig-system is seen through ietf-ntp, the Huawei legacy
// view and the native module, edits through ietf-ntp and the Huawei view
// are seen through openconfig-system (and the one through ietf-ntp keeps
// the minpoll openconfig-system has no leaf for when openconfig-system then
// edits it), and one commit commits all of them.
func TestNETCONFOneCandidateAcrossViews(t *testing.T) {
	hv, err := huawei.New()
	if err != nil {
		t.Fatal(err)
	}
	iv, err := ietfntp.New()
	if err != nil {
		t.Fatal(err)
	}
	const (
		nsVRP  = "http://www.huawei.com/netconf/vrp"
		nsIETF = "urn:ietf:params:xml:ns:yang:ietf-ntp"
	)
	s := newServer(t, nil, iv, hv)
	c := s.session(t, "admin", false)
	candidate := func(filter string) string {
		return c.RPC(`<get-config><source><candidate/></source><filter type="subtree">` + filter + `</filter></get-config>`)
	}
	// openconfig-system → ietf-ntp, Huawei, native.
	nctest.WantOK(t, c.RPC(editCandidate(ocConfig(ocServer("192.0.2.10", `<association-type>PEER</association-type><prefer>true</prefer>`)))))
	if r := candidate(`<ntp xmlns="` + nsIETF + `"/>`); !regexp.MustCompile(`<unicast-configuration><address>192\.0\.2\.10</address><type[^>]*>[a-z-]*:?uc-peer</type>.*?<prefer>true</prefer>`).MatchString(r) {
		t.Errorf("ietf-ntp does not show the PEER made through openconfig-system:\n%s", r)
	}
	if r := candidate(`<ntp xmlns="` + nsVRP + `"/>`); !regexp.MustCompile(`<ipv4Addr>192\.0\.2\.10</ipv4Addr>.*?<type>Peer</type>.*?<isPreferred>true</isPreferred>`).MatchString(r) {
		t.Errorf("the Huawei view does not show the PEER made through openconfig-system:\n%s", r)
	}
	// ietf-ntp and Huawei → openconfig-system.
	nctest.WantOK(t, c.RPC(editCandidate(`<config><ntp xmlns="`+nsIETF+`"><unicast-configuration><address>192.0.2.12</address>`+
		`<type>uc-server</type><minpoll>4</minpoll></unicast-configuration></ntp></config>`)))
	nctest.WantOK(t, c.RPC(editCandidate(`<config><ntp xmlns="`+nsVRP+`"><ntpUCastCfgs><ntpUCastCfg><addrFamily>IPv4</addrFamily>`+
		`<ipv4Addr>192.0.2.11</ipv4Addr><ipv6Addr>::</ipv6Addr><type>Server</type><vpnName>_public_</vpnName>`+
		`<isPreferred>false</isPreferred></ntpUCastCfg></ntpUCastCfgs></ntp></config>`)))
	ocReply := candidate(`<system xmlns="` + nsOC + `"/>`)
	for _, addr := range []string{"192.0.2.11", "192.0.2.12"} {
		if !strings.Contains(ocReply, `<server><address>`+addr+`</address><config><address>`+addr+`</address><association-type>SERVER</association-type>`) {
			t.Errorf("openconfig-system does not show the server %s made through another view:\n%s", addr, ocReply)
		}
	}
	// openconfig-system edits the ietf-ntp server: ietf-ntp's minpoll stays.
	nctest.WantOK(t, c.RPC(editCandidate(ocConfig(ocServer("192.0.2.12", `<iburst>true</iburst>`)))))
	if r := candidate(`<ntp xmlns="` + nsIETF + `"/>`); !regexp.MustCompile(`<address>192\.0\.2\.12</address>.*?<iburst>true</iburst>.*?<minpoll>4</minpoll>`).MatchString(r) {
		t.Errorf("an openconfig-system edit lost ietf-ntp's minpoll or did not set iburst:\n%s", r)
	}
	if r := c.RPC(`<get-config><source><running/></source>` + ocFilter + `</get-config>`); strings.Contains(r, "192.0.2.1") {
		t.Errorf("running changed before the commit:\n%s", r)
	}
	nctest.WantOK(t, c.RPC(`<commit/>`))
	native := c.RPC(`<get-config><source><running/></source>` + nativeFilter + `</get-config>`)
	for _, want := range []string{`<unicast-peer><address>192.0.2.10</address>`, `<unicast-server><address>192.0.2.11</address>`, `<unicast-server><address>192.0.2.12</address>`} {
		if !strings.Contains(native, want) {
			t.Errorf("one commit did not commit every view's edit (%s):\n%s", want, native)
		}
	}
}

// An inline configuration in openconfig-system is a whole configuration
// for <validate> and <copy-config> (RFC 6241 §7.3, §8.6.4.1): checked by
// the device's rules and the view's, and copied into the candidate.
func TestNETCONFValidateAndCopyConfigThroughOpenConfig(t *testing.T) {
	s := newServer(t, nil)
	c := s.session(t, "admin", false)
	good := ocConfig(ocServer("192.0.2.20", `<association-type>PEER</association-type>`))
	nctest.WantOK(t, c.RPC(`<validate><source>`+good+`</source></validate>`))
	r := c.RPC(`<validate><source>` + ocConfig(`<config><enabled>false</enabled></config>`) + `</source></validate>`)
	nctest.WantErrorTag(t, r, "operation-failed")
	r = c.RPC(`<validate><source>` + ocConfig(ocServer("224.0.1.1", "")) + `</source></validate>`)
	nctest.WantErrorTag(t, r, "invalid-value")
	nctest.WantOK(t, c.RPC(`<copy-config><target><candidate/></target><source>`+good+`</source></copy-config>`))
	if n := c.RPC(`<get-config><source><candidate/></source>` + nativeFilter + `</get-config>`); !strings.Contains(n, `<unicast-peer><address>192.0.2.20</address>`) {
		t.Errorf("copy-config of an openconfig-system configuration did not make the peer:\n%s", n)
	}
}

// config/enabled is true, the deviation's default: with-defaults
// report-all shows it (RFC 6243 §3.1), and setting it true is accepted
// (the NTP service always runs; the value is not stored).
func TestNETCONFEnabledIsAlwaysTrue(t *testing.T) {
	s := newServer(t, nil)
	c := s.session(t, "admin", false)
	nctest.WantOK(t, c.RPC(editCandidate(ocConfig(`<config><enabled>true</enabled></config>`+ocServer("192.0.2.1", "")))))
	r := c.RPC(`<get-config><source><candidate/></source>` + ocFilter +
		`<with-defaults xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults">report-all</with-defaults></get-config>`)
	if !strings.Contains(r, `<config><enabled>true</enabled><enable-ntp-auth>false</enable-ntp-auth></config>`) ||
		!strings.Contains(r, `<port>123</port><version>4</version><association-type>SERVER</association-type><iburst>false</iburst><prefer>false</prefer>`) {
		t.Errorf("report-all does not show enabled true and the servers' defaults:\n%s", r)
	}
	yanglintReply(t, "config", r)
}

// The NMDA operations (RFC 8526) and XPath filters (RFC 6241 §8.9) reach
// the view like get-config and edit-config: edit-data of the candidate,
// get-data of running, and an XPath select in the view's prefix.
func TestNETCONFNMDAAndXPathThroughOpenConfig(t *testing.T) {
	s := newServer(t, nil)
	c := s.session(t, "admin", false)
	const nmda = `xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-nmda" xmlns:ds="urn:ietf:params:xml:ns:yang:ietf-datastores"`
	nctest.WantOK(t, c.RPC(`<edit-data `+nmda+`><datastore>ds:candidate</datastore>`+ocConfig(ocServer("192.0.2.5", `<association-type>PEER</association-type>`))+`</edit-data>`))
	nctest.WantOK(t, c.RPC(`<commit/>`))
	r := c.RPC(`<get-data ` + nmda + `><datastore>ds:running</datastore><subtree-filter><system xmlns="` + nsOC + `"/></subtree-filter></get-data>`)
	if !strings.Contains(r, `<server><address>192.0.2.5</address><config><address>192.0.2.5</address><association-type>PEER</association-type></config></server>`) {
		t.Errorf("get-data of running through the view:\n%s", r)
	}
	r = c.RPC(`<get-config><source><running/></source><filter type="xpath" xmlns:oc-sys="` + nsOC +
		`" select="/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server[oc-sys:address='192.0.2.5']/oc-sys:config/oc-sys:association-type"/></get-config>`)
	if !strings.Contains(r, `<server><address>192.0.2.5</address><config><association-type>PEER</association-type></config></server>`) || strings.Contains(r, "<ntp xmlns=") {
		t.Errorf("XPath select in the view's prefix:\n%s", r)
	}
}

// The deviation module says what the view refuses: yanglint, given the
// library, refuses the same configurations with the same messages, so a
// client that reads ntpagent-openconfig-deviations knows them beforehand.
func TestDeviationsRefuseWhatTheViewRefuses(t *testing.T) {
	yl := testtool.Require(t, "yanglint")
	sch, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lib, err := sch.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, ntp, msg string }{
		{"enabled false", `<config><enabled>false</enabled></config>`, "cannot be disabled"},
		{"POOL", ocServer("pool.example.net", `<association-type>POOL</association-type>`), "no NTP pool"},
		{"privileged port", ocServer("192.0.2.9", `<port>80</port>`), `value "80" is out of the allowed range`},
		{"key 0", `<ntp-keys><ntp-key><key-id>0</key-id><config><key-id>0</key-id></config></ntp-key></ntp-keys>`, `value "0" is out of the allowed range`},
		{"valid", ocServer("192.0.2.9", `<port>1123</port><association-type>PEER</association-type>`), ""},
	} {
		f := filepath.Join(dir, "data.xml")
		data := strings.TrimSuffix(strings.TrimPrefix(ocConfig(c.ntp), "<config>"), "</config>")
		if err := os.WriteFile(f, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(yl, append(append([]string{"-t", "config"}, lib...), f)...).CombinedOutput()
		if c.msg == "" {
			if err != nil {
				t.Errorf("%s: yanglint refuses a valid configuration: %v\n%s", c.name, err, out)
			}
			continue
		}
		if err == nil || !strings.Contains(string(out), c.msg) {
			t.Errorf("%s: yanglint does not refuse it (%v) with %q:\n%s", c.name, err, c.msg, out)
		}
	}
}
