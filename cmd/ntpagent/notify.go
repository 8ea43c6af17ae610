package main

import (
	"log/slog"
	"sync"

	"github.com/ntpagent/ntpagent/agent"
	"github.com/ntpagent/ntpagent/server"
)

// notifier forwards the agent's sync-state-change notifications to the
// NETCONF event stream (RFC 5277), when the NETCONF server offers a way to
// publish an event of another module. The agent's callback may run before
// the server exists; those early events are only logged.
type notifier struct {
	mu  sync.Mutex
	pub func(agent.SyncStateChange)
}

// eventPublisher is the hook we look for on *netconf.Server: publish one
// event element (standalone XML) of namespace ns and local name.
type eventPublisher interface {
	Publish(ns, local string, body []byte)
}

func (n *notifier) bind(srv *server.Server, log *slog.Logger) {
	p, ok := any(srv.NETCONF()).(eventPublisher)
	if !ok {
		log.Warn("the NETCONF server has no hook for custom notifications; sync-state-change is only logged")
		return
	}
	n.mu.Lock()
	n.pub = func(c agent.SyncStateChange) { p.Publish(agent.NamespaceNTP, "sync-state-change", c.XML()) }
	n.mu.Unlock()
}

func (n *notifier) publish(c agent.SyncStateChange) {
	n.mu.Lock()
	pub := n.pub
	n.mu.Unlock()
	if pub != nil {
		pub(c)
	}
}
