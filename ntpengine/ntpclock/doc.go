// Package ntpclock owns the clocks that the NTP engine disciplines (the
// disciplined clock, whose readings are NTP time; the process clock that
// times the daemon's own waits is internal/clock): the Clock
// interface, Virtual (a software clock over a monotonic source, the default,
// which never changes the host's time) and System (the host's CLOCK_REALTIME
// through clock_adjtime(2), for operators only; it needs CAP_SYS_TIME).
// A clock says how fast Slew amortizes an offset through SlewRater
// (MaxSlewRate(c)): Virtual at DefaultVirtualSlewRate (83,333 ppm, chrony's
// maxslewrate) unless SetMaxSlewRate changes it, System at adjtime's 500 ppm.
// The caller passes that rate to the engine (ntpengine.Config.MaxSlewRate).
// Likewise the frequency range (MaxFrequency(c), FrequencyLimiter):
// Virtual corrects ±10 % (MaxVirtualFrequencyPPM), System RFC 5905's
// ±500 ppm, the kernel's timex.freq (the kernel's tick length, which would
// reach ±10 %, is not used); the caller passes it on
// (ntpengine.Config.FrequencyLimitPPM).
// A Virtual on the host reports its offset from the host's wall clock
// (HostOffset: its true error whenever the host clock is the truth) and can
// start off the host's time and rate (NewVirtualOffHost), so that a test
// or a demonstration shows a discipline converging from a known error
// without touching the host clock.
//
// It must not touch: the engine's state (the engine returns commands, a caller
// applies them here), sockets, or — in any test — the host clock. Tests use
// Virtual with a hand-driven monotonic source, and exercise System only through
// an injected adjtime function or a read-only clock_adjtime call (modes = 0).
package ntpclock
