//go:build linux

package wirelab

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine/netio"
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
	// held its datagrams: from the kernel's receive timestamp to its
	// transmit timestamp (Datagram.Held).
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
	// after Arrived its sender ran, Called how long after Arrived the
	// sender made the send call, Held how long after Arrived the kernel
	// stamped it as sent (its transmit timestamp, taken where the
	// loopback device hands it to the receiving side: the delay the path
	// really gave it; the send call's time when there is no stamp), and
	// Late how long after its deadline it was sent.
	Read, Started, Called, Held, Late time.Duration
	// Stamped says whether Held is the kernel's transmit timestamp.
	Stamped bool
}

func (d Datagram) String() string {
	dir := "down"
	if d.Up {
		dir = "up"
	}
	stamp := "sent"
	if !d.Stamped {
		stamp = "sent (no transmit timestamp)"
	}
	return fmt.Sprintf("%s at %s: read after %v, sender running after %v, send call after %v, %s after %v (%v late)",
		dir, d.Arrived.Format("15:04:05.000000"), d.Read, d.Started, d.Called, stamp, d.Held, d.Late)
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
	ends     LineSockets
	outs     [2]outSocket // near, far
	server   netip.AddrPort
	up, down *schedule

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

// LineSockets are a delay line's sockets. It reads Near, where the client
// sends, and Far, from where the server is reached. It sends from NearOut
// and FarOut: sockets bound to the same addresses, in SO_REUSEPORT groups
// that give every datagram arriving to Near and Far (ListenLineSockets),
// so that no reader waits on the sockets the line sends from. The kernel
// reports each datagram's transmit timestamp on its socket's error queue
// and wakes the socket's waiters before the datagram goes on (on a busy
// host 10–30 µs, measured); a line sending from the socket its reader
// waits on adds that to every datagram. Nil NearOut or FarOut: it sends
// from Near or Far.
type LineSockets struct {
	Near, Far, NearOut, FarOut *net.UDPConn
	// NearSink and FarSink, when not nil, are sockets on the address the
	// line sends to from NearOut (the client's) and from FarOut (the
	// server's), which it never reads: each sender sends its sink a
	// probe just before every datagram it forwards (warmUp).
	NearSink, FarSink *net.UDPConn
}

// out are the sockets the line sends from: near, then far.
func (s LineSockets) out() (near, far *net.UDPConn) {
	near, far = s.NearOut, s.FarOut
	if near == nil {
		near = s.Near
	}
	if far == nil {
		far = s.Far
	}
	return near, far
}

// NewDelayLine starts forwarding between s.Near (where the client sends)
// and s.Far (from where the server is reached) with the same Path both
// ways and independent draws (seed and seed+1). It owns the sockets:
// Close closes them.
func NewDelayLine(s LineSockets, server netip.AddrPort, p Path, seed uint64) (*DelayLine, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	nearOut, farOut := s.out()
	for _, c := range []*net.UDPConn{s.Near, s.Far, nearOut, farOut} {
		if err := enableTimestamps(c); err != nil {
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
	l := &DelayLine{ends: s, server: server, up: newSchedule(p, seed), down: newSchedule(p, seed+1),
		toServer: toServer, toClient: toClient}
	for i, c := range []*net.UDPConn{nearOut, farOut} {
		l.outs[i] = outSocket{conn: c, fd: -1}
		if c == s.Near || c == s.Far {
			continue
		}
		if l.outs[i].fd, err = netio.Detach(c); err != nil {
			l.Close()
			return nil, err
		}
	}
	l.ends.NearOut, l.ends.FarOut = nil, nil // detached: closed with outs
	l.wg.Add(4)
	go l.pump(s.Near, true)
	go l.pump(s.Far, false)
	go l.sender(l.outs[1], l.toServer, sinkAddr(s.FarSink))
	go l.sender(l.outs[0], l.toClient, sinkAddr(s.NearSink))
	return l, nil
}

// sinkAddr is the address of a sink socket; the zero AddrPort for none.
func sinkAddr(c *net.UDPConn) netip.AddrPort {
	if c == nil {
		return netip.AddrPort{}
	}
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// outSocket is a socket a sender sends from: one the line also reads
// (fd −1), or an out socket of LineSockets taken from the runtime's
// network poller (netio.Detach), whose waiting thread a transmit timestamp
// would wake like any reader.
type outSocket struct {
	conn *net.UDPConn
	fd   int
}

// control runs f with the socket's descriptor.
func (o outSocket) control(f func(fd int)) error {
	if o.fd >= 0 {
		f(o.fd)
		return nil
	}
	rc, err := o.conn.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(fd uintptr) { f(int(fd)) })
}

// sockaddrOf is a's socket address.
func sockaddrOf(a netip.AddrPort) unix.Sockaddr {
	if a.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(a.Port()), Addr: a.Addr().As16()}
}

// Addr is where the client sends: the near socket's address.
func (l *DelayLine) Addr() netip.AddrPort { return l.ends.Near.LocalAddr().(*net.UDPAddr).AddrPort() }

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
	var errs []error
	for _, c := range []*net.UDPConn{l.ends.Near, l.ends.Far, l.ends.NearOut, l.ends.FarOut, l.ends.NearSink, l.ends.FarSink} {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	for _, o := range l.outs {
		if o.fd >= 0 {
			errs = append(errs, unix.Close(o.fd))
		}
	}
	err := errors.Join(errs...)
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
			if fds[0].Revents&unix.POLLIN == 0 {
				// Only the transmit timestamp of a datagram sent from
				// this socket (POLLERR, without LineSockets' out
				// sockets), which its sender reads at once: give it the
				// microseconds.
				unix.Nanosleep(&unix.Timespec{Nsec: 20000}, nil)
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
// little at NTP's rates. The deadline is when the datagram is to leave:
// the call is made the direction's send latency before it (sendLatency),
// warmUpLead after a probe to the direction's sink, where it has one
// (warmUp). Each datagram's kernel transmit timestamp is recorded, with
// the delay really held and how late (or early) it left.
func (l *DelayLine) sender(c outSocket, q *heldQueue, sink netip.AddrPort) {
	defer l.wg.Done()
	l.realTimeThread()
	tx := sendLatency{sink: sink}
	for !l.closed.Load() {
		for _, h := range q.take() {
			if !l.send(c, h, &tx) {
				return
			}
		}
	}
}

// send sends h at its deadline and records it; false when the line closed.
// It makes the send call tx's estimate of the call's latency before the
// deadline, so that the datagram leaves at it.
func (l *DelayLine) send(c outSocket, h heldDatagram, tx *sendLatency) bool {
	h.rec.Started = time.Since(h.rec.Arrived)
	at := h.due.Add(-tx.estimate())
	ts := unix.NsecToTimespec(at.Add(-spinMargin).UnixNano())
	for {
		err := unix.ClockNanosleep(unix.CLOCK_REALTIME, unix.TIMER_ABSTIME, &ts, nil)
		if err != unix.EINTR {
			break
		}
	}
	now := time.Now()
	if tx.sink.IsValid() {
		for now.Before(at.Add(-warmUpLead)) {
			now = time.Now()
		}
		l.warmUp(c, tx)
		now = time.Now()
	}
	for now.Before(at) {
		now = time.Now()
	}
	if l.closed.Load() {
		return false
	}
	to := sockaddrOf(h.to)
	var err error
	if cerr := c.control(func(fd int) { err = unix.Sendto(fd, h.data, 0, to) }); cerr != nil {
		err = cerr
	}
	h.rec.Called, h.rec.Held = now.Sub(h.rec.Arrived), now.Sub(h.rec.Arrived)
	if left, id, ok := txTimestamp(c, tx.next); err == nil && ok {
		h.rec.Held, h.rec.Stamped = left.Sub(h.rec.Arrived), true
		tx.next = id + 1
		tx.add(left.Sub(now))
	}
	h.rec.Late = h.rec.Held - h.due.Sub(h.rec.Arrived)
	l.mu.Lock()
	l.sent = append(l.sent, h.rec)
	l.mu.Unlock()
	return true
}

// sendLatency is one sender's record of how long its send calls took to
// put a datagram on its way: from the call to the kernel's transmit
// timestamp. A call seconds after the last, with the send path cold,
// takes tens of microseconds on a busy host, and not the same both ways:
// in the lab a call from the far socket to the reference took 16–100 µs,
// one from the near socket to the client 6–25 µs (a kernel trace shows
// the time spent on the CPU in the send path, with no interrupt, page
// fault or task switch in between). Sent at their deadlines, the
// datagrams up would be held 10–30 µs longer than those down, and every
// client behind the line would read half of that as its clock error. So
// each direction makes its calls early by its own recent latencies
// (estimate), and warms the path first (warmUp): a call a moment after
// another takes 3–8 µs, within a few µs of the last.
type sendLatency struct {
	sink   netip.AddrPort // where warm-up probes go (none when invalid)
	next   uint32         // the number of the next datagram's transmit timestamp
	recent [sendLatencyWindow]time.Duration
	n      int
}

// warmUp sends one probe to tx.sink (a socket on the address this
// sender sends to, that nobody reads) and drops its transmit timestamp.
// It warms the send path for the datagram sent warmUpLead later: the
// spread of a cold call's latency (−30 to +60 µs around its median, on
// this project's 2-core virtual machines, loopback, datagrams a second
// apart) was the lab's asymmetry at zero jitter; after a probe the
// datagrams left within −1 to +3 µs of their deadlines (10th to 90th
// percentile), the same evening. Learning the latency from probes sent
// before the first datagram only, without warming each (tried), did not
// help: the probes' latency was the warm path's, not the datagrams'.
func (l *DelayLine) warmUp(c outSocket, tx *sendLatency) {
	to := sockaddrOf(tx.sink)
	var err error
	if cerr := c.control(func(fd int) { err = unix.Sendto(fd, warmUpProbe, 0, to) }); cerr != nil {
		err = cerr
	}
	if _, id, ok := txTimestamp(c, tx.next); err == nil && ok {
		tx.next = id + 1
	}
}

// warmUpLead is how long before its send call a sender probes its sink:
// more than a cold call takes (with 100 µs the datagram's own call was
// sometimes made after its deadline), little enough for the path to stay
// warm.
const warmUpLead = 500 * time.Microsecond

// warmUpProbe is a probe's payload, too short to be NTP.
var warmUpProbe = []byte("wirelab warm-up")

// sendLatencyWindow is how many of its latest send calls a sender's
// estimate is made of: at NTP's polls of 16 s, the last four minutes.
const sendLatencyWindow = 16

func (s *sendLatency) add(d time.Duration) {
	if d < 0 || d > maxSendLatency {
		return // not a latency: a clock step, or a call the host held
	}
	s.recent[s.n%sendLatencyWindow] = d
	s.n++
}

// estimate is the median latency of the recent calls, so that a
// direction's datagrams leave as often early as late, and as much as the
// other direction's: what differs then is the spread of the latencies,
// the path's own noise. It is 0 before the first call (that datagram
// leaves late by its latency). Before sendLatencyLearnt calls it is the
// median of those there are, at most learningLatency: the median of
// fewer calls can be a call the host held up, and the next datagrams
// would leave early by it. Waiting for sendLatencyLearnt calls instead
// sent a client's whole start burst late by the latencies, longer up
// than down: its first samples read a path +2 to +13 µs asymmetric (five
// lines of six at zero jitter) where the rest of the run read it within
// a few µs, and tilted the agent's frequency fit for minutes.
func (s *sendLatency) estimate() time.Duration {
	if s.n == 0 {
		return 0
	}
	var sorted [sendLatencyWindow]time.Duration
	k := min(s.n, sendLatencyWindow)
	copy(sorted[:], s.recent[:k])
	slices.Sort(sorted[:k])
	if s.n < sendLatencyLearnt {
		return min(sorted[(k-1)/2], learningLatency)
	}
	return sorted[k/2]
}

// sendLatencyLearnt is how many calls a sender's estimate is bounded
// before (learningLatency).
const sendLatencyLearnt = 5

// learningLatency bounds the estimate of a sender that has seen fewer
// than sendLatencyLearnt calls: the most a call takes on a busy host
// (5–100 µs), less than a call the host held up.
const learningLatency = 100 * time.Microsecond

// maxSendLatency bounds the latencies a sender learns from.
const maxSendLatency = 500 * time.Microsecond

// queuedDatagrams is how many datagrams a direction holds at most.
const queuedDatagrams = 256

// spareProcs is how many more of the runtime's processors than CPUs a
// process with delay lines runs with.
const spareProcs = 4

// spinMargin is how long before its deadline a sender wakes to spin.
const spinMargin = time.Millisecond

// enableTimestamps asks the kernel for each datagram's arrival time on
// the host clock (SO_TIMESTAMPNS), from which the line measures its
// delays, and for the time each datagram it sends leaves
// (SO_TIMESTAMPING, a software transmit timestamp on the socket's error
// queue, numbered per socket, without the datagram: Linux
// Documentation/networking/timestamping.rst), which is where the delay
// the path gave a datagram ends: the send call itself takes tens of
// microseconds on a busy host before the datagram is on its way.
func enableTimestamps(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("wirelab: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			serr = fmt.Errorf("SO_TIMESTAMPNS: %w", err)
			return
		}
		if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPING, txStampFlags); err != nil {
			serr = fmt.Errorf("SO_TIMESTAMPING: %w", err)
		}
	}); err != nil {
		return fmt.Errorf("wirelab: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("wirelab: %w", serr)
	}
	return nil
}

// txStampFlags: a software transmit timestamp of every datagram sent,
// reported without the datagram and with its number on the socket.
const txStampFlags = unix.SOF_TIMESTAMPING_TX_SOFTWARE | unix.SOF_TIMESTAMPING_SOFTWARE |
	unix.SOF_TIMESTAMPING_OPT_TSONLY | unix.SOF_TIMESTAMPING_OPT_ID

// txStampTries bounds the reads of the error queue for one datagram's
// transmit timestamp: the loopback device stamps every datagram within
// its send call, so the queue holds at most the stamps of the datagram
// just sent and of the probe before it (warmUp).
const txStampTries = 4

// txTimestamp reads c's error queue for the transmit timestamp of the
// datagram just sent: the newest one numbered next or later (the kernel
// numbers the datagrams sent on c from 0), dropping the rest.
func txTimestamp(c outSocket, next uint32) (at time.Time, id uint32, found bool) {
	var buf [64]byte
	var oob [256]byte
	c.control(func(fd int) {
		for range txStampTries {
			_, oobn, _, _, err := unix.Recvmsg(fd, buf[:], oob[:], unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
			if err != nil {
				return
			}
			if t, n, ok := parseTxStamp(oob[:oobn]); ok && n-next < 1<<31 && (!found || n-id < 1<<31) { // n ≥ next, n ≥ id, modulo 2³²
				at, id, found = t, n, true
			}
		}
	})
	return at, id, found
}

// parseTxStamp reads an error-queue message's control data: the software
// timestamp (SCM_TIMESTAMPING's first timespec) and the datagram's
// number (struct sock_extended_err: errno, origin, type, code, pad, info,
// data; origin SO_EE_ORIGIN_TIMESTAMPING, info SCM_TSTAMP_SND, data the
// number).
func parseTxStamp(oob []byte) (time.Time, uint32, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, 0, false
	}
	ne := binary.NativeEndian
	var at time.Time
	var id uint32
	stamped, numbered := false, false
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPING:
			at = timespecAt(m.Data)
			stamped = !at.IsZero()
		case (m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_RECVERR) ||
			(m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_RECVERR):
			d := m.Data
			if len(d) >= 16 && d[4] == unix.SO_EE_ORIGIN_TIMESTAMPING && ne.Uint32(d[8:12]) == unix.SCM_TSTAMP_SND {
				id, numbered = ne.Uint32(d[12:16]), true
			}
		}
	}
	return at, id, stamped && numbered
}

// timespecAt reads a 64-bit struct timespec (the only layout of the
// 64-bit hosts the lab runs on); the zero time when it is not one.
func timespecAt(d []byte) time.Time {
	if len(d) < 16 {
		return time.Time{}
	}
	ne := binary.NativeEndian
	sec, nsec := int64(ne.Uint64(d[0:8])), int64(ne.Uint64(d[8:16]))
	if sec <= 0 || nsec < 0 || nsec >= 1e9 {
		return time.Time{}
	}
	return time.Unix(sec, nsec)
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
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS {
			return timespecAt(m.Data)
		}
	}
	return time.Time{}
}

// ListenLineSockets opens a delay line's sockets with listen, which opens
// a UDP socket bound to an address with control run before the bind: Near
// at near and Far at far (port 0: a free one), and NearOut and FarOut
// bound to the same addresses and ports in SO_REUSEPORT groups with them
// whose classic BPF program (SO_ATTACH_REUSEPORT_CBPF) picks the group's
// first socket, Near or Far, for every datagram that arrives.
func ListenLineSockets(ctx context.Context, near, far netip.AddrPort,
	listen func(ctx context.Context, addr netip.AddrPort, control func(network, address string, c syscall.RawConn) error) (*net.UDPConn, error),
) (s LineSockets, err error) {
	defer func() {
		if err != nil {
			for _, c := range []*net.UDPConn{s.Near, s.Far, s.NearOut, s.FarOut} {
				if c != nil {
					c.Close()
				}
			}
			s = LineSockets{}
		}
	}()
	pair := func(addr netip.AddrPort) (in, out *net.UDPConn, err error) {
		if in, err = listen(ctx, addr, reusePort); err != nil {
			return nil, nil, err
		}
		if err := netio.SteerToFirst(in); err != nil {
			return in, nil, err
		}
		out, err = listen(ctx, in.LocalAddr().(*net.UDPAddr).AddrPort(), reusePort)
		return in, out, err
	}
	if s.Near, s.NearOut, err = pair(near); err != nil {
		return s, err
	}
	s.Far, s.FarOut, err = pair(far)
	return s, err
}

// reusePort sets SO_REUSEPORT on a socket before it is bound.
func reusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return fmt.Errorf("wirelab: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("wirelab: SO_REUSEPORT: %w", serr)
	}
	return nil
}
