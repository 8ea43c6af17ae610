package netconf

import (
	"strings"
	"testing"
)

// TestCancelCommitPersistIDWhitespace: a pretty-printed <persist-id> names the
// same confirmed commit for cancel-commit as it does for commit (RFC 6241
// §8.4.5.1 persist-id is the token, not its surrounding white space).
func TestCancelCommitPersistIDWhitespace(t *testing.T) {
	srv := newTestServer(t)
	cl, _ := startPipeSession(t, srv, 1)
	if err := cl.w.WriteMessage([]byte(helloBase10)); err != nil {
		t.Fatal(err)
	}
	edit := `<edit-config><target><candidate/></target><config><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">` +
		`<unicast-peer><address>10.0.0.9</address><vpn-instance>_public_</vpn-instance></unicast-peer></ntp></config></edit-config>`
	for _, body := range []string{edit, `<commit><confirmed/><persist>tok</persist></commit>`} {
		if r := cl.rpc(body); !strings.Contains(r, "<ok/>") {
			t.Fatalf("%s: %s", body, r)
		}
	}
	if r := cl.rpc("<cancel-commit><persist-id>\n    tok\n  </persist-id></cancel-commit>"); !strings.Contains(r, "<ok/>") {
		t.Fatalf("cancel-commit with an indented persist-id: %s", r)
	}
	if r := cl.rpc(`<get-config><source><running/></source></get-config>`); strings.Contains(r, "10.0.0.9") {
		t.Fatalf("the cancelled commit is still in running: %s", r)
	}
}
