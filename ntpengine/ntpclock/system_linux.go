package ntpclock

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// MaxSlew is the largest offset System.Slew accepts. adjtime(3) in glibc
// refuses offsets beyond about ±2145 s (the kernel keeps the offset in
// microseconds in a 32-bit-safe range); larger offsets are for Step.
const MaxSlew = 2145 * time.Second

// ErrNoCapSysTime reports a process that may not adjust the host clock.
var ErrNoCapSysTime = errors.New("clock: the process lacks CAP_SYS_TIME, needed to adjust the system clock")

// ErrSlewTooLarge reports a slew beyond MaxSlew.
var ErrSlewTooLarge = errors.New("clock: slew offset beyond ±2145 s, step instead")

// ppmScale is the kernel's unit of timex.freq: ppm with a 16-bit binary
// fraction ("scaled ppm", adjtimex(2)).
const ppmScale = 1 << 16

// adjtimeFunc has the signature of unix.ClockAdjtime so that tests can observe
// the requests System makes without ever changing the host clock.
type adjtimeFunc func(clockID int32, tx *unix.Timex) (int, error)

// System is the host's CLOCK_REALTIME, adjusted with clock_adjtime(2). Every
// adjusting method needs CAP_SYS_TIME. The engine runs its own PLL/FLL
// (RFC 5905 §11.3), so System does not use the kernel PLL (ADJ_OFFSET with
// STA_PLL, which would discipline the offset a second time): Slew uses
// ADJ_OFFSET_SINGLESHOT, adjtime(3)'s constant 500 ppm slew, which is also
// what Virtual does. SetFrequency writes timex.freq, which the kernel applies
// whether or not its PLL is on. System is safe for concurrent use (the kernel
// serializes the calls; the cached frequency is guarded).
type System struct {
	adjtime adjtimeFunc

	mu      sync.Mutex
	lastPPM float64
}

// NewSystem returns the host clock. Nothing is changed until a Step, Slew or
// SetFrequency call.
func NewSystem() *System { return &System{adjtime: unix.ClockAdjtime} }

// CheckPrivilege tells, without changing anything, whether this process may
// adjust the host clock (CAP_SYS_TIME in its effective set, capget(2)), so
// that a daemon started with the system clock fails at once with a clear
// error instead of at its first clock update.
func (s *System) CheckPrivilege() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	if data[unix.CAP_SYS_TIME/32].Effective&(1<<(unix.CAP_SYS_TIME%32)) == 0 {
		return ErrNoCapSysTime
	}
	return nil
}

// Now returns the host's wall time.
//
// The monotonic reading is stripped: the engine measures intervals as
// differences of these times and moves its epoch when it steps the clock, and
// Go subtracts two times by their monotonic readings when both have one —
// which a kernel step does not move. With the reading, a +10 s step would
// look to the engine like time going back 10 s.
func (s *System) Now() time.Time { return time.Now().Round(0) }

// Step jumps the host clock by d with ADJ_SETOFFSET|ADJ_NANO, then cancels a
// singleshot slew in progress (see Virtual.Step for why).
func (s *System) Step(d time.Duration) error {
	tx := stepTimex(d)
	if _, err := s.adjtime(unix.CLOCK_REALTIME, &tx); err != nil {
		return fmt.Errorf("clock_adjtime step %v: %w", d, err)
	}
	cancel := slewTimex(0)
	if _, err := s.adjtime(unix.CLOCK_REALTIME, &cancel); err != nil {
		return fmt.Errorf("clock_adjtime cancel slew after step: %w", err)
	}
	return nil
}

// SetFrequency sets timex.freq (ADJ_FREQUENCY) to ppm, clamped to ±500 ppm.
func (s *System) SetFrequency(ppm float64) error {
	if math.IsNaN(ppm) || math.IsInf(ppm, 0) {
		return fmt.Errorf("set frequency %v: %w", ppm, ErrBadFrequency)
	}
	ppm = clampPPM(ppm)
	tx := frequencyTimex(ppm)
	if _, err := s.adjtime(unix.CLOCK_REALTIME, &tx); err != nil {
		return fmt.Errorf("clock_adjtime frequency %.3f ppm: %w", ppm, err)
	}
	s.mu.Lock()
	s.lastPPM = ppm
	s.mu.Unlock()
	return nil
}

// Frequency reads timex.freq from the kernel (a read-only clock_adjtime call).
// If the read fails it returns the last value SetFrequency applied.
func (s *System) Frequency() float64 {
	st, err := s.State()
	if err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.lastPPM
	}
	return st.FrequencyPPM
}

// Slew amortizes d with ADJ_OFFSET_SINGLESHOT (adjtime(3) semantics: 500 ppm,
// replacing any slew in progress). The kernel counts this offset in
// microseconds: d is rounded to the nearest microsecond.
func (s *System) Slew(d time.Duration) error {
	if d > MaxSlew || d < -MaxSlew {
		return fmt.Errorf("slew %v: %w", d, ErrSlewTooLarge)
	}
	tx := slewTimex(d)
	if _, err := s.adjtime(unix.CLOCK_REALTIME, &tx); err != nil {
		return fmt.Errorf("clock_adjtime slew %v: %w", d, err)
	}
	return nil
}

// KernelState is what a read-only clock_adjtime call tells about the host clock.
type KernelState struct {
	// FrequencyPPM is timex.freq in ppm.
	FrequencyPPM float64
	// Offset is the kernel PLL's remaining offset (timex.offset), whose unit
	// depends on STA_NANO.
	Offset time.Duration
	// Status is timex.status (STA_* bits); Synchronized is false when
	// STA_UNSYNC is set or the call returned TIME_ERROR.
	Status       int32
	Synchronized bool
	// MaxError and EstError are timex.maxerror and timex.esterror.
	MaxError, EstError time.Duration
	// TAI is the kernel's TAI−UTC offset in seconds.
	TAI int32
}

// State reads the kernel's clock state with clock_adjtime(CLOCK_REALTIME) and
// modes = 0, which changes nothing and needs no privilege.
func (s *System) State() (KernelState, error) {
	var tx unix.Timex
	state, err := s.adjtime(unix.CLOCK_REALTIME, &tx)
	if err != nil {
		return KernelState{}, fmt.Errorf("clock_adjtime read: %w", err)
	}
	return kernelState(state, &tx), nil
}

func kernelState(state int, tx *unix.Timex) KernelState {
	off := time.Duration(tx.Offset)
	if tx.Status&unix.STA_NANO == 0 {
		off *= time.Microsecond
	}
	return KernelState{
		FrequencyPPM: scaledToPPM(int64(tx.Freq)),
		Offset:       off,
		Status:       int32(tx.Status),
		Synchronized: state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0,
		MaxError:     time.Duration(tx.Maxerror) * time.Microsecond,
		EstError:     time.Duration(tx.Esterror) * time.Microsecond,
		TAI:          int32(tx.Tai),
	}
}

// setInt stores v in a timex field whose width depends on the platform.
func setInt[T ~int32 | ~int64](p *T, v int64) { *p = T(v) }

// ppmToScaled converts ppm to the kernel's scaled ppm (2⁻¹⁶ ppm), rounding to
// the nearest unit.
func ppmToScaled(ppm float64) int64 { return int64(math.Round(ppm * ppmScale)) }

func scaledToPPM(v int64) float64 { return float64(v) / ppmScale }

func frequencyTimex(ppm float64) unix.Timex {
	tx := unix.Timex{Modes: unix.ADJ_FREQUENCY}
	setInt(&tx.Freq, ppmToScaled(clampPPM(ppm)))
	return tx
}

// stepTimex builds an ADJ_SETOFFSET|ADJ_NANO request. The kernel wants
// time.tv_usec (nanoseconds with ADJ_NANO) in [0, 1e9), so a negative d is
// written as a negative second count plus a positive fraction.
func stepTimex(d time.Duration) unix.Timex {
	sec := int64(d / time.Second)
	nsec := int64(d % time.Second)
	if nsec < 0 {
		sec--
		nsec += int64(time.Second)
	}
	tx := unix.Timex{Modes: unix.ADJ_SETOFFSET | unix.ADJ_NANO}
	setInt(&tx.Time.Sec, sec)
	setInt(&tx.Time.Usec, nsec)
	return tx
}

// slewTimex builds an ADJ_OFFSET_SINGLESHOT request; its offset is always in
// microseconds (ADJ_NANO does not apply to it).
func slewTimex(d time.Duration) unix.Timex {
	us := int64(d.Round(time.Microsecond) / time.Microsecond)
	tx := unix.Timex{Modes: unix.ADJ_OFFSET_SINGLESHOT}
	setInt(&tx.Offset, us)
	return tx
}

// MaxSlewRate is the kernel's singleshot slew rate, AdjtimeSlewRate (ppm).
func (s *System) MaxSlewRate() float64 { return AdjtimeSlewRate }

var (
	_ Clock     = (*System)(nil)
	_ SlewRater = (*System)(nil)
)
