//go:build !linux

package ntpclock

import (
	"errors"
	"time"
)

// ErrUnsupportedOS is why the host clock cannot be disciplined here: the
// System clock is built on Linux's clock_adjtime(2).
var ErrUnsupportedOS = errors.New("disciplining the host clock needs Linux (clock_adjtime)")

// System is the host clock; on this system it cannot be steered, and
// CheckPrivilege says so before anything uses it.
type System struct{}

// NewSystem returns the host clock.
func NewSystem() *System { return &System{} }

// CheckPrivilege reports ErrUnsupportedOS.
func (*System) CheckPrivilege() error { return ErrUnsupportedOS }

// Now reads the host clock.
func (*System) Now() time.Time { return time.Now().Round(0) }

// Step reports ErrUnsupportedOS.
func (*System) Step(time.Duration) error { return ErrUnsupportedOS }

// SetFrequency reports ErrUnsupportedOS.
func (*System) SetFrequency(float64) error { return ErrUnsupportedOS }

// Frequency is 0: the host clock is never steered here.
func (*System) Frequency() float64 { return 0 }

// Slew reports ErrUnsupportedOS.
func (*System) Slew(time.Duration) error { return ErrUnsupportedOS }

// MaxSlewRate is AdjtimeSlewRate.
func (*System) MaxSlewRate() float64 { return AdjtimeSlewRate }
