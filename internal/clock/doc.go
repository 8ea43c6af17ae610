// Package clock is the process clock: the one interface (Now, NewTimer,
// AfterFunc) through which every component of the daemon reads the time and
// starts timers — the datastore's confirmed-commit timers and commit stamps,
// the SSH and NETCONF servers' idle, hello and back-off timers, the agent's
// run loop, retries and drift-file interval. Production code passes System;
// tests pass internal/fakeclock and move time by hand, so a 600 s timeout is
// tested in microseconds.
//
// It is not the NTP clock. ntpengine/ntpclock holds the disciplined clock (the
// virtual or system clock the engine steers, whose readings are NTP
// timestamps); this package only measures the daemon's own waits. The agent
// takes one of each: Options.Clock (disciplined) and Options.ProcessClock.
//
// A leaf: it imports nothing of ours, so every package may use it.
package clock
