//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// NTPLoad configures the server-mode load generator.
type NTPLoad struct {
	Name     string // server name for the results
	Addr     *net.UDPAddr
	Senders  int           // goroutines, one socket each
	Window   int           // requests in flight per sender
	Warmup   time.Duration // replies in the warm-up are not counted
	Duration time.Duration // the counted interval
	Timeout  time.Duration // a window with no reply for this long is lost and resent
	// PID, when set, is the server's process: its CPU time (user + system,
	// all threads) over the counted intervals gives the CPU time per reply,
	// a figure that hardly depends on what else the machine runs.
	PID int
}

// ntpCounts are the outcomes seen by one sender in the counted interval.
type ntpCounts struct {
	sent, valid, kod, unsync, invalid, lost, late uint64
	cpuTicks                                      uint64 // the server's, in the counted interval
}

func (c *ntpCounts) add(o ntpCounts) {
	c.sent += o.sent
	c.valid += o.valid
	c.kod += o.kod
	c.unsync += o.unsync
	c.invalid += o.invalid
	c.lost += o.lost
	c.late += o.late
	c.cpuTicks += o.cpuTicks
}

const ntpHeaderLen = 48

// request fills p with a client request (RFC 5905 §7.3: LI 0, VN 4, mode 3)
// whose transmit timestamp is token; a server copies it into the origin
// timestamp of its reply (RFC 5905 §8), which is how replies are matched.
func request(p []byte, token uint64) {
	clear(p[:ntpHeaderLen])
	p[0] = 0<<6 | 4<<3 | 3
	binary.BigEndian.PutUint64(p[40:48], token)
}

// replyKind classifies a reply to one of our requests.
type replyKind int

const (
	replyInvalid replyKind = iota
	replyValid             // mode 4 answer to an outstanding request
	replyUnsync            // valid, but the server says it is unsynchronized (LI 3 or stratum 16)
	replyKoD               // kiss-o'-death (stratum 0, RFC 5905 §7.4)
	replyLate              // an answer to a request given up as lost
)

// classify checks a datagram against RFC 5905 §8's client rules and returns
// its kind and the origin timestamp it answers.
func classify(b []byte) (replyKind, uint64) {
	if len(b) < ntpHeaderLen {
		return replyInvalid, 0
	}
	li, vn, mode := b[0]>>6, b[0]>>3&7, b[0]&7
	stratum := b[1]
	origin := binary.BigEndian.Uint64(b[24:32])
	xmt := binary.BigEndian.Uint64(b[40:48])
	if mode != 4 || vn != 4 || origin == 0 || xmt == 0 {
		return replyInvalid, origin
	}
	switch {
	case stratum == 0:
		return replyKoD, origin
	case li == 3 || stratum >= 16:
		return replyUnsync, origin
	}
	return replyValid, origin
}

// RunNTPLoad sends mode 3 requests from l.Senders sockets, each keeping
// l.Window requests in flight, and counts the replies received in the
// counted interval.
func RunNTPLoad(ctx context.Context, l NTPLoad) (Result, error) {
	rs, err := RunNTPRounds(ctx, []NTPLoad{l}, 1)
	if len(rs) == 0 {
		return Result{}, err
	}
	return rs[0], err
}

// RunNTPRounds loads several servers in turn, rounds times, each round
// lasting Duration/rounds per server (with its own warm-up), so that a change
// of the machine's load during the run affects all servers alike. Counts are
// summed over the rounds.
func RunNTPRounds(ctx context.Context, loads []NTPLoad, rounds int) ([]Result, error) {
	totals := make([]ntpCounts, len(loads))
	var errs []error
	for _, l := range loads {
		if !l.Addr.IP.IsLoopback() {
			return nil, fmt.Errorf("ntp load: %s is not a loopback address", l.Addr)
		}
	}
	for range max(rounds, 1) {
		for i, l := range loads {
			if ctx.Err() != nil {
				break
			}
			l.Duration /= time.Duration(max(rounds, 1))
			c, err := ntpRound(ctx, l)
			totals[i].add(c)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", l.Name, err))
			}
		}
	}
	var out []Result
	for i, l := range loads {
		total := totals[i]
		answered := total.valid + total.unsync
		r := Result{Server: l.Name, Measure: mNTPRate, Unit: "1/s", Median: float64(answered) / l.Duration.Seconds(), N: int(answered),
			Note: fmt.Sprintf("%d senders × %d in flight, %.1f s in %d rounds; sent %d, unsynchronized %d, KoD %d, invalid %d, lost %d, late %d",
				l.Senders, l.Window, l.Duration.Seconds(), max(rounds, 1), total.sent, total.unsync, total.kod, total.invalid, total.lost, total.late)}
		if answered == 0 {
			// Kept as a 0/s result, with the counts that say why.
			errs = append(errs, fmt.Errorf("ntp load: no valid reply from %s %s (%s)", l.Name, l.Addr, r.Note))
		}
		out = append(out, r)
		if l.PID > 0 && answered > 0 {
			cpu := float64(total.cpuTicks) * float64(time.Second/userHZ) / float64(answered)
			out = append(out, Result{Server: l.Name, Measure: mNTPCPU, Unit: "ns", Median: cpu, N: int(answered),
				Note: fmt.Sprintf("user+system CPU time of pid %d over the counted %.1f s: %d ticks of 1/%d s", l.PID, l.Duration.Seconds(), total.cpuTicks, userHZ)})
		}
	}
	if ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	return out, errors.Join(errs...)
}

// ntpRound runs the senders against one server for one warm-up and one
// counted interval.
func ntpRound(ctx context.Context, l NTPLoad) (ntpCounts, error) {
	start := time.Now()
	from := start.Add(l.Warmup)
	until := from.Add(l.Duration)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total ntpCounts
		errs  []error
	)
	if l.PID > 0 {
		// The server's CPU time over the counted interval.
		wg.Go(func() {
			t0, err := waitCPUTicks(ctx, l.PID, from)
			if err == nil {
				var t1 uint64
				if t1, err = waitCPUTicks(ctx, l.PID, until); err == nil {
					mu.Lock()
					total.cpuTicks += t1 - min(t0, t1)
					mu.Unlock()
				}
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	for id := range l.Senders {
		wg.Go(func() {
			c, err := ntpSender(ctx, l, uint64(id+1), from, until)
			mu.Lock()
			defer mu.Unlock()
			total.add(c)
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	return total, errors.Join(errs...)
}

// ntpSender runs one socket's closed loop: every answered request is
// replaced by a new one; a window that stays unanswered for l.Timeout is
// counted lost and sent again.
//
// The generator must cost less per request than the servers it measures,
// or it measures itself: its socket is connected to the server (the
// kernel skips a route lookup per datagram and filters replies by source),
// and it sends and receives whole windows with sendmmsg(2)/recvmmsg(2) as
// raw system calls on reused message headers (mmsgBatch), which allocate
// nothing and never make the runtime hand the goroutine's P to another
// thread.
func ntpSender(ctx context.Context, l NTPLoad, id uint64, from, until time.Time) (ntpCounts, error) {
	var c ntpCounts
	conn, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, l.Addr)
	if err != nil {
		return c, fmt.Errorf("ntp load: %w", err)
	}
	defer conn.Close()
	rc, err := conn.SyscallConn()
	if err != nil {
		return c, fmt.Errorf("ntp load: %w", err)
	}
	wb := newMmsgBatch(l.Window, ntpHeaderLen)
	rb := newMmsgBatch(2*l.Window, 1024)
	outstanding := make(map[uint64]struct{}, 2*l.Window)
	seq := uint64(0)
	counting := func() bool { now := time.Now(); return !now.Before(from) && now.Before(until) }
	send := func(k int) error {
		for i := range k {
			seq++
			token := id<<48 | seq // never 0; unique per sender
			request(wb.bufs[i], token)
			outstanding[token] = struct{}{}
		}
		if counting() {
			c.sent += uint64(k)
		}
		return wb.send(rc, k)
	}
	if err := send(l.Window); err != nil {
		return c, err
	}
	// Bounded by time, and by a count far above what a second of loopback
	// traffic can reach.
	for iter := 0; iter < 1<<30 && ctx.Err() == nil; iter++ {
		now := time.Now()
		if !now.Before(until) {
			break
		}
		dl := now.Add(l.Timeout)
		if dl.After(until) {
			dl = until
		}
		_ = conn.SetReadDeadline(dl)
		n, err := rb.recv(rc)
		if err != nil {
			refused := errors.Is(err, syscall.ECONNREFUSED) // ICMP port unreachable
			if refused || errors.Is(err, os.ErrDeadlineExceeded) {
				if refused {
					time.Sleep(min(l.Timeout, time.Until(until)))
				}
				if time.Now().Before(until) {
					if counting() {
						c.lost += uint64(len(outstanding))
					}
					clear(outstanding)
					if err := send(l.Window); err != nil {
						return c, err
					}
				}
				continue
			}
			return c, fmt.Errorf("ntp load: receive: %w", err)
		}
		count := counting()
		matched := 0
		for i := range n {
			b, truncated := rb.datagram(i)
			kind, origin := classify(b)
			_, ours := outstanding[origin]
			switch {
			case truncated:
				kind = replyInvalid
			case !ours && kind != replyInvalid && origin>>48 == id && origin&(1<<48-1) <= seq:
				// An answer to a request already counted lost and resent.
				kind = replyLate
			case !ours:
				kind = replyInvalid
			default:
				delete(outstanding, origin)
				matched++
			}
			if !count {
				continue
			}
			switch kind {
			case replyValid:
				c.valid++
			case replyUnsync:
				c.unsync++
			case replyKoD:
				c.kod++
			case replyLate:
				c.late++
			default:
				c.invalid++
			}
		}
		if matched > 0 && time.Now().Before(until) {
			if err := send(matched); err != nil {
				return c, err
			}
		}
	}
	return c, nil
}

// mmsgBatch is the message headers and buffers of one sendmmsg(2) or
// recvmmsg(2) on a connected socket (no addresses), set up once.
type mmsgBatch struct {
	hdrs []unix.Mmsghdr
	iovs []unix.Iovec
	bufs [][]byte
}

func newMmsgBatch(n, size int) *mmsgBatch {
	b := &mmsgBatch{hdrs: make([]unix.Mmsghdr, n), iovs: make([]unix.Iovec, n), bufs: make([][]byte, n)}
	for i := range n {
		b.bufs[i] = make([]byte, size)
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(size)
		b.hdrs[i].Hdr.Iov = &b.iovs[i]
		b.hdrs[i].Hdr.SetIovlen(1)
	}
	return b
}

// send sends the first k buffers, whole, waiting in the poller when the
// socket's send buffer is full.
func (b *mmsgBatch) send(rc syscall.RawConn, k int) error {
	done := 0
	var serr error
	err := rc.Write(func(fd uintptr) bool {
		for done < k {
			n, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[done])), uintptr(k-done),
				unix.MSG_DONTWAIT, 0, 0)
			switch errno {
			case 0:
				done += int(n)
			case unix.EINTR:
			case unix.EAGAIN:
				return false
			case unix.ECONNREFUSED:
				// An earlier datagram's ICMP error, reported once: the
				// datagrams still go (the receive side counts the loss).
			default:
				serr = fmt.Errorf("ntp load: send: %w", errno)
				return true
			}
		}
		return true
	})
	runtime.KeepAlive(b)
	return errors.Join(err, serr)
}

// recv reads what has arrived, at least one datagram, waiting in the
// poller (up to the socket's read deadline) when nothing has.
func (b *mmsgBatch) recv(rc syscall.RawConn) (int, error) {
	for i := range b.hdrs {
		b.hdrs[i].Hdr.Flags = 0
		b.hdrs[i].Len = 0
	}
	var n int
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		for {
			r, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(len(b.hdrs)),
				unix.MSG_DONTWAIT, 0, 0)
			switch errno {
			case 0:
				n = int(r)
				return true
			case unix.EINTR:
			case unix.EAGAIN:
				return false
			default:
				rerr = errno
				return true
			}
		}
	})
	runtime.KeepAlive(b)
	if err != nil {
		return 0, err
	}
	return n, rerr
}

// datagram returns received datagram i and whether it was cut short.
func (b *mmsgBatch) datagram(i int) ([]byte, bool) {
	h := &b.hdrs[i]
	return b.bufs[i][:min(int(h.Len), len(b.bufs[i]))], h.Hdr.Flags&unix.MSG_TRUNC != 0
}

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture that matters here; see proc(5)).
const userHZ = 100

// waitCPUTicks waits until at, then returns the CPU time (utime + stime,
// in 1/userHZ s) of process pid and all its threads.
func waitCPUTicks(ctx context.Context, pid int, at time.Time) (uint64, error) {
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-t.C:
	}
	return cpuTicks(pid)
}

// cpuTicks reads utime and stime (fields 14 and 15) of /proc/PID/stat.
func cpuTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	return parseStatTicks(string(b))
}

// parseStatTicks reads utime + stime from a /proc/PID/stat line. The
// command name (field 2) is in parentheses and may hold spaces or
// parentheses itself: fields are counted after its last ')'.
func parseStatTicks(stat string) (uint64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu time: malformed stat %q", stat)
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu time: short stat %q", stat)
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	return u + s, nil
}
