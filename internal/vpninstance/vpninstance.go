// Package vpninstance holds the one name every layer shares for a
// vpn-instance (VRP's word for a routing instance: a network namespace or a
// VRF device on Linux). It imports nothing, so that the configuration's
// rules, the CLI, the agent and the socket layer (ntpengine/netio) all use
// the same constant without depending on each other.
package vpninstance

// Public is the name of the public vpn-instance: the process's own network
// namespace and routing table. It is the default of every vpn-instance leaf
// in yang/ntpagent-ntp.yang (a test in datastore/rules checks that the
// generated default agrees).
const Public = "_public_"
