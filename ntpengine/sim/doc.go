// Package sim is a deterministic network-and-clock simulator for the NTP
// engine. It owns simulated true time, simulated clocks (initial offset,
// frequency offset, random-walk wander), links (base delay, exponential
// jitter, loss, outages) and drives any number of ntpengine.Engine
// instances through Handle and Tick, each at its NextDeadline.
//
// A simulation is described by a World: nodes (each a clock and an
// engine; a reference serves its own clock at a local stratum, a
// falseticker is a reference whose clock is off, a node may start late
// or have its clock jump), the sources of each node (client or symmetric
// peer associations), the default link and per-direction link rules
// (chrony's jitter_asymmetry included), and outages that drop the
// packets of some directions during (periodic) time windows or pass only
// every n-th one. Parse reads the same from a small text form. Scenario
// is the older one-engine form, translated into a World.
//
// The model and the figures follow chrony's own simulation suite (chrony
// test/simulation with clknetsim) so that they compare one to one:
// clock frequency = freq_offset + Σ wander·N(0,1), one term per simulated
// second; one-way delay = base_delay + jitter·Exp(1) per packet and
// direction; offset and frequency sampled once per second, before the
// engines act in that second; the frequency is the clock's total rate
// error, slewing included (clknetsim's). Time to synchronize is the last
// sample with |offset| above time_max_limit (1 ms) or |frequency| above
// freq_max_limit (500 ppm); RMS and maximum |offset| and |frequency| are
// over the samples after max_sync_time (Measure.After, 210 s by default;
// until this package had chrony's definitions it used 420 s). ChronyCases
// are chrony's simulation tests ported with their parameters and pass
// limits. A seed makes every run reproducible.
//
// Simulated clocks slew at chrony's maxslewrate (83,333 ppm, as
// clock.Virtual) unless a world sets MaxSlewRate (500 ppm is adjtime, as
// clock.System); the engines are told the rate (Config.MaxSlewRate)
// unless the world sets UnstatedSlewRate.
//
// It never reads the wall clock, opens a socket or starts a goroutine, and
// does not touch ntpengine/ntpclock implementations: Clock here is its own.
package sim
