// Package wirelab measures the NTP engine on a real path: the host's
// kernel, sockets and scheduler between the engine and its reference, with
// the host's own clock as the truth, beside chronyd on an identical path.
//
// A Lab is two network namespaces that it creates and deletes: "near",
// where the measured clients run, and "far", where the reference runs, with
// addresses from 198.18.0.0/15 on their loopback devices. Nothing joins the
// two but a DelayLine per client: a userspace UDP forwarder with one socket
// in each namespace that holds every datagram for a base delay plus an
// exponentially distributed extra delay (its mean is the jitter, drawn
// independently per datagram and direction) and drops a given fraction,
// as netem would on a kernel that has it. It schedules each datagram from
// the kernel's receive timestamp to leave at its deadline by the kernel's
// transmit timestamp, and sends it from a real-time thread (one per
// direction) that sleeps on an absolute deadline and spins its last
// millisecond, making its send call as much before the deadline as that
// direction's recent calls took in the median to put a datagram on its
// way, half a millisecond after a probe to a socket beside the
// destination that warms the send path (a cold call takes 5–100 µs on a
// busy host, longer up than down, a warm one 3–8 µs), from a socket of
// its own that no thread waits on (LineSockets); its readers are
// real-time threads waiting in the kernel (poll(2)), and the process
// keeps spare runtime processors (GOMAXPROCS) so that neither waits for
// the Go scheduler on a busy host. It records what it did with every
// datagram (when it was read, when the send call was made, when the
// kernel stamped it as sent, how late), so that the path adds the delays
// it is told and the rest is on record, the same in both directions.
// While a lab runs, one process per CPU at the lowest priority keeps the
// CPUs from idling (keepAwake): on a virtual machine an idle CPU halts,
// and waking it again took the hypervisor milliseconds.
//
// Run starts a reference chronyd (chronyd -x: it never touches the host
// clock) serving the host clock at stratum 1 in the far namespace, then two
// clients, each behind its own delay line with the same parameters and the
// same draws of delays (the n-th datagram of each held as long): the agent
// (in this process, its NTP socket opened in the near namespace as a
// vpn-instance, a symmetric active peer of the reference or, with
// Config.AgentClient, its client, disciplining a virtual clock) and a
// chronyd client (in
// the near namespace, also -x, with xleave: interleaved mode, as the agent
// uses by itself, unless Config.ChronydBasic). A third chronyd, the probe,
// polls the reference once a second over the far namespace's loopback in
// interleaved mode: its error is how far what the reference serves is from
// the host clock. Once a second it reads each one's true error, its clock
// minus the host clock:
//
//   - the agent: /ntp/status/virtual-clock-offset (the virtual clock's
//     time minus the host's, read at one instant), and its frequency
//     error: /ntp/status/frequency, the discipline's frequency estimate,
//     plus any start-up error of the clock. Not the rate the clock runs
//     at: that adds the slew of the last offset (the discipline amortizes
//     small offsets through the frequency over seconds), which chronyd's
//     "Frequency" never holds (under -x its offsets take effect at once);
//   - chronyd: under -x chronyd keeps its own clock as a correction over
//     the host clock that it never applies; `chronyc tracking` reports that
//     correction as "System time" (the host clock fast or slow of chronyd's
//     estimate of true time) and the rate it keeps as "Frequency". With the
//     host clock as the truth, chronyd's true error is minus "System time"
//     and its frequency error minus "Frequency" (chrony's "fast" is
//     positive in the report's sign).
//
// Both are exact readings of what each daemon would serve, with no network
// measurement of our own in between, so the comparison is fair.
//
// It also takes every sample each client used (the agent's clock filter
// register, chronyd's measurements log) and the error it carried: its
// offset plus the client's true error at the exchange it measured. The
// path and the timestamps put that error into the samples; the rest of a
// client's error is its own filter and discipline.
//
// It must not touch the host clock, the host's network state outside the
// namespaces it creates, or the engine's internals; chronyd runs only with
// -x. Everything it starts it stops.
package wirelab
