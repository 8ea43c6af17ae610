package ntpclock

import (
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// recorder is an adjtime function that records requests and never reaches
// the kernel: no test changes the host clock.
type recorder struct {
	calls []unix.Timex
	err   error
	reply unix.Timex
	state int
}

func (r *recorder) adjtime(id int32, tx *unix.Timex) (int, error) {
	if id != unix.CLOCK_REALTIME {
		panic("unexpected clock id")
	}
	r.calls = append(r.calls, *tx)
	if r.err != nil {
		return -1, r.err
	}
	if tx.Modes == 0 {
		*tx = r.reply
	}
	return r.state, nil
}

func TestPPMToScaled(t *testing.T) {
	tests := []struct {
		name string
		ppm  float64
		want int64
	}{
		{"adjtimex(2) freq unit is 2^-16 ppm: 1 ppm", 1, 65536},
		{"-500 ppm", -500, -32768000},
		{"half unit rounds away from zero", 0.5 / 65536, 1},
		{"12.345 ppm", 12.345, 809042},
		{"zero", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ppmToScaled(tc.ppm); got != tc.want {
				t.Fatalf("ppmToScaled(%v) = %d, want %d", tc.ppm, got, tc.want)
			}
			if back := scaledToPPM(tc.want); math.Abs(back-tc.ppm) > 1.0/65536 {
				t.Fatalf("scaledToPPM(%d) = %v, want ≈ %v", tc.want, back, tc.ppm)
			}
		})
	}
}

func TestStepTimex(t *testing.T) {
	tests := []struct {
		name      string
		d         time.Duration
		sec, nsec int64
	}{
		{"positive 1.5 s", 1500 * time.Millisecond, 1, 500000000},
		{"negative -1.5 s keeps tv_usec in [0,1e9)", -1500 * time.Millisecond, -2, 500000000},
		{"negative -1 ns", -1, -1, 999999999},
		{"whole negative seconds", -3 * time.Second, -3, 0},
		{"zero", 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx := stepTimex(tc.d)
			if tx.Modes != unix.ADJ_SETOFFSET|unix.ADJ_NANO {
				t.Fatalf("modes = %#x", tx.Modes)
			}
			if int64(tx.Time.Sec) != tc.sec || int64(tx.Time.Usec) != tc.nsec {
				t.Fatalf("time = %d s %d ns, want %d s %d ns", tx.Time.Sec, tx.Time.Usec, tc.sec, tc.nsec)
			}
			if back := time.Duration(tx.Time.Sec)*time.Second + time.Duration(tx.Time.Usec); back != tc.d {
				t.Fatalf("round trip %v, want %v", back, tc.d)
			}
		})
	}
}

func TestSlewTimex(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		us   int64
	}{
		{"singleshot offset is in microseconds", 1500 * time.Microsecond, 1500},
		{"rounds to nearest microsecond", 1499*time.Microsecond + 600, 1500},
		{"negative", -2 * time.Millisecond, -2000},
		{"zero cancels", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx := slewTimex(tc.d)
			if tx.Modes != unix.ADJ_OFFSET_SINGLESHOT || int64(tx.Offset) != tc.us {
				t.Fatalf("timex = modes %#x offset %d, want %#x %d", tx.Modes, tx.Offset, unix.ADJ_OFFSET_SINGLESHOT, tc.us)
			}
		})
	}
}

func TestSystemRequestsThroughInjectedAdjtime(t *testing.T) {
	r := &recorder{}
	s := &System{adjtime: r.adjtime}

	if err := s.SetFrequency(-900); err != nil {
		t.Fatal(err)
	}
	if err := s.Slew(-250 * time.Microsecond); err != nil {
		t.Fatal(err)
	}
	if err := s.Step(-1500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	want := []unix.Timex{
		frequencyTimex(-500), // clamped, RFC 5905 §11.3
		slewTimex(-250 * time.Microsecond),
		stepTimex(-1500 * time.Millisecond),
		slewTimex(0), // a step cancels the slew in progress
	}
	if len(r.calls) != len(want) {
		t.Fatalf("%d calls, want %d: %+v", len(r.calls), len(want), r.calls)
	}
	for i := range want {
		if r.calls[i] != want[i] {
			t.Errorf("call %d = %+v, want %+v", i, r.calls[i], want[i])
		}
	}
	if got := int64(r.calls[0].Freq); got != -32768000 {
		t.Fatalf("freq = %d, want -500<<16", got)
	}
}

func TestSystemRefusesBadInputWithoutCalling(t *testing.T) {
	r := &recorder{}
	s := &System{adjtime: r.adjtime}
	if err := s.SetFrequency(math.NaN()); !errors.Is(err, ErrBadFrequency) {
		t.Fatalf("SetFrequency(NaN) = %v", err)
	}
	if err := s.Slew(MaxSlew + time.Microsecond); !errors.Is(err, ErrSlewTooLarge) {
		t.Fatalf("Slew(too large) = %v", err)
	}
	if err := s.Slew(-MaxSlew - time.Microsecond); !errors.Is(err, ErrSlewTooLarge) {
		t.Fatalf("Slew(too small) = %v", err)
	}
	if len(r.calls) != 0 {
		t.Fatalf("bad input reached clock_adjtime: %+v", r.calls)
	}
}

func TestSystemErrorsAreWrapped(t *testing.T) {
	r := &recorder{err: unix.EPERM}
	s := &System{adjtime: r.adjtime}
	if err := s.Step(time.Second); !errors.Is(err, unix.EPERM) {
		t.Fatalf("Step error = %v, want EPERM wrapped", err)
	}
	if err := s.SetFrequency(1); !errors.Is(err, unix.EPERM) {
		t.Fatalf("SetFrequency error = %v", err)
	}
	if err := s.Slew(time.Millisecond); !errors.Is(err, unix.EPERM) {
		t.Fatalf("Slew error = %v", err)
	}
	if _, err := s.State(); !errors.Is(err, unix.EPERM) {
		t.Fatalf("State error = %v", err)
	}
}

func TestSystemFrequencyFallsBackToLastSet(t *testing.T) {
	r := &recorder{}
	s := &System{adjtime: r.adjtime}
	if err := s.SetFrequency(12.5); err != nil {
		t.Fatal(err)
	}
	r.err = unix.EINVAL
	if got := s.Frequency(); got != 12.5 {
		t.Fatalf("Frequency after failed read = %v, want 12.5", got)
	}
}

func TestKernelStateDecoding(t *testing.T) {
	var tx unix.Timex
	setInt(&tx.Freq, -3*65536/2)
	setInt(&tx.Offset, 1500)
	tx.Status = unix.STA_NANO
	setInt(&tx.Maxerror, 16000)
	tx.Tai = 37
	r := &recorder{reply: tx, state: unix.TIME_OK}
	st, err := (&System{adjtime: r.adjtime}).State()
	if err != nil {
		t.Fatal(err)
	}
	if st.FrequencyPPM != -1.5 || st.Offset != 1500 || !st.Synchronized || st.MaxError != 16*time.Millisecond || st.TAI != 37 {
		t.Fatalf("state = %+v", st)
	}
	tx.Status = unix.STA_UNSYNC // microsecond offsets, unsynchronized
	r.reply = tx
	st, _ = (&System{adjtime: r.adjtime}).State()
	if st.Offset != 1500*time.Microsecond || st.Synchronized {
		t.Fatalf("state = %+v", st)
	}
	if len(r.calls) != 2 || r.calls[0].Modes != 0 || r.calls[1].Modes != 0 {
		t.Fatalf("State must only read (modes 0): %+v", r.calls)
	}
}

// TestSystemReadsHostStateReadOnly makes the one real clock_adjtime call a
// test may make: modes = 0, which reads and changes nothing.
func TestSystemReadsHostStateReadOnly(t *testing.T) {
	s := NewSystem()
	st, err := s.State()
	if err != nil {
		t.Fatalf("read-only clock_adjtime: %v", err)
	}
	if math.Abs(st.FrequencyPPM) > 512 { // the kernel bounds freq to ±500 ppm (MAXFREQ)
		t.Fatalf("kernel frequency %v ppm out of the kernel's own range", st.FrequencyPPM)
	}
	if f := s.Frequency(); math.Abs(f-st.FrequencyPPM) > 1 {
		// Only another process adjusting the clock between the calls could differ.
		t.Logf("frequency changed between reads: %v then %v", st.FrequencyPPM, f)
	}
	if now := s.Now(); now.IsZero() {
		t.Fatal("Now is zero")
	}
}

// TestCheckPrivilegeAgreesWithProcStatus compares capget(2) with the
// kernel's other account of the same fact, CapEff in /proc/self/status.
func TestCheckPrivilegeAgreesWithProcStatus(t *testing.T) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var capEff uint64
	found := false
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			capEff, err = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			found = true
		}
	}
	if !found {
		t.Fatal("no CapEff line in /proc/self/status")
	}
	want := capEff&(1<<unix.CAP_SYS_TIME) != 0
	err = NewSystem().CheckPrivilege()
	if want && err != nil {
		t.Fatalf("CapEff has CAP_SYS_TIME but CheckPrivilege = %v", err)
	}
	if !want && !errors.Is(err, ErrNoCapSysTime) {
		t.Fatalf("CapEff lacks CAP_SYS_TIME but CheckPrivilege = %v", err)
	}
}

// TestSystemNowHasNoMonotonicReading: times from the system clock carry no
// monotonic reading, so that time differences follow the wall clock across a
// step (Go subtracts by monotonic readings when both times have one, and a
// kernel step does not move the monotonic clock). Read-only: nothing here
// changes the host clock.
func TestSystemNowHasNoMonotonicReading(t *testing.T) {
	s := NewSystem()
	a := s.Now()
	if a != a.Round(0) {
		t.Fatal("System.Now carries a monotonic reading")
	}
	// What the engine does at a step: move its epoch by the step. With wall
	// times the interval from the moved epoch shrinks by the step, as it must.
	epoch := a
	moved := epoch.Add(10 * time.Second)
	b := s.Now()
	if got := b.Sub(moved); got > 0 {
		t.Fatalf("after moving the epoch 10 s ahead, now − epoch = %v, want negative", got)
	}
}

func TestMaxSlewRateOfSystemClock(t *testing.T) {
	if got := MaxSlewRate(NewSystem()); got != AdjtimeSlewRate {
		t.Errorf("System slews at %v ppm, want adjtime's %v", got, AdjtimeSlewRate)
	}
}
