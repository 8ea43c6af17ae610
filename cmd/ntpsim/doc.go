// Command ntpsim runs the engine simulation scenarios of ntpengine/sim and
// prints one row per scenario: time to synchronize, RMS and max offset and
// RMS frequency error after 210 s (chrony's max_sync_time), as mean ± sd over seeds — the figures
// chrony's own simulation suite reports — and the packets per hour the
// measured engine sent. -markdown prints the table as Markdown. The
// figures of the current engine, with chrony's for comparison, are in
// README.md.
package main
