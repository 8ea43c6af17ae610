// Package notification holds the event notifications of ntpagent's YANG
// modules (the `notification` statements of yang/*.yang) as plain Go
// values. The time service emits them (agent.Notifications); the NETCONF
// layer renders them as RFC 5277 <notification> content
// (netconf.Server.PublishSyncStateChange). Neither side depends on the
// other: this package imports nothing of ours.
package notification
