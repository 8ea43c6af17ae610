package netconf

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/yang"
)

// pipeClient is the client end of a session served over net.Pipe.
type pipeClient struct {
	tb   testing.TB
	conn net.Conn
	r    *FrameReader
	w    *FrameWriter
	next int
	done chan error
}

func newTestServer(tb testing.TB) *Server {
	tb.Helper()
	return newTestServerConfig(tb, Config{})
}

// newTestServerConfig is newTestServer with settings of cfg (its Store and
// Schema are filled in).
func newTestServerConfig(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	st, err := datastore.Open(datastore.Options{Dir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	sch, err := yang.Load()
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Store, cfg.Schema = st, sch
	srv, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close(); st.Close() })
	return srv
}

// startPipeSession serves one session and returns the client end after the
// server hello has been read; the client hello is not sent yet.
func startPipeSession(tb testing.TB, srv *Server, id uint32) (*pipeClient, string) {
	tb.Helper()
	return startPipeSessionInfo(tb, srv, SessionInfo{ID: id, User: "admin"})
}

// startPipeSessionInfo is startPipeSession with a chosen SessionInfo.
func startPipeSessionInfo(tb testing.TB, srv *Server, info SessionInfo) (*pipeClient, string) {
	tb.Helper()
	a, b := net.Pipe()
	c := &pipeClient{tb: tb, conn: a, r: NewFrameReader(a, 0), w: NewFrameWriter(a), done: make(chan error, 1)}
	go func() { c.done <- srv.Serve(context.Background(), b, info) }()
	tb.Cleanup(func() { a.Close(); <-c.done })
	hello, err := c.r.ReadMessage()
	if err != nil {
		tb.Fatal(err)
	}
	return c, string(hello)
}

func (c *pipeClient) rpc(body string) string {
	c.tb.Helper()
	c.next++
	if err := c.w.WriteMessage(fmt.Appendf(nil, `<rpc xmlns="%s" message-id="%d">%s</rpc>`, NSBase, c.next, body)); err != nil {
		c.tb.Fatal(err)
	}
	m, err := c.r.ReadMessage()
	if err != nil {
		c.tb.Fatal(err)
	}
	return string(m)
}

const helloBase11 = `<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability><capability>urn:ietf:params:netconf:base:1.1</capability></capabilities></hello>`

// RFC 6242 §4.1: a client may send its first <rpc>, chunk-framed, in the
// same write as its hello; the server switches framing right after the hello.
func TestFirstRPCInSameWriteAsHello(t *testing.T) {
	srv := newTestServer(t)
	c, hello := startPipeSession(t, srv, 7)
	if !strings.Contains(hello, "<session-id>7</session-id>") {
		t.Fatalf("hello: %s", hello)
	}
	rpc := `<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1"><get-config><source><running/></source></get-config></rpc>`
	if _, err := c.conn.Write(fmt.Appendf(nil, "%s]]>]]>\n#%d\n%s\n##\n", helloBase11, len(rpc), rpc)); err != nil {
		t.Fatal(err)
	}
	c.r.SetChunked()
	c.w.SetChunked()
	m, err := c.r.ReadMessage()
	if err != nil || !strings.Contains(string(m), `message-id="1"><data`) {
		t.Fatalf("reply %q, %v", m, err)
	}
}

// Hello rules (RFC 6241 §8.1): a client hello with a session-id, or without
// a base capability in common, ends the session.
func TestBadClientHello(t *testing.T) {
	srv := newTestServer(t)
	for i, h := range []string{
		`<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities><session-id>4</session-id></hello>`,
		`<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:example:other</capability></capabilities></hello>`,
		`<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1"><get/></rpc>`,
		`<hello><capabilities/></hello>`,
	} {
		c, _ := startPipeSession(t, srv, uint32(10+i))
		if err := c.w.WriteMessage([]byte(h)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.r.ReadMessage(); err == nil {
			t.Errorf("hello %d: session went on", i)
		}
	}
	if n := srv.stats.inBadHellos.Load(); n != 4 {
		t.Errorf("in-bad-hellos = %d, want 4", n)
	}
}

// Events of our modules published by the agent reach subscribers whose
// filter selects them.
func TestPublishCustomEvent(t *testing.T) {
	srv := newTestServer(t)
	c := startChunkedSession(t, srv, 3)
	if r := c.rpc(`<create-subscription xmlns="` + NSNotification + `"><filter><sync-state-change xmlns="urn:ntpagent:yang:ntpagent-ntp"/></filter></create-subscription>`); !strings.Contains(r, "<ok/>") {
		t.Fatal(r)
	}
	srv.Publish("urn:example:other", "noise", []byte(`<noise xmlns="urn:example:other"/>`))
	srv.Publish("urn:ntpagent:yang:ntpagent-ntp", "sync-state-change", []byte(`<sync-state-change xmlns="urn:ntpagent:yang:ntpagent-ntp"><clock-state>synchronized</clock-state></sync-state-change>`))
	m, err := c.r.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(m), `<notification xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><eventTime>`) ||
		!strings.Contains(string(m), "<clock-state>synchronized</clock-state>") {
		t.Fatalf("notification: %s", m)
	}
}

// FuzzRPC sends arbitrary bytes as one framed message to a live session:
// whatever comes in, the answer is one well-formed <rpc-reply> in the base
// namespace (or the session ends for a second hello), and nothing panics.
func FuzzRPC(f *testing.F) {
	for _, s := range []string{
		`<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1"><get-config><source><running/></source></get-config></rpc>`,
		`<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="2"><edit-config><target><candidate/></target><config><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><unicast-peer><address>10.0.0.1</address><vpn-instance>_public_</vpn-instance></unicast-peer></ntp></config></edit-config></rpc>`,
		`<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="3"><get><filter type="xpath" select="/*"/></get></rpc>`,
		`<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="4"><commit><confirmed/><confirm-timeout>0</confirm-timeout></commit></rpc>`,
		`<rpc message-id="5"><lock><target><candidate/></target></lock></rpc>`,
		`<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"/>`,
		`<notrpc/>`, `<<<`,
	} {
		f.Add([]byte(s))
	}
	srv := newTestServer(f)
	c, _ := startPipeSession(f, srv, 1)
	if err := c.w.WriteMessage([]byte(helloBase11)); err != nil {
		f.Fatal(err)
	}
	c.r.SetChunked()
	c.w.SetChunked()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return // not a message in chunked framing
		}
		if el, err := parseMessage(data, 0); err == nil && el.Name.Local == "hello" ||
			bytes.Contains(data, []byte("close-session")) || bytes.Contains(data, []byte("kill-session")) ||
			bytes.Contains(data, []byte("create-subscription")) {
			return // these legitimately end sessions or add notifications between replies
		}
		if err := c.w.WriteMessage(data); err != nil {
			t.Fatal(err)
		}
		m, err := c.r.ReadMessage()
		if err != nil {
			t.Fatalf("session ended on %q: %v", data, err)
		}
		el, err := parseMessage(m, 0)
		if err != nil || el.Name.Space != NSBase || el.Name.Local != "rpc-reply" {
			t.Fatalf("reply to %q is not an rpc-reply: %s", data, m)
		}
	})
}

// The client hello is bounded well below the ordinary message limit: a
// well-formed 1.5 MiB hello ends the session.
func TestOversizedClientHello(t *testing.T) {
	srv := newTestServer(t)
	c, _ := startPipeSession(t, srv, 30)
	hello := `<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities><!--` +
		strings.Repeat("p", 3<<19) + `--></hello>`
	go func() {
		c.w.WriteMessage([]byte(hello))
		c.w.WriteMessage([]byte(`<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1"><get/></rpc>`))
	}()
	if m, err := c.r.ReadMessage(); err == nil {
		t.Fatalf("session went on after an oversized hello: %.200s", m)
	}
}

// A panic reachable from client XML (here: in the state provider of <get>)
// is answered with operation-failed and ends that session only.
func TestPanicInOperationEndsOnlyThatSession(t *testing.T) {
	st, err := datastore.Open(datastore.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	sch, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Store: st, Schema: sch, State: func(*gen.Device) { panic("state provider bug") }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); st.Close() })
	hello := `<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>`
	c, _ := startPipeSession(t, srv, 40)
	if err := c.w.WriteMessage([]byte(hello)); err != nil {
		t.Fatal(err)
	}
	wantLock := c.rpc(`<lock><target><candidate/></target></lock>`)
	if !strings.Contains(wantLock, "<ok/>") {
		t.Fatalf("lock: %s", wantLock)
	}
	if m := c.rpc(`<get/>`); !strings.Contains(m, "<error-tag>operation-failed</error-tag>") {
		t.Fatalf("get: %s", m)
	}
	if m, err := c.r.ReadMessage(); err == nil {
		t.Fatalf("session went on after a panic: %s", m)
	}
	// The server still serves others, and the lock of the ended session is gone.
	other, _ := startPipeSession(t, srv, 41)
	if err := other.w.WriteMessage([]byte(hello)); err != nil {
		t.Fatal(err)
	}
	// The ended session's locks are released just after its transport
	// closes: retry.
	testtool.WaitFor(t, 10*time.Second, "the lock after the panic", func() bool {
		return strings.Contains(other.rpc(`<lock><target><candidate/></target></lock>`), "<ok/>")
	})
}

// A client that logs in and never sends its hello is dropped after
// HelloTimeout instead of holding a session slot until the idle timeout.
func TestClientHelloTimeout(t *testing.T) {
	st, err := datastore.Open(datastore.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	sch, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Store: st, Schema: sch, HelloTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); st.Close() })
	c, _ := startPipeSession(t, srv, 50)
	// Read returns once the server closes the session (the pipe has no
	// deadline, so without the hello timeout this blocks until the test's
	// own timeout).
	if m, err := c.r.ReadMessage(); err == nil {
		t.Fatalf("session sent %s instead of closing", m)
	}
	testtool.WaitFor(t, 10*time.Second, "in-bad-hellos = 1", func() bool { return srv.stats.inBadHellos.Load() == 1 })
}

// RFC 5277 §2.1.1, §2.2.1: a replay larger than the live queue (256) is sent
// in full, then replayComplete, then notificationComplete at stopTime.
func TestReplayLargerThanQueueIsComplete(t *testing.T) {
	srv := newTestServer(t)
	const n = 600
	for i := 0; i < n; i++ {
		srv.Publish("urn:example:replay", "tick", fmt.Appendf(nil, `<tick xmlns="urn:example:replay"><n>%d</n></tick>`, i))
	}
	stop := time.Now().Format(time.RFC3339Nano)
	c := startChunkedSession(t, srv, 60)
	if r := c.rpc(`<create-subscription xmlns="` + NSNotification + `"><filter><tick xmlns="urn:example:replay"/></filter>` +
		`<startTime>2000-01-01T00:00:00Z</startTime><stopTime>` + stop + `</stopTime></create-subscription>`); !strings.Contains(r, "<ok/>") {
		t.Fatal(r)
	}
	// Bound the wait: a lost event would otherwise block the read forever.
	if err := c.conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		m, err := c.r.ReadMessage()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if want := fmt.Sprintf("<n>%d</n>", i); !strings.Contains(string(m), want) {
			t.Fatalf("event %d: %s", i, m)
		}
	}
	for _, want := range []string{"<replayComplete", "<notificationComplete"} {
		m, err := c.r.ReadMessage()
		if err != nil || !strings.Contains(string(m), want) {
			t.Fatalf("want %s, got %s %v", want, m, err)
		}
	}
	// The finished subscription frees the session for a new one.
	if r := c.rpc(`<create-subscription xmlns="` + NSNotification + `"/>`); !strings.Contains(r, "<ok/>") {
		t.Fatal(r)
	}
}
