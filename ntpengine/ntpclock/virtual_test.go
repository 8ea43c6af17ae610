package ntpclock

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"
)

// manualMono is a monotonic source the test advances by hand.
type manualMono struct {
	mu sync.Mutex
	t  time.Duration
}

func (m *manualMono) now() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.t
}

func (m *manualMono) advance(d time.Duration) {
	m.mu.Lock()
	m.t += d
	m.mu.Unlock()
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// newTestVirtual returns a clock slewing at adjtime's 500 ppm, the rate the
// slew tests below are written for (SlewRateDivisor); TestVirtualSlewRates
// covers the default and other rates.
func newTestVirtual() (*Virtual, *manualMono) {
	m := &manualMono{t: 5 * time.Second} // a source that does not start at zero
	v := NewVirtual(m.now, epoch)
	if err := v.SetMaxSlewRate(AdjtimeSlewRate); err != nil {
		panic(err)
	}
	return v, m
}

func TestVirtualStartsAtStartAndFollowsSource(t *testing.T) {
	v, m := newTestVirtual()
	if got := v.Now(); !got.Equal(epoch) {
		t.Fatalf("Now at start = %v, want %v", got, epoch)
	}
	m.advance(1234567 * time.Nanosecond)
	if got, want := v.Now(), epoch.Add(1234567); !got.Equal(want) {
		t.Fatalf("Now = %v, want %v", got, want)
	}
}

func TestVirtualFrequency(t *testing.T) {
	tests := []struct {
		name    string
		ppm     float64
		elapsed time.Duration
		want    time.Duration // clock advance
		wantPPM float64
	}{
		{"RFC5905 §11.3 +100 ppm over 1000 s gains 100 ms", 100, 1000 * time.Second, 1000*time.Second + 100*time.Millisecond, 100},
		{"-37.5 ppm over 10 s loses 375 µs", -37.5, 10 * time.Second, 10*time.Second - 375*time.Microsecond, -37.5},
		{"beyond RFC5905 §11.3 MAXFREQ: +5000 ppm over 100 s gains 0.5 s", 5000, 100 * time.Second, 100*time.Second + 500*time.Millisecond, 5000},
		{"clamp +200000 ppm to the virtual range +100000 ppm", 200000, 100 * time.Second, 110 * time.Second, 100000},
		{"clamp -1e9 ppm to the virtual range -100000 ppm", -1e9, 100 * time.Second, 90 * time.Second, -100000},
		{"fractional ppm rounds to the nanosecond", 0.001, 1500 * time.Millisecond, 1500*time.Millisecond + 2, 0.001},
		{"zero ppm", 0, time.Hour, time.Hour, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, m := newTestVirtual()
			if err := v.SetFrequency(tc.ppm); err != nil {
				t.Fatal(err)
			}
			if got := v.Frequency(); got != tc.wantPPM {
				t.Fatalf("Frequency() = %v, want %v", got, tc.wantPPM)
			}
			m.advance(tc.elapsed)
			if got := v.Now().Sub(epoch); got != tc.want {
				t.Fatalf("advance = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestVirtualSetFrequencyRefusesNonFinite(t *testing.T) {
	for _, ppm := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		v, m := newTestVirtual()
		if err := v.SetFrequency(20); err != nil {
			t.Fatal(err)
		}
		if err := v.SetFrequency(ppm); !errors.Is(err, ErrBadFrequency) {
			t.Fatalf("SetFrequency(%v) error = %v, want ErrBadFrequency", ppm, err)
		}
		if got := v.Frequency(); got != 20 {
			t.Fatalf("after refused SetFrequency(%v): Frequency() = %v, want 20 (unchanged)", ppm, got)
		}
		m.advance(time.Second)
		if got, want := v.Now().Sub(epoch), time.Second+20*time.Microsecond; got != want {
			t.Fatalf("advance = %v, want %v", got, want)
		}
	}
}

func TestVirtualFrequencyChangeIsPiecewiseLinear(t *testing.T) {
	v, m := newTestVirtual()
	_ = v.SetFrequency(200)
	m.advance(10 * time.Second) // +2 ms
	_ = v.SetFrequency(-100)
	m.advance(10 * time.Second) // -1 ms
	want := epoch.Add(20*time.Second + time.Millisecond)
	if got := v.Now(); !got.Equal(want) {
		t.Fatalf("Now = %v, want %v (each segment at its own rate)", got, want)
	}
}

func TestVirtualSlew(t *testing.T) {
	tests := []struct {
		name   string
		offset time.Duration
	}{
		{"positive 1 ms takes 2 s at 500 ppm", time.Millisecond},
		{"negative 3 ms takes 6 s at 500 ppm", -3 * time.Millisecond},
		{"odd 1001 ns", 1001},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, m := newTestVirtual()
			if err := v.Slew(tc.offset); err != nil {
				t.Fatal(err)
			}
			abs := max(tc.offset, -tc.offset)
			done := abs * SlewRateDivisor
			// Halfway: half applied.
			m.advance(done / 2)
			if got, want := v.Now().Sub(epoch)-done/2, tc.offset/2; got != want && got != want-1 && got != want+1 {
				t.Fatalf("halfway applied %v, want ≈ %v", got, want)
			}
			// One nanosecond short of the end: not yet complete.
			m.advance(done - done/2 - 1)
			if left := v.SlewRemaining(); left == 0 {
				t.Fatalf("slew complete 1 ns early")
			}
			// At the end: exactly complete.
			m.advance(1)
			if got := v.Now().Sub(epoch) - done; got != tc.offset {
				t.Fatalf("at end applied %v, want %v", got, tc.offset)
			}
			if left := v.SlewRemaining(); left != 0 {
				t.Fatalf("SlewRemaining at end = %v", left)
			}
			// Long after: no overshoot.
			m.advance(time.Hour)
			if got := v.Now().Sub(epoch) - done - time.Hour; got != tc.offset {
				t.Fatalf("long after applied %v, want %v (overshoot)", got, tc.offset)
			}
		})
	}
}

func TestVirtualSlewNeverOvershootsAtAnyInstant(t *testing.T) {
	v, m := newTestVirtual()
	const off = 777 * time.Microsecond
	_ = v.Slew(off)
	var elapsed time.Duration
	for i := 0; i < 2000; i++ {
		step := time.Duration(i%13+1) * time.Millisecond
		m.advance(step)
		elapsed += step
		applied := v.Now().Sub(epoch) - elapsed
		if applied > off || applied < 0 {
			t.Fatalf("after %v applied %v, outside [0, %v]", elapsed, applied, off)
		}
		if want := min(off, elapsed/SlewRateDivisor); applied != want {
			t.Fatalf("after %v applied %v, want %v", elapsed, applied, want)
		}
	}
}

func TestVirtualSlewReplacesSlewInProgress(t *testing.T) {
	v, m := newTestVirtual()
	_ = v.Slew(10 * time.Millisecond)
	m.advance(2 * time.Second) // 1 ms applied
	_ = v.Slew(-time.Millisecond)
	if left := v.SlewRemaining(); left != -time.Millisecond {
		t.Fatalf("SlewRemaining = %v, want -1ms (old slew dropped)", left)
	}
	m.advance(time.Hour)
	if got, want := v.Now().Sub(epoch), 2*time.Second+time.Hour; got != want {
		t.Fatalf("advance = %v, want %v (+1 ms applied then -1 ms)", got, want)
	}
}

func TestVirtualSlewAddsToFrequency(t *testing.T) {
	v, m := newTestVirtual()
	_ = v.SetFrequency(100)
	_ = v.Slew(time.Millisecond)
	m.advance(10 * time.Second)
	if got, want := v.Now().Sub(epoch), 10*time.Second+time.Millisecond+time.Millisecond; got != want {
		t.Fatalf("advance = %v, want %v", got, want)
	}
}

func TestVirtualStep(t *testing.T) {
	tests := []struct {
		name string
		step time.Duration
	}{
		{"RFC5905 §12 step forward 100 s", 100 * time.Second},
		{"RFC5905 §12 step back 250 ms", -250 * time.Millisecond},
		{"zero step", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, m := newTestVirtual()
			_ = v.SetFrequency(50)
			_ = v.Slew(time.Millisecond)
			m.advance(time.Second)
			before := v.Now()
			if err := v.Step(tc.step); err != nil {
				t.Fatal(err)
			}
			if got := v.Now().Sub(before); got != tc.step {
				t.Fatalf("step moved %v, want %v", got, tc.step)
			}
			if left := v.SlewRemaining(); left != 0 {
				t.Fatalf("slew left after step = %v, want cancelled", left)
			}
			if got := v.Frequency(); got != 50 {
				t.Fatalf("frequency after step = %v, want kept 50", got)
			}
			m.advance(time.Second)
			if got, want := v.Now().Sub(before), tc.step+time.Second+50*time.Microsecond; got != want {
				t.Fatalf("after step advance = %v, want %v", got, want)
			}
		})
	}
}

func TestVirtualMonotonicUnderFrequencyAndSlewChanges(t *testing.T) {
	v, m := newTestVirtual()
	prev := v.Now()
	ppms := []float64{500, -500, 0.5, -499.999, 123, -1, 500}
	slews := []time.Duration{-time.Second, time.Second, -3, 0}
	for i := 0; i < 5000; i++ {
		m.advance(time.Duration(i%7) * 997 * time.Nanosecond)
		switch i % 5 {
		case 0:
			_ = v.SetFrequency(ppms[i%len(ppms)])
		case 3:
			_ = v.Slew(slews[i%len(slews)])
		}
		now := v.Now()
		if now.Before(prev) {
			t.Fatalf("iteration %d: time went backwards from %v to %v", i, prev, now)
		}
		prev = now
	}
}

func TestVirtualConcurrentUse(t *testing.T) {
	v := NewVirtualFromHost()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prev := v.Now()
			for i := 0; i < 500; i++ {
				switch i % 3 {
				case 0:
					_ = v.SetFrequency(float64(i%100) - 50)
				case 1:
					_ = v.Slew(time.Duration(i) * time.Microsecond)
				}
				now := v.Now()
				if now.Before(prev) {
					t.Errorf("time went backwards: %v -> %v", prev, now)
					return
				}
				prev = now
			}
		}()
	}
	wg.Wait()
}

func TestVirtualFromHostStartsNearHostTime(t *testing.T) {
	before := time.Now()
	v := NewVirtualFromHost()
	got := v.Now()
	after := time.Now()
	if got.Before(before.Add(-time.Second)) || got.After(after.Add(time.Second)) {
		t.Fatalf("Now = %v, host between %v and %v", got, before, after)
	}
}

func TestVirtualHoldsWhenSourceGoesBackwards(t *testing.T) {
	v, m := newTestVirtual()
	m.advance(time.Second)
	at := v.Now()
	m.advance(-500 * time.Millisecond) // a broken source
	if got := v.Now(); got.Before(at) {
		t.Fatalf("time went backwards with the source: %v -> %v", at, got)
	}
	_ = v.SetFrequency(10) // re-anchoring on a backwards source keeps the time
	if got := v.Now(); got.Before(at) {
		t.Fatalf("time went backwards after re-anchoring: %v -> %v", at, got)
	}
}

// With frequency and slew both at -500 ppm, each term's rounding can take
// away a nanosecond at the same instant; time must still never go back.
func TestVirtualMonotonicAtNanosecondSteps(t *testing.T) {
	// At -497.283 ppm both roundings step down between 183999 ns and
	// 184000 ns after the anchor (found by search).
	for _, ppm := range []float64{-497.283, -500, -250.3} {
		v, m := newTestVirtual()
		_ = v.SetFrequency(ppm)
		_ = v.Slew(-time.Second)
		m.advance(183000)
		prev := v.Now()
		for i := 0; i < 2000; i++ {
			m.advance(1)
			now := v.Now()
			if now.Before(prev) {
				t.Fatalf("ppm %v, step %d: time went backwards %v -> %v", ppm, i, prev, now)
			}
			prev = now
		}
	}
}

func TestVirtualDefaultSlewRateIsChronys(t *testing.T) {
	m := &manualMono{}
	v := NewVirtual(m.now, epoch)
	if got := v.MaxSlewRate(); math.Abs(got-DefaultVirtualSlewRate) > 1e-3 {
		t.Fatalf("MaxSlewRate = %v ppm, want %v", got, DefaultVirtualSlewRate)
	}
	if got := MaxSlewRate(v); math.Abs(got-DefaultVirtualSlewRate) > 1e-3 {
		t.Fatalf("MaxSlewRate(Virtual) = %v ppm", got)
	}
	// chrony's maxslewrate: 0.1 s is amortized in 1.2 s.
	_ = v.Slew(100 * time.Millisecond)
	m.advance(600 * time.Millisecond)
	if got := v.Now().Sub(epoch) - 600*time.Millisecond; got < 49999*time.Microsecond || got > 50*time.Millisecond {
		t.Fatalf("after 0.6 s applied %v, want ≈ 50 ms", got)
	}
	m.advance(600 * time.Millisecond)
	if left := v.SlewRemaining(); left > time.Microsecond {
		t.Fatalf("after 1.2 s %v left", left)
	}
	m.advance(time.Hour)
	if got := v.Now().Sub(epoch) - 1200*time.Millisecond - time.Hour; got != 100*time.Millisecond {
		t.Fatalf("applied %v, want exactly 100 ms (no overshoot)", got)
	}
}

// TestVirtualSlewRates: at any rate, the slew applied after e of elapsed
// time is floor(e·rate), never more than the offset, and exactly the offset
// once e·rate reaches it.
func TestVirtualSlewRates(t *testing.T) {
	for _, ppm := range []float64{1, AdjtimeSlewRate, 12345.678, DefaultVirtualSlewRate, MaxVirtualSlewRate} {
		for _, off := range []time.Duration{100 * time.Millisecond, -37 * time.Millisecond, 999} {
			m := &manualMono{t: time.Second}
			v := NewVirtual(m.now, epoch)
			if err := v.SetMaxSlewRate(ppm); err != nil {
				t.Fatal(err)
			}
			_ = v.Slew(off)
			abs := max(off, -off)
			var elapsed time.Duration
			for i := 0; i < 300; i++ {
				step := time.Duration(i%17+1) * 3 * time.Millisecond
				if ppm < 10 {
					step *= 10000
				}
				m.advance(step)
				elapsed += step
				applied := v.Now().Sub(epoch) - elapsed
				want := min(abs, time.Duration(math.Floor(float64(elapsed)*ppm/1e6+1e-6)))
				if off < 0 {
					want = -want
				}
				if d := applied - want; d > 1 || d < -1 {
					t.Fatalf("rate %v ppm, slew %v, after %v: applied %v, want %v", ppm, off, elapsed, applied, want)
				}
				if max(applied, -applied) > abs {
					t.Fatalf("rate %v ppm: overshoot %v of %v", ppm, applied, off)
				}
			}
		}
	}
}

func TestVirtualSetMaxSlewRate(t *testing.T) {
	v, m := newTestVirtual()
	_ = v.Slew(10 * time.Millisecond)
	m.advance(2 * time.Second) // 1 ms applied at 500 ppm
	for _, bad := range []float64{0, -1, MaxVirtualSlewRate + 1, math.NaN(), math.Inf(1)} {
		if err := v.SetMaxSlewRate(bad); !errors.Is(err, ErrBadSlewRate) {
			t.Fatalf("SetMaxSlewRate(%v) error %v, want ErrBadSlewRate", bad, err)
		}
	}
	if got := v.MaxSlewRate(); got != AdjtimeSlewRate {
		t.Fatalf("refused rates changed the rate to %v", got)
	}
	// A new rate applies to the rest of the slew in progress, from now.
	if err := v.SetMaxSlewRate(9000); err != nil {
		t.Fatal(err)
	}
	if left := v.SlewRemaining(); left != 9*time.Millisecond {
		t.Fatalf("SlewRemaining = %v, want 9 ms", left)
	}
	m.advance(500 * time.Millisecond) // 4.5 ms more
	if got, want := v.Now().Sub(epoch), 2500*time.Millisecond+5500*time.Microsecond; got != want {
		t.Fatalf("Now = %v after start, want %v", got, want)
	}
}

type plainClock struct{ Clock }

func TestMaxSlewRateOfClockWithoutSlewRater(t *testing.T) {
	if got := MaxSlewRate(plainClock{}); got != AdjtimeSlewRate {
		t.Errorf("a Clock without SlewRater: %v ppm, want %v", got, AdjtimeSlewRate)
	}
}

// manualHost is a host whose monotonic and wall clocks the test moves by
// hand, apart: a step of the wall clock does not move the monotonic one.
type manualHost struct {
	mu   sync.Mutex
	mono time.Duration
	wall time.Time
}

func (h *manualHost) read() (time.Duration, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mono, h.wall
}

func (h *manualHost) advance(d time.Duration) {
	h.mu.Lock()
	h.mono += d
	h.wall = h.wall.Add(d)
	h.mu.Unlock()
}

func (h *manualHost) stepWall(d time.Duration) {
	h.mu.Lock()
	h.wall = h.wall.Add(d)
	h.mu.Unlock()
}

func TestVirtualHostOffsetIsClockMinusHostWallTime(t *testing.T) {
	h := &manualHost{mono: time.Second, wall: epoch}
	v := newVirtualOn(h.read, 5*time.Millisecond, 20)
	if off, ok := v.HostOffset(); !ok || off != 5*time.Millisecond {
		t.Fatalf("HostOffset at start = %v, %v; want 5ms, true", off, ok)
	}
	// 20 ppm fast: 20 µs more per second of host time.
	h.advance(10 * time.Second)
	if off, _ := v.HostOffset(); off != 5*time.Millisecond+200*time.Microsecond {
		t.Fatalf("HostOffset after 10 s at +20 ppm = %v, want 5.2ms", off)
	}
	if got := v.HostFrequencyOffset(); got != 20 {
		t.Fatalf("HostFrequencyOffset = %v, want the source error 20", got)
	}
	// A correction of −20 ppm cancels the source's error; a step moves the
	// clock and its offset by the same amount.
	if err := v.SetFrequency(-20); err != nil {
		t.Fatal(err)
	}
	if err := v.Step(-5200 * time.Microsecond); err != nil {
		t.Fatal(err)
	}
	h.advance(100 * time.Second)
	if off, _ := v.HostOffset(); off != 0 {
		t.Fatalf("HostOffset after correction = %v, want 0", off)
	}
	if got := v.HostFrequencyOffset(); got != 0 {
		t.Fatalf("HostFrequencyOffset after correction = %v, want 0", got)
	}
	if got, want := v.Frequency(), -20.0; got != want {
		t.Fatalf("Frequency = %v, want the correction alone, %v", got, want)
	}
	// The host's wall clock steps (its operator or its own NTP daemon): the
	// virtual clock does not follow, and its offset from the host shows it.
	h.stepWall(time.Second)
	if off, _ := v.HostOffset(); off != -time.Second {
		t.Fatalf("HostOffset after a host step of +1 s = %v, want -1s", off)
	}
	if now, _ := v.HostOffset(); now != -time.Second {
		t.Fatalf("HostOffset is not stable: %v", now)
	}
}

// HostOffset takes the clock's value at its own reading of the host: a
// reader of the clock that comes while HostOffset reads the host (here
// 40 µs of host time later, as the engine does every few ms) waits for
// it, and does not move the line that HostOffset reads past the reading.
// Read before the lock, the offset read +40 µs (seen once in 1,800
// readings of the real-path lab).
func TestVirtualHostOffsetNotMovedByAReaderInBetween(t *testing.T) {
	h := &manualHost{mono: time.Second, wall: epoch}
	var v *Virtual
	var other chan struct{}
	first := true
	read := func() (time.Duration, time.Time) {
		m, w := h.read()
		if first {
			first = false
			h.advance(40 * time.Microsecond)
			other = make(chan struct{})
			go func() { v.Now(); close(other) }()
			// The other reader is done, or waits for the lock (bounded).
			select {
			case <-other:
			case <-time.After(50 * time.Millisecond):
			}
		}
		return m, w
	}
	v = newVirtualOn(h.read, 0, 0)
	v.host = read
	off, ok := v.HostOffset()
	<-other
	if !ok || off != 0 {
		t.Fatalf("HostOffset = %v, %v; want 0 (the clock is the host's), true", off, ok)
	}
	if off, _ := v.HostOffset(); off != 0 {
		t.Fatalf("HostOffset after the other reader = %v, want 0", off)
	}
}

func TestVirtualOverOtherSourceHasNoHostOffset(t *testing.T) {
	v, _ := newTestVirtual()
	if off, ok := v.HostOffset(); ok {
		t.Fatalf("HostOffset of a clock over a hand-driven source = %v, true; want false", off)
	}
}

func TestVirtualOffHostStartsAtTheGivenOffset(t *testing.T) {
	v, err := NewVirtualOffHost(-50*time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	off, ok := v.HostOffset()
	// time.Now reads the host's wall and monotonic clocks one after the
	// other: the offset read back differs from the one given by the time
	// between those two readings (nanoseconds, unless the thread is
	// preempted right between them).
	if d := off + 50*time.Millisecond; !ok || d < -100*time.Microsecond || d > 100*time.Microsecond {
		t.Fatalf("HostOffset = %v, %v; want -50ms, true", off, ok)
	}
	if d := time.Until(v.Now()); d > -49*time.Millisecond || d < -51*time.Millisecond-time.Second {
		t.Fatalf("Now is %v from the host's time, want about -50ms", d)
	}
	if v.HostFrequencyOffset() != 0 || v.Frequency() != 0 {
		t.Fatalf("frequencies %v %v, want 0", v.HostFrequencyOffset(), v.Frequency())
	}
}

func TestNewVirtualOffHostRefusesBadFrequencyError(t *testing.T) {
	for _, ppm := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 500.001, -501} {
		if v, err := NewVirtualOffHost(0, ppm); !errors.Is(err, ErrBadFrequencyError) || v != nil {
			t.Errorf("NewVirtualOffHost(0, %v) = %v, %v; want nil, ErrBadFrequencyError", ppm, v, err)
		}
	}
	for _, ppm := range []float64{-500, 0, 500} {
		if _, err := NewVirtualOffHost(0, ppm); err != nil {
			t.Errorf("NewVirtualOffHost(0, %v): %v", ppm, err)
		}
	}
}
