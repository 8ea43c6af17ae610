package netconf

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// publishEvents publishes n events <name><n>i</n></name> of a test module.
func publishEvents(srv *Server, name string, from, n int) {
	for i := from; i < from+n; i++ {
		srv.Publish("urn:example:ev", name, fmt.Appendf(nil, `<%s xmlns="urn:example:ev"><n>%d</n></%s>`, name, i, name))
	}
}

// A subscriber that stops reading would miss events without knowing (RFC
// 5277 cannot say so): once subscriberQueue events wait for it, its session
// ends, reported as termination-reason "other" (RFC 6470) and counted in
// dropped-sessions (RFC 6022). A subscriber that keeps up gets every event.
func TestSubscriberThatFallsBehindLosesItsSession(t *testing.T) {
	srv := newTestServer(t)

	// Keeps up: as many events as the queue holds, all delivered in order.
	ok := helloed(t, srv, SessionInfo{ID: 41, User: "admin"})
	if r := ok.rpc(`<create-subscription xmlns="` + NSNotification + `"><filter><tock xmlns="urn:example:ev"/></filter></create-subscription>`); !strings.Contains(r, "<ok/>") {
		t.Fatal(r)
	}
	publishEvents(srv, "tock", 0, subscriberQueue)
	for i := range subscriberQueue {
		m, err := ok.r.ReadMessage()
		if err != nil || !strings.Contains(string(m), fmt.Sprintf("<n>%d</n>", i)) {
			t.Fatalf("event %d: %s, %v", i, m, err)
		}
	}

	// Stops reading: its writer blocks on the pipe with one event, the
	// queue fills, and the next event ends the session.
	slow := helloed(t, srv, SessionInfo{ID: 42, User: "admin"})
	if r := slow.rpc(`<create-subscription xmlns="` + NSNotification + `"><filter><tick xmlns="urn:example:ev"/></filter></create-subscription>`); !strings.Contains(r, "<ok/>") {
		t.Fatal(r)
	}
	publishEvents(srv, "tick", 0, subscriberQueue+2)
	select {
	case err := <-slow.done:
		slow.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("the session of the subscriber that fell behind did not end")
	}
	if end := sessionEnd(srv, "42"); !strings.Contains(end, "<termination-reason>other</termination-reason>") {
		t.Fatalf("netconf-session-end: %q", end)
	}
	if n := srv.stats.droppedSessions.Load(); n != 1 {
		t.Errorf("dropped-sessions = %d, want 1", n)
	}
	// The subscriber that kept up still has its session.
	publishEvents(srv, "tock", 7000, 1)
	if m, err := ok.r.ReadMessage(); err != nil || !strings.Contains(string(m), "<n>7000</n>") {
		t.Fatalf("after the other session ended: %s, %v", m, err)
	}
}
