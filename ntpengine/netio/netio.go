package netio

import (
	"errors"
	"log/slog"
	"net/netip"
	"time"
)

// DefaultNetnsDir is where iproute2 keeps named network namespaces.
const DefaultNetnsDir = "/run/netns"

// Defaults for Config.
const (
	DefaultQueueLen  = 4096
	DefaultBatchSize = 32
)

// Config says where the NTP service listens.
type Config struct {
	// Listen are the local addresses and port of the NTP service, opened in
	// every vpn-instance in use: e.g. 127.0.0.1:10123 for development or
	// [::]:123 on a device. The IPv6 unspecified address stands for both
	// families ([::]:P opens 0.0.0.0:P too, the IPv6 socket being IPv6-only).
	// In a namespace vpn-instance the same addresses are bound inside the
	// namespace (127.0.0.1 there is the namespace's own loopback, which must
	// be up).
	Listen []netip.AddrPort
	// QueueLen bounds the channel of received datagrams; when it is full,
	// datagrams are dropped and counted. Default DefaultQueueLen.
	QueueLen int
	// BatchSize is how many datagrams one recvmmsg(2) reads (and how many
	// replies one sendmmsg(2) sends). Default DefaultBatchSize.
	BatchSize int
	// Responder, when set, answers datagrams on the sockets' reader
	// goroutines before they reach the channel (server replies); see
	// Responder.
	Responder Responder
	// Open are the vpn-instances NewTransport opens (normally
	// []string{vpninstance.Public}); others open on first use or with OpenVPN.
	Open []string
	// NetnsDir is where named network namespaces live. Default DefaultNetnsDir.
	NetnsDir string
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Source says which local address a datagram leaves from. The zero Source
// lets the kernel choose.
type Source struct {
	// Addr is an explicit local address: the destination address of the
	// request being answered (symmetric passive, server replies).
	Addr netip.Addr
	// Interface is a source-interface: the datagram leaves from that
	// interface's address of the peer's family.
	Interface string
}

// Stats counts what the transport did.
type Stats struct {
	Received      uint64 // datagrams delivered to the channel
	Responded     uint64 // datagrams the Responder handled (not on the channel)
	Dropped       uint64 // datagrams dropped because the channel was full
	Truncated     uint64 // datagrams larger than MaxDatagram, dropped
	KernelStamped uint64 // delivered datagrams with a kernel timestamp
	TxReports     uint64 // kernel transmit timestamps delivered (Received.Transmit)
	Sent          uint64 // datagrams sent, Responder replies included
	SendErrors    uint64
	ReadErrors    uint64
}

// ErrTruncated reports a datagram larger than the receive buffer; it is
// dropped (an NTP packet never comes close to the buffer size).
var ErrTruncated = errors.New("datagram truncated")

// MaxDatagram is the receive buffer size per datagram. An NTP packet with a
// MAC is 68 bytes; extension fields (RFC 7822, NTS) stay well under this.
const MaxDatagram = 2048

// Received is one datagram as it arrived.
type Received struct {
	// Data is the payload; the receiver owns it.
	Data []byte
	// Src is the sender; Dst is the address and port the datagram was sent
	// to (from IP_PKTINFO / IPV6_PKTINFO), which is the source address a
	// reply must leave from. Link-local addresses carry a numeric zone (the
	// interface index), valid in the datagram's vpn-instance.
	Src, Dst netip.AddrPort
	// IfIndex is the interface the datagram arrived on (0 if unknown).
	IfIndex int
	// VPN is the vpn-instance of the socket that received it.
	VPN string
	// RxTime is when the datagram arrived, on the host's CLOCK_REALTIME:
	// the kernel's timestamp (SO_TIMESTAMPNS) when KernelTimestamp is set,
	// otherwise the time the read returned. To express it on another clock
	// (the engine's virtual clock), subtract time.Since(RxTime) from that
	// clock's Now.
	RxTime          time.Time
	KernelTimestamp bool
	// Transmit marks not a datagram received but the kernel's report
	// that one this socket sent has left (see TxKernel): Data is the
	// datagram's payload as sent, Dst where it was sent, Src the socket's
	// address, RxTime the kernel's transmit timestamp (host
	// CLOCK_REALTIME). A socket's reports come before any datagram it
	// reads after them.
	Transmit bool
}

// Sent says when a datagram left.
type Sent struct {
	// At is the host's CLOCK_REALTIME read immediately before the send
	// system call or, when Kernel is set, the kernel's transmit timestamp.
	At time.Time
	// Timestamping is TxKernel when the kernel stamps the datagram: its
	// transmit timestamp is At (Kernel set) or will be reported on the
	// Received channel (Transmit set). Else TxUserSpace: At is all there
	// is.
	Timestamping TxTimestamping
	// Kernel says that At is the kernel's transmit timestamp, read as the
	// send returned (SendStamped, from the socket's transmit socket): no
	// report follows.
	Kernel bool
}

// Responder answers datagrams on a socket's reader goroutine, a whole read
// (one recvmmsg(2)) at a time, so that a server reply costs no channel hop
// and no goroutine switch, and the replies of a read leave in one
// sendmmsg(2). Set it in Config.Responder.
type Responder interface {
	// Respond is called with the datagrams of one read. Their Data alias
	// the reader's buffers and are valid only during the call. For each
	// datagram it answers (or drops on purpose) it sets handled[i]; the
	// others are copied and delivered on the Received channel as usual.
	// Replies are added with out.Add: they leave from the socket that
	// read the batch, from the address given (the request's Dst).
	// Respond must not block: every socket's reader calls it.
	Respond(in []Received, handled []bool, out *Replies)
}

// ReplyFinisher is a Responder that completes its replies immediately
// before they leave: FinishReplies is called on the reader's goroutine
// right before the sendmmsg(2) that sends out, after Respond (an NTP
// server writes its transmit timestamps there, RFC 5905 §8: T3 is when
// the reply leaves). It may change the replies' payloads in place
// (Replies.Payload), not their number or length, and must not block.
type ReplyFinisher interface {
	FinishReplies(out *Replies)
}

// TxTimestamping says how the transmit times of datagrams are taken.
type TxTimestamping string

// The ways, best first.
const (
	// TxKernel: the kernel reports when the datagram reached the device
	// driver (software transmit timestamp).
	TxKernel TxTimestamping = "kernel"
	// TxUserSpace: only the time read immediately before the send system
	// call is known (the kernel refused SO_TIMESTAMPING).
	TxUserSpace TxTimestamping = "user-space"
)
