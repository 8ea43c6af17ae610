package netconf

import (
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
)

// RFC 5277 §3.2.2 replay keeps past events: a netconf-config-change kept
// there holds what rendering it again needs (its edits, who made them),
// not the copies of the old and new configuration the datastore's change
// carried, which would keep two whole configurations per kept event.
func TestReplayBufferKeepsNoConfigurationTrees(t *testing.T) {
	srv := newTestServer(t)
	sess := datastore.Session{ID: 7, User: "admin", Origin: datastore.OriginNETCONF}
	for _, name := range []string{"a", "b"} {
		if err := srv.cfg.Store.Edit(sess, datastore.Running, datastore.EditOptions{}, func(r *gen.Device) error {
			r.GetOrCreateSystem().Sysname = &name
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	var kept []event
	testtool.WaitFor(t, 10*time.Second, "two netconf-config-change events in the replay buffer", func() bool {
		srv.events.mu.Lock()
		defer srv.events.mu.Unlock()
		kept = kept[:0]
		for _, ev := range srv.events.buf {
			if ev.local == "netconf-config-change" {
				kept = append(kept, ev)
			}
		}
		return len(kept) == 2
	})
	for _, ev := range kept {
		if ev.change == nil || ev.change.Old != nil || ev.change.New != nil {
			t.Fatalf("replayed change keeps trees: %+v", ev.change)
		}
		if len(ev.change.Edits) == 0 || ev.change.Commit.User != "admin" {
			t.Errorf("replayed change lost what it renders: %+v", ev.change)
		}
		if got := string(srv.renderConfigChange(*ev.change, nil)); got != string(ev.body) {
			t.Errorf("rendered again:\n%s\nfirst:\n%s", got, ev.body)
		}
	}
}
