// Package netio owns the NTP engine's UDP sockets: one Socket per
// (vpn-instance, address family, local address), bound to the daemon's local
// NTP port, that reports for each datagram its source, its destination address
// and interface (IP_PKTINFO / IPV6_PKTINFO) and a kernel receive timestamp
// (SO_TIMESTAMPING and SO_TIMESTAMPNS, with a fallback to the time of the
// read) and, for the datagrams that ask, its kernel transmit timestamp, and that sends
// from an explicit source address; the choice of a source-interface's
// address; the mapping of a vpn-instance to a Linux device (SO_BINDTODEVICE)
// or a network namespace (/run/netns/NAME); and a Transport that owns all of
// these and delivers datagrams on one bounded channel.
//
// Each socket has one reader goroutine that reads with recvmmsg(2). With a
// Responder, that goroutine first offers the whole read to it (server
// replies are answered there, with no channel hop and no copy) and sends the
// replies with one sendmmsg(2), each from the address its request came to
// (IP_PKTINFO / IPV6_PKTINFO). Both calls are made on the socket's
// descriptor inside the runtime's RawRead, with message headers set up once
// (mmsg_linux.go, batch_linux.go): nothing is allocated per datagram, and
// as raw system calls on a non-blocking socket they never make the
// scheduler hand the reader's P to another thread, which under load cost
// two context switches per batch (x/net's ReadBatch and WriteBatch, used
// before, did both). When the socket is empty the reader waits in the
// runtime's network poller.
//
// Transmit timestamps (txstamp_linux.go): every socket turns on
// SO_TIMESTAMPING (software receive timestamps, and transmit timestamps
// for the datagrams that ask: SendStamped, Replies.MarkTxTimestamp). The
// kernel stamps such a datagram as the driver takes it and queues a copy
// with the timestamp on the socket's error queue; the socket's reader
// drains it (MSG_ERRQUEUE, SCM_TIMESTAMPING) before each read and
// delivers the report on the Received channel (Transmit set, matched to
// the datagram by its payload) ahead of any reply to it. In namespace and
// device vpn-instances SendStamped sends from a transmit socket instead
// (txsocket_linux.go: an SO_REUSEPORT twin on the same address and port
// that no thread waits on) and returns the timestamp itself (Sent.Kernel):
// queuing it wakes nobody, where waking the reader put the datagram on
// its way microseconds after its stamp. The caller turns it into T1 or T3 (RFC 5905 §8) and interleaved mode (RFC 9769). Plain
// server replies ask for none and cost nothing more. Where the kernel
// refuses SO_TIMESTAMPING, TxTimestamping says TxUserSpace and Sent.At —
// the time read immediately before the send system call — is all there
// is. A ReplyFinisher completes a Responder's replies right before their
// sendmmsg(2) (an NTP server writes T3 there). Hardware timestamps are not
// asked for: the NIC's clock is not the host's, and turning them on
// (SIOCSHWTSTAMP) changes the device's state.
//
// FindVPN returns a VPNInstance with which other code (the agent's DNS
// client for domain peers) opens its own sockets in a vpn-instance the same
// way.
//
// It moves opaque []byte payloads: it must not parse NTP, import the engine,
// read or steer the engine's clock, or change any host state (addresses,
// routes, namespaces) — only sockets it opened.
package netio
