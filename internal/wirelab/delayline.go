package wirelab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Path is what a DelayLine does to the datagrams of one direction.
type Path struct {
	// BaseDelay is the least one-way delay.
	BaseDelay time.Duration
	// Jitter is the mean of an exponentially distributed extra delay,
	// drawn for each datagram (0: none).
	Jitter time.Duration
	// Loss is the probability that a datagram is dropped, in [0, 1).
	Loss float64
}

func (p Path) check() error {
	if p.BaseDelay < 0 || p.Jitter < 0 || !(p.Loss >= 0 && p.Loss < 1) {
		return fmt.Errorf("wirelab: path %+v: want delays ≥ 0 and loss in [0, 1)", p)
	}
	return nil
}

// schedule is the random side of a Path: the delay of each datagram, or
// false when it is lost. It is deterministic for a seed.
type schedule struct {
	path Path
	mu   sync.Mutex
	rng  *rand.Rand
}

func newSchedule(p Path, seed uint64) *schedule {
	return &schedule{path: p, rng: rand.New(rand.NewPCG(seed, 0x5eed))}
}

func (s *schedule) next() (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path.Loss > 0 && s.rng.Float64() < s.path.Loss {
		return 0, false
	}
	d := s.path.BaseDelay
	if s.path.Jitter > 0 {
		d += time.Duration(float64(s.path.Jitter) * s.rng.ExpFloat64())
	}
	return d, true
}

// DelayLineStats counts a delay line's datagrams per direction.
type DelayLineStats struct {
	Up, Down         uint64 // forwarded: client → server, server → client
	UpLost, DownLost uint64 // dropped by the Path's loss
	// Late counts datagrams sent more than 100 µs after their deadline
	// (the host was too busy to wake the sender in time).
	Late uint64
	// UpLateness and DownLateness are the mean time from each direction's
	// deadlines to its send calls: the delay the line adds to its Path.
	// Half their difference biases every client behind the line (RFC 5905
	// §8: the offset assumes equal delays both ways).
	UpLateness, DownLateness time.Duration
}

// DelayLine forwards the datagrams of one client to one server and back,
// each held for its Path's delay. The client sends to Near's address; the
// line sends them on from Far to the server, and the server's answers back
// from Near to the address the client last sent from.
type DelayLine struct {
	near, far *net.UDPConn
	server    netip.AddrPort
	up, down  *schedule

	client atomic.Pointer[netip.AddrPort]
	wg     sync.WaitGroup
	closed atomic.Bool

	nUp, nDown, lostUp, lostDown, late atomic.Uint64
	// lateUp and lateDown sum the lateness of sent datagrams, ns.
	lateUp, lateDown atomic.Int64
}

// NewDelayLine starts forwarding between near (where the client sends) and
// far (from where the server is reached) with the same Path both ways and
// independent draws (seed and seed+1). It owns both sockets: Close closes
// them.
func NewDelayLine(near, far *net.UDPConn, server netip.AddrPort, p Path, seed uint64) (*DelayLine, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	for _, c := range []*net.UDPConn{near, far} {
		if err := enableRxTimestamps(c); err != nil {
			return nil, err
		}
	}
	l := &DelayLine{near: near, far: far, server: server, up: newSchedule(p, seed), down: newSchedule(p, seed+1)}
	l.wg.Add(2)
	go l.pump(near, true)
	go l.pump(far, false)
	return l, nil
}

// Addr is where the client sends: the near socket's address.
func (l *DelayLine) Addr() netip.AddrPort { return l.near.LocalAddr().(*net.UDPAddr).AddrPort() }

// Stats returns the counts so far.
func (l *DelayLine) Stats() DelayLineStats {
	st := DelayLineStats{Up: l.nUp.Load(), Down: l.nDown.Load(), UpLost: l.lostUp.Load(),
		DownLost: l.lostDown.Load(), Late: l.late.Load()}
	if st.Up > 0 {
		st.UpLateness = time.Duration(l.lateUp.Load() / int64(st.Up))
	}
	if st.Down > 0 {
		st.DownLateness = time.Duration(l.lateDown.Load() / int64(st.Down))
	}
	return st
}

// Close stops the line; datagrams still held are dropped.
func (l *DelayLine) Close() error {
	l.closed.Store(true)
	err := errors.Join(l.near.Close(), l.far.Close())
	l.wg.Wait()
	return err
}

// pump reads one socket: from the client (up) or from the server.
func (l *DelayLine) pump(c *net.UDPConn, up bool) {
	defer l.wg.Done()
	buf := make([]byte, 2048)
	oob := make([]byte, 128)
	for {
		n, oobn, _, from, err := c.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if l.closed.Load() {
				return
			}
			continue
		}
		arrived := kernelRxTime(oob[:oobn])
		if arrived.IsZero() {
			arrived = time.Now()
		}
		data := append([]byte(nil), buf[:n]...)
		if up {
			from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
			l.client.Store(&from)
			d, ok := l.up.next()
			if !ok {
				l.lostUp.Add(1)
				continue
			}
			l.nUp.Add(1)
			l.sendAt(arrived.Add(d), l.far, data, l.server, &l.lateUp)
			continue
		}
		to := l.client.Load()
		if to == nil || from != l.server {
			continue
		}
		d, ok := l.down.next()
		if !ok {
			l.lostDown.Add(1)
			continue
		}
		l.nDown.Add(1)
		l.sendAt(arrived.Add(d), l.near, data, *to, &l.lateDown)
	}
}

// sendAt sends data at the host clock's time due, from a thread that sleeps
// on that absolute deadline (clock_nanosleep, TIMER_ABSTIME) with its timer
// slack set to 1 ns and, when the process may, a real-time priority
// (SCHED_FIFO): the Go runtime's timers round sub-millisecond sleeps up to
// its poller's millisecond, and on a busy host an ordinary thread wakes
// hundreds of microseconds late; either would add to the path's delays.
// The thread stays locked to its goroutine and ends with it, so that
// neither setting reaches any other goroutine. NTP sends few datagrams:
// one thread per datagram costs nothing. What lateness remains (the
// runtime's own threads wait for a CPU on a busy host) is counted.
func (l *DelayLine) sendAt(due time.Time, c *net.UDPConn, data []byte, to netip.AddrPort, lateness *atomic.Int64) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		runtime.LockOSThread() // never unlocked: the thread exits with us
		unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
		unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 10}, 0)
		ts := unix.NsecToTimespec(due.UnixNano())
		for {
			err := unix.ClockNanosleep(unix.CLOCK_REALTIME, unix.TIMER_ABSTIME, &ts, nil)
			if err != unix.EINTR {
				break
			}
		}
		late := time.Since(due)
		if late > 100*time.Microsecond {
			l.late.Add(1)
		}
		lateness.Add(int64(late))
		if !l.closed.Load() {
			c.WriteToUDPAddrPort(data, to)
		}
	}()
}

// enableRxTimestamps asks the kernel for each datagram's arrival time on
// the host clock (SO_TIMESTAMPNS), from which the line measures its delays.
func enableRxTimestamps(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("wirelab: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return fmt.Errorf("wirelab: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("wirelab: SO_TIMESTAMPNS: %w", serr)
	}
	return nil
}

// kernelRxTime returns the SO_TIMESTAMPNS time in a control message, or
// the zero time.
func kernelRxTime(oob []byte) time.Time {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}
	}
	for _, m := range msgs {
		// A 64-bit struct timespec: the only layout of the 64-bit hosts
		// the lab runs on.
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			ne := binary.NativeEndian
			return time.Unix(int64(ne.Uint64(m.Data[0:8])), int64(ne.Uint64(m.Data[8:16])))
		}
	}
	return time.Time{}
}
