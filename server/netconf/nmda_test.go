package netconf

import (
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
)

const nsNtp = "urn:ntpagent:yang:ntpagent-ntp"

// nmdaServer is a server whose state provider shows one configured
// session, one learned (ephemeral passive) session and a status, with peer
// 10.0.0.1 committed to running and peer 10.0.0.2 only in the candidate.
func nmdaServer(t *testing.T) (*Server, *pipeClient) {
	t.Helper()
	srv := newTestServerConfig(t, Config{State: func(d *gen.Device) {
		n := d.GetOrCreateNtp()
		n.GetOrCreateStatus().SetStratum(3)
		s := n.GetOrCreateSessions().GetOrCreateSession("10.0.0.1", "_public_", 123)
		s.SetConfigured(true)
		s.SetReach(255)
		p := n.GetOrCreateSessions().GetOrCreateSession("10.9.9.9", "_public_", 123)
		p.SetConfigured(false)
		p.SetLocalMode(gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_passive)
	}})
	c := helloed(t, srv, SessionInfo{ID: 1, User: "admin"})
	wantOKReply(t, c.rpc(`<edit-config><target><candidate/></target><config><ntp xmlns="`+nsNtp+`">`+peerXML("10.0.0.1", "<minpoll>4</minpoll>")+`</ntp></config></edit-config>`))
	wantOKReply(t, c.rpc(`<commit/>`))
	wantOKReply(t, c.rpc(`<edit-config><target><candidate/></target><config><ntp xmlns="`+nsNtp+`">`+peerXML("10.0.0.2", "")+`</ntp></config></edit-config>`))
	return srv, c
}

func peerXML(addr, inner string) string {
	return `<unicast-peer><address>` + addr + `</address><vpn-instance>_public_</vpn-instance>` + inner + `</unicast-peer>`
}

func wantOKReply(t *testing.T, r string) {
	t.Helper()
	if !strings.Contains(r, "<ok/>") {
		t.Fatalf("want <ok/>, got %s", r)
	}
}

// wantHolds checks that reply r holds every string of want and none of
// omit.
func wantHolds(t *testing.T, name, r string, want, omit []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(r, w) {
			t.Errorf("%s: lacks %s in %.1500s", name, w, r)
		}
	}
	for _, o := range omit {
		if strings.Contains(r, o) {
			t.Errorf("%s: holds %s in %.1500s", name, o, r)
		}
	}
}

func wantTag(t *testing.T, name, r, tag string) {
	t.Helper()
	if !strings.Contains(r, "<error-tag>"+tag+"</error-tag>") {
		t.Errorf("%s: want error-tag %s, got %s", name, tag, r)
	}
}

// getData sends a <get-data> of datastore ds with more parameters.
func getData(c *pipeClient, ds, params string) string {
	return c.rpc(`<get-data xmlns="` + NSNMDA + `" xmlns:ds="` + NSDatastores + `" xmlns:or="` + NSOrigin + `"><datastore>ds:` + ds + `</datastore>` + params + `</get-data>`)
}

// RFC 8526 §3.1.1, RFC 8342 §5: get-data reads each datastore the device
// offers; intended is running; operational adds the state, each node with
// its origin; every reply is valid data of the listed modules.
func TestGetDataEveryDatastoreRFC8526(t *testing.T) {
	_, c := nmdaServer(t)
	running := getData(c, "running", "")
	if !strings.Contains(running, `<data xmlns="`+NSNMDA+`">`) || !strings.Contains(running, "10.0.0.1") || strings.Contains(running, "10.0.0.2") {
		t.Fatalf("running: %s", running)
	}
	if intended := getData(c, "intended", ""); dataOf(t, intended) != dataOf(t, running) {
		t.Errorf("intended differs from running:\n%s\n%s", intended, running)
	}
	candidate := getData(c, "candidate", "")
	if !strings.Contains(candidate, "10.0.0.1") || !strings.Contains(candidate, "10.0.0.2") {
		t.Errorf("candidate: %s", candidate)
	}
	for _, r := range []string{running, candidate} {
		if strings.Contains(r, "<status") || strings.Contains(r, "netconf-state") || strings.Contains(r, "yang-library") {
			t.Errorf("a configuration datastore shows state: %s", r)
		}
		yanglintData(t, "getconfig", dataOf(t, r))
	}
	op := getData(c, "operational", "<with-origin/>")
	for _, want := range []string{
		`<ntp xmlns="` + nsNtp + `" xmlns:or="` + NSOrigin + `" or:origin="or:intended"><unicast-peer><address>10.0.0.1</address>`,
		`<status or:origin="or:system"><stratum>3</stratum></status>`,
		`<sessions or:origin="or:system"><session><address>10.0.0.1</address>`,
		`<session or:origin="or:learned"><address>10.9.9.9</address>`,
		`<netconf-state xmlns="` + NSMonitoring + `" xmlns:or="` + NSOrigin + `" or:origin="or:system">`,
		`<yang-library xmlns="` + NSYangLibrary + `" xmlns:ds="` + NSDatastores + `" xmlns:or="` + NSOrigin + `" or:origin="or:system">`,
	} {
		if !strings.Contains(op, want) {
			t.Errorf("operational lacks %s", want)
		}
	}
	if strings.Contains(op, "10.0.0.2") {
		t.Errorf("operational shows the uncommitted candidate: %s", op)
	}
	yanglintData(t, "get", dataOf(t, op))
	yanglintData(t, "get", dataOf(t, getData(c, "operational", "<with-origin/><with-defaults>report-all</with-defaults>")))
}

// RFC 8526 §3.1.1: the filters of get-data are ANDed; with-defaults and
// max-depth apply to every datastore.
func TestGetDataParametersRFC8526(t *testing.T) {
	_, c := nmdaServer(t)
	for _, tc := range []struct {
		name, ds, params string
		want, omit       []string
	}{
		{"3.1.1 subtree-filter", "operational",
			`<subtree-filter><ntp xmlns="` + nsNtp + `"><status/></ntp></subtree-filter>`,
			[]string{`<ntp xmlns="` + nsNtp + `"><status><stratum>3</stratum></status></ntp>`},
			[]string{"unicast-peer", "netconf-state", "yang-library"}},
		{"3.1.1 xpath-filter with the namespaces in scope on it", "candidate",
			`<xpath-filter xmlns:n="` + nsNtp + `">/n:ntp/n:unicast-peer[n:address='10.0.0.2']</xpath-filter>`,
			[]string{peerXML("10.0.0.2", "")}, []string{"10.0.0.1"}},
		{"3.1.1 xpath-filter selects the server's state too", "operational",
			`<xpath-filter xmlns:yl="` + NSYangLibrary + `">/yl:yang-library</xpath-filter>`,
			[]string{"<content-id>"}, []string{"<ntp", "netconf-state"}},
		{"3.1.1 config-filter true: configuration only", "operational", `<config-filter>true</config-filter>`,
			[]string{peerXML("10.0.0.1", "<minpoll>4</minpoll>")}, []string{"<status", "<sessions", "netconf-state", "yang-library"}},
		{"3.1.1 config-filter false: state only, with ancestors and keys", "operational", `<config-filter>false</config-filter>`,
			[]string{`<ntp xmlns="` + nsNtp + `"><status>`, "<yang-library", "<netconf-state"}, []string{"unicast-peer", "minpoll"}},
		{"3.1.1 config-filter false on running: nothing", "running", `<config-filter>false</config-filter>`,
			[]string{`<data xmlns="` + NSNMDA + `"></data>`}, nil},
		{"3.1.1 max-depth 1: the top-level nodes", "operational", `<max-depth>1</max-depth>`,
			[]string{`<ntp xmlns="` + nsNtp + `"></ntp>`, `<netconf-state xmlns="` + NSMonitoring + `"/>`},
			[]string{"unicast-peer", "<module>"}},
		{"3.1.1 max-depth 3 on the YANG library keeps module keys", "operational",
			`<subtree-filter><yang-library xmlns="` + NSYangLibrary + `"/></subtree-filter><max-depth>3</max-depth>`,
			[]string{"<module><name>ietf-origin</name></module>", "<import-only-module><name>ietf-yang-types</name><revision>2013-07-15</revision></import-only-module>"},
			[]string{"<namespace>"}},
		{"3.1.1 max-depth counts from the node a subtree filter selects in the server's state", "operational",
			`<subtree-filter><yang-library xmlns="` + NSYangLibrary + `"><module-set/></yang-library></subtree-filter><max-depth>1</max-depth><with-origin/>`,
			[]string{`or:origin="or:system"><module-set><name>complete</name></module-set></yang-library>`},
			[]string{"<module>", "<content-id>", "<datastore>"}},
		{"3.1.1 the server's state is not changed by an earlier max-depth", "operational",
			`<subtree-filter><yang-library xmlns="` + NSYangLibrary + `"><module-set/></yang-library></subtree-filter>`,
			[]string{"<module><name>ietf-origin</name><revision>2018-02-14</revision>"}, []string{"or:origin"}},
		{"3.1.1 with-defaults report-all on candidate", "candidate", `<with-defaults xmlns="` + NSNMDA + `">report-all</with-defaults>`,
			[]string{"<address>10.0.0.2</address><vpn-instance>_public_</vpn-instance><version>4</version><port>123</port><preferred>false</preferred><minpoll>6</minpoll>"}, nil},
		{"3.1.1 origin-filter or:default keeps defaults and state", "operational",
			`<origin-filter>or:default</origin-filter><with-defaults>report-all</with-defaults>`,
			[]string{"<version>4</version>", "<stratum>3</stratum>"}, []string{"<minpoll>4</minpoll>"}},
		{"3.1.1 negated-origin-filter or:default leaves the defaults out", "operational",
			`<negated-origin-filter>or:default</negated-origin-filter><with-defaults>report-all</with-defaults>`,
			[]string{"<minpoll>4</minpoll>"}, []string{"<version>4</version>"}},
	} {
		r := getData(c, tc.ds, tc.params)
		if strings.Contains(r, "<rpc-error>") {
			t.Errorf("%s: %.800s", tc.name, r)
			continue
		}
		wantHolds(t, tc.name, r, tc.want, tc.omit)
	}
}

// RFC 8526 §3.1.1: a datastore the server does not support, with-origin
// or an origin filter outside <operational>, and malformed parameters are
// refused; nothing is returned.
func TestGetDataErrorsRFC8526(t *testing.T) {
	_, c := nmdaServer(t)
	for _, tc := range []struct{ name, rpc, tag string }{
		{"no datastore", `<get-data xmlns="` + NSNMDA + `"/>`, "missing-element"},
		{"unknown datastore identity", `<get-data xmlns="` + NSNMDA + `" xmlns:ds="` + NSDatastores + `"><datastore>ds:frozen</datastore></get-data>`, "invalid-value"},
		{"datastore prefix not bound to ietf-datastores", `<get-data xmlns="` + NSNMDA + `" xmlns:x="urn:example"><datastore>x:running</datastore></get-data>`, "invalid-value"},
		{"with-origin on running", wrapGetData("running", "<with-origin/>"), "invalid-value"},
		{"origin-filter on candidate", wrapGetData("candidate", "<origin-filter>or:intended</origin-filter>"), "invalid-value"},
		{"origin-filter not an origin", wrapGetData("operational", "<origin-filter>or:guessed</origin-filter>"), "invalid-value"},
		{"origin-filter prefix unbound", wrapGetData("operational", "<origin-filter>zz:intended</origin-filter>"), "invalid-value"},
		{"origin-filter and negated-origin-filter", wrapGetData("operational", "<origin-filter>or:intended</origin-filter><negated-origin-filter>or:default</negated-origin-filter>"), "bad-element"},
		{"max-depth 0", wrapGetData("operational", "<max-depth>0</max-depth>"), "invalid-value"},
		{"max-depth too large", wrapGetData("operational", "<max-depth>65536</max-depth>"), "invalid-value"},
		{"config-filter not boolean", wrapGetData("operational", "<config-filter>maybe</config-filter>"), "invalid-value"},
		{"with-defaults unknown", wrapGetData("running", "<with-defaults>all</with-defaults>"), "invalid-value"},
		{"both filters", wrapGetData("running", `<subtree-filter/><xpath-filter>/a</xpath-filter>`), "bad-element"},
		{"unknown parameter", wrapGetData("running", "<max-dept>2</max-dept>"), "unknown-element"},
		{"bad xpath", wrapGetData("running", "<xpath-filter>/ntpa:ntp[</xpath-filter>"), "invalid-value"},
	} {
		r := c.rpc(tc.rpc)
		wantTag(t, tc.name, r, tc.tag)
		if strings.Contains(r, "<data") {
			t.Errorf("%s: data returned with the error: %s", tc.name, r)
		}
	}
}

func wrapGetData(ds, params string) string {
	return `<get-data xmlns="` + NSNMDA + `" xmlns:ds="` + NSDatastores + `" xmlns:or="` + NSOrigin + `"><datastore>ds:` + ds + `</datastore>` + params + `</get-data>`
}

func editData(c *pipeClient, ds, body string) string {
	return c.rpc(`<edit-data xmlns="` + NSNMDA + `" xmlns:ds="` + NSDatastores + `"><datastore>ds:` + ds + `</datastore>` + body + `</edit-data>`)
}

// RFC 8526 §3.2: edit-data writes running (the device announces
// :writable-running) and the candidate, atomically; startup only takes
// copy-config and delete-config (RFC 6241 §8.7.1); the other datastores
// and read-only users are refused, and a refused edit changes nothing.
func TestEditDataRFC8526(t *testing.T) {
	srv, c := nmdaServer(t)
	wantOKReply(t, editData(c, "candidate", `<config><ntp xmlns="`+nsNtp+`">`+peerXML("10.0.0.3", "")+`</ntp></config>`))
	if r := getData(c, "candidate", ""); !strings.Contains(r, "10.0.0.3") {
		t.Errorf("edit-data candidate: %s", r)
	}
	wantOKReply(t, editData(c, "running", `<default-operation>merge</default-operation><config><ntp xmlns="`+nsNtp+`">`+peerXML("10.0.0.4", "<maxpoll>8</maxpoll>")+`</ntp></config>`))
	if r := c.rpc(`<get-config><source><running/></source></get-config>`); !strings.Contains(r, "10.0.0.4") {
		t.Errorf("edit-data running was not committed: %s", r)
	}
	// The operation attribute is the base namespace's (RFC 8526 §3.2).
	wantOKReply(t, editData(c, "running", `<config><ntp xmlns="`+nsNtp+`" xmlns:nc="`+NSBase+`"><unicast-peer nc:operation="delete"><address>10.0.0.4</address><vpn-instance>_public_</vpn-instance></unicast-peer></ntp></config>`))
	before := getData(c, "running", "")
	if strings.Contains(before, "10.0.0.4") {
		t.Fatalf("delete through edit-data: %s", before)
	}
	for _, tc := range []struct{ name, ds, body, tag string }{
		{"intended is not writable", "intended", `<config><ntp xmlns="` + nsNtp + `">` + peerXML("10.0.0.5", "") + `</ntp></config>`, "invalid-value"},
		{"operational is not writable", "operational", `<config><ntp xmlns="` + nsNtp + `">` + peerXML("10.0.0.5", "") + `</ntp></config>`, "invalid-value"},
		{"RFC6241-8.7.1 startup is written by copy-config only", "startup", `<config/>`, "operation-not-supported"},
		{"no config", "running", ``, "missing-element"},
		{"url", "running", `<url>file:///x</url>`, "operation-not-supported"},
		{"bad default-operation", "running", `<default-operation>erase</default-operation><config/>`, "invalid-value"},
		{"a second peer valid, the first not: nothing applies", "running",
			`<config><ntp xmlns="` + nsNtp + `">` + peerXML("10.0.0.6", "") + peerXML("10.0.0.7", "<minpoll>99</minpoll>") + `</ntp></config>`, "invalid-value"},
		{"foreign namespace", "running", `<config><x xmlns="urn:example"/></config>`, "unknown-namespace"},
	} {
		wantTag(t, tc.name, editData(c, tc.ds, tc.body), tc.tag)
	}
	if after := getData(c, "running", ""); dataOf(t, after) != dataOf(t, before) {
		t.Errorf("a refused edit-data changed running:\n%s\n%s", before, after)
	}
	op := helloed(t, srv, SessionInfo{ID: 2, User: "operator", ReadOnly: true})
	wantTag(t, "operator", editData(op, "candidate", `<config><ntp xmlns="`+nsNtp+`">`+peerXML("10.0.0.8", "")+`</ntp></config>`), "access-denied")
}

// RFC 8526 §3.3: lock, unlock and validate take an NMDA datastore too.
func TestLockValidateWithNMDADatastore(t *testing.T) {
	_, c := nmdaServer(t)
	ds := func(name string) string {
		return `<datastore xmlns="` + NSNMDA + `" xmlns:ds="` + NSDatastores + `">ds:` + name + `</datastore>`
	}
	wantOKReply(t, c.rpc(`<lock><target>`+ds("candidate")+`</target></lock>`))
	wantOKReply(t, c.rpc(`<validate><source>`+ds("candidate")+`</source></validate>`))
	wantOKReply(t, c.rpc(`<unlock><target>`+ds("candidate")+`</target></unlock>`))
	wantTag(t, "lock operational", c.rpc(`<lock><target>`+ds("operational")+`</target></lock>`), "invalid-value")
	wantTag(t, "get-config of an NMDA datastore", c.rpc(`<get-config><source>`+ds("running")+`</source></get-config>`), "bad-element")
}
