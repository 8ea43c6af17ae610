package netconf

import (
	"strings"
	"testing"
)

// An error about a parameter of an operation, which the datastore reports
// by the parameter's name only, is rendered with the error-path of that
// parameter and the namespaces its prefixes need (RFC 6241 Appendix A).
func TestParameterErrorCarriesItsErrorPath(t *testing.T) {
	srv := newTestServer(t)
	cl, _ := startPipeSession(t, srv, 1)
	if err := cl.w.WriteMessage([]byte(helloBase10)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, rpc, path string }{
		{"RFC6241-8.4.5.1 persist-id of no pending commit", `<commit><persist-id>none</persist-id></commit>`,
			`<error-path xmlns:nc="` + NSBase + `">/nc:rpc/nc:commit/nc:persist-id</error-path>`},
		{"rollback-to-commit of a commit not in the history", `<rollback-to-commit xmlns="` + NSSystem + `"><commit-id>99</commit-id></rollback-to-commit>`,
			`<error-path xmlns:ntps="` + NSSystem + `">/ntps:rollback-to-commit/ntps:commit-id</error-path>`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := cl.rpc(c.rpc)
			if !strings.Contains(r, "<error-tag>invalid-value</error-tag>") || !strings.Contains(r, c.path) {
				t.Errorf("reply %s; want invalid-value with %s", r, c.path)
			}
		})
	}
}
