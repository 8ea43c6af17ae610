package netconf

import (
	"strings"
	"testing"
)

const helloBase10 = `<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>`

// TestEditConfigErrorOption proves RFC 6241 §7.2 error-option end to end: with
// continue-on-error the valid parts of an edit are applied and the invalid
// part is reported; with rollback-on-error (and stop-on-error) nothing is.
func TestEditConfigErrorOption(t *testing.T) {
	// The second peer's minpoll does not parse as a uint8: the codec fails
	// that node only.
	edit := func(option string) string {
		return `<edit-config><target><candidate/></target><error-option>` + option + `</error-option><config>` +
			`<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">` +
			`<unicast-peer><address>10.0.0.1</address><vpn-instance>_public_</vpn-instance></unicast-peer>` +
			`<unicast-peer><address>10.0.0.2</address><vpn-instance>_public_</vpn-instance><minpoll>many</minpoll></unicast-peer>` +
			`</ntp></config></edit-config>`
	}
	for _, c := range []struct {
		option    string
		wantFirst bool
	}{
		{"continue-on-error", true},
		{"rollback-on-error", false},
		{"stop-on-error", false},
	} {
		t.Run(c.option, func(t *testing.T) {
			srv := newTestServer(t)
			cl, _ := startPipeSession(t, srv, 1)
			if err := cl.w.WriteMessage([]byte(helloBase10)); err != nil {
				t.Fatal(err)
			}
			reply := cl.rpc(edit(c.option))
			if !strings.Contains(reply, "<rpc-error>") || !strings.Contains(reply, "minpoll") {
				t.Fatalf("reply has no rpc-error naming minpoll: %s", reply)
			}
			got := cl.rpc(`<get-config><source><candidate/></source></get-config>`)
			if has := strings.Contains(got, "10.0.0.1"); has != c.wantFirst {
				t.Errorf("candidate holds the valid peer: %v, want %v\n%s", has, c.wantFirst, got)
			}
			// The failing node is the minpoll leaf: it never reaches the
			// candidate (continue-on-error applies the edit node by node).
			if strings.Contains(got, "<minpoll>") {
				t.Errorf("the invalid minpoll reached the candidate: %s", got)
			}
			if !c.wantFirst && strings.Contains(got, "10.0.0.2") {
				t.Errorf("part of a failed edit reached the candidate: %s", got)
			}
		})
	}
}
