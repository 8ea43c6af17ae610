package netconf

import (
	"strings"
	"testing"
)

// RFC 6241 §8.7: the startup datastore — copy-config from and to it in
// the directions §7.3 allows, get-config, lock/unlock, validate and
// delete-config of it, and get-data of ds:startup (RFC 8526); what it
// refuses changes nothing.
func TestStartupRFC6241(t *testing.T) {
	srv, c := nmdaServer(t) // running: 10.0.0.1; candidate: + 10.0.0.2
	getStartup := func() string {
		return dataOf(t, c.rpc(`<get-config><source><startup/></source></get-config>`))
	}
	if s := getStartup(); s != "" {
		t.Fatalf("startup before any save: %s", s)
	}
	// Nothing saved yet: there is nothing to copy from.
	wantTag(t, "copy from an unsaved startup", c.rpc(`<copy-config><target><running/></target><source><startup/></source></copy-config>`), "operation-failed")

	// §8.7.1 running → startup.
	wantOKReply(t, c.rpc(`<copy-config><target><startup/></target><source><running/></source></copy-config>`))
	if s := getStartup(); !strings.Contains(s, "10.0.0.1") || strings.Contains(s, "10.0.0.2") {
		t.Fatalf("startup after running→startup: %s", s)
	}
	wantHolds(t, "get-data ds:startup", getData(c, "startup", ""), []string{"10.0.0.1"}, []string{"10.0.0.2"})
	// §7.3 candidate → startup.
	wantOKReply(t, c.rpc(`<copy-config><target><startup/></target><source><candidate/></source></copy-config>`))
	if s := getStartup(); !strings.Contains(s, "10.0.0.2") {
		t.Fatalf("startup after candidate→startup: %s", s)
	}
	// §8.6 validate of startup, plain and through the NMDA datastore.
	wantOKReply(t, c.rpc(`<validate><source><startup/></source></validate>`))
	wantOKReply(t, c.rpc(`<validate><source><datastore xmlns="`+NSNMDA+`" xmlns:ds="`+NSDatastores+`">ds:startup</datastore></source></validate>`))

	// §7.3 an invalid inline configuration is refused and changes nothing.
	before := getStartup()
	wantTag(t, "invalid inline copy", c.rpc(`<copy-config><target><startup/></target><source><config><ntp xmlns="`+nsNtp+`">`+
		peerXML("10.0.0.9", "<minpoll>10</minpoll><maxpoll>6</maxpoll>")+`</ntp></config></source></copy-config>`), "operation-failed")
	// §8.7.1 edit-config has no startup target.
	wantTag(t, "edit-config startup", c.rpc(`<edit-config><target><startup/></target><config><ntp xmlns="`+nsNtp+`">`+peerXML("10.0.0.8", "")+`</ntp></config></edit-config>`), "operation-not-supported")
	if s := getStartup(); s != before {
		t.Fatalf("a refused operation changed startup:\n%s\n%s", before, s)
	}

	// §7.5 a lock on startup: the other session may not write it.
	other := helloed(t, srv, SessionInfo{ID: 2, User: "admin2"})
	wantOKReply(t, c.rpc(`<lock><target><startup/></target></lock>`))
	// RFC 6022 §2.1.2: the lock shows in /netconf-state/datastores.
	if r := c.rpc(`<get><filter type="subtree"><netconf-state xmlns="` + NSMonitoring + `"><datastores/></netconf-state></filter></get>`); !strings.Contains(r, "<datastore><name>startup</name><locks><global-lock><locked-by-session>1</locked-by-session>") {
		t.Fatalf("the startup lock is not in netconf-state: %s", r)
	}
	wantTag(t, "second lock", other.rpc(`<lock><target><startup/></target></lock>`), "lock-denied")
	wantTag(t, "copy to a locked startup", other.rpc(`<copy-config><target><startup/></target><source><running/></source></copy-config>`), "lock-denied")
	wantTag(t, "delete a locked startup", other.rpc(`<delete-config><target><startup/></target></delete-config>`), "lock-denied")
	if s := getStartup(); s != before {
		t.Fatalf("a refused copy changed startup")
	}
	wantOKReply(t, c.rpc(`<unlock><target><startup/></target></unlock>`))

	// startup → running is a commit.
	wantOKReply(t, other.rpc(`<copy-config><target><running/></target><source><startup/></source></copy-config>`))
	if r := dataOf(t, c.rpc(`<get-config><source><running/></source></get-config>`)); !strings.Contains(r, "10.0.0.2") {
		t.Fatalf("running after startup→running: %s", r)
	}
	// §7.4 delete-config empties startup.
	wantOKReply(t, other.rpc(`<delete-config><target><startup/></target></delete-config>`))
	if s := getStartup(); s != "" {
		t.Fatalf("startup after delete-config: %s", s)
	}
	// A read-only user may read startup but not write it.
	op := helloed(t, srv, SessionInfo{ID: 3, User: "operator", ReadOnly: true})
	wantTag(t, "operator copy", op.rpc(`<copy-config><target><startup/></target><source><running/></source></copy-config>`), "access-denied")
	if r := op.rpc(`<get-config><source><startup/></source></get-config>`); !strings.Contains(r, "<data") {
		t.Fatalf("operator get-config startup: %s", r)
	}
}
