// Package ietfntp is the ietf-ntp (RFC 9249) view of the device: the
// unicast servers and peers of the public vpn-instance, the
// authentication keys, and the state of the clock, its associations and
// its packet counters, translated to and from ntpagent-ntp (package gen).
// What the device does not do of ietf-ntp is in the deviation module
// yang/views/ntpagent-ietf-ntp-deviations.yang; the generated structs
// are gen/ietfntp.
//
// Servers and peers of ntpagent-ntp that have no place in ietf-ntp (a
// vpn-instance other than _public_, an address given as a domain name)
// are not shown through this view, and no edit made through it touches
// them.
//
// It owns no state and touches nothing but the trees it is given (package
// view says how edits flow).
package ietfntp
