// Command ntpload measures how many NTP client requests (mode 3) per second
// a server answers on loopback: the same generator for ntpagent and for
// chronyd -x, so that their figures compare. Each of -sockets UDP sockets
// keeps -window requests in flight and sends a new one for every reply; a
// request unanswered for -timeout is counted lost and replaced.
//
//	ntpload -target 127.0.0.1:10123 -duration 5s
//
// It prints one line: target, replies/s, replies, lost, mean bytes. It owns
// nothing but its sockets and must only be pointed at servers on loopback or
// in a test's namespaces.
package main
