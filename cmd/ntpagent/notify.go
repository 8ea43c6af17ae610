package main

import (
	"sync"

	"github.com/ntpagent/ntpagent/agent"
	"github.com/ntpagent/ntpagent/server/netconf"
)

// notifier forwards the agent's sync-state-change notifications to the
// NETCONF event stream (RFC 5277). The agent's callback may run before the
// server exists; such early events are only logged by the agent.
type notifier struct {
	mu sync.Mutex
	nc *netconf.Server
}

func (n *notifier) bind(nc *netconf.Server) {
	n.mu.Lock()
	n.nc = nc
	n.mu.Unlock()
}

func (n *notifier) publish(c agent.SyncStateChange) {
	n.mu.Lock()
	nc := n.nc
	n.mu.Unlock()
	if nc != nil {
		nc.Publish(agent.NamespaceNTP, "sync-state-change", c.XML())
	}
}
