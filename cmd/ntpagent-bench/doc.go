// Command ntpagent-bench is the load and timing client behind `make bench`.
// One Go NETCONF-over-SSH client (RFC 6242, base:1.0 end-of-message and
// base:1.1 chunked framing) times ntpagent and yuma123 netconfd the same way,
// and one NTP load generator (RFC 5905 mode 3 requests, mode 4 replies)
// drives ntpagent and chronyd the same way; a report subcommand turns the
// results into the markdown table of bench-results/latest.md.
//
// It owns only cmd/ntpagent-bench. It starts no server itself (scripts/bench.sh
// does), never changes the host clock and sends traffic only to the loopback
// addresses it is given. Every loop is bounded by a count and a deadline.
package main
