// Package auth owns NTP symmetric-key message authentication: the MAC
// algorithms of RFC 5905 §9.1 / Appendix A (MD5 and SHA1 over key‖packet),
// HMAC-SHA256 and AES-CMAC (RFC 8573, CMAC per RFC 4493 over crypto/aes),
// and the Keyring that signs and verifies the MAC trailer of a packet.
//
// It knows nothing of associations, sockets or clocks, and does not parse
// packets (package packet does).
//
// Digest truncation: NTPv4 packets carry a MAC of at most 24 octets
// (4-octet key id + 20-octet digest) so that extension fields can be told
// from a MAC (RFC 7822 §7.5). Digests longer than 20 octets (HMAC-SHA256)
// are therefore truncated to their first 20 octets when signing, which is
// what chrony 4.x does for NTPv4 packets (it truncates any MAC to
// NTP_MAX_V4_MAC_LENGTH). Verify accepts a digest of the full length or of
// exactly 20 octets when the full digest is longer. Note that chrony's own
// "SHA256" key type is a plain SHA-256 of key‖packet, not HMAC, so an
// hmac-sha256 key of ours interoperates with ntpd/ntpsec-style peers, not
// with chrony's SHA256 keys; MD5, SHA1 and AES128/AES256 (CMAC) interoperate
// with chrony.
package auth
