package netconf_test

import (
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/internal/nctest"
)

// A broken frame ends that session only; the other sessions and the server
// go on (RFC 6242 §4.2).
func TestBrokenFramingEndsOnlyThatSession(t *testing.T) {
	a := newFixture(t)
	bystander := a.admin(t, true)
	nctest.WantOK(t, bystander.RPC(`<lock><target><running/></target></lock>`))
	for _, tc := range []struct{ name, raw string }{
		{"RFC6242 4.2 chunk-size 0", "\n#0\n\n##\n"},
		{"RFC6242 4.2 chunk-size over 4294967295", "\n#4294967296\n<rpc/>\n##\n"},
		{"RFC6242 4.2 bytes after ##", "\n#7\n<rpc a>\n##\ngarbage"},
		{"RFC6242 4.2 no chunk header", "<rpc message-id=\"1\"><get/></rpc>]]>]]>"},
		{"truncated chunk", "\n#100\n<rpc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := a.admin(t, true)
			c.Raw(tc.raw)
			if tc.name == "truncated chunk" {
				c.Stdin.Close() // EOF inside the chunk
			}
			// At most one reply (to a whole frame before the breakage), then the end.
			for i := 0; ; i++ {
				if _, err := c.R.ReadMessage(); err != nil {
					break
				}
				if i == 1 {
					t.Fatal("session survived a framing error")
				}
			}
		})
	}
	r := bystander.RPC(`<get-config><source><running/></source></get-config>`)
	if !strings.Contains(r, "<data") {
		t.Fatalf("bystander: %s", r)
	}
	nctest.WantOK(t, bystander.RPC(`<unlock><target><running/></target></unlock>`))
}

// Malformed XML inside intact framing gets malformed-message and the session lives.
func TestMalformedXMLKeepsSession(t *testing.T) {
	a := newFixture(t)
	c := a.admin(t, false)
	bomb := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><rpc message-id="1" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><get>&lol3;</get></rpc>`
	deep := `<rpc message-id="2" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">` + strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000) + `</rpc>`
	for name, msg := range map[string]string{
		"entity expansion":      bomb,
		"10,000-deep nesting":   deep,
		"not XML":               `this is not xml`,
		"unclosed":              `<rpc message-id="3" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><get>`,
		"external entity (XXE)": `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rpc message-id="4" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><get>&x;</get></rpc>`,
	} {
		if err := c.W.WriteMessage([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		r := c.Read()
		if !strings.Contains(r, "<error-tag>malformed-message</error-tag>") || strings.Contains(r, "root:") {
			t.Fatalf("%s: %s", name, r)
		}
	}
	nctest.WantOK(t, c.RPC(`<lock><target><candidate/></target></lock>`))
}

func TestRPCErrors(t *testing.T) {
	a := newFixture(t)
	c := a.admin(t, true)
	for _, tc := range []struct{ name, body, tag string }{
		{"RFC6241 4.3 unknown operation", `<frobnicate/>`, "operation-not-supported"},
		{"unknown operation namespace", `<get xmlns="urn:example:other"/>`, "operation-not-supported"},
		{"RFC6241 A unknown-namespace in config", `<edit-config><target><candidate/></target><config><x xmlns="urn:example:unknown"/></config></edit-config>`, "unknown-namespace"},
		{"missing target", `<edit-config><config/></edit-config>`, "missing-element"},
		{"RFC6241 8.7.1 startup is no edit-config target", `<edit-config><target><startup/></target><config/></edit-config>`, "operation-not-supported"},
		{"bad with-defaults", `<get-config><source><running/></source><with-defaults xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults">everything</with-defaults></get-config>`, "invalid-value"},
		{"RFC6241 7.9 kill own session", `<kill-session><session-id>` + c.SessionID + `</session-id></kill-session>`, "invalid-value"},
		{"get-schema unknown module", `<get-schema xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"><identifier>nope</identifier></get-schema>`, "invalid-value"},
		{"RFC5277 unknown stream", `<create-subscription xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><stream>OTHER</stream></create-subscription>`, "invalid-value"},
		{"rollback to unknown commit", `<rollback-to-commit xmlns="urn:ntpagent:yang:ntpagent-system"><commit-id>999</commit-id></rollback-to-commit>`, ""},
		{"delete running refused", `<delete-config><target><running/></target></delete-config>`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.RPC(tc.body)
			if !strings.Contains(r, "<rpc-error>") {
				t.Fatalf("no rpc-error: %s", r)
			}
			if tc.tag != "" {
				nctest.WantErrorTag(t, r, tc.tag)
			}
			if !strings.Contains(r, `message-id="`) {
				t.Fatalf("reply lost message-id: %s", r)
			}
		})
	}
	// A missing message-id is missing-attribute (RFC 6241 §4.1).
	if err := c.W.WriteMessage([]byte(`<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><get/></rpc>`)); err != nil {
		t.Fatal(err)
	}
	nctest.WantErrorTag(t, c.Read(), "missing-attribute")
	nctest.WantOK(t, c.RPC(`<discard-changes/>`))
}
