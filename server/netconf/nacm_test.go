package netconf

import (
	"regexp"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/datastore"
)

const (
	nsACM = "urn:ietf:params:xml:ns:yang:ietf-netconf-acm"
	nsSys = "urn:ntpagent:yang:ntpagent-system"
)

// nacmXML is a /nacm configuration: a group of one user and a rule-list
// for it with one rule of each type (RFC 8341 §3.5.2).
const nacmXML = `<nacm xmlns="` + nsACM + `"><read-default>deny</read-default>` +
	`<groups><group><name>ops</name><user-name>alice</user-name></group></groups>` +
	adminRuleList +
	`<rule-list><name>ops-rules</name><group>ops</group>` +
	`<rule><name>see-peers</name><module-name>ntpagent-ntp</module-name><path xmlns:ntpa="` + nsNtp + `">/ntpa:ntp/ntpa:unicast-peer</path><access-operations>read update</access-operations><action>permit</action></rule>` +
	`<rule><name>no-kill</name><module-name>ietf-netconf</module-name><rpc-name>kill-session</rpc-name><action>deny</action></rule>` +
	`<rule><name>events</name><notification-name>sync-state-change</notification-name><access-operations>*</access-operations><action>permit</action></rule>` +
	`</rule-list></nacm>`

// adminRuleList keeps the admin group's rights once /nacm is configured
// (the factory defaults apply only while it is not).
const adminRuleList = `<rule-list><name>admin</name><group>admin</group><rule><name>all</name><module-name>*</module-name><access-operations>*</access-operations><action>permit</action></rule></rule-list>`

// RFC 8341 §3.5: /nacm is configuration like any other — edited in the
// candidate, committed, read back from running, through edit-config and
// edit-data alike; its denied-* counters are state, shown by <get> and
// get-data of operational and refused in an edit.
func TestNacmIsConfigurationRFC8341(t *testing.T) {
	_, c := nmdaServer(t)
	wantOKReply(t, c.rpc(`<edit-config><target><candidate/></target><config>`+nacmXML+`</config></edit-config>`))
	wantOKReply(t, c.rpc(`<commit/>`))
	r := c.rpc(`<get-config><source><running/></source><filter type="subtree"><nacm xmlns="` + nsACM + `"/></filter></get-config>`)
	wantHolds(t, "get-config running", r, []string{`<read-default>deny</read-default>`, `<user-name>alice</user-name>`,
		`<rpc-name>kill-session</rpc-name>`, `<access-operations>read update</access-operations>`, `/ntpa:ntp/ntpa:unicast-peer</path>`},
		[]string{"denied-operations"})
	// RFC 8526 edit-data: a second rule-list through the NMDA operation.
	wantOKReply(t, c.rpc(`<edit-data xmlns="`+NSNMDA+`" xmlns:ds="`+NSDatastores+`"><datastore>ds:running</datastore><config><nacm xmlns="`+nsACM+`"><rule-list><name>all</name><group>*</group></rule-list></nacm></config></edit-data>`))
	wantHolds(t, "get-data running", getData(c, "running", ""), []string{`<rule-list><name>all</name><group>*</group></rule-list>`}, nil)
	// §3.5.2: the counters are state, present whether or not anything was denied.
	wantHolds(t, "get", c.rpc(`<get><filter type="subtree"><nacm xmlns="`+nsACM+`"/></filter></get>`),
		[]string{`<denied-operations>0</denied-operations>`, `<denied-data-writes>0</denied-data-writes>`, `<denied-notifications>0</denied-notifications>`}, nil)
	wantHolds(t, "get-data operational", getData(c, "operational", ""), []string{`<denied-operations>0</denied-operations>`}, nil)
	wantTag(t, "a counter in an edit", c.rpc(`<edit-config><target><candidate/></target><config><nacm xmlns="`+nsACM+`"><denied-operations>5</denied-operations></nacm></config></edit-config>`), "invalid-value")
	// The deviation keeps the published values: '*' or bit names.
	wantTag(t, "an unknown access operation", c.rpc(`<edit-config><target><candidate/></target><config><nacm xmlns="`+nsACM+`"><rule-list><name>x</name><rule><name>r</name><access-operations>read fly</access-operations><action>permit</action></rule></rule-list></nacm></config></edit-config>`), "invalid-value")
}

// RFC 8341 §3.4: rules configured through NETCONF are enforced for a
// second user at once — reads pruned (§3.4.5), a denied write refused
// whole with the candidate untouched, operations refused (§3.4.4),
// notifications dropped and config-change edits hidden (§3.4.6), each
// denial counted (§3.5.2).
func TestNacmEnforcedForASecondUserRFC8341(t *testing.T) {
	srv, admin := nmdaServer(t) // running: 10.0.0.1; candidate: + 10.0.0.2
	wantOKReply(t, admin.rpc(`<commit/>`))
	srv.Publish(nsNtp, "sync-state-change", []byte(`<sync-state-change xmlns="`+nsNtp+`"><state>synchronized</state></sync-state-change>`))
	rules := `<nacm xmlns="` + nsACM + `"><groups><group><name>ops</name><user-name>alice</user-name></group></groups>` + adminRuleList +
		`<rule-list><name>ops</name><group>ops</group>` +
		`<rule><name>hide-one-peer</name><path xmlns:ntpa="` + nsNtp + `">/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.0.0.1']</path><access-operations>read</access-operations><action>deny</action></rule>` +
		`<rule><name>tune-peers</name><module-name>ntpagent-ntp</module-name><path xmlns:ntpa="` + nsNtp + `">/ntpa:ntp/ntpa:unicast-peer/ntpa:minpoll</path><access-operations>create update</access-operations><action>permit</action></rule>` +
		`<rule><name>no-sync-events</name><module-name>ntpagent-ntp</module-name><notification-name>sync-state-change</notification-name><action>deny</action></rule>` +
		`<rule><name>no-discard</name><module-name>ietf-netconf</module-name><rpc-name>discard-changes</rpc-name><access-operations>exec</access-operations><action>deny</action></rule>` +
		`</rule-list></nacm>`
	wantOKReply(t, admin.rpc(`<edit-config><target><candidate/></target><config>`+rules+`</config></edit-config>`))
	wantOKReply(t, admin.rpc(`<commit/>`))

	// alice is in no role group: only the configured group ops.
	alice := helloed(t, srv, SessionInfo{ID: 2, User: "alice", Groups: []string{}})
	// §3.4.5 read: the denied instance and /nacm (default-deny-all) are left out.
	for _, r := range []string{
		alice.rpc(`<get-config><source><running/></source></get-config>`),
		alice.rpc(`<get/>`),
		getData(alice, "operational", ""),
	} {
		wantHolds(t, "alice reads", r, []string{"<unicast-peer><address>10.0.0.2</address>"}, []string{"<unicast-peer><address>10.0.0.1</address>", "<minpoll>4</minpoll>", "<nacm", "hide-one-peer"})
	}
	wantHolds(t, "admin reads", admin.rpc(`<get-config><source><running/></source></get-config>`), []string{"10.0.0.1", "10.0.0.2", "hide-one-peer"}, nil)

	// §3.4.5 write: a leaf's create permitted, a list entry's create
	// denied, and the denied edit changes nothing.
	wantOKReply(t, alice.rpc(`<edit-config><target><candidate/></target><config><ntp xmlns="`+nsNtp+`">`+peerXML("10.0.0.2", "<minpoll>7</minpoll>")+`</ntp></config></edit-config>`))
	before := admin.rpc(`<get-config><source><candidate/></source></get-config>`)
	r := alice.rpc(`<edit-config><target><candidate/></target><config><ntp xmlns="` + nsNtp + `">` + peerXML("10.0.0.2", "<minpoll>8</minpoll>") + peerXML("10.0.0.3", "") + `</ntp></config></edit-config>`)
	wantTag(t, "create without create access", r, "access-denied")
	wantHolds(t, "the denied node", r, []string{`<error-path`, `[ntpa:address='10.0.0.3']`}, nil)
	if after := admin.rpc(`<get-config><source><candidate/></source></get-config>`); strings.ReplaceAll(after, `message-id="`, "") == "" || dataOf(t, after) != dataOf(t, before) {
		t.Fatalf("a denied edit changed the candidate:\n%s\n%s", before, after)
	}
	wantTag(t, "delete without delete access", alice.rpc(`<edit-config><target><candidate/></target><config><ntp xmlns="`+nsNtp+`"><unicast-peer xmlns:nc="`+NSBase+`" nc:operation="delete"><address>10.0.0.2</address><vpn-instance>_public_</vpn-instance></unicast-peer></ntp></config></edit-config>`), "access-denied")
	wantTag(t, "edit /nacm (default-deny-all)", alice.rpc(`<edit-config><target><candidate/></target><config><nacm xmlns="`+nsACM+`"><enable-nacm>false</enable-nacm></nacm></config></edit-config>`), "access-denied")
	wantOKReply(t, alice.rpc(`<commit/>`))
	wantHolds(t, "alice's committed update", admin.rpc(`<get-config><source><running/></source></get-config>`), []string{"<minpoll>7</minpoll>"}, []string{"10.0.0.3"})

	// §3.4.4 exec: a rule denies discard-changes; kill-session is denied by default.
	wantTag(t, "discard-changes", alice.rpc(`<discard-changes/>`), "access-denied")
	wantTag(t, "kill-session", alice.rpc(`<kill-session><session-id>1</session-id></kill-session>`), "access-denied")
	wantOKReply(t, alice.rpc(`<lock><target><candidate/></target></lock>`))
	wantOKReply(t, alice.rpc(`<unlock><target><candidate/></target></unlock>`))

	// §3.4.6: the sync-state-change is not replayed to alice; the
	// config-change of /nacm reaches her without its /nacm edit.
	all := replayed(t, alice)
	wantHolds(t, "alice's replay", all, []string{"netconf-config-change", "10.0.0.2"}, []string{"sync-state-change", "nacm:nacm"})

	// §3.5.2 counters, read by the admin.
	st := admin.rpc(`<get><filter type="subtree"><nacm xmlns="` + nsACM + `"/></filter></get>`)
	for leaf, min := range map[string]int{"denied-operations": 2, "denied-data-writes": 3, "denied-notifications": 1} {
		m := regexp.MustCompile(`<` + leaf + `>(\d+)</` + leaf + `>`).FindStringSubmatch(st)
		if m == nil || atoi(m[1]) < min {
			t.Errorf("%s = %v, want at least %d: %s", leaf, m, min, st)
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// RFC 8341 §3.4.5 with the factory defaults: the operator reads neither
// NTP key values nor password hashes through any read of any datastore,
// may not copy a configuration anywhere, and the admin reads both.
func TestOperatorReadsNoSecretsAnywhereRFC8341(t *testing.T) {
	srv := newTestServer(t)
	admin := helloSession(t, srv, SessionInfo{ID: 1, User: "admin"})
	cfg := `<ntp xmlns="` + nsNtp + `"><authentication><key><key-id>5</key-id><mode>md5</mode><key-value>Operator-Must-Not-See</key-value></key></authentication></ntp>` +
		`<system xmlns="` + nsSys + `"><local-user><name>bob</name><password>Bob-Secret-1</password></local-user></system>`
	wantOKReply(t, admin.rpc(`<edit-config><target><candidate/></target><config>`+cfg+`</config></edit-config>`))
	wantOKReply(t, admin.rpc(`<commit/>`))
	wantOKReply(t, admin.rpc(`<copy-config><target><startup/></target><source><running/></source></copy-config>`))
	running, _ := srv.cfg.Store.Shared(datastore.Running)
	hash := running.GetSystem().GetLocalUser("bob").GetPassword()
	sealed := running.GetNtp().GetAuthentication().GetKey(5).GetKeyValue()
	if !strings.HasPrefix(hash, "$2") || sealed == "" {
		t.Fatalf("stored %q %q", hash, sealed)
	}
	op := helloSession(t, srv, SessionInfo{ID: 2, User: "oper", ReadOnly: true})
	reads := map[string]string{"get": `<get/>`}
	for _, ds := range []string{"running", "candidate", "startup"} {
		reads["get-config "+ds] = `<get-config><source><` + ds + `/></source></get-config>`
		reads["get-config xpath "+ds] = `<get-config><source><` + ds + `/></source><filter type="xpath" select="/ntps:system/ntps:local-user/ntps:password"/></get-config>`
	}
	for _, ds := range nmdaDatastores() {
		reads["get-data "+ds] = wrapGetData(ds, "")
	}
	for name, rpc := range reads {
		r := op.rpc(rpc)
		wantHolds(t, "operator "+name, r, nil, []string{hash, sealed, "Bob-Secret", "Operator-Must-Not-See"})
		if strings.Contains(rpc, "get-config") && !strings.Contains(rpc, "xpath") {
			wantHolds(t, "operator "+name, r, []string{"<name>bob</name>", "<key-id>5</key-id>"}, nil)
		}
		if name == "get-config running" {
			wantHolds(t, "admin "+name, admin.rpc(rpc), []string{hash, sealed}, nil)
		}
	}
	wantTag(t, "operator copy-config", op.rpc(`<copy-config><target><candidate/></target><source><running/></source></copy-config>`), "access-denied")
	wantTag(t, "operator edit-config", op.rpc(`<edit-config><target><candidate/></target><config><system xmlns="`+nsSys+`"><sysname>x</sysname></system></config></edit-config>`), "access-denied")
}
