package netconf

import (
	"sync/atomic"
	"time"
)

// Statistics are the server-wide counters of ietf-netconf-monitoring
// (RFC 6022 §2.1.5, /netconf-state/statistics), plus RPCs per operation.
// Every counter counts from StartTime and never goes down.
type Statistics struct {
	StartTime        time.Time // netconf-start-time
	InBadHellos      uint64    // sessions refused for a bad or missing client <hello>
	InSessions       uint64    // sessions started (a valid hello was received)
	DroppedSessions  uint64    // sessions that ended without close-session or kill-session
	InRPCs           uint64    // messages received after the hello, well-formed or not
	InBadRPCs        uint64    // of those, messages that were not a valid <rpc>
	OutRPCErrors     uint64    // <rpc-error> elements sent
	OutNotifications uint64    // <notification> messages sent
	// RPCs counts valid <rpc>s by operation: the operations this server
	// knows by name, anything else under "other" (so the set is bounded).
	RPCs map[string]uint64
}

// countedOps are the operations counted by name in Statistics.RPCs.
var countedOps = [...]string{
	"get", "get-config", "edit-config", "copy-config", "delete-config", "lock", "unlock",
	"close-session", "kill-session", "commit", "cancel-commit", "discard-changes", "validate",
	"get-schema", "create-subscription", "rollback-to-commit", "other",
}

// opCounters counts RPCs per operation; indexes follow countedOps.
type opCounters [len(countedOps)]atomic.Uint64

func (c *opCounters) add(op string) {
	for i, name := range countedOps {
		if name == op {
			c[i].Add(1)
			return
		}
	}
	c[len(countedOps)-1].Add(1)
}

// Statistics returns the current counters. It is cheap (atomic loads) and
// safe to call from any goroutine, e.g. at each Prometheus scrape.
func (s *Server) Statistics() Statistics {
	st := &s.stats
	out := Statistics{
		StartTime:        s.start,
		InBadHellos:      st.inBadHellos.Load(),
		InSessions:       st.inSessions.Load(),
		DroppedSessions:  st.droppedSessions.Load(),
		InRPCs:           st.inRPCs.Load(),
		InBadRPCs:        st.inBadRPCs.Load(),
		OutRPCErrors:     st.outRPCErrors.Load(),
		OutNotifications: st.outNotifies.Load(),
		RPCs:             make(map[string]uint64, len(countedOps)),
	}
	for i, name := range countedOps {
		out.RPCs[name] = st.ops[i].Load()
	}
	return out
}
