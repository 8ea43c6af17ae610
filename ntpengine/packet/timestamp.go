package packet

import (
	"math"
	"time"
)

// Timestamp is the NTP 64-bit timestamp format (RFC 5905 §6): 32 bits of
// seconds since the start of the current era and 32 bits of fraction.
// Era 0 starts at 1900-01-01 00:00:00 UTC.
type Timestamp uint64

// ntpEpochOffset is the number of seconds from 1900-01-01 to 1970-01-01.
const ntpEpochOffset = 2208988800

// TimestampFromTime converts t into the NTP timestamp of its era. The zero
// time.Time becomes the zero Timestamp, which RFC 5905 reserves for "unknown".
func TimestampFromTime(t time.Time) Timestamp {
	if t.IsZero() {
		return 0
	}
	secs := t.Unix() + ntpEpochOffset
	frac := (uint64(t.Nanosecond()) << 32) / 1e9
	// Seconds modulo 2^32: the era number is not carried on the wire.
	return Timestamp(uint64(uint32(secs))<<32 | frac)
}

// Time converts the timestamp to a time.Time, choosing the era that puts the
// result within ±68 years of pivot (RFC 5905 §6: the era must be inferred from
// context). The zero Timestamp becomes the zero time.Time.
func (ts Timestamp) Time(pivot time.Time) time.Time {
	if ts == 0 {
		return time.Time{}
	}
	p := TimestampFromTime(pivot)
	if pivot.IsZero() {
		p = TimestampFromTime(time.Unix(0, 0))
	}
	return pivot.Add(ts.Sub(p))
}

// Sub returns ts − u as a duration. The difference is taken as 64-bit
// unsigned integers and reinterpreted as signed (RFC 5905 §8), so it is
// correct across an era boundary as long as the true difference is under
// 68 years. Results that overflow time.Duration (±292 years) cannot occur.
func (ts Timestamp) Sub(u Timestamp) time.Duration {
	d := int64(uint64(ts) - uint64(u))
	return fixedToDuration(d)
}

// Seconds returns ts − u in seconds as a float64, era-safe like Sub.
func (ts Timestamp) SubSeconds(u Timestamp) float64 {
	d := int64(uint64(ts) - uint64(u))
	return float64(d) / (1 << 32)
}

// Add returns ts advanced by d, wrapping at the era boundary.
func (ts Timestamp) Add(d time.Duration) Timestamp {
	return Timestamp(uint64(ts) + uint64(durationToFixed(d)))
}

// fixedToDuration converts a signed 32.32 fixed-point value to a Duration,
// rounding to the nearest nanosecond.
func fixedToDuration(d int64) time.Duration {
	neg := d < 0
	u := uint64(d)
	if neg {
		u = uint64(-d)
	}
	secs := u >> 32
	frac := u & 0xffffffff
	ns := (frac*1e9 + 1<<31) >> 32
	r := time.Duration(secs)*time.Second + time.Duration(ns)
	if neg {
		return -r
	}
	return r
}

func durationToFixed(d time.Duration) int64 {
	neg := d < 0
	u := uint64(d)
	if neg {
		u = uint64(-d)
	}
	secs := u / 1e9
	ns := u % 1e9
	f := secs<<32 | (ns<<32)/1e9
	if neg {
		return -int64(f)
	}
	return int64(f)
}

// Short is the NTP 32-bit short format (RFC 5905 §6): 16 bits of seconds and
// 16 bits of fraction, used for root delay and root dispersion.
type Short uint32

// ShortFromSeconds converts s (seconds, ≥ 0) to the short format, saturating
// at the largest representable value and at 0 for negative or NaN input.
func ShortFromSeconds(s float64) Short {
	if !(s > 0) {
		return 0
	}
	v := s * 65536
	if v >= math.MaxUint32 {
		return math.MaxUint32
	}
	return Short(v + 0.5)
}

// Seconds returns the value in seconds.
func (s Short) Seconds() float64 { return float64(s) / 65536 }
