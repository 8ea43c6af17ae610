package netconf

import (
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/internal/notification"
)

// sync-state-change carries the leaves ntpagent-ntp declares, in their
// order; unsync-reason only while unsynchronized, the peers only when there
// are some, and text escaped as XML character data.
func TestSyncStateChangeRendersTheModulesLeaves(t *testing.T) {
	const ns = "urn:ntpagent:yang:ntpagent-ntp"
	for _, c := range []struct {
		name string
		n    notification.SyncStateChange
		want string
	}{
		{"synchronized to a peer", notification.SyncStateChange{Synchronized: true, SystemPeer: "127.0.0.1", Stratum: 6},
			`<sync-state-change xmlns="urn:ntpagent:yang:ntpagent-ntp"><clock-state>synchronized</clock-state><system-peer>127.0.0.1</system-peer><stratum>6</stratum></sync-state-change>`},
		{"unsynchronized, with the reason and the lost peer", notification.SyncStateChange{PreviousSystemPeer: "127.0.0.1", Stratum: 16, UnsyncReason: "no-sources"},
			`<sync-state-change xmlns="urn:ntpagent:yang:ntpagent-ntp"><clock-state>unsynchronized</clock-state><unsync-reason>no-sources</unsync-reason><previous-system-peer>127.0.0.1</previous-system-peer><stratum>16</stratum></sync-state-change>`},
		{"a reason while synchronized is not rendered", notification.SyncStateChange{Synchronized: true, SystemPeer: "a&b", Stratum: 2, UnsyncReason: "acquiring"},
			`<sync-state-change xmlns="urn:ntpagent:yang:ntpagent-ntp"><clock-state>synchronized</clock-state><system-peer>a&amp;b</system-peer><stratum>2</stratum></sync-state-change>`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := string(syncStateChangeXML(ns, c.n)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// RFC 5277 §2.1.1: a subscription whose filter selects ntpagent-ntp's
// sync-state-change receives it in the module's namespace.
func TestSyncStateChangeReachesASubscriber(t *testing.T) {
	srv := newTestServer(t)
	c := helloed(t, srv, SessionInfo{ID: 43, User: "admin"})
	if r := c.rpc(`<create-subscription xmlns="` + NSNotification + `"><filter><sync-state-change xmlns="urn:ntpagent:yang:ntpagent-ntp"/></filter></create-subscription>`); !strings.Contains(r, "<ok/>") {
		t.Fatal(r)
	}
	srv.PublishSyncStateChange(notification.SyncStateChange{Synchronized: true, SystemPeer: "192.0.2.1", Stratum: 3})
	m, err := c.r.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	want := `<sync-state-change xmlns="urn:ntpagent:yang:ntpagent-ntp"><clock-state>synchronized</clock-state><system-peer>192.0.2.1</system-peer><stratum>3</stratum></sync-state-change>`
	if !strings.Contains(string(m), "<notification") || !strings.Contains(string(m), want) {
		t.Fatalf("got %s\nwant a notification with %s", m, want)
	}
}
