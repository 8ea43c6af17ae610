// Package rpcerror holds the one error value that every layer of ntpagent
// returns for a failed operation: the datastore, the XML codec and the
// validation rules create it; the NETCONF server renders it as an
// <rpc-error> (RFC 6241 Appendix A) and the CLI as an "Error:" line with
// the same message.
//
// It must not import anything of ours.
package rpcerror
