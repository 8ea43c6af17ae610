// Package sim is a deterministic network-and-clock simulator for the NTP
// engine. It owns simulated true time, simulated clocks (initial offset,
// frequency offset, random-walk wander), links (base delay, exponential
// jitter, loss) and reference servers, and drives any number of
// ntpengine.Engine instances through Handle and Tick.
//
// Its scenarios follow chrony's own simulation suite (chrony
// test/simulation with clknetsim) so that figures compare one to one:
// clock frequency = freq_offset + Σ wander·N(0,1), one term per simulated
// second; one-way delay = base_delay + jitter·Exp(1) per packet and
// direction; offset and frequency error sampled once per second; time to
// synchronize = one second after the last sample with |offset| > 1 ms or
// |frequency error| > 500 ppm; RMS and max |offset| and RMS frequency
// error over the samples after 420 s. A seed makes every run reproducible.
// Simulated clocks slew at chrony's maxslewrate (83,333 ppm, as
// clock.Virtual) unless a scenario sets MaxSlewRate (500 ppm is adjtime,
// as clock.System); the engines are told the rate (Config.MaxSlewRate)
// unless the scenario sets UnstatedSlewRate.
//
// It never reads the wall clock, opens a socket or starts a goroutine, and
// does not touch ntpengine/clock implementations: Clock here is its own.
package sim
