// Package netio owns the NTP engine's UDP sockets: one Socket per
// (vpn-instance, address family, local address), bound to the daemon's local
// NTP port, that reports for each datagram its source, its destination address
// and interface (IP_PKTINFO / IPV6_PKTINFO) and a kernel receive timestamp
// (SO_TIMESTAMPNS, with a fallback to the time of the read), and that sends
// from an explicit source address; the choice of a source-interface's
// address; the mapping of a vpn-instance to a Linux device (SO_BINDTODEVICE)
// or a network namespace (/run/netns/NAME); and a Transport that owns all of
// these and delivers datagrams on one bounded channel.
//
// Each socket has one reader goroutine that reads with recvmmsg(2)
// (x/net's ReadBatch). With a Responder, that goroutine first offers the
// whole read to it (server replies are answered there, with no channel hop
// and no copy) and sends the replies with one sendmmsg(2) (WriteBatch),
// each from the address its request came to (IP_PKTINFO / IPV6_PKTINFO).
//
// It moves opaque []byte payloads: it must not parse NTP, import the engine,
// read or steer the engine's clock, or change any host state (addresses,
// routes, namespaces) — only sockets it opened.
package netio
