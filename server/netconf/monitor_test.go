package netconf

import (
	"strings"
	"testing"
)

// helloed starts a session over a pipe and sends a base:1.0 client hello.
func helloed(t *testing.T, srv *Server, info SessionInfo) *pipeClient {
	t.Helper()
	c, _ := startPipeSessionInfo(t, srv, info)
	if err := c.w.WriteMessage([]byte(helloBase10)); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitEnd waits until the session's Serve has returned (it publishes
// netconf-session-end before that) and leaves the result for the cleanup.
func (c *pipeClient) waitEnd() {
	err := <-c.done
	c.done <- err
}

// sessionEnd returns the netconf-session-end event of session id from the
// replay buffer, or "".
func sessionEnd(srv *Server, id string) string {
	srv.events.mu.Lock()
	defer srv.events.mu.Unlock()
	for _, ev := range srv.events.buf {
		if ev.local == "netconf-session-end" && strings.Contains(string(ev.body), "<session-id>"+id+"</session-id>") {
			return string(ev.body)
		}
	}
	return ""
}

// The RFC 6022 statistics are exported by Statistics, with per-operation
// counts, and agree with /netconf-state/statistics.
func TestStatistics(t *testing.T) {
	srv := newTestServer(t)
	before := srv.Statistics()
	if before.InSessions != 0 || before.InRPCs != 0 || before.StartTime.IsZero() {
		t.Fatalf("fresh server: %+v", before)
	}
	// A bad hello.
	bad, _ := startPipeSessionInfo(t, srv, SessionInfo{ID: 1, User: "admin"})
	if err := bad.w.WriteMessage([]byte(`<hello><capabilities/></hello>`)); err != nil {
		t.Fatal(err)
	}
	bad.waitEnd()

	c := helloed(t, srv, SessionInfo{ID: 2, User: "admin"})
	c.rpc(`<get-config><source><running/></source></get-config>`)
	c.rpc(`<get-config><source><candidate/></source></get-config>`)
	if r := c.rpc(`<frobnicate/>`); !strings.Contains(r, "operation-not-supported") {
		t.Fatalf("unknown op: %s", r)
	}
	// Not an <rpc> at all: a bad RPC with an rpc-error.
	if err := c.w.WriteMessage([]byte(`<nonsense xmlns="urn:example"/>`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.r.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	c.conn.Close() // dropped, not closed
	c.waitEnd()

	st := srv.Statistics()
	want := map[string][2]uint64{
		"in-bad-hellos":    {st.InBadHellos, 1},
		"in-sessions":      {st.InSessions, 1},
		"dropped-sessions": {st.DroppedSessions, 1},
		"in-rpcs":          {st.InRPCs, 4},
		"in-bad-rpcs":      {st.InBadRPCs, 1},
		"out-rpc-errors":   {st.OutRPCErrors, 2},
	}
	for name, v := range want {
		if v[0] != v[1] {
			t.Errorf("%s = %d, want %d", name, v[0], v[1])
		}
	}
	if st.RPCs["get-config"] != 2 || st.RPCs["other"] != 1 || st.RPCs["get"] != 0 {
		t.Errorf("per-operation counts: %v", st.RPCs)
	}

	// The same numbers in ietf-netconf-monitoring (the <get> is one more RPC).
	d := helloed(t, srv, SessionInfo{ID: 3, User: "admin"})
	r := d.rpc(`<get><filter type="subtree"><netconf-state xmlns="` + NSMonitoring + `"><statistics/></netconf-state></filter></get>`)
	for _, w := range []string{"<in-bad-hellos>1</in-bad-hellos>", "<in-sessions>2</in-sessions>", "<dropped-sessions>1</dropped-sessions>",
		"<in-rpcs>5</in-rpcs>", "<in-bad-rpcs>1</in-bad-rpcs>", "<out-rpc-errors>2</out-rpc-errors>"} {
		if !strings.Contains(r, w) {
			t.Errorf("statistics lack %s: %s", w, r)
		}
	}
	if got := srv.Statistics().RPCs["get"]; got != 1 {
		t.Errorf("get counted %d times", got)
	}
}

// RFC 6470 §2.3 termination-reason: close-session "closed", kill-session
// "killed" with killed-by, the transport's idle timeout "timeout", a
// transport that just went away "dropped".
func TestSessionEndReasons(t *testing.T) {
	srv := newTestServer(t)

	closed := helloed(t, srv, SessionInfo{ID: 11, User: "admin"})
	if r := closed.rpc(`<close-session/>`); !strings.Contains(r, "<ok/>") {
		t.Fatalf("close-session: %s", r)
	}
	closed.waitEnd()

	victim := helloed(t, srv, SessionInfo{ID: 12, User: "admin"})
	victim.rpc(`<get-config><source><running/></source></get-config>`) // registered
	killer := helloed(t, srv, SessionInfo{ID: 13, User: "admin"})
	if r := killer.rpc(`<kill-session><session-id>12</session-id></kill-session>`); !strings.Contains(r, "<ok/>") {
		t.Fatalf("kill-session: %s", r)
	}
	victim.waitEnd()

	idle := helloed(t, srv, SessionInfo{ID: 14, User: "admin", TimedOut: func() bool { return true }})
	idle.rpc(`<get-config><source><running/></source></get-config>`)
	idle.conn.Close() // what the transport does when its idle timer fires
	idle.waitEnd()

	dropped := helloed(t, srv, SessionInfo{ID: 15, User: "admin", TimedOut: func() bool { return false }})
	dropped.rpc(`<get-config><source><running/></source></get-config>`)
	dropped.conn.Close()
	dropped.waitEnd()

	for _, tc := range []struct {
		id, reason string
		killedBy   bool
	}{{"11", "closed", false}, {"12", "killed", true}, {"14", "timeout", false}, {"15", "dropped", false}} {
		ev := sessionEnd(srv, tc.id)
		if !strings.Contains(ev, "<termination-reason>"+tc.reason+"</termination-reason>") {
			t.Errorf("session %s: want %s: %q", tc.id, tc.reason, ev)
		}
		if got := strings.Contains(ev, "<killed-by>13</killed-by>"); got != tc.killedBy {
			t.Errorf("session %s: killed-by present %v: %q", tc.id, got, ev)
		}
	}
	// dropped-sessions counts the timeout and the drop, not close or kill.
	if n := srv.Statistics().DroppedSessions; n != 2 {
		t.Errorf("dropped-sessions = %d, want 2", n)
	}
}

// Subtree filters reach below the children of /ncm:netconf-state
// (RFC 6241 §6), as ncclient sends them.
func TestMonitoringSubtreeFilter(t *testing.T) {
	srv := newTestServer(t)
	a := helloed(t, srv, SessionInfo{ID: 21, User: "alice", SourceHost: "127.0.0.5"})
	b := helloed(t, srv, SessionInfo{ID: 22, User: "bob"})
	b.rpc(`<get-config><source><running/></source></get-config>`)
	get := func(filter string) string {
		t.Helper()
		r := a.rpc(`<get><filter type="subtree">` + filter + `</filter></get>`)
		if strings.Contains(r, "<rpc-error>") {
			t.Fatalf("get %s: %s", filter, r)
		}
		i := strings.Index(r, "<netconf-state")
		j := strings.LastIndex(r, "</netconf-state>")
		if i < 0 || j < 0 {
			return ""
		}
		return r[i : j+len("</netconf-state>")]
	}
	const ncm = `xmlns="` + NSMonitoring + `"`
	for _, tc := range []struct {
		name, filter string
		want, not    []string
	}{
		{"one session by session-id",
			`<netconf-state ` + ncm + `><sessions><session><session-id>22</session-id></session></sessions></netconf-state>`,
			[]string{"<session-id>22</session-id>", "<username>bob</username>", "<in-rpcs>1</in-rpcs>", `<transport xmlns:ncm="` + NSMonitoring + `">ncm:netconf-ssh</transport>`},
			[]string{"<session-id>21</session-id>", "alice", "<schemas>", "<statistics>", "<capabilities>"}},
		{"one leaf of one session",
			`<netconf-state ` + ncm + `><sessions><session><session-id>21</session-id><source-host/></session></sessions></netconf-state>`,
			[]string{"<session><session-id>21</session-id><source-host>127.0.0.5</source-host></session>"},
			[]string{"<username>", "<session-id>22</session-id>", "<login-time>"}},
		{"schema identifiers only",
			`<netconf-state ` + ncm + `><schemas><schema><identifier/></schema></schemas></netconf-state>`,
			[]string{"<schema><identifier>ntpagent-ntp</identifier></schema>"},
			[]string{"<version>", "<namespace>", "<location>", "<sessions>"}},
		{"one schema by identifier",
			`<netconf-state ` + ncm + `><schemas><schema><identifier>ntpagent-ntp</identifier></schema></schemas></netconf-state>`,
			[]string{"<identifier>ntpagent-ntp</identifier><version>", "<location>NETCONF</location>"},
			[]string{"<identifier>ntpagent-system</identifier>"}},
		{"no such session",
			`<netconf-state ` + ncm + `><sessions><session><session-id>99</session-id></session></sessions></netconf-state>`,
			nil, []string{"<session>", "<sessions>", "<netconf-state"}},
		{"two filters unite",
			`<netconf-state ` + ncm + `><sessions><session><session-id>21</session-id><username/></session><session><session-id>22</session-id><login-time/></session></sessions><statistics><in-sessions/></statistics></netconf-state>`,
			[]string{"<session><session-id>21</session-id><username>alice</username></session>", "<session><session-id>22</session-id><login-time>", "<statistics><in-sessions>2</in-sessions></statistics>"},
			[]string{"<username>bob</username>", "<in-rpcs>", "<schemas>"}},
		{"prefixed filter elements",
			`<ncm:netconf-state xmlns:ncm="` + NSMonitoring + `"><ncm:schemas><ncm:schema><ncm:identifier/></ncm:schema></ncm:schemas></ncm:netconf-state>`,
			[]string{"<schema><identifier>ntpagent-system</identifier></schema>"},
			[]string{"<version>", "<sessions>"}},
		{"whole container",
			`<netconf-state ` + ncm + `><datastores/></netconf-state>`,
			[]string{"<datastores><datastore><name>running</name></datastore><datastore><name>candidate</name></datastore><datastore><name>startup</name></datastore></datastores>"},
			[]string{"<sessions>"}},
	} {
		got := get(tc.filter)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: lacks %s:\n%s", tc.name, w, got)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(got, n) {
				t.Errorf("%s: has %s:\n%s", tc.name, n, got)
			}
		}
		if got != "" {
			if _, err := parseMessage([]byte(got), 0); err != nil {
				t.Errorf("%s: output does not parse: %v", tc.name, err)
			}
		}
	}
}
