package ntpengine

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine/auth"
)

// AssocMode is the local mode of a configured association.
type AssocMode int

const (
	// AssocSymmetric is a symmetric active association (RFC 5905 mode 1),
	// the product's "unicast-peer".
	AssocSymmetric AssocMode = iota
	// AssocClient is a client association (mode 3) polling a server.
	AssocClient
)

// PeerConfig is one configured association.
type PeerConfig struct {
	// Key identifies the association across Reconfigure calls (for
	// example "peer 192.0.2.1 vpn _public_").
	Key     string
	Address netip.AddrPort
	VPN     string
	Mode    AssocMode
	// Version is the NTP version sent, 1..4; 0 means 4.
	Version int
	// KeyID, when not 0, names the key that signs our packets and must
	// authenticate the peer's.
	KeyID uint32
	// MinPoll and MaxPoll are log2 seconds, 3..17; 0 means 6 and 10.
	MinPoll, MaxPoll int8
	Prefer, Preempt  bool
	// IBurst sends a burst of packets (RFC 5905 §13 BCOUNT, BTIME apart)
	// when the association is unreachable (at start, after a step, after
	// losing the peer), so that the clock filter fills in seconds rather
	// than in eight polls: ntpd's and chrony's iburst. Zero value: off.
	IBurst bool
	// Burst sends such a burst at every poll while the peer is reachable
	// (ntpd's burst), for paths whose jitter needs many samples per poll.
	// Zero value: off.
	Burst bool
	// SourceInterface is copied to outgoing packets for the I/O layer.
	SourceInterface string
}

// RateLimit bounds the stateless server (RFC 5905 §9.2 FXMIT): each source
// address may send on average one request per Interval with bursts of
// Burst; excess requests get a RATE Kiss-o'-Death (at most one per
// Interval) unless NoKoD is set, in which case they are dropped.
type RateLimit struct {
	Interval   time.Duration // 0 → 1 s; negative disables rate limiting
	Burst      int           // 0 → 8
	NoKoD      bool
	MaxSources int // sources tracked; 0 → 4096
}

// Config is everything the engine needs. The zero value of each optional
// field selects the default documented on it.
type Config struct {
	Peers []PeerConfig
	// UnsyncMaxPoll and UnsyncDecStep define the unsync poll cap of
	// both 0 = unset.
	UnsyncMaxPoll, UnsyncDecStep int8
	// AuthEnabled requires a valid MAC by a trusted key on packets of
	// associations that have a KeyID and on mode-1 packets that mobilize
	// an ephemeral association. Associations without KeyID stay
	// unauthenticated.
	AuthEnabled bool
	Keys        []auth.Key
	// AllowUnauthenticatedPassive lets an ephemeral symmetric passive
	// association that was mobilized, and is fed, by packets without a
	// valid MAC of a trusted key take part in selection. Zero value
	// (false): such an association is answered and shown, but never
	// selected (its AssociationStatus.SelectionReason says why): anyone who can
	// send a mode-1 packet could otherwise outvote the configured
	// sources and steer the clock (RFC 5905 §9.2 leaves NEWPS to the
	// access and authentication policy).
	AllowUnauthenticatedPassive bool
	// MaxClock is the number of associations above which preemptible ones
	// are demobilized (ntpd's maxclock); 0 → 10.
	MaxClock int
	// MaxEphemeral bounds symmetric passive associations; 0 → 16,
	// negative → none are created.
	MaxEphemeral int
	RateLimit    RateLimit
	// Deny lists source prefixes whose packets are refused (RFC 5905
	// access test); client requests from them get a DENY KoD.
	Deny []netip.Prefix
	// LocalStratum, when 1..15, makes the engine serve its own clock at
	// that stratum while it has no system peer (a local reference).
	LocalStratum uint8
	// Precision of the clock, log2 s; 0 → -20.
	Precision int8
	// Discipline selects the steady-state clock discipline; the default
	// is DisciplineRegression.
	Discipline DisciplineMode
	// MaxSlewRate is the rate, in ppm, at which the caller's clock applies
	// a ClockSlew command; 0 → 500 (adjtime(3), clock.AdjtimeSlewRate);
	// at most 500,000. Set it from the clock that is disciplined:
	// ntpclock.MaxSlewRate(clk) (83,333 ppm for ntpclock.Virtual by default,
	// 500 for ntpclock.System). The engine keeps account of the correction a
	// slew has applied at this rate; a clock slewing at another rate
	// makes the offsets measured during a slew look wrong.
	MaxSlewRate float64
	// FrequencyLimitPPM is the largest frequency correction, in ppm, that
	// the caller's clock applies: the discipline's range. 0 → 500 (RFC
	// 5905 MAXFREQ, MaxFrequencyPPM); at most MaxFrequencyLimitPPM. Set
	// it from the clock that is disciplined: ntpclock.MaxFrequency(clk)
	// (100,000 ppm for ntpclock.Virtual, 500 for ntpclock.System). RFC 5905
	// Appendix A.1.1 fixes MAXFREQ at 500 ppm, the range of the kernel
	// frequency of its day; a software clock corrects any rate, and a
	// clock 5 % off (an oscillator out of specification, a virtual
	// machine's) would otherwise never synchronize.
	FrequencyLimitPPM float64
	// InitialFrequencyPPM, when not nil, is the clock's frequency
	// correction in ppm from an earlier run (a drift file, which the
	// caller reads: the engine does no file I/O). The discipline then
	// starts in FSET with it (RFC 5905 Appendix A.1 main(), A.5.5.6):
	// the first update corrects only the phase and the discipline goes
	// to SYNC, skipping the initial frequency measurement (FREQ). With
	// DisciplineRegression the value also weighs in the frequency fit
	// as a prior (standard error 1 ppm) until the samples alone know the
	// frequency better. It must be finite and within the frequency limit
	// (FrequencyLimitPPM). Only New reads it: Reconfigure leaves the discipline as it
	// is. Nil: the discipline starts in NSET and measures.
	InitialFrequencyPPM *float64
	// MakeStep, when its Threshold is above 0, steps the clock at an update
	// whose offset exceeds Threshold within the first Updates clock
	// updates (chrony's makestep), where RFC 5905 slews every offset up
	// to STEPT (128 ms, §10): a clock known to start far off (a board
	// without a battery-backed clock) is then right at the first update
	// instead of after a slew (0.1 s at adjtime's 500 ppm takes 200 s).
	// Above 128 ms the RFC's step rules apply whatever it says. Zero
	// value: off.
	MakeStep MakeStep
	// SettledFrequencyPPM is the standard error of the frequency estimate,
	// in ppm, at or below which Status.FrequencySettled may be true (see
	// there); 0 → 1 ppm, at most MaxFrequencyPPM.
	SettledFrequencyPPM float64
	// Rand is the only source of randomness (poll phase); nil → a fixed seed.
	Rand   *rand.Rand
	Logger *slog.Logger
}

// MakeStep is Config.MakeStep: Threshold in s, Updates the number of
// clock updates from the start during which it applies (-1: at every
// update).
type MakeStep struct {
	Threshold float64
	Updates   int
}

// Errors from configuration; test with errors.Is.
var (
	ErrConfig = errors.New("ntpengine: invalid configuration")
)

const (
	defaultMinPoll = 6
	defaultMaxPoll = 10
	minPollLimit   = 3
	maxPollLimit   = 17
)

func (p PeerConfig) minPoll() int8 {
	if p.MinPoll == 0 {
		return defaultMinPoll
	}
	return p.MinPoll
}

func (p PeerConfig) maxPoll() int8 {
	if p.MaxPoll == 0 {
		if p.minPoll() > defaultMaxPoll {
			return p.minPoll()
		}
		return defaultMaxPoll
	}
	return p.MaxPoll
}

func (p PeerConfig) version() uint8 {
	if p.Version == 0 {
		return 4
	}
	return uint8(p.Version)
}

// Validate checks the configuration; New and Reconfigure call it.
func (c *Config) Validate() error {
	keys := map[string]bool{}
	for i, p := range c.Peers {
		where := fmt.Sprintf("peer %d (%q)", i, p.Key)
		switch {
		case p.Key == "":
			return fmt.Errorf("%w: %s: empty key", ErrConfig, where)
		case keys[p.Key]:
			return fmt.Errorf("%w: %s: duplicate key", ErrConfig, where)
		case !p.Address.IsValid() || p.Address.Port() == 0:
			return fmt.Errorf("%w: %s: address %v is not a host:port", ErrConfig, where, p.Address)
		case p.Address.Addr().IsMulticast() || p.Address.Addr().IsUnspecified():
			return fmt.Errorf("%w: %s: %v is not a unicast host address", ErrConfig, where, p.Address.Addr())
		case p.Version < 0 || p.Version > 4:
			return fmt.Errorf("%w: %s: version %d not in 1..4", ErrConfig, where, p.Version)
		case p.Mode != AssocSymmetric && p.Mode != AssocClient:
			return fmt.Errorf("%w: %s: unknown mode %d", ErrConfig, where, p.Mode)
		case p.minPoll() < minPollLimit || p.maxPoll() > maxPollLimit || p.minPoll() > p.maxPoll():
			return fmt.Errorf("%w: %s: minpoll %d maxpoll %d not 3 ≤ minpoll ≤ maxpoll ≤ 17", ErrConfig, where, p.minPoll(), p.maxPoll())
		}
		if p.KeyID != 0 {
			found := false
			for _, k := range c.Keys {
				found = found || k.ID == p.KeyID
			}
			if !found {
				return fmt.Errorf("%w: %s: key %d is not configured", ErrConfig, where, p.KeyID)
			}
		}
		keys[p.Key] = true
	}
	if (c.UnsyncMaxPoll == 0) != (c.UnsyncDecStep == 0) {
		return fmt.Errorf("%w: unsync max-poll-interval and dec-step go together", ErrConfig)
	}
	if c.UnsyncMaxPoll != 0 && (c.UnsyncMaxPoll < minPollLimit || c.UnsyncMaxPoll > maxPollLimit || c.UnsyncDecStep < 1) {
		return fmt.Errorf("%w: unsync max-poll-interval %d dec-step %d", ErrConfig, c.UnsyncMaxPoll, c.UnsyncDecStep)
	}
	if m := c.MakeStep; m != (MakeStep{}) && !(m.Threshold > 0 && m.Threshold <= panicThreshold && m.Updates >= -1) {
		return fmt.Errorf("%w: make-step threshold %v s, %d updates: want a threshold in (0, %v] s and -1 or more updates",
			ErrConfig, m.Threshold, m.Updates, panicThreshold)
	}
	if c.MaxSlewRate != 0 && !(c.MaxSlewRate > 0 && c.MaxSlewRate <= maxSlewRateLimit*1e6) {
		return fmt.Errorf("%w: max slew rate %v ppm not in (0, 500000]", ErrConfig, c.MaxSlewRate)
	}
	if c.FrequencyLimitPPM != 0 && !(c.FrequencyLimitPPM > 0 && c.FrequencyLimitPPM <= MaxFrequencyLimitPPM) {
		return fmt.Errorf("%w: frequency limit %v ppm not in (0, %v]", ErrConfig, c.FrequencyLimitPPM, MaxFrequencyLimitPPM)
	}
	if f, lim := c.InitialFrequencyPPM, c.freqLimit()*1e6; f != nil && !(math.Abs(*f) <= lim) {
		return fmt.Errorf("%w: initial frequency %v ppm not in [-%v, %v]", ErrConfig, *f, lim, lim)
	}
	if !(c.SettledFrequencyPPM >= 0 && c.SettledFrequencyPPM <= MaxFrequencyPPM) {
		return fmt.Errorf("%w: settled frequency error %v ppm not in [0, %v]", ErrConfig, c.SettledFrequencyPPM, MaxFrequencyPPM)
	}
	if c.LocalStratum >= maxStratum {
		return fmt.Errorf("%w: local stratum %d not in 1..15", ErrConfig, c.LocalStratum)
	}
	if _, err := auth.NewKeyring(c.Keys); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

func (c *Config) maxClock() int {
	if c.MaxClock <= 0 {
		return 10
	}
	return c.MaxClock
}

func (c *Config) maxEphemeral() int {
	switch {
	case c.MaxEphemeral < 0:
		return 0
	case c.MaxEphemeral == 0:
		return 16
	}
	return c.MaxEphemeral
}

// maxSlewRateLimit bounds Config.MaxSlewRate (s/s), as clock.Virtual does.
const maxSlewRateLimit = 0.5

// slewRate is the clock's slew rate in s/s.
func (c *Config) slewRate() float64 {
	if c.MaxSlewRate == 0 {
		return defaultSlewRate
	}
	return c.MaxSlewRate * 1e-6
}

// freqLimit is the frequency correction range in s/s.
func (c *Config) freqLimit() float64 {
	if c.FrequencyLimitPPM == 0 {
		return maxFreq
	}
	return c.FrequencyLimitPPM * 1e-6
}

// settledFreq is SettledFrequencyPPM in s/s.
func (c *Config) settledFreq() float64 {
	if c.SettledFrequencyPPM == 0 {
		return defaultSettledFreq
	}
	return c.SettledFrequencyPPM * 1e-6
}

func (c *Config) precision() int8 {
	if c.Precision == 0 {
		return -20
	}
	return c.Precision
}
