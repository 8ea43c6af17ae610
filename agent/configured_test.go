package agent

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/datastore"
)

// TestConfiguredWaitsForTheRunningConfiguration: Configured returns once
// the configuration running held when Run started is in the engine (read
// here under the engine's lock, not through Run), and false for an agent
// that does not run.
func TestConfiguredWaitsForTheRunningConfiguration(t *testing.T) {
	st, err := datastore.Open(datastore.Options{Dir: t.TempDir(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// Committed before the agent exists: Run applies it at its start.
	(&storeAgent{store: st}).commit(t, config(false, nil,
		peer{address: "127.0.0.2", minpoll: 6, maxpoll: 10}, peer{address: "127.0.0.3", minpoll: 6, maxpoll: 10}))

	idle, err := New(Options{Store: st, Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idle.tr.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if idle.Configured(ctx) {
		t.Error("Configured is true for an agent whose Run never started")
	}

	ta := startAgent(t, Options{Store: st})
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !ta.Configured(ctx) {
		t.Fatal("Configured is false for a running agent")
	}
	ta.engMu.Lock()
	n := len(ta.eng.Associations(ta.ntpClock.Now()))
	ta.engMu.Unlock()
	if n != 2 {
		t.Errorf("engine has %d associations when Configured returns, want the 2 of running", n)
	}

	ta.cancel()
	<-ta.Agent.stop
	if ta.Configured(context.Background()) {
		t.Error("Configured is true for an agent that stopped")
	}
}
