package netconf

import (
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/view"
	"github.com/ntpagent/ntpagent/view/huawei"
	"github.com/ntpagent/ntpagent/view/ietfntp"
	"github.com/ntpagent/ntpagent/view/ocsys"
)

const (
	nsIETFNTP   = "urn:ietf:params:xml:ns:yang:ietf-ntp"
	nsOCSystem  = "http://openconfig.net/yang/system"
	nsHuaweiVRP = "http://www.huawei.com/netconf/vrp"
)

// viewsServer is a server speaking every view, with state, peer 10.0.0.1
// (minpoll 4) and server 10.0.0.5 committed, and an admin session.
func viewsServer(t *testing.T) (*Server, *pipeClient) {
	t.Helper()
	iv, err := ietfntp.New()
	if err != nil {
		t.Fatal(err)
	}
	hv, err := huawei.New()
	if err != nil {
		t.Fatal(err)
	}
	set, err := view.NewSet(iv, ocsys.New(), hv)
	if err != nil {
		t.Fatal(err)
	}
	srv := newTestServerConfig(t, Config{Views: set, State: func(d *gen.Device) {
		n := d.GetOrCreateNtp()
		n.GetOrCreateStatus().SetStratum(3)
		s := n.GetOrCreateSessions().GetOrCreateSession("10.0.0.1", "_public_", 123)
		s.SetConfigured(true)
		s.SetReach(255)
	}})
	admin := helloed(t, srv, SessionInfo{ID: 1, User: "admin"})
	wantOKReply(t, admin.rpc(`<edit-config><target><candidate/></target><config><ntp xmlns="`+nsNtp+`">`+peerXML("10.0.0.1", "<minpoll>4</minpoll>")+
		`<unicast-server><address>10.0.0.5</address><vpn-instance>_public_</vpn-instance></unicast-server></ntp></config></edit-config>`))
	wantOKReply(t, admin.rpc(`<commit/>`))
	return srv, admin
}

// setOpsRules replaces /nacm (committed by admin) with: read and write
// permitted by default, the admin rule-list, and for group ops (user
// alice) the rules given.
func setOpsRules(t *testing.T, admin *pipeClient, rules string) {
	t.Helper()
	cfg := `<nacm xmlns="` + nsACM + `" xmlns:nc="` + NSBase + `" nc:operation="replace"><read-default>permit</read-default><write-default>permit</write-default>` +
		`<groups><group><name>ops</name><user-name>alice</user-name></group></groups>` + adminRuleList +
		`<rule-list><name>ops</name><group>ops</group>` + rules + `</rule-list></nacm>`
	wantOKReply(t, admin.rpc(`<edit-config><target><candidate/></target><config>`+cfg+`</config></edit-config>`))
	wantOKReply(t, admin.rpc(`<commit/>`))
}

func rule(name, module, path, ops, action string) string {
	r := `<rule><name>` + name + `</name><module-name>` + module + `</module-name>`
	if path != "" {
		r += `<path>` + path + `</path>`
	}
	return r + `<access-operations>` + ops + `</access-operations><action>` + action + `</action></rule>`
}

func subtreeGet(ns string) string {
	return `<get><filter type="subtree"><` + topOf(ns) + ` xmlns="` + ns + `"/></filter></get>`
}

func topOf(ns string) string {
	if ns == nsOCSystem {
		return "system"
	}
	return "ntp"
}

// RFC 8341 §3.4.5, read: a rule whose path or module-name names a view's
// nodes prunes what that view shows (on top of the native pruning), and
// only there: the native model and the other views still show the same
// data. One row per view, each with a denied and a permitted part.
func TestNacmReadRulesOnViewNodesRFC8341(t *testing.T) {
	srv, admin := viewsServer(t)
	rows := []struct {
		name        string
		rules       string
		read        string
		want, omit  []string
		nativeHolds string // the native model still shows it
	}{
		{name: "§3.4.5 ietf-ntp list entry by key: 10.0.0.5 denied, 10.0.0.1 permitted",
			rules: rule("hide-server", "ietf-ntp", "/ntp:ntp/ntp:unicast-configuration[ntp:address='10.0.0.5']", "read", "deny"),
			read:  subtreeGet(nsIETFNTP),
			want:  []string{"<address>10.0.0.1</address>", "<clock-stratum>3</clock-stratum>"}, omit: []string{"10.0.0.5"},
			nativeHolds: "<address>10.0.0.5</address>"},
		{name: "§3.4.5 ietf-ntp by module name prefix: clock-state denied, configuration permitted",
			rules: rule("no-clock", "ietf-ntp", "/ietf-ntp:ntp/ietf-ntp:clock-state", "read", "deny"),
			read:  subtreeGet(nsIETFNTP),
			want:  []string{"<unicast-configuration><address>10.0.0.1</address>", "10.0.0.5"}, omit: []string{"clock-state", "clock-stratum"},
			nativeHolds: "<stratum>3</stratum>"},
		{name: "§3.4.5 openconfig server state denied, server config permitted",
			rules: rule("no-oc-state", "openconfig-system", "/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server/oc-sys:state", "read", "deny"),
			read:  subtreeGet(nsOCSystem),
			want:  []string{"<config><address>10.0.0.1</address>", "<config><address>10.0.0.5</address>"}, omit: []string{"<state><address>", "<port>123</port>"},
			nativeHolds: "<address>10.0.0.1</address>"},
		{name: "§3.4.5 Huawei module-name rule: the whole view denied, ietf-ntp permitted",
			rules: rule("no-vrp", "ntpagent-huawei-vrp", "", "read", "deny"),
			read:  `<get><filter type="subtree"><ntp xmlns="` + nsHuaweiVRP + `"/><ntp xmlns="` + nsIETFNTP + `"/></filter></get>`,
			want:  []string{`<ntp xmlns="` + nsIETFNTP + `">`, "10.0.0.5"}, omit: []string{nsHuaweiVRP, "ntpUCastCfg"},
			nativeHolds: "<address>10.0.0.5</address>"},
		{name: "§3.4.5 Huawei list entry by key through an XPath filter: Server denied, Peer permitted",
			rules: rule("no-vrp-servers", "ntpagent-huawei-vrp", "/vrp:ntp/vrp:ntpUCastCfgs/vrp:ntpUCastCfg[vrp:type='Server']", "read", "deny"),
			read:  `<get-config><source><running/></source><filter type="xpath" xmlns:vrp="` + nsHuaweiVRP + `" select="/vrp:ntp"/></get-config>`,
			want:  []string{"<ipv4Addr>10.0.0.1</ipv4Addr>"}, omit: []string{"10.0.0.5"},
			nativeHolds: "<address>10.0.0.5</address>"},
	}
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			setOpsRules(t, admin, row.rules)
			alice := helloed(t, srv, SessionInfo{ID: uint32(10 + i), User: "alice", Groups: []string{}})
			wantHolds(t, "alice", alice.rpc(row.read), row.want, row.omit)
			// The admin (other rule-list) reads the view whole.
			wantHolds(t, "admin", admin.rpc(row.read), row.omit[len(row.omit)-1:], nil)
			// The rules name the view's nodes: the native model is not pruned.
			wantHolds(t, "alice native", alice.rpc(`<get><filter type="subtree"><ntp xmlns="`+nsNtp+`"/></filter></get>`), []string{row.nativeHolds}, nil)
		})
	}
}

// RFC 8341 §3.4.5, write: an edit made through a view is judged on the
// view's nodes it creates, updates or deletes (besides the native nodes);
// a denied one refuses the edit whole, names the view's node, and leaves
// the candidate as it was. An edit of the same data through the native
// model is judged by the native rules only.
func TestNacmWriteRulesOnViewNodesRFC8341(t *testing.T) {
	srv, admin := viewsServer(t)
	rows := []struct {
		name      string
		rules     string
		edit      string // through the view
		denied    bool
		errorPath string // the denied node's path, in the view
	}{
		{name: "§3.4.5 update of an ietf-ntp leaf denied",
			rules:  rule("no-minpoll", "ietf-ntp", "/ntp:ntp/ntp:unicast-configuration/ntp:minpoll", "create update delete", "deny"),
			edit:   `<ntp xmlns="` + nsIETFNTP + `" xmlns:ntp="` + nsIETFNTP + `"><unicast-configuration><address>10.0.0.1</address><type>ntp:uc-peer</type><minpoll>6</minpoll></unicast-configuration></ntp>`,
			denied: true, errorPath: "/ntp:ntp/ntp:unicast-configuration[ntp:address='10.0.0.1'][ntp:type='ntp:uc-peer']/ntp:minpoll"},
		{name: "§3.4.5 update of another ietf-ntp leaf permitted",
			rules: rule("no-minpoll", "ietf-ntp", "/ntp:ntp/ntp:unicast-configuration/ntp:minpoll", "create update delete", "deny"),
			edit:  `<ntp xmlns="` + nsIETFNTP + `" xmlns:ntp="` + nsIETFNTP + `"><unicast-configuration><address>10.0.0.1</address><type>ntp:uc-peer</type><maxpoll>9</maxpoll></unicast-configuration></ntp>`},
		{name: "§3.4.5 create of an openconfig server denied",
			rules:  rule("no-new-oc-servers", "openconfig-system", "/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server", "create", "deny"),
			edit:   `<system xmlns="` + nsOCSystem + `"><ntp><servers><server><address>10.0.0.9</address><config><address>10.0.0.9</address></config></server></servers></ntp></system>`,
			denied: true, errorPath: "/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server[oc-sys:address='10.0.0.9']"},
		{name: "§3.4.5 delete of an openconfig server permitted",
			rules: rule("no-new-oc-servers", "openconfig-system", "/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server", "create", "deny"),
			edit:  `<system xmlns="` + nsOCSystem + `"><ntp><servers><server xmlns:nc="` + NSBase + `" nc:operation="delete"><address>10.0.0.5</address></server></servers></ntp></system>`},
		{name: "§3.4.5 delete through the Huawei view denied by module-name",
			rules: rule("no-vrp-delete", "ntpagent-huawei-vrp", "", "delete", "deny"),
			edit: `<ntp xmlns="` + nsHuaweiVRP + `"><ntpUCastCfgs><ntpUCastCfg operation="delete"><addrFamily>IPv4</addrFamily><ipv4Addr>10.0.0.5</ipv4Addr><ipv6Addr>::</ipv6Addr>` +
				`<type>Server</type><vpnName>_public_</vpnName></ntpUCastCfg></ntpUCastCfgs></ntp>`,
			denied: true, errorPath: "/vrp:ntp/vrp:ntpUCastCfgs/vrp:ntpUCastCfg[vrp:addrFamily='IPv4'][vrp:ipv4Addr='10.0.0.5'][vrp:ipv6Addr='::'][vrp:type='Server'][vrp:vpnName='_public_']"},
		{name: "§3.4.5 create through the Huawei view permitted",
			rules: rule("no-vrp-delete", "ntpagent-huawei-vrp", "", "delete", "deny"),
			edit: `<ntp xmlns="` + nsHuaweiVRP + `"><ntpUCastCfgs><ntpUCastCfg operation="merge"><addrFamily>IPv4</addrFamily><ipv4Addr>10.0.0.7</ipv4Addr><ipv6Addr>::</ipv6Addr>` +
				`<type>Server</type><vpnName>_public_</vpnName></ntpUCastCfg></ntpUCastCfgs></ntp>`},
	}
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			setOpsRules(t, admin, row.rules)
			alice := helloed(t, srv, SessionInfo{ID: uint32(10 + i), User: "alice", Groups: []string{}})
			before := dataOf(t, admin.rpc(`<get-config><source><candidate/></source></get-config>`))
			r := alice.rpc(`<edit-config><target><candidate/></target><config>` + row.edit + `</config></edit-config>`)
			after := dataOf(t, admin.rpc(`<get-config><source><candidate/></source></get-config>`))
			if !row.denied {
				wantOKReply(t, r)
				if after == before {
					t.Fatalf("a permitted edit changed nothing")
				}
				wantOKReply(t, admin.rpc(`<discard-changes/>`))
				return
			}
			wantTag(t, "alice", r, "access-denied")
			wantHolds(t, "the denied node", r, []string{"<error-path", row.errorPath + "</error-path>"}, nil)
			if after != before {
				t.Fatalf("a denied edit changed the candidate:\n%s\n%s", before, after)
			}
			// The same edit by the admin goes through: the rule is alice's.
			wantOKReply(t, admin.rpc(`<edit-config><target><candidate/></target><config>`+row.edit+`</config></edit-config>`))
			wantOKReply(t, admin.rpc(`<discard-changes/>`))
		})
	}
	// Rules on a view's nodes guard the edits made through that view: the
	// same change through the native model is judged by native rules.
	setOpsRules(t, admin, rule("no-minpoll", "ietf-ntp", "/ntp:ntp/ntp:unicast-configuration/ntp:minpoll", "update", "deny"))
	alice := helloed(t, srv, SessionInfo{ID: 30, User: "alice", Groups: []string{}})
	wantOKReply(t, alice.rpc(`<edit-config><target><candidate/></target><config><ntp xmlns="`+nsNtp+`">`+peerXML("10.0.0.1", "<minpoll>6</minpoll>")+`</ntp></config></edit-config>`))
}

// RFC 8341 §3.4.5 applies to every module's data, the state the NETCONF
// server makes itself included (/netconf-state, /yang-library,
// /modules-state): read rules prune it in <get> and <get-data> of
// operational, before any filter selects; the factory defaults' operator
// (read-default permit) still reads it whole.
func TestNacmPrunesServerStateRFC8341(t *testing.T) {
	srv, admin := viewsServer(t)
	getAll := `<get/>`
	operational := wrapGetData("operational", "")
	rows := []struct {
		name       string
		rules      string
		read       string
		want, omit []string
	}{
		{name: "§3.4.5 module-name ietf-netconf-monitoring denied, ietf-yang-library permitted",
			rules: rule("no-monitoring", "ietf-netconf-monitoring", "", "read", "deny"), read: getAll,
			want: []string{"<yang-library", "<modules-state"}, omit: []string{"<netconf-state"}},
		{name: "§3.4.5 module-name ietf-yang-library denied (get-data), ietf-netconf-monitoring permitted",
			rules: rule("no-library", "ietf-yang-library", "", "read", "deny"), read: operational,
			want: []string{"<netconf-state", "<capabilities>"}, omit: []string{"<yang-library", "<modules-state"}},
		{name: "§3.4.5 path /netconf-state/sessions denied, its capabilities permitted",
			rules: rule("no-sessions", "ietf-netconf-monitoring", "/ncm:netconf-state/ncm:sessions", "read", "deny"), read: getAll,
			want: []string{"<netconf-state", "<capability>urn:ietf:params:netconf:base:1.1</capability>"}, omit: []string{"<session-id>", "<username>admin</username>"}},
		{name: "§3.4.5 one /modules-state entry denied by key, the others permitted",
			rules: rule("hide-ietf-ntp", "ietf-yang-library", "/yanglib:modules-state/yanglib:module[yanglib:name='ietf-ntp']", "read", "deny"),
			read:  `<get><filter type="subtree"><modules-state xmlns="` + NSYangLibrary + `"/></filter></get>`,
			want:  []string{"<name>ietf-netconf-acm</name>", "<name>openconfig-system</name>"}, omit: []string{"<name>ietf-ntp</name>"}},
		{name: "§3.4.5 a filter selecting only denied state selects nothing",
			rules: rule("no-sessions", "ietf-netconf-monitoring", "/ncm:netconf-state/ncm:sessions", "read", "deny"),
			read:  `<get><filter type="subtree"><netconf-state xmlns="` + NSMonitoring + `"><sessions/></netconf-state></filter></get>`,
			want:  []string{"<data"}, omit: []string{"<session-id>", "<username>"}},
	}
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			setOpsRules(t, admin, row.rules)
			alice := helloed(t, srv, SessionInfo{ID: uint32(10 + i), User: "alice", Groups: []string{}})
			wantHolds(t, "alice", alice.rpc(row.read), row.want, row.omit)
			wantHolds(t, "admin", admin.rpc(row.read), row.omit[:1], nil)
		})
	}
	// The factory defaults: the operator reads the server's state whole.
	wantOKReply(t, admin.rpc(`<edit-config><target><candidate/></target><config><nacm xmlns="`+nsACM+`" xmlns:nc="`+NSBase+`" nc:operation="delete"/></config></edit-config>`))
	wantOKReply(t, admin.rpc(`<commit/>`))
	op := helloed(t, srv, SessionInfo{ID: 40, User: "oper", ReadOnly: true})
	wantHolds(t, "operator", op.rpc(getAll), []string{"<netconf-state", "<session-id>", "<yang-library", "<modules-state", "<name>ietf-ntp</name>"}, nil)
}

// RFC 8341 §3.2.8: a <commit> changes running, and the nodes it creates,
// updates or deletes are judged with the committing user's write access,
// whoever edited the candidate; rollback-to-commit likewise, and
// <delete-config> (§3.2.7) deletes every node of its target. A denied one
// changes nothing.
func TestNacmCommitRollbackDeleteJudgeTheirEffectRFC8341(t *testing.T) {
	srv, admin := viewsServer(t)
	setOpsRules(t, admin, rule("no-servers", "ntpagent-ntp", "/ntpa:ntp/ntpa:unicast-server", "create update delete", "deny")+
		rule("nacm-delete", "ietf-netconf-acm", "", "delete", "permit")+
		`<rule><name>delete-config</name><module-name>ietf-netconf</module-name><rpc-name>delete-config</rpc-name><access-operations>exec</access-operations><action>permit</action></rule>`)
	alice := helloed(t, srv, SessionInfo{ID: 2, User: "alice", Groups: []string{}})
	running := func() string { return dataOf(t, admin.rpc(`<get-config><source><running/></source></get-config>`)) }

	// Denied: the admin's new server is in the candidate; alice may not create one.
	wantOKReply(t, admin.rpc(`<edit-config><target><candidate/></target><config><ntp xmlns="`+nsNtp+`"><unicast-server><address>10.0.0.6</address><vpn-instance>_public_</vpn-instance></unicast-server></ntp></config></edit-config>`))
	before := running()
	r := alice.rpc(`<commit/>`)
	wantTag(t, "§3.2.8 alice commits a server", r, "access-denied")
	wantHolds(t, "§3.2.8 the denied node", r, []string{"[ntpa:address='10.0.0.6']"}, nil)
	if running() != before {
		t.Fatal("a denied commit changed running")
	}
	// Permitted: her own peer change alone.
	wantOKReply(t, admin.rpc(`<discard-changes/>`))
	wantOKReply(t, alice.rpc(`<edit-config><target><candidate/></target><config><ntp xmlns="`+nsNtp+`">`+peerXML("10.0.0.1", "<minpoll>5</minpoll>")+`</ntp></config></edit-config>`))
	wantOKReply(t, alice.rpc(`<commit/>`))
	wantHolds(t, "§3.2.8 alice's commit", running(), []string{"<minpoll>5</minpoll>"}, nil)

	// rollback-to-commit: back to alice's commit, which held the server
	// the admin has deleted since, would create it: denied; back to the
	// admin's delete, which changes only minpoll: permitted.
	alices := lastCommitID(t, admin)
	wantOKReply(t, admin.rpc(`<edit-config><target><candidate/></target><config><ntp xmlns="`+nsNtp+`"><unicast-server xmlns:nc="`+NSBase+`" nc:operation="delete"><address>10.0.0.5</address><vpn-instance>_public_</vpn-instance></unicast-server></ntp></config></edit-config>`))
	wantOKReply(t, admin.rpc(`<commit/>`))
	deleted := lastCommitID(t, admin)
	wantOKReply(t, admin.rpc(`<edit-config><target><candidate/></target><config><ntp xmlns="`+nsNtp+`">`+peerXML("10.0.0.1", "<minpoll>6</minpoll>")+`</ntp></config></edit-config>`))
	wantOKReply(t, admin.rpc(`<commit/>`))
	before = running()
	r = alice.rpc(`<rollback-to-commit xmlns="` + nsSys + `"><commit-id>` + alices + `</commit-id></rollback-to-commit>`)
	wantTag(t, "§3.4.5 alice rolls back to a commit with a server", r, "access-denied")
	wantHolds(t, "§3.4.5 the denied node", r, []string{"[ntpa:address='10.0.0.5']"}, nil)
	if running() != before {
		t.Fatal("a denied rollback changed running")
	}
	wantHolds(t, "§3.4.5 alice rolls back a minpoll change", alice.rpc(`<rollback-to-commit xmlns="`+nsSys+`"><commit-id>`+deleted+`</commit-id></rollback-to-commit>`), []string{"<commit-id"}, []string{"rpc-error"})
	wantHolds(t, "§3.4.5 alice's rollback", running(), []string{"<minpoll>5</minpoll>"}, []string{"10.0.0.5"})

	// delete-config of startup: permitted by its exec rule, denied by the
	// server it would delete; permitted once startup holds none.
	wantOKReply(t, admin.rpc(`<edit-config><target><candidate/></target><config><ntp xmlns="`+nsNtp+`"><unicast-server><address>10.0.0.5</address><vpn-instance>_public_</vpn-instance></unicast-server></ntp></config></edit-config>`))
	wantOKReply(t, admin.rpc(`<commit/>`))
	wantOKReply(t, admin.rpc(`<copy-config><target><startup/></target><source><running/></source></copy-config>`))
	r = alice.rpc(`<delete-config><target><startup/></target></delete-config>`)
	wantTag(t, "§3.2.7 alice deletes a startup holding a server", r, "access-denied")
	wantHolds(t, "startup kept", admin.rpc(`<get-config><source><startup/></source></get-config>`), []string{"10.0.0.5"}, nil)
	wantOKReply(t, admin.rpc(`<edit-config><target><candidate/></target><config><ntp xmlns="`+nsNtp+`"><unicast-server xmlns:nc="`+NSBase+`" nc:operation="delete"><address>10.0.0.5</address><vpn-instance>_public_</vpn-instance></unicast-server></ntp></config></edit-config>`))
	wantOKReply(t, admin.rpc(`<commit/>`))
	wantOKReply(t, admin.rpc(`<copy-config><target><startup/></target><source><running/></source></copy-config>`))
	wantOKReply(t, alice.rpc(`<delete-config><target><startup/></target></delete-config>`))
}

// lastCommitID is the commit-id of running's newest commit.
func lastCommitID(t *testing.T, c *pipeClient) string {
	t.Helper()
	parts := strings.Split(c.rpc(`<get><filter type="subtree"><commit-history xmlns="`+nsSys+`"/></filter></get>`), "<commit-id>")
	if len(parts) < 2 {
		t.Fatal("no commit history")
	}
	last := parts[len(parts)-1]
	return last[:strings.Index(last, "</commit-id>")]
}

// replayed subscribes c to the stream from the start and returns every
// notification replayed, up to replayComplete (bounded).
func replayed(t *testing.T, c *pipeClient) string {
	t.Helper()
	wantOKReply(t, c.rpc(`<create-subscription xmlns="`+NSNotification+`"><startTime>2000-01-01T00:00:00Z</startTime></create-subscription>`))
	var got []string
	for range 64 {
		m, err := c.r.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m))
		if strings.Contains(string(m), "replayComplete") {
			return strings.Join(got, "\n")
		}
	}
	t.Fatal("no replayComplete in 64 messages")
	return ""
}

// RFC 8341 §3.4.6: a notification is sent when the user may read its
// type (notification-name and module-name rules, then read-default);
// the data it carries comes with it. A netconf-config-change further
// lists only the edits whose targets the user may read (§3.4.5 on the
// targets, as its RFC 6470 security considerations ask). One permitted
// and one denied part per row.
func TestNacmNotificationsRFC8341(t *testing.T) {
	srv, admin := viewsServer(t) // one commit: peer 10.0.0.1 and server 10.0.0.5
	srv.Publish(nsNtp, "sync-state-change", []byte(`<sync-state-change xmlns="`+nsNtp+`"><state>synchronized</state></sync-state-change>`))
	rows := []struct {
		name       string
		rules      string
		readDeny   bool
		want, omit []string
	}{
		{name: "§3.4.6 step 6 notification-name rule: session-start denied, config-change permitted",
			rules: `<rule><name>no-starts</name><module-name>ietf-netconf-notifications</module-name><notification-name>netconf-session-start</notification-name><access-operations>read</access-operations><action>deny</action></rule>`,
			want:  []string{"<netconf-config-change", "<sync-state-change"}, omit: []string{"<netconf-session-start"}},
		{name: "§3.4.6 step 6 module-name rule: ietf-netconf-notifications denied, ntpagent-ntp's permitted",
			rules: rule("no-netconf-events", "ietf-netconf-notifications", "", "read", "deny"),
			want:  []string{"<sync-state-change", "<state>synchronized</state>"}, omit: []string{"<netconf-config-change", "<netconf-session-start"}},
		{name: "§3.4.6 step 9 read-default deny: only the type a rule permits is sent",
			rules: `<rule><name>sync</name><module-name>ntpagent-ntp</module-name><notification-name>sync-state-change</notification-name><access-operations>read</access-operations><action>permit</action></rule>`, readDeny: true,
			want: []string{"<sync-state-change"}, omit: []string{"<netconf-config-change", "<netconf-session-start"}},
		{name: "§3.4.5 config-change edits: a read-denied target left out, a readable one kept",
			rules: rule("no-servers", "ntpagent-ntp", "/ntpa:ntp/ntpa:unicast-server", "read", "deny"),
			want:  []string{"<netconf-config-change", "[ntpa:address='10.0.0.1']"}, omit: []string{"10.0.0.5"}},
	}
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			rules := row.rules
			setOpsRules(t, admin, rules)
			if row.readDeny {
				wantOKReply(t, admin.rpc(`<edit-config><target><running/></target><config><nacm xmlns="`+nsACM+`"><read-default>deny</read-default></nacm></config></edit-config>`))
			}
			alice := helloed(t, srv, SessionInfo{ID: uint32(10 + i), User: "alice", Groups: []string{}})
			wantHolds(t, "alice's notifications", replayed(t, alice), row.want, row.omit)
			// The admin receives them all.
			a := helloed(t, srv, SessionInfo{ID: uint32(50 + i), User: "admin"})
			wantHolds(t, "admin's notifications", replayed(t, a), append(row.omit[:len(row.omit):len(row.omit)], "<sync-state-change"), nil)
		})
	}
}

// RFC 8341 §3.4.5 with RFC 6243 report-all: a node access control left
// out is not reported with its default either (it is not shown at all),
// natively and through a view, while the defaults of the nodes the user
// may read still are; the admin sees the configured value.
func TestNacmReportAllShowsNoDefaultOfAPrunedNodeRFC8341(t *testing.T) {
	srv, admin := viewsServer(t)
	setOpsRules(t, admin, rule("no-minpoll", "ntpagent-ntp", "/ntpa:ntp/ntpa:unicast-peer/ntpa:minpoll", "read", "deny")+
		rule("no-oc-port", "openconfig-system", "/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server/oc-sys:state/oc-sys:port", "read", "deny"))
	alice := helloed(t, srv, SessionInfo{ID: 2, User: "alice", Groups: []string{}})
	for _, mode := range []string{"report-all", "report-all-tagged"} {
		wd := `<with-defaults xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults">` + mode + `</with-defaults>`
		native := `<get-config><source><running/></source><filter type="subtree"><ntp xmlns="` + nsNtp + `"><unicast-peer/></ntp></filter>` + wd + `</get-config>`
		wantHolds(t, mode+" native, alice", alice.rpc(native), []string{"<address>10.0.0.1</address>", ">10</maxpoll>"}, []string{"minpoll"})
		wantHolds(t, mode+" native, admin", admin.rpc(native), []string{"<minpoll>4</minpoll>"}, nil)
		oc := `<get><filter type="subtree"><system xmlns="` + nsOCSystem + `"/></filter>` + wd + `</get>`
		wantHolds(t, mode+" openconfig, alice", alice.rpc(oc), []string{"<state><address>10.0.0.1</address><version", "<config><address>10.0.0.1</address><port"}, nil)
	}
	xp := `<get-config><source><running/></source><filter type="xpath" xmlns:ntpa="` + nsNtp + `" select="/ntpa:ntp/ntpa:unicast-peer"/><with-defaults xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults">report-all</with-defaults></get-config>`
	wantHolds(t, "report-all xpath, alice", alice.rpc(xp), []string{">10</maxpoll>"}, []string{"minpoll"})
}
