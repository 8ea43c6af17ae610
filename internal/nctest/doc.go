// Package nctest is the NETCONF client of the tests: it speaks to a
// server/netconf Server over an in-memory pipe, to ntpagent's SSH server
// over the "netconf" subsystem (RFC 6242), or over any byte stream, and
// sends exactly the bytes a test asks for, broken ones included. Every
// package's tests use it instead of a client of their own.
//
// It must not be imported by non-test code.
package nctest
