// Package rules enforces the product rules of ntpagent's configuration that
// YANG types alone do not: a peer address is a host address, an
// IPv6 peer speaks version 4, minpoll ≤ maxpoll, max-poll-interval and
// dec-step go together, an authentication-keyid names a configured key, key
// values fit their algorithm. It also resolves a peer's effective source
// interface (rule 2) and seals authentication keys with the device's key
// (KeyCipher).
//
// Every violation is an *rpcerror.Error carrying the YANG instance path of
// the offending node and one sentence; the NETCONF server shows it as an
// rpc-error and the CLI as "Error: <message>", so both say the same thing.
//
// It reads configuration trees and never changes them, holds no state, and
// must not import the datastore, the servers or the engine.
package rules
