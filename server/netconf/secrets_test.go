package netconf

import (
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/datastore/rules"
)

// helloSession starts a session with info and sends a base:1.0 hello.
func helloSession(t *testing.T, srv *Server, info SessionInfo) *pipeClient {
	t.Helper()
	c, _ := startPipeSessionInfo(t, srv, info)
	if err := c.w.WriteMessage([]byte(helloBase10)); err != nil {
		t.Fatal(err)
	}
	return c
}

// Key material is write-only for users without the right to read it (the
// operator role; RFC 8341's default-deny-all once access control exists):
// every read leaves the key values out (RFC 8341 §3.4.5), whatever the
// filter, while the admin reads their cipher form.
func TestOperatorReadsNoKeyValue(t *testing.T) {
	srv := newTestServer(t)
	admin := helloSession(t, srv, SessionInfo{ID: 1, User: "admin"})
	const key = `<ntp xmlns="` + ntpNS + `"><authentication><key><key-id>5</key-id><mode>md5</mode><key-value>Operator-Must-Not-See</key-value></key></authentication></ntp>`
	for _, rpc := range []string{
		`<edit-config><target><candidate/></target><config>` + key + `</config></edit-config>`,
		`<commit/>`,
		`<edit-config><target><candidate/></target><config>` + key + `</config></edit-config>`,
	} {
		if r := admin.rpc(rpc); !strings.Contains(r, "<ok/>") {
			t.Fatalf("%s: %s", rpc, r)
		}
	}
	running, _ := srv.cfg.Store.Shared(datastore.Running)
	sealed := running.GetNtp().GetAuthentication().GetKey(5).GetKeyValue()
	if !rules.IsCipher(sealed) {
		t.Fatalf("stored key value %q", sealed)
	}
	reads := []struct{ name, rpc string }{
		{"get-config running", `<get-config><source><running/></source></get-config>`},
		{"get-config candidate", `<get-config><source><candidate/></source></get-config>`},
		{"get-config report-all (RFC 6243)", `<get-config><source><running/></source><with-defaults xmlns="` + NSWithDefaults + `">report-all</with-defaults></get-config>`},
		{"get", `<get/>`},
		{"get-config subtree selection (RFC 6241 §6.2.4)", `<get-config><source><running/></source><filter type="subtree"><ntp xmlns="` + ntpNS + `"><authentication><key><key-value/></key></authentication></ntp></filter></get-config>`},
		{"get subtree content match on the value (RFC 6241 §6.2.5)", `<get><filter type="subtree"><ntp xmlns="` + ntpNS + `"><authentication><key><key-value>` + sealed + `</key-value></key></authentication></ntp></filter></get>`},
		{"get-config xpath (RFC 6241 §8.9)", `<get-config><source><running/></source><filter type="xpath" select="/ntpa:ntp/ntpa:authentication/ntpa:key/ntpa:key-value"/></get-config>`},
		{"get xpath predicate on the value", `<get><filter type="xpath" select="/ntpa:ntp/ntpa:authentication/ntpa:key[ntpa:key-value='` + sealed + `']"/></get>`},
		{"get-data running (RFC 8526)", wrapGetData("running", "")},
		{"get-data candidate (RFC 8526)", wrapGetData("candidate", "")},
		{"get-data operational with origin (RFC 8526)", wrapGetData("operational", "<with-origin/>")},
		{"get-data intended xpath-filter (RFC 8526)", wrapGetData("intended", `<xpath-filter xmlns:ntpa="`+ntpNS+`">/ntpa:ntp/ntpa:authentication/ntpa:key/ntpa:key-value</xpath-filter>`)},
	}
	// The operator's replies come both before and after the admin's, so a
	// cached reply of either cannot serve the other.
	operator := helloSession(t, srv, SessionInfo{ID: 2, User: "oper", ReadOnly: true})
	for _, r := range reads {
		t.Run(r.name, func(t *testing.T) {
			got := operator.rpc(r.rpc)
			if strings.Contains(got, "<rpc-error>") {
				t.Fatalf("operator: %s", got)
			}
			if strings.Contains(got, sealed) || strings.Contains(got, "key-value") || strings.Contains(got, "Operator-Must-Not-See") {
				t.Errorf("operator reads the key:\n%s", got)
			}
			if strings.Contains(r.name, "get-config running") && !strings.Contains(got, "<key-id>5</key-id>") {
				t.Errorf("operator does not see that key 5 exists:\n%s", got)
			}
			if r.name != "get xpath predicate on the value" && r.name != "get subtree content match on the value (RFC 6241 §6.2.5)" {
				if a := admin.rpc(r.rpc); !strings.Contains(a, "<key-value>"+sealed+"</key-value>") {
					t.Errorf("admin does not read the cipher form:\n%s", a)
				}
			}
			if again := operator.rpc(r.rpc); strings.Contains(again, sealed) || strings.Contains(again, "key-value") {
				t.Errorf("operator reads the key after the admin:\n%s", again)
			}
		})
	}
}

// A cipher text made by another device is refused with an error asking for
// the plain key.
func TestEditWithAnotherDevicesCipherTextIsRefused(t *testing.T) {
	srv := newTestServer(t)
	admin := helloSession(t, srv, SessionInfo{ID: 1, User: "admin"})
	other, err := rules.NewKeyCipher([]byte("another device's 32-byte secret!"))
	if err != nil {
		t.Fatal(err)
	}
	r := admin.rpc(`<edit-config><target><candidate/></target><config><ntp xmlns="` + ntpNS + `"><authentication><key><key-id>5</key-id><mode>md5</mode><key-value>` +
		other.Seal("secret") + `</key-value></key></authentication></ntp></config></edit-config>`)
	if !strings.Contains(r, "<error-tag>invalid-value</error-tag>") || !strings.Contains(r, "not made by this device") || !strings.Contains(r, "give the key in plain text") {
		t.Fatalf("reply: %s", r)
	}
}
