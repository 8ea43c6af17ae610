// Package netconf owns NETCONF sessions (RFC 6241) over any byte stream:
// the RFC 6242 §4 framing (end-of-message and chunked), the hello exchange,
// RPC parsing with limits, dispatch of the base operations to the datastore,
// <rpc-error> rendering (RFC 6241 Appendix A), ietf-netconf-monitoring
// (RFC 6022), the YANG library (RFC 8525) and the <hello> derived from
// it, NMDA's <get-data> and <edit-data> (RFC 8526), and event
// notifications (RFC 5277, RFC 6470 events).
//
// It must not touch SSH (package server owns transport, users and roles),
// nor the datastore's files, nor the XML ⇄ ygot mapping of configuration
// (server/netconf/xmlcodec owns that); it calls the Store and the codec only
// through their exported APIs.
package netconf
