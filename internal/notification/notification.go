package notification

import "time"

// SyncStateChange is ntpagent-ntp's sync-state-change notification: the
// clock became synchronized or unsynchronized, or the system peer changed.
type SyncStateChange struct {
	Time               time.Time // on the disciplined clock
	Synchronized       bool      // clock-state: synchronized or unsynchronized
	SystemPeer         string    // the new system peer ("" if none)
	PreviousSystemPeer string    // the system peer before the change ("" if none)
	Stratum            uint8     // the device's new stratum
	// UnsyncReason is a value of ntpagent-ntp's unsync-reason enumeration:
	// why the clock is not synchronized. "" when it is, or when the
	// reason has no value in the enumeration.
	UnsyncReason string
}
