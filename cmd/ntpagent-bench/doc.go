// Command ntpagent-bench is the load and timing client behind `make bench`.
// One Go NETCONF-over-SSH client (RFC 6242, base:1.0 end-of-message and
// base:1.1 chunked framing) times ntpagent and yuma123 netconfd the same way,
// and one NTP load generator (RFC 5905 mode 3 requests, mode 4 replies)
// drives ntpagent and chronyd the same way; a report subcommand turns the
// results into the markdown table of bench-results/latest.md.
//
// The footprint subcommand starts the daemon itself, on a state folder of its
// own and free loopback ports: it times starts with 1,000 peers in running
// and reads where the memory goes (the daemon's debug-only memory dump,
// internal/memdump, turned on by its environment for these starts only).
//
// It owns only cmd/ntpagent-bench. Apart from the footprint's daemons it
// starts no server itself (scripts/bench.sh does), never changes the host
// clock and sends traffic only to loopback addresses. Every loop is bounded
// by a count and a deadline.
package main
