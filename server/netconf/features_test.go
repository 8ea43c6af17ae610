package netconf_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/fakeclock"
	"github.com/ntpagent/ntpagent/internal/nctest"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/server/netconf"
	"github.com/ntpagent/ntpagent/yang"
)

const (
	nsMon   = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
	nsNotif = "urn:ietf:params:xml:ns:netconf:notification:1.0"
	nsSys   = "urn:ntpagent:yang:ntpagent-system"
	nsWD    = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
)

func TestHelloCapabilities(t *testing.T) {
	a := newFixture(t)
	c := a.admin(t, false)
	for _, want := range []string{
		"urn:ietf:params:netconf:base:1.0", "urn:ietf:params:netconf:base:1.1",
		"urn:ietf:params:netconf:capability:candidate:1.0",
		"urn:ietf:params:netconf:capability:confirmed-commit:1.1",
		"urn:ietf:params:netconf:capability:rollback-on-error:1.0",
		"urn:ietf:params:netconf:capability:validate:1.1",
		"urn:ietf:params:netconf:capability:writable-running:1.0",
		"urn:ietf:params:netconf:capability:xpath:1.0",
		"urn:ietf:params:netconf:capability:with-defaults:1.0?basic-mode=explicit&amp;also-supported=report-all,trim,report-all-tagged",
		"urn:ietf:params:netconf:capability:notification:1.0",
		"urn:ietf:params:netconf:capability:interleave:1.0",
		"urn:ietf:params:netconf:capability:yang-library:1.1?revision=2019-01-04&amp;content-id=",
		nsMon + "?module=ietf-netconf-monitoring",
	} {
		if !strings.Contains(c.Hello, "<capability>"+want) {
			t.Errorf("hello lacks %s", want)
		}
	}
	// RFC 7950 §5.6.4: YANG 1.1 modules are announced by the YANG library
	// only; YANG 1.0 modules the server implements are in the hello too
	// (RFC 6020 §5.6.4), with their deviations.
	sch, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range sch.Library() {
		announced := strings.Contains(c.Hello, "?module="+m.Name+"&amp;")
		if want := m.Implemented && m.YangVersion == "1"; announced != want {
			t.Errorf("hello announces %s (YANG %s, implemented %t): %t, want %t", m.Name, m.YangVersion, m.Implemented, announced, want)
		}
	}
	if !strings.Contains(c.Hello, "module=openconfig-system&amp;revision=2022-12-19&amp;deviations=ntpagent-openconfig-deviations</capability>") {
		t.Errorf("hello lacks openconfig-system with its deviations: %s", c.Hello)
	}
	if strings.Contains(strings.ToLower(c.Hello), "huawei") || strings.Contains(c.Hello, ":url") {
		t.Errorf("hello advertises something that does not work: %s", c.Hello)
	}
}

func TestMonitoringState(t *testing.T) {
	a := newFixture(t)
	c := a.admin(t, true)
	nctest.WantOK(t, c.RPC(`<lock><target><running/></target></lock>`))
	r := c.RPC(`<get><filter type="subtree"><netconf-state xmlns="` + nsMon + `"/></filter></get>`)
	for _, want := range []string{
		"<capability>urn:ietf:params:netconf:capability:candidate:1.0</capability>",
		"<datastore><name>running</name><locks><global-lock><locked-by-session>" + c.SessionID + "</locked-by-session>",
		"<datastore><name>candidate</name></datastore>",
		"<schema><identifier>ntpagent-ntp</identifier><version>2026-11-25</version>",
		"<session-id>" + c.SessionID + "</session-id>", "<username>admin</username>", "<source-host>127.0.0.1</source-host>",
		"<statistics><netconf-start-time>",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("monitoring lacks %s\n%s", want, r)
		}
	}
	if strings.Contains(r, `xmlns="urn:ntpagent:yang:ntpagent-ntp"`) {
		t.Errorf("a netconf-state filter returned configuration: %s", r)
	}
	// XPath selecting one part.
	r = c.RPC(`<get><filter type="xpath" xmlns:ncm="` + nsMon + `" select="/ncm:netconf-state/ncm:schemas"/></get>`)
	if !strings.Contains(r, "<schemas>") || strings.Contains(r, "<sessions>") {
		t.Errorf("xpath schemas: %s", r)
	}
	// get-schema returns the module text, with and without version.
	r = c.RPC(`<get-schema xmlns="` + nsMon + `"><identifier>ntpagent-system</identifier><version>2026-11-25</version><format>yang</format></get-schema>`)
	if !strings.Contains(r, "module ntpagent-system {") || !strings.Contains(r, "rpc rollback-to-commit") {
		t.Errorf("get-schema: %.300s", r)
	}
	nctest.WantErrorTag(t, c.RPC(`<get-schema xmlns="`+nsMon+`"><identifier>ntpagent-system</identifier><version>1999-01-01</version></get-schema>`), "invalid-value")
	nctest.WantOK(t, c.RPC(`<unlock><target><running/></target></unlock>`))
}

func TestWithDefaultsModes(t *testing.T) {
	a := newFixture(t)
	c := a.admin(t, true)
	nctest.WantOK(t, c.RPC(`<edit-config><target><running/></target>`+nctest.PeerConfig("10.5.5.5", "<port>123</port><minpoll>5</minpoll>")+`</edit-config>`))
	get := func(mode string) string {
		return c.RPC(`<get-config><source><running/></source><with-defaults xmlns="` + nsWD + `">` + mode + `</with-defaults></get-config>`)
	}
	// RFC 6243 §3: explicit reports what was set, even a default value.
	if r := get("explicit"); !strings.Contains(r, "<port>123</port>") || strings.Contains(r, "<maxpoll>") {
		t.Errorf("explicit: %s", r)
	}
	if r := get("report-all"); !strings.Contains(r, "<maxpoll>10</maxpoll>") {
		t.Errorf("report-all: %s", r)
	}
	if r := get("trim"); strings.Contains(r, "<port>123</port>") || !strings.Contains(r, "<minpoll>5</minpoll>") {
		t.Errorf("trim: %s", r)
	}
	if r := get("report-all-tagged"); !regexp.MustCompile(`<maxpoll [^>]*default="true"[^>]*>10</maxpoll>`).MatchString(r) {
		t.Errorf("report-all-tagged: %s", r)
	}
}

func TestCopyDeleteConfigAndWritableRunning(t *testing.T) {
	a := newFixture(t)
	c := a.admin(t, false)
	nctest.WantOK(t, c.RPC(`<copy-config><target><candidate/></target><source>`+nctest.PeerConfig("10.6.6.6", "")+`</source></copy-config>`))
	if r := c.RPC(`<get-config><source><candidate/></source></get-config>`); !strings.Contains(r, "10.6.6.6") {
		t.Fatalf("copy-config inline: %s", r)
	}
	nctest.WantOK(t, c.RPC(`<copy-config><target><running/></target><source><candidate/></source></copy-config>`))
	if r := c.RPC(`<get-config><source><running/></source></get-config>`); !strings.Contains(r, "10.6.6.6") {
		t.Fatalf("copy-config candidate to running: %s", r)
	}
	r := c.RPC(`<delete-config><target><candidate/></target></delete-config>`)
	if !strings.Contains(r, "<ok/>") && !strings.Contains(r, "rpc-error") {
		t.Fatalf("delete-config: %s", r)
	}
	nctest.WantErrorTag(t, c.RPC(`<delete-config><target><running/></target></delete-config>`), "operation-not-supported")
}

func TestKillSessionReleasesLocks(t *testing.T) {
	a := newFixture(t)
	victim := a.admin(t, true)
	killer := a.admin(t, true)
	nctest.WantOK(t, victim.RPC(`<lock><target><candidate/></target></lock>`))
	nctest.WantErrorTag(t, killer.RPC(`<lock><target><candidate/></target></lock>`), "lock-denied")
	nctest.WantOK(t, killer.RPC(`<kill-session><session-id>`+victim.SessionID+`</session-id></kill-session>`))
	nctest.WantOK(t, killer.RPC(`<lock><target><candidate/></target></lock>`))
	if _, err := victim.R.ReadMessage(); err == nil {
		t.Fatal("killed session still open")
	}
	nctest.WantErrorTag(t, killer.RPC(`<kill-session><session-id>4000000</session-id></kill-session>`), "invalid-value")
}

func TestRollbackToCommitAndHistory(t *testing.T) {
	a := newFixture(t)
	c := a.admin(t, true)
	nctest.WantOK(t, c.RPC(`<edit-config><target><candidate/></target>`+nctest.PeerConfig("10.7.7.1", "")+`</edit-config>`))
	nctest.WantOK(t, c.RPC(`<commit/>`))
	nctest.WantOK(t, c.RPC(`<edit-config><target><candidate/></target>`+nctest.PeerConfig("10.7.7.2", "")+`</edit-config>`))
	nctest.WantOK(t, c.RPC(`<commit/>`))
	r := c.RPC(`<get><filter type="subtree"><commit-history xmlns="` + nsSys + `"/></filter></get>`)
	ids := regexp.MustCompile(`<commit-id>(\d+)</commit-id>`).FindAllStringSubmatch(r, -1)
	if len(ids) < 2 || !strings.Contains(r, "<user>admin</user>") || !strings.Contains(r, "<origin>netconf</origin>") {
		t.Fatalf("commit-history: %s", r)
	}
	first := ids[0][1]
	for _, m := range ids {
		if len(m[1]) < len(first) || m[1] < first && len(m[1]) == len(first) {
			first = m[1]
		}
	}
	r = c.RPC(`<rollback-to-commit xmlns="` + nsSys + `"><commit-id>` + first + `</commit-id><label>back</label></rollback-to-commit>`)
	if !regexp.MustCompile(`<commit-id xmlns="` + nsSys + `">\d+</commit-id>`).MatchString(r) {
		t.Fatalf("rollback reply: %s", r)
	}
	r = c.RPC(`<get-config><source><running/></source></get-config>`)
	if !strings.Contains(r, "10.7.7.1") || strings.Contains(r, "10.7.7.2") {
		t.Fatalf("after rollback to %s: %s", first, r)
	}
}

// Operator reads but cannot edit, commit, lock or roll back (access-denied).
func TestOperatorRole(t *testing.T) {
	a := newFixture(t)
	c := a.operator(t, true)
	if r := c.RPC(`<get-config><source><running/></source></get-config>`); !strings.Contains(r, "<data") {
		t.Fatalf("get-config: %s", r)
	}
	if r := c.RPC(`<get/>`); !strings.Contains(r, "<data") {
		t.Fatalf("get: %s", r)
	}
	for _, op := range []string{
		`<edit-config><target><candidate/></target>` + nctest.PeerConfig("10.8.8.8", "") + `</edit-config>`,
		`<copy-config><target><candidate/></target><source><running/></source></copy-config>`,
		`<delete-config><target><candidate/></target></delete-config>`,
		`<commit/>`, `<cancel-commit/>`, `<discard-changes/>`,
		`<lock><target><candidate/></target></lock>`, `<unlock><target><candidate/></target></unlock>`,
		`<kill-session><session-id>1</session-id></kill-session>`,
		`<rollback-to-commit xmlns="` + nsSys + `"><commit-id>1</commit-id></rollback-to-commit>`,
	} {
		nctest.WantErrorTag(t, c.RPC(op), "access-denied")
	}
	nctest.WantOK(t, c.RPC(`<validate><source><candidate/></source></validate>`))
}

// Notifications (RFC 5277, RFC 6470): config change, session start/end,
// confirmed-commit events, interleaved with RPCs, and replay from startTime.
func TestNotifications(t *testing.T) {
	a := newFixture(t)
	sub := a.admin(t, true)
	nctest.WantOK(t, sub.RPC(`<create-subscription xmlns="`+nsNotif+`"/>`))
	other := a.admin(t, false)
	nctest.WantOK(t, other.RPC(`<edit-config><target><candidate/></target>`+nctest.PeerConfig("10.9.9.9", "")+`</edit-config>`))
	nctest.WantOK(t, other.RPC(`<commit><confirmed/><confirm-timeout>120</confirm-timeout></commit>`))
	nctest.WantOK(t, other.RPC(`<commit/>`))
	nctest.WantOK(t, other.RPC(`<close-session/>`))
	want := []string{"<netconf-session-start", "<netconf-confirmed-commit", "<confirm-event>start</confirm-event>",
		"<netconf-config-change", "<confirm-event>complete</confirm-event>", "<netconf-session-end", "<termination-reason>closed</termination-reason>"}
	var got strings.Builder
	for i := 0; i < 20 && !containsAll(got.String(), want); i++ {
		got.WriteString(sub.Read())
	}
	if !containsAll(got.String(), want) {
		t.Fatalf("notifications: %s", got.String())
	}
	if !strings.Contains(got.String(), `<target xmlns:ntpa="urn:ntpagent:yang:ntpagent-ntp">/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.9.9.9']`) {
		t.Errorf("config-change edit target: %s", got.String())
	}
	// Interleave: RPCs still work on the subscribed session.
	if r := sub.RPC(`<get-config><source><running/></source></get-config>`); !strings.Contains(r, "10.9.9.9") {
		t.Fatalf("interleaved get-config: %s", r)
	}
	nctest.WantErrorTag(t, sub.RPC(`<create-subscription xmlns="`+nsNotif+`"/>`), "in-use")

	// Replay: a new subscriber asking from the start gets past events, then replayComplete.
	late := a.admin(t, true)
	start := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	nctest.WantOK(t, late.RPC(`<create-subscription xmlns="`+nsNotif+`"><filter type="subtree"><netconf-config-change xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"/></filter><startTime>`+start+`</startTime></create-subscription>`))
	first := late.Read()
	if !strings.Contains(first, "<netconf-config-change") {
		t.Fatalf("replayed: %s", first)
	}
	for i := 0; i < 10; i++ {
		m := late.Read()
		if strings.Contains(m, "replayComplete") {
			return
		}
		if !strings.Contains(m, "<netconf-config-change") {
			t.Fatalf("filter let through: %s", m)
		}
	}
	t.Fatal("no replayComplete")
}

func containsAll(s string, subs []string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// RFC 6241 §8.4: a confirmed commit not confirmed within confirm-timeout is
// rolled back; RFC 6470 reports it as a netconf-confirmed-commit timeout.
// The clock is hand-driven: 600 s pass in no time.
func TestConfirmedCommitTimeoutEvent(t *testing.T) {
	clk := fakeclock.New()
	a := newFixture(t, func(c *netconf.Config) { c.Clock = clk })
	sub := a.admin(t, true)
	nctest.WantOK(t, sub.RPC(`<create-subscription xmlns="`+nsNotif+`"><filter type="subtree"><netconf-confirmed-commit xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"/></filter></create-subscription>`))
	c := a.admin(t, true)
	nctest.WantOK(t, c.RPC(`<edit-config><target><candidate/></target>`+nctest.PeerConfig("10.11.0.1", "")+`</edit-config>`))
	nctest.WantOK(t, c.RPC(`<commit><confirmed/></commit>`))
	if m := sub.Read(); !strings.Contains(m, "<confirm-event>start</confirm-event>") || !strings.Contains(m, "<timeout>600</timeout>") {
		t.Fatalf("start event: %s", m)
	}
	clk.Advance(601 * time.Second)
	if m := sub.Read(); !strings.Contains(m, "<confirm-event>timeout</confirm-event>") {
		t.Fatalf("timeout event: %s", m)
	}
	if r := c.RPC(`<get-config><source><running/></source></get-config>`); strings.Contains(r, "10.11.0.1") {
		t.Fatalf("not rolled back: %s", r)
	}
}

// RFC 6241 §8.4.5.1: a persist confirmed commit outlives its session and is
// confirmed from another session with persist-id; cancel-commit likewise.
func TestConfirmedCommitPersist(t *testing.T) {
	a := newFixture(t)
	c1 := a.admin(t, true)
	nctest.WantOK(t, c1.RPC(`<edit-config><target><candidate/></target>`+nctest.PeerConfig("10.12.0.1", "")+`</edit-config>`))
	nctest.WantOK(t, c1.RPC(`<commit><confirmed/><persist>tok1</persist></commit>`))
	nctest.WantOK(t, c1.RPC(`<close-session/>`))
	c2 := a.admin(t, false)
	if r := c2.RPC(`<get-config><source><running/></source></get-config>`); !strings.Contains(r, "10.12.0.1") {
		t.Fatalf("persist commit lost with its session: %s", r)
	}
	if r := c2.RPC(`<commit><persist-id>wrong</persist-id></commit>`); !strings.Contains(r, "<rpc-error>") {
		t.Fatalf("wrong persist-id accepted: %s", r)
	}
	nctest.WantOK(t, c2.RPC(`<commit><persist-id>tok1</persist-id></commit>`))
	// A second persist commit, cancelled from another session.
	nctest.WantOK(t, c2.RPC(`<edit-config><target><candidate/></target>`+nctest.PeerConfig("10.12.0.2", "")+`</edit-config>`))
	nctest.WantOK(t, c2.RPC(`<commit><confirmed/><persist>tok2</persist></commit>`))
	c3 := a.admin(t, true)
	nctest.WantOK(t, c3.RPC(`<cancel-commit><persist-id>tok2</persist-id></cancel-commit>`))
	r := c3.RPC(`<get-config><source><running/></source></get-config>`)
	if !strings.Contains(r, "10.12.0.1") || strings.Contains(r, "10.12.0.2") {
		t.Fatalf("after cancel-commit: %s", r)
	}
}

// RFC 5277 §2.1.1: with startTime and stopTime, past events are replayed,
// then replayComplete; at stopTime notificationComplete ends the
// subscription, and the session may subscribe again.
func TestSubscriptionStopTime(t *testing.T) {
	clk := fakeclock.New()
	a := newFixture(t, func(c *netconf.Config) { c.Clock = clk })
	c := a.admin(t, true)
	nctest.WantOK(t, c.RPC(`<edit-config><target><running/></target>`+nctest.PeerConfig("10.13.0.1", "")+`</edit-config>`))
	now := clk.Now()
	start := now.Add(-time.Minute).Format(time.RFC3339)
	stop := now.Add(30 * time.Second).Format(time.RFC3339)
	nctest.WantErrorTag(t, c.RPC(`<create-subscription xmlns="`+nsNotif+`"><startTime>`+now.Add(time.Hour).Format(time.RFC3339)+`</startTime></create-subscription>`), "bad-element")
	nctest.WantErrorTag(t, c.RPC(`<create-subscription xmlns="`+nsNotif+`"><stopTime>`+stop+`</stopTime></create-subscription>`), "missing-element")
	nctest.WantOK(t, c.RPC(`<create-subscription xmlns="`+nsNotif+`"><startTime>`+start+`</startTime><stopTime>`+stop+`</stopTime></create-subscription>`))
	// The config change is replayed, or (when the datastore's change reaches
	// the event stream after the subscription began) delivered live; wait
	// for it before stopTime passes, or a late live event would carry a
	// time after stopTime and rightly not be sent.
	var got strings.Builder
	for i := 0; i < 10 && !(strings.Contains(got.String(), "replayComplete") && strings.Contains(got.String(), "10.13.0.1")); i++ {
		got.WriteString(c.Read())
	}
	clk.Advance(31 * time.Second)
	for i := 0; !strings.Contains(got.String(), "notificationComplete"); i++ {
		if i == 10 {
			t.Fatalf("no notificationComplete: %s", got.String())
		}
		got.WriteString(c.Read())
	}
	if !strings.Contains(got.String(), "10.13.0.1") || !strings.Contains(got.String(), "replayComplete") {
		t.Fatalf("events: %s", got.String())
	}
	// The ended subscription frees the session (bounded wait: the writer ends asynchronously).
	testtool.WaitFor(t, 10*time.Second, "a new subscription accepted", func() bool {
		return strings.Contains(c.RPC(`<create-subscription xmlns="`+nsNotif+`"/>`), "<ok/>")
	})
}

// RFC 6470 §2.1: netconf-config-change reports changes of startup as well
// as of running: a save (copy-config to startup) names datastore startup
// and the edits that made startup differ, and delete-config of startup
// one more; the running-only subscriber (the agent) sees none of them.
func TestStartupChangesRaiseConfigChange(t *testing.T) {
	a := newFixture(t)
	sub := a.admin(t, true)
	nctest.WantOK(t, sub.RPC(`<create-subscription xmlns="`+nsNotif+`"><filter type="subtree"><netconf-config-change xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"/></filter></create-subscription>`))
	other := a.admin(t, false)
	nctest.WantOK(t, other.RPC(`<edit-config><target><candidate/></target>`+nctest.PeerConfig("10.9.9.7", "")+`</edit-config>`))
	nctest.WantOK(t, other.RPC(`<commit/>`))
	if m := sub.Read(); !strings.Contains(m, "<datastore>running</datastore>") || !strings.Contains(m, "10.9.9.7") {
		t.Fatalf("the commit's notification: %s", m)
	}
	nctest.WantOK(t, other.RPC(`<copy-config><target><startup/></target><source><running/></source></copy-config>`))
	m := sub.Read()
	for _, want := range []string{"<datastore>startup</datastore>", "unicast-peer[ntpa:address='10.9.9.7']", "<operation>create</operation>", "<session-id>"} {
		if !strings.Contains(m, want) {
			t.Fatalf("the save's notification lacks %q: %s", want, m)
		}
	}
	nctest.WantOK(t, other.RPC(`<delete-config><target><startup/></target></delete-config>`))
	if m := sub.Read(); !strings.Contains(m, "<datastore>startup</datastore>") || !strings.Contains(m, "<operation>delete</operation>") {
		t.Fatalf("delete-config startup's notification: %s", m)
	}
}
