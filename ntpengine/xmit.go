package ntpengine

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// Transmit timestamps and interleaved mode.
//
// RFC 5905 §8 defines T1 and T3 as the times a packet leaves. The engine
// builds a packet at Tick (or Handle) time, and the packet reaches the
// wire later; the caller knows when it really left, and tells the engine:
//
//   - StampTransmit, immediately before the send system call: the packet's
//     transmit timestamp is rewritten with that time (basic mode, RFC 5905
//     §8; re-signed if it carries a MAC) and becomes the association's T1.
//   - Transmitted, when the kernel reports the packet's transmit timestamp
//     (Linux SO_TIMESTAMPING, after the packet left): it replaces T1 for
//     the sample the reply will give, and is the T3 that interleaved mode
//     sends in the next packet.
//
// Interleaved mode (RFC 9769) carries in each packet the transmit
// timestamp of the previous one, which only became known after it left:
//
//   - Client/server (RFC 9769 §3). A request in interleaved form has as
//     origin timestamp the server's receive timestamp from its last
//     response, as receive timestamp our receive time of that response,
//     and as transmit timestamp the time our previous request left. A
//     server that kept the transmit timestamp of its response to that
//     earlier request answers in interleaved mode: origin = the request's
//     receive timestamp, receive = when this request arrived, transmit =
//     when its previous response left. Otherwise it answers in basic mode
//     (origin = the request's transmit timestamp). The client tells them
//     apart by the origin timestamp and, for an interleaved response,
//     takes its sample from the previous exchange: T1 its previous
//     request's departure, T2 the server's receive time of it (from the
//     previous response), T3 the transmit timestamp now received, T4 its
//     arrival time of the previous response.
//   - Symmetric (RFC 9769 §4): the same fields in both directions, each
//     packet a request and a response; a peer sends in interleaved form
//     only the first packet after a valid one of its peer, and only when
//     it sent exactly one packet after the peer's previous one (so that
//     the peer cannot pair a transmit timestamp with the wrong packet).
//
// Negotiation and fallback: an association sends in interleaved form when
// it has the timestamps to (a packet of the peer since its last one, the
// departure time of its last one) and the peer has not declined: a peer
// that never sent an interleaved packet and answers our interleaved ones
// in basic mode (twice for a symmetric peer, which takes them for bogus
// ones; four times for a server) does not support the mode (RFC 9769 §5,
// protocol failures), and the association falls back to basic mode until
// it restarts. A packet of the peer in interleaved form is always
// accepted.
//
// The server marks its receive timestamps with a low-order bit of 1 and
// its transmit timestamps with 0 (the low bit is far below any clock's
// precision), so that an interleaved request — whose origin timestamp is
// one of the server's receive timestamps — is told from a basic one
// without a lookup; it keeps the transmit timestamps of its responses to
// interleaved requests in a fixed table (serverXleave), keyed by that
// receive timestamp and the client's address, each usable once.

// TxSource says how a transmit time was taken.
type TxSource string

// The ways a transmit time is taken, best first.
const (
	TxKernel    TxSource = "kernel"     // the kernel's software transmit timestamp
	TxUserSpace TxSource = "user-space" // read immediately before the send system call
)

// Transmitted is the report that a datagram the engine produced has left.
type Transmitted struct {
	// Data is the datagram as sent (Outgoing.Data after StampTransmit,
	// or the kernel's copy of it).
	Data []byte
	// Dst is where it was sent.
	Dst netip.AddrPort
	// TxTime is when it left, on the disciplined clock (as RxTime).
	TxTime time.Time
	Source TxSource
}

// StampTransmit is called immediately before o is sent. For an
// association packet in basic mode, and a server reply in basic mode, it
// writes now as the transmit timestamp (RFC 5905 §8: T1/T3 are the time
// the packet leaves), re-signing a packet that carries a MAC; for an
// association packet it records now as the packet's departure (T1 of the
// sample its reply gives), until Transmitted reports a better one. A
// packet in interleaved form keeps its transmit timestamp (that of the
// previous packet). Packets the engine no longer knows are left alone.
func (e *Engine) StampTransmit(o *Outgoing, now time.Time) {
	if len(o.Data) < packet.HeaderLen {
		return
	}
	ts := packet.TimestampFromTime(now)
	if o.AssocKey == "" {
		if !basicReply(o.Data) {
			return
		}
		setTransmit(o.Data, ts)
		e.resign(o.Data, replyKeyID(o.Data))
		return
	}
	a := e.sentBy(o.Data, o.Dst)
	if a == nil {
		return
	}
	a.localTx, a.localTxSource = departure(ts), TxUserSpace
	stamp := basicStamp(ts)
	if a.sentInterleaved || stamp == a.org || stamp == a.localNtpRx || ts == 0 {
		return
	}
	binary.BigEndian.PutUint64(o.Data[40:48], uint64(stamp))
	e.resign(o.Data, a.keyID)
	a.xmt, a.sentKey = stamp, sentKeyOf(o.Data)
}

// Transmitted takes the report that a datagram left (see Transmitted): an
// association's packet gets its departure time (T1 of its sample, T3 of
// the next packet in interleaved form); a server reply to an interleaved
// request gets its entry in the table of transmit timestamps. A report of
// a packet the engine no longer knows (a newer one was sent, the
// association is gone) is ignored.
func (e *Engine) Transmitted(tx Transmitted) {
	if len(tx.Data) < packet.HeaderLen || tx.TxTime.IsZero() {
		return
	}
	ts := packet.TimestampFromTime(tx.TxTime)
	if packet.Mode(tx.Data[0]&7) == packet.ModeServer {
		e.xleave.sent(tx.Dst.Addr(), packet.Timestamp(binary.BigEndian.Uint64(tx.Data[32:40])), ts)
		return
	}
	a := e.sentBy(tx.Data, tx.Dst)
	if a == nil || (a.localTxSource == TxKernel && tx.Source != TxKernel) {
		return
	}
	a.localTx, a.localTxSource = departure(ts), tx.Source
}

// An association's packets in basic mode carry transmit timestamps with
// the low-order bit 1 (basicStamp), and its departure times, the transmit
// timestamps of its packets in interleaved form, have it 0 (departure):
// the bit is far below any clock's precision. Where the departure equals
// the time written into the packet (a kernel that stamps as the send call
// runs, a simulation), a packet in interleaved form would otherwise carry
// the transmit timestamp of the basic packet before it, and an answer to
// that packet would pass for a basic answer to the interleaved one (RFC
// 5905 §8: the origin timestamp names the packet answered).
func basicStamp(ts packet.Timestamp) packet.Timestamp { return ts | 1 }

func departure(ts packet.Timestamp) packet.Timestamp { return ts &^ 1 }

// sentBy is the association whose last packet is data (its origin,
// receive and transmit timestamps) to dst. The vpn-instance is not
// compared (callers spell the public one differently): the timestamps
// tell the packets apart.
func (e *Engine) sentBy(data []byte, dst netip.AddrPort) *association {
	key := sentKeyOf(data)
	for _, a := range e.assocs {
		if a.sentKey == key && unzoned(a.addr) == unzoned(dst) {
			return a
		}
	}
	return nil
}

// sentKeyOf is what tells one of our packets from another: its origin,
// receive and transmit timestamps.
func sentKeyOf(data []byte) [24]byte { return [24]byte(data[24:48]) }

func setTransmit(b []byte, ts packet.Timestamp) {
	binary.BigEndian.PutUint64(b[40:48], uint64(ts&^1))
}

// resign replaces the MAC of b (a packet of the engine, header and MAC
// only) after its header changed.
func (e *Engine) resign(b []byte, keyID uint32) {
	if len(b) <= packet.HeaderLen+4 || keyID == 0 {
		return
	}
	tr, err := e.keys.Sign(b[:packet.HeaderLen], keyID)
	if err != nil || len(tr) != len(b)-packet.HeaderLen {
		return
	}
	copy(b[packet.HeaderLen:], tr)
}

// replyKeyID is the key id of a signed reply (0: none, or a crypto-NAK).
func replyKeyID(b []byte) uint32 {
	if len(b) <= packet.HeaderLen+4 {
		return 0
	}
	return binary.BigEndian.Uint32(b[packet.HeaderLen:])
}

// basicReply tells whether b is a server reply in basic mode whose
// transmit timestamp is still to be written: appendReply leaves it equal
// to the receive timestamp (but for the low-order bit) until then.
func basicReply(b []byte) bool {
	if packet.Mode(b[0]&7) != packet.ModeServer {
		return false
	}
	rx := binary.BigEndian.Uint64(b[32:40])
	tx := binary.BigEndian.Uint64(b[40:48])
	return rx|1 == tx|1
}

// StampReply writes now as the transmit timestamp of b, a reply Serve
// built in basic mode (RFC 5905 §8: T3 is when the reply leaves); call it
// immediately before the reply is sent (with sendmmsg, for the batch).
// Replies in interleaved mode, and anything else, are left alone. It
// allocates nothing and needs no lock: Serve's replies carry no MAC.
func StampReply(b []byte, now time.Time) {
	if len(b) != packet.HeaderLen || !basicReply(b) {
		return
	}
	setTransmit(b, packet.TimestampFromTime(now))
}

// serverXleave holds the transmit timestamps of the server's replies to
// requests in interleaved form (RFC 9769 §3), for the next request of the
// same client: a fixed table (no allocation on the server's path) indexed
// by a hash of the reply's receive timestamp; a newer entry takes an
// older one's slot.
type serverXleave struct {
	slots [xleaveSlots]xleaveSlot
}

const xleaveSlots = 4096

type xleaveSlot struct {
	client netip.Addr
	rx     packet.Timestamp // our receive timestamp, as sent (low bit 1)
	tx     packet.Timestamp // when the reply left (0: not yet known)
}

func xleaveIndex(rx packet.Timestamp) int {
	return int((uint64(rx) * 0x9e3779b97f4a7c15) >> (64 - 12))
}

// expect makes room for the transmit timestamp of the reply with receive
// timestamp rx to client.
func (x *serverXleave) expect(client netip.Addr, rx packet.Timestamp) {
	x.slots[xleaveIndex(rx)] = xleaveSlot{client: plainAddr(client), rx: rx}
}

// plainAddr is a client's address as the table keeps it: the same whether
// it comes from a request (maybe IPv4-mapped, with a zone) or from the
// kernel's copy of the reply.
func plainAddr(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// sent records when the reply with receive timestamp rx to client left.
func (x *serverXleave) sent(client netip.Addr, rx, tx packet.Timestamp) {
	s := &x.slots[xleaveIndex(rx)]
	if s.rx == rx && s.client == plainAddr(client) {
		s.tx = tx
	}
}

// take returns (once) when the reply with receive timestamp rx to client
// left, if known.
func (x *serverXleave) take(client netip.Addr, rx packet.Timestamp) (packet.Timestamp, bool) {
	s := &x.slots[xleaveIndex(rx)]
	if s.rx != rx || s.tx == 0 || s.client != plainAddr(client) {
		return 0, false
	}
	tx := s.tx
	*s = xleaveSlot{}
	return tx, true
}

// interleave tells whether a's next packet goes in interleaved form (RFC
// 9769): the peer has not declined it, a packet of the peer has been
// received (its receive timestamp is the origin), our last packet's
// departure is known, the association speaks NTPv4, and — symmetric
// modes, §4 — this packet is the first after the peer's last, which came
// after exactly one of ours; a client sends it while no more than
// maxClientXleaveTx requests went unanswered (the server would answer
// with an ever older transmit timestamp).
func (e *Engine) interleave(a *association) bool {
	if a.xleaveOff || a.version != 4 || a.remoteRx == 0 || a.rec == 0 || a.localTx == 0 || a.localTxSource == "" {
		return false
	}
	if a.hmode == packet.ModeClient {
		return a.txSinceRx < maxClientXleaveTx
	}
	return a.prevTxCount == 1 && a.txSinceRx == 0
}

// maxClientXleaveTx bounds the unanswered requests after which a client
// stops asking in interleaved form.
const maxClientXleaveTx = 4

// xleaveDeclined is how many of our packets in interleaved form a peer
// that never sent one must answer in basic mode before the association
// stops sending them (RFC 9769 §5). A server that supports the mode answers the first
// interleaved request of a client in basic mode (it kept no transmit
// timestamp for the response before), and a lost packet costs another.
func xleaveDeclined(hmode packet.Mode) int {
	if hmode == packet.ModeClient {
		return 4
	}
	return 2
}
