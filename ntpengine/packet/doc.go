// Package packet is the NTP wire codec: the 48-byte header of RFC 5905 §7.3,
// 64-bit timestamps and 32-bit short format with era-safe arithmetic
// (RFC 5905 §6), extension fields told apart from a MAC by the rules of
// RFC 7822 §7.5, and the MAC trailer (key id + digest).
//
// It owns parsing and encoding only. It does not compute or check MACs
// (package auth does), does not judge whether a packet is acceptable to an
// association (package ntpengine does) and never touches sockets or clocks.
// Validate holds the syntactic checks that are apart from parsing.
package packet
