package netconf

import (
	"fmt"
	"strings"
	"testing"
)

// benchNacm is /nacm with a 20-rule rule-list for group bench:
// operation, notification and data rules, five with key predicates on
// peers that are not configured (every peer is judged, none hidden).
func benchNacm() string {
	var b strings.Builder
	b.WriteString(`<nacm xmlns="` + nsACM + `"><groups><group><name>bench</name><user-name>bench</user-name></group></groups>` + adminRuleList + `<rule-list><name>bench</name><group>bench</group>`)
	for i, rpc := range []string{"edit-config", "copy-config", "delete-config", "commit", "discard-changes"} {
		fmt.Fprintf(&b, `<rule><name>r%02d</name><module-name>ietf-netconf</module-name><rpc-name>%s</rpc-name><access-operations>exec</access-operations><action>deny</action></rule>`, i, rpc)
	}
	for i, n := range []string{"netconf-config-change", "netconf-session-start", "netconf-session-end", "netconf-confirmed-commit", "sync-state-change"} {
		fmt.Fprintf(&b, `<rule><name>r%02d</name><notification-name>%s</notification-name><access-operations>read</access-operations><action>permit</action></rule>`, 5+i, n)
	}
	for i := range 5 {
		fmt.Fprintf(&b, `<rule><name>r%02d</name><module-name>ntpagent-ntp</module-name><path xmlns:ntpa="%s">/ntpa:ntp/ntpa:unicast-peer[ntpa:address='198.51.100.%d']</path><access-operations>read</access-operations><action>deny</action></rule>`, 10+i, nsNtp, i+1)
	}
	for i, p := range []string{"/ntpa:ntp/ntpa:authentication", "/ntpa:ntp/ntpa:unicast-server", "/ntpa:ntp/ntpa:source-interface", "/ntps:system/ntps:local-user", "/ntpa:ntp/ntpa:unicast-peer"} {
		fmt.Fprintf(&b, `<rule><name>r%02d</name><path xmlns:ntpa="%s" xmlns:ntps="%s">%s</path><access-operations>create update delete</access-operations><action>deny</action></rule>`, 15+i, nsNtp, nsSys, p)
	}
	b.WriteString(`</rule-list></nacm>`)
	return b.String()
}

// benchNacmSessions is a server with 1,000 peers and benchNacm in running,
// a session of the recovery user (not restricted) and one of user bench.
func benchNacmSessions(b *testing.B) (open, restricted *pipeClient) {
	srv := newTestServer(b)
	open = helloed11(b, srv, SessionInfo{ID: 10, User: "root", Recovery: true})
	var cfg strings.Builder
	cfg.WriteString(`<edit-config><target><running/></target><config>` + benchNacm() + `<ntp xmlns="` + nsNtp + `">`)
	for i := range 1000 {
		fmt.Fprintf(&cfg, `<unicast-peer><address>10.0.%d.%d</address><vpn-instance>_public_</vpn-instance><minpoll>4</minpoll><maxpoll>8</maxpoll></unicast-peer>`, i/250, i%250+1)
	}
	cfg.WriteString(`</ntp></config></edit-config>`)
	if r := open.rpc(cfg.String()); !strings.Contains(r, "<ok/>") {
		b.Fatal(r)
	}
	restricted = helloed11(b, srv, SessionInfo{ID: 11, User: "bench", Groups: []string{}})
	return open, restricted
}

// helloed11 starts a session with base:1.1 framing.
func helloed11(tb testing.TB, srv *Server, info SessionInfo) *pipeClient {
	c, _ := startPipeSessionInfo(tb, srv, info)
	if err := c.w.WriteMessage([]byte(helloBase11)); err != nil {
		tb.Fatal(err)
	}
	c.r.SetChunked()
	c.w.SetChunked()
	return c
}

const benchGetConfig = `<get-config><source><running/></source><filter type="subtree"><ntp xmlns="` + nsNtp + `"/></filter></get-config>`

// RFC 8341: get-config of 1,000 peers by a user a 20-rule rule-list
// governs, against the same by a user access control does not restrict
// (cmd/ntpagent-bench has the same row over SSH; goal ≤ 1.1×).
func BenchmarkGetConfig1000PeersNacm(b *testing.B) {
	open, restricted := benchNacmSessions(b)
	for _, c := range []struct {
		name string
		s    *pipeClient
	}{{"unrestricted", open}, {"rule-list-20", restricted}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if r := c.s.rpc(benchGetConfig); !strings.Contains(r, "10.0.3.250") {
					b.Fatal(r[:300])
				}
			}
		})
	}
}
