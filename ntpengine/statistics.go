package ntpengine

import "time"

// Statistics are the engine's system-wide packet counters, for
// /ntp/statistics and `display ntp statistics` (ntpd's sysstats, chrony's
// serverstats). A dropped packet counts in Received and in the counter of
// the reason it was dropped for. They start at zero at New and survive
// Reconfigure.
type Statistics struct {
	// Since is the caller's clock time at New: when the counters started
	// (a discontinuity time, RFC 8343 style).
	Since time.Time
	// Received counts the datagrams given to Handle, and the client
	// requests Serve decided (not those it passed to Handle).
	Received uint64
	// Sent counts the packets handed to the caller: association packets
	// and server replies (kiss-o'-death and crypto-NAK included).
	Sent uint64
	// ClientRequests counts well-formed mode-3 packets from an address
	// with no association (RFC 5905 §9.2 FXMIT), answered or not.
	ClientRequests uint64
	// ServerReplies counts mode-4 replies to client requests, KoD and
	// crypto-NAK included.
	ServerReplies uint64
	// KoDSent counts kiss-o'-death replies (RFC 5905 §7.4): RATE and DENY.
	KoDSent uint64
	// RateLimited counts client requests the rate limiter refused
	// (answered with a RATE kiss or dropped).
	RateLimited uint64
	// AccessDenied counts packets from a source in Config.Deny (RFC 5905
	// §8 access test).
	AccessDenied uint64
	// BadFormat counts datagrams that do not parse or validate as NTP
	// (RFC 5905 §7.3, §7.5; RFC 7822 extension fields), or that come from
	// an unusable source (port 0, unspecified, multicast).
	BadFormat uint64
	// AuthFailures counts packets that failed authentication (RFC 5905
	// §8 / §9.2 AUTH): a missing MAC where a key is required, an unknown,
	// untrusted or wrong key, a bad digest. A client request among them
	// got a crypto-NAK.
	AuthFailures uint64
	// BogusOrDuplicate counts association packets that failed the on-wire
	// tests of RFC 5905 §8 (A.5.1.1): duplicate, bogus (origin mismatch),
	// zero transmit timestamp.
	BogusOrDuplicate uint64
	// NoAssociation counts packets the dispatch table of RFC 5905 §9.2
	// discards (DSCRD: no association, or none of the right mode, may take
	// them), and symmetric active packets when MaxEphemeral associations
	// already exist.
	NoAssociation uint64
}

// Statistics returns the system-wide packet counters.
func (e *Engine) Statistics() Statistics { return e.stats }
