package netconf

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/yang"
)

const nsYANG = "urn:ietf:params:xml:ns:yang:1"

// ruleListXML is a rule-list for group ops with one rule on reading the
// data of ntpagent-ntp (action permit or deny), with attributes attrs on
// the entry.
func ruleListXML(name, attrs, action string) string {
	return `<rule-list` + attrs + `><name>` + name + `</name><group>ops</group>` +
		`<rule><name>` + name + `-ntp</name><module-name>ntpagent-ntp</module-name><access-operations>read</access-operations><action>` + action + `</action></rule></rule-list>`
}

// orderNacm is /nacm with alice in group ops, reads denied by default, the
// admin group's rights, and the rule-lists given.
func orderNacm(lists ...string) string {
	return `<nacm xmlns="` + nsACM + `" xmlns:yang="` + nsYANG + `" xmlns:nacm="` + nsACM + `"><read-default>deny</read-default>` +
		`<groups><group><name>ops</name><user-name>alice</user-name></group></groups>` + strings.Join(lists, "") + `</nacm>`
}

var ruleListNameRe = regexp.MustCompile(`<rule-list><name>([^<]*)</name>|"name": "([^"]*)",\s*"rule"`)

// ruleListOrder is the sequence of rule-list names in a reply or in the
// stored JSON.
func ruleListOrder(s string) []string {
	var out []string
	for _, m := range ruleListNameRe.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1]+m[2])
	}
	return out
}

func editNacm(t *testing.T, c *pipeClient, target, config string) string {
	t.Helper()
	return c.rpc(`<edit-config><target><` + target + `/></target><config>` + config + `</config></edit-config>`)
}

// RFC 7950 §7.7.7 and §7.8.6, RFC 8341 §3.4.5: rule-lists entered through
// edit-config keep their order through commit, the journal, running.json
// and a restart; insert places and moves them; access control follows the
// order (a deny list z-… entered before a permit list a-… denies, and
// moving the permit list first permits); an insert next to a missing entry
// is refused and leaves the candidate as it was; get-config's output
// validates.
func TestRuleListOrderSurvivesCommitAndRestartRFC7950(t *testing.T) {
	dir := t.TempDir()
	sch, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	open := func() (*Server, *datastore.Store) {
		st, err := datastore.Open(datastore.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := New(Config{Store: st, Schema: sch})
		if err != nil {
			t.Fatal(err)
		}
		return srv, st
	}
	srv, st := open()
	admin := helloed(t, srv, SessionInfo{ID: 1, User: "admin", Groups: []string{"admin"}})
	wantOKReply(t, editNacm(t, admin, "candidate", `<ntp xmlns="`+nsNtp+`">`+peerXML("10.0.0.1", "")+`</ntp>`+
		orderNacm(adminRuleList, ruleListXML("z-deny", "", "deny"), ruleListXML("a-permit", "", "permit"))))
	wantOKReply(t, admin.rpc(`<commit/>`))
	getRunning := func(c *pipeClient) string {
		return c.rpc(`<get-config><source><running/></source></get-config>`)
	}
	want := []string{"admin", "z-deny", "a-permit"}
	if got := ruleListOrder(getRunning(admin)); !slices.Equal(got, want) {
		t.Fatalf("running holds %v, want the order entered %v", got, want)
	}
	yanglintData(t, "config", dataOf(t, getRunning(admin)))
	alice := helloed(t, srv, SessionInfo{ID: 2, User: "alice", Groups: []string{}})
	wantHolds(t, "RFC8341 3.4.5 z-deny entered first denies", getRunning(alice), nil, []string{"10.0.0.1"})

	// An insert next to an entry that does not exist: RFC 7950 §15.8.
	before := dataOf(t, admin.rpc(`<get-config><source><candidate/></source></get-config>`))
	r := editNacm(t, admin, "candidate", orderNacm(ruleListXML("a-permit", ` yang:insert="before" yang:key="[nacm:name='nosuch']"`, "permit")))
	wantTag(t, "insert before a missing entry", r, "bad-attribute")
	wantHolds(t, "its error-app-tag", r, []string{"<error-app-tag>missing-instance</error-app-tag>", "<bad-attribute>key</bad-attribute>"}, nil)
	wantTag(t, "insert with a bad value", editNacm(t, admin, "candidate", orderNacm(ruleListXML("a-permit", ` yang:insert="top"`, "permit"))), "bad-attribute")
	wantTag(t, "insert after without key", editNacm(t, admin, "candidate", orderNacm(ruleListXML("a-permit", ` yang:insert="after"`, "permit"))), "missing-attribute")
	if after := dataOf(t, admin.rpc(`<get-config><source><candidate/></source></get-config>`)); after != before {
		t.Fatalf("a refused insert changed the candidate:\n%s\n%s", before, after)
	}

	// Move the permit list before the deny list: alice reads /ntp.
	wantOKReply(t, editNacm(t, admin, "candidate", orderNacm(ruleListXML("a-permit", ` yang:insert="before" yang:key="[nacm:name='z-deny']"`, "permit"))))
	wantOKReply(t, admin.rpc(`<commit/>`))
	want = []string{"admin", "a-permit", "z-deny"}
	if got := ruleListOrder(getRunning(admin)); !slices.Equal(got, want) {
		t.Fatalf("after the move running holds %v, want %v", got, want)
	}
	wantHolds(t, "RFC8341 3.4.5 a-permit moved first permits", getRunning(alice), []string{"10.0.0.1"}, nil)

	// A restart reads the journal; Close wrote running.json.
	srv.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(dir, "running.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleListOrder(string(js)); !slices.Equal(got, want) {
		t.Errorf("running.json holds %v, want %v:\n%s", got, want, js)
	}
	srv, st = open()
	defer func() { srv.Close(); st.Close() }()
	admin = helloed(t, srv, SessionInfo{ID: 3, User: "admin", Groups: []string{"admin"}})
	if got := ruleListOrder(getRunning(admin)); !slices.Equal(got, want) {
		t.Fatalf("after a restart running holds %v, want %v", got, want)
	}
	alice = helloed(t, srv, SessionInfo{ID: 4, User: "alice", Groups: []string{}})
	wantHolds(t, "the order after a restart still permits", getRunning(alice), []string{"10.0.0.1"}, nil)

	// RFC 8526 edit-data takes the same attributes: move a-permit last in
	// running directly.
	wantOKReply(t, admin.rpc(`<edit-data xmlns="`+NSNMDA+`" xmlns:ds="`+NSDatastores+`"><datastore>ds:running</datastore><config>`+
		orderNacm(ruleListXML("a-permit", ` yang:insert="last"`, "permit"))+`</config></edit-data>`))
	want = []string{"admin", "z-deny", "a-permit"}
	if got := ruleListOrder(getData(admin, "running", "")); !slices.Equal(got, want) {
		t.Fatalf("after edit-data running holds %v, want %v", got, want)
	}
	wantHolds(t, "z-deny first again denies", getRunning(alice), nil, []string{"10.0.0.1"})
}
