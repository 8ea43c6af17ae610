package main

import (
	"sync"

	"github.com/ntpagent/ntpagent/internal/notification"
	"github.com/ntpagent/ntpagent/server/netconf"
)

// notifier forwards the agent's sync-state-change notifications to the
// NETCONF event stream (RFC 5277). The agent starts before the server
// exists; events from before bind are only logged by the agent.
type notifier struct {
	mu sync.Mutex
	nc *netconf.Server
}

func (n *notifier) bind(nc *netconf.Server) {
	n.mu.Lock()
	n.nc = nc
	n.mu.Unlock()
}

// forward publishes every notification of c until c closes (the agent's
// Run returned).
func (n *notifier) forward(c <-chan notification.SyncStateChange) {
	for ev := range c {
		n.mu.Lock()
		nc := n.nc
		n.mu.Unlock()
		if nc != nil {
			nc.PublishSyncStateChange(ev)
		}
	}
}
