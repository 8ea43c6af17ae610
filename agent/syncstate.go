package agent

import "github.com/ntpagent/ntpagent/internal/notification"

// syncView is the sync state last reported in a sync-state-change.
type syncView struct {
	synced  bool
	peer    string // display name
	stratum uint8
}

// notificationQueue bounds the sync-state-change notifications waiting to
// be read from Notifications.
const notificationQueue = 64

// Notifications delivers the sync-state-change notifications, the one way
// they leave the agent. The queue is bounded: when nobody reads, the oldest
// are dropped, never the loop blocked. The channel closes when Run returns.
func (a *Agent) Notifications() <-chan notification.SyncStateChange { return a.notes }

// checkSync compares the sync state with the last one seen and reports a
// change (RFC 5277 notification sync-state-change).
func (a *Agent) checkSync() {
	a.engMu.Lock()
	st := a.eng.Status(a.ntpClock.Now())
	a.engMu.Unlock()
	v := syncView{synced: st.Synchronized, stratum: st.Stratum}
	if st.Synchronized && st.SystemPeer != "" {
		v.peer = a.displayName(st.SystemPeer)
	}
	// A new reason while unsynchronized is not a notification of its own
	// (it changes on the way to synchronization: unreachable, acquiring);
	// /ntp/status/unsync-reason always has the current one.
	if v.synced == a.sync.synced && v.peer == a.sync.peer {
		a.sync.stratum = v.stratum
		return
	}
	n := notification.SyncStateChange{
		Time: a.ntpClock.Now(), Synchronized: v.synced, SystemPeer: v.peer,
		PreviousSystemPeer: a.sync.peer, Stratum: v.stratum,
	}
	if _, ok := unsyncReason(st.UnsyncReason); ok && !v.synced {
		n.UnsyncReason = string(st.UnsyncReason)
	}
	if n.Stratum == 0 {
		n.Stratum = 16
	}
	a.sync = v
	a.log.Info("sync state changed", "synchronized", n.Synchronized, "system_peer", n.SystemPeer,
		"previous", n.PreviousSystemPeer, "stratum", n.Stratum, "unsync_reason", string(st.UnsyncReason))
	a.notify(n)
}

// notify queues n for Notifications, dropping the oldest when full.
func (a *Agent) notify(n notification.SyncStateChange) {
	select {
	case a.notes <- n:
	default:
		// Nobody reads: drop the oldest, keep the newest.
		select {
		case <-a.notes:
		default:
		}
		select {
		case a.notes <- n:
		default:
		}
	}
}
