//go:build linux

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
	UpLateness, DownLateness time.Duration
	// UpDelay and DownDelay are the mean delays each direction really
	// held its datagrams: from the kernel's receive timestamp to the
	// time read immediately before the send call.
	UpDelay, DownDelay time.Duration
	// RealTime says whether the senders ran at a real-time priority.
	RealTime bool
}

// PathBias is the clock error the line's own asymmetry gives any client
// behind it: half the difference of the mean delays up and down (RFC 5905
// §8: the offset assumes equal delays both ways, and a client whose
// datagrams take longer up than its answers down ends that much ahead).
func (s DelayLineStats) PathBias() time.Duration { return (s.UpDelay - s.DownDelay) / 2 }

// Datagram is what a delay line did with one datagram it forwarded.
type Datagram struct {
	Up      bool      // client → server
	Arrived time.Time // the kernel's receive timestamp at the line
	// Read is how long after Arrived the line read it, Started how long
	// after Arrived its sender ran, Held how long after Arrived it was
	// sent, and Late how long after its deadline.
	Read, Started, Held, Late time.Duration
}

func (d Datagram) String() string {
	dir := "down"
	if d.Up {
		dir = "up"
	}
	return fmt.Sprintf("%s at %s: read after %v, sender running after %v, sent after %v (%v late)",
		dir, d.Arrived.Format("15:04:05.000000"), d.Read, d.Started, d.Held, d.Late)
}

func (s DelayLineStats) String() string {
	return fmt.Sprintf("%d up, %d down (lost %d, %d), held %v up, %v down (path bias %v), %d sent over 100 µs late, real-time %v",
		s.Up, s.Down, s.UpLost, s.DownLost, s.UpDelay, s.DownDelay, s.PathBias(), s.Late, s.RealTime)
}

// DelayLine forwards the datagrams of one client to one server and back,
// each held for its Path's delay. The client sends to Near's address; the
// line sends them on from Far to the server, and the server's answers back
// from Near to the address the client last sent from.
type DelayLine struct {
	near, far *net.UDPConn
	server    netip.AddrPort
	up, down  *schedule

	client   atomic.Pointer[netip.AddrPort]
	wg       sync.WaitGroup
	closed   atomic.Bool
	realTime atomic.Bool

	lostUp, lostDown atomic.Uint64
	mu               sync.Mutex
	sent             []Datagram

	// toServer and toClient hold the datagrams each sender is to send,
	// in order.
	toServer, toClient *heldQueue
}

// heldQueue is one direction's datagrams waiting for their deadlines, in
// order, and an eventfd(2) that wakes its sender: a real-time thread
// waiting in the kernel wakes at once, where one waiting for the Go
// scheduler (a channel) waits on a busy host for threads that wait for a
// CPU (up to tens of milliseconds, measured).
type heldQueue struct {
	efd int
	mu  sync.Mutex
	q   []heldDatagram
}

func newHeldQueue() (*heldQueue, error) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("wirelab: eventfd: %w", err)
	}
	return &heldQueue{efd: efd}, nil
}

// put adds h (dropping it if queuedDatagrams wait already, which NTP never
// makes happen) and wakes the sender.
func (q *heldQueue) put(h heldDatagram) {
	q.mu.Lock()
	if len(q.q) < queuedDatagrams {
		q.q = append(q.q, h)
	}
	q.mu.Unlock()
	q.wake()
}

func (q *heldQueue) wake() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(q.efd, one[:])
}

// take waits for datagrams (in the kernel) and returns those queued.
func (q *heldQueue) take() []heldDatagram {
	var n [8]byte
	for {
		if _, err := unix.Read(q.efd, n[:]); err != unix.EINTR {
			break
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	hs := q.q
	q.q = nil
	return hs
}

// heldDatagram is a datagram waiting for its deadline.
type heldDatagram struct {
	rec  Datagram
	due  time.Time
	data []byte
	to   netip.AddrPort
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
	// A real-time thread that returns from a system call needs one of the
	// runtime's processors (GOMAXPROCS) to go on; on a busy host the
	// threads holding them wait for a CPU, and it would wait with them
	// (milliseconds). Spare processors let it go on at once. The raise
	// is for the process's life: a lab's process does nothing else.
	if want := runtime.NumCPU() + spareProcs; runtime.GOMAXPROCS(0) < want {
		runtime.GOMAXPROCS(want)
	}
	toServer, err := newHeldQueue()
	if err != nil {
		return nil, err
	}
	toClient, err := newHeldQueue()
	if err != nil {
		unix.Close(toServer.efd)
		return nil, err
	}
	l := &DelayLine{near: near, far: far, server: server, up: newSchedule(p, seed), down: newSchedule(p, seed+1),
		toServer: toServer, toClient: toClient}
	l.wg.Add(4)
	go l.pump(near, true)
	go l.pump(far, false)
	go l.sender(far, l.toServer)
	go l.sender(near, l.toClient)
	return l, nil
}

// Addr is where the client sends: the near socket's address.
func (l *DelayLine) Addr() netip.AddrPort { return l.near.LocalAddr().(*net.UDPAddr).AddrPort() }

// Stats returns the counts so far.
func (l *DelayLine) Stats() DelayLineStats { return l.StatsSince(time.Time{}) }

// StatsSince returns the counts of the datagrams that arrived from since
// on (the losses are counted from the start).
func (l *DelayLine) StatsSince(since time.Time) DelayLineStats {
	st := DelayLineStats{UpLost: l.lostUp.Load(), DownLost: l.lostDown.Load(), RealTime: l.realTime.Load()}
	var late, held [2]time.Duration
	for _, d := range l.Datagrams() {
		if d.Arrived.Before(since) {
			continue
		}
		i := 0
		if d.Up {
			st.Up++
		} else {
			st.Down++
			i = 1
		}
		late[i] += d.Late
		held[i] += d.Held
		if d.Late > 100*time.Microsecond {
			st.Late++
		}
	}
	if st.Up > 0 {
		st.UpLateness, st.UpDelay = late[0]/time.Duration(st.Up), held[0]/time.Duration(st.Up)
	}
	if st.Down > 0 {
		st.DownLateness, st.DownDelay = late[1]/time.Duration(st.Down), held[1]/time.Duration(st.Down)
	}
	return st
}

// Datagrams returns a copy of the record of the datagrams forwarded.
func (l *DelayLine) Datagrams() []Datagram {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Datagram(nil), l.sent...)
}

// Close stops the line; datagrams still held are dropped.
func (l *DelayLine) Close() error {
	l.closed.Store(true)
	l.toServer.wake()
	l.toClient.wake()
	err := errors.Join(l.near.Close(), l.far.Close())
	l.wg.Wait()
	unix.Close(l.toServer.efd)
	unix.Close(l.toClient.efd)
	return err
}

// pump reads one socket: from the client (up) or from the server. It runs
// on a real-time thread of its own (realTimeThread) that waits for each
// datagram in the kernel (poll(2)) rather than in the runtime's network
// poller, whose goroutines a busy host wakes milliseconds late: a
// datagram read after its deadline would be sent late.
func (l *DelayLine) pump(c *net.UDPConn, up bool) {
	defer l.wg.Done()
	l.realTimeThread()
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 2048)
	oob := make([]byte, 128)
	for !l.closed.Load() {
		var (
			n, oobn int
			sa      unix.Sockaddr
			rerr    error
		)
		if err := rc.Control(func(fd uintptr) {
			// At most 100 ms, so that Close is seen.
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			if k, err := unix.Poll(fds, 100); err != nil || k == 0 {
				rerr = errNoDatagram
				return
			}
			n, oobn, _, sa, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_DONTWAIT)
		}); err != nil {
			return // closed
		}
		if rerr != nil {
			continue
		}
		read := time.Now()
		arrived := kernelRxTime(oob[:oobn])
		if arrived.IsZero() {
			arrived = read
		}
		rec := Datagram{Up: up, Arrived: arrived, Read: read.Sub(arrived)}
		data := append([]byte(nil), buf[:n]...)
		from := addrPortOf(sa)
		if up {
			l.client.Store(&from)
			d, ok := l.up.next()
			if !ok {
				l.lostUp.Add(1)
				continue
			}
			l.toServer.put(heldDatagram{rec: rec, due: arrived.Add(d), data: data, to: l.server})
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
		l.toClient.put(heldDatagram{rec: rec, due: arrived.Add(d), data: data, to: *to})
	}
}

var errNoDatagram = errors.New("no datagram")

// addrPortOf is a datagram's source address.
func addrPortOf(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// realTimeThread locks the calling goroutine to its thread for good (the
// thread exits with the goroutine, so that neither setting reaches any
// other goroutine), sets the thread's timer slack to 1 ns and, when the
// process may, a real-time priority (SCHED_FIFO): on a busy host an
// ordinary thread wakes hundreds of microseconds late, which would add to
// the path's delays.
func (l *DelayLine) realTimeThread() {
	runtime.LockOSThread() // never unlocked
	unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	if unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 10}, 0) == nil {
		l.realTime.Store(true)
	}
}

// sender sends one direction's datagrams at their deadlines, in order
// (with NTP's few datagrams a second the delays are as drawn). It runs on
// a real-time thread of its own (realTimeThread), started with the line
// (a thread started per datagram waits for the runtime on a busy host),
// that sleeps on each absolute deadline (clock_nanosleep, TIMER_ABSTIME;
// the Go runtime's timers round sub-millisecond sleeps up to its poller's
// millisecond), wakes spinMargin early and spins to the deadline: the
// wake-up of a sleeping thread (a timer interrupt, the runtime handing
// the goroutine a processor again after the system call) takes up to
// hundreds of microseconds on a busy host, while a running real-time
// thread is not preempted. Spinning a millisecond per datagram costs
// little at NTP's rates. What lateness remains is recorded, with the
// delay really held.
func (l *DelayLine) sender(c *net.UDPConn, q *heldQueue) {
	defer l.wg.Done()
	l.realTimeThread()
	for !l.closed.Load() {
		for _, h := range q.take() {
			if !l.send(c, h) {
				return
			}
		}
	}
}

// send sends h at its deadline and records it; false when the line closed.
func (l *DelayLine) send(c *net.UDPConn, h heldDatagram) bool {
	h.rec.Started = time.Since(h.rec.Arrived)
	ts := unix.NsecToTimespec(h.due.Add(-spinMargin).UnixNano())
	for {
		err := unix.ClockNanosleep(unix.CLOCK_REALTIME, unix.TIMER_ABSTIME, &ts, nil)
		if err != unix.EINTR {
			break
		}
	}
	now := time.Now()
	for now.Before(h.due) {
		now = time.Now()
	}
	if l.closed.Load() {
		return false
	}
	c.WriteToUDPAddrPort(h.data, h.to)
	h.rec.Held, h.rec.Late = now.Sub(h.rec.Arrived), now.Sub(h.due)
	l.mu.Lock()
	l.sent = append(l.sent, h.rec)
	l.mu.Unlock()
	return true
}

// queuedDatagrams is how many datagrams a direction holds at most.
const queuedDatagrams = 256

// spareProcs is how many more of the runtime's processors than CPUs a
// process with delay lines runs with.
const spareProcs = 4

// spinMargin is how long before its deadline a sender wakes to spin.
const spinMargin = time.Millisecond

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
