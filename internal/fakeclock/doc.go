// Package fakeclock is a hand-driven internal/clock.Clock for tests of code
// that takes an injected process clock (the datastore's confirmed-commit
// timers, the SSH server's idle and back-off timers, the NETCONF server's
// timeouts, the agent's run loop): time moves only when the test calls
// Advance, which runs the timers that fall due, in order, in the test's
// goroutine. A 600 s timeout is tested in microseconds.
package fakeclock
