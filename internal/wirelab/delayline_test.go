//go:build linux

package wirelab

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/testtool"
)

func loopbackUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// echo answers every datagram c reads with prefix and the datagram,
// until c is closed.
func echo(c *net.UDPConn, prefix string) {
	buf := make([]byte, 100)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		c.WriteToUDPAddrPort(append([]byte(prefix), buf[:n]...), from)
	}
}

// listenUDP opens a UDP socket on addr in this namespace, control run
// before it is bound (ListenLineSockets' listen).
func listenUDP(ctx context.Context, addr netip.AddrPort, control func(network, address string, c syscall.RawConn) error) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: control}
	pc, err := lc.ListenPacket(ctx, "udp4", addr.String())
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// The schedule draws base delay plus an exponential extra delay whose mean
// is the jitter, and drops the given fraction; the same seed gives the same
// draws.
func TestScheduleDrawsExponentialJitterAndLoss(t *testing.T) {
	p := Path{BaseDelay: time.Millisecond, Jitter: 100 * time.Microsecond, Loss: 0.2}
	s, again := newSchedule(p, 7), newSchedule(p, 7)
	const n = 20000
	var sum time.Duration
	kept := 0
	for range n {
		d, ok := s.next()
		d2, ok2 := again.next()
		if d != d2 || ok != ok2 {
			t.Fatal("two schedules with one seed differ")
		}
		if !ok {
			continue
		}
		kept++
		if d < p.BaseDelay {
			t.Fatalf("delay %v below the base delay", d)
		}
		sum += d - p.BaseDelay
	}
	if lost := float64(n-kept) / n; lost < 0.18 || lost > 0.22 {
		t.Errorf("lost %.3f of the datagrams, want 0.2", lost)
	}
	if mean := sum / time.Duration(kept); mean < 95*time.Microsecond || mean > 105*time.Microsecond {
		t.Errorf("mean extra delay %v, want the jitter, 100 µs", mean)
	}
	if d, ok := newSchedule(Path{BaseDelay: time.Millisecond}, 1).next(); !ok || d != time.Millisecond {
		t.Errorf("no jitter, no loss: %v %v, want exactly the base delay", d, ok)
	}
}

func TestPathRefusesBadValues(t *testing.T) {
	for _, p := range []Path{{BaseDelay: -1}, {Jitter: -1}, {Loss: 1}, {Loss: -0.1}} {
		if _, err := NewDelayLine(LineSockets{}, netip.AddrPort{}, p, 0); err == nil {
			t.Errorf("path %+v accepted", p)
		}
	}
}

// A datagram crosses the line to the server and its answer comes back to
// the client, unchanged, each way held the base delay (measured from the
// kernel's receive timestamp to the client's own; the line leaves its
// send calls' latency to the kernel's transmit timestamp out of it), both
// when the line sends from the sockets it reads and from sockets of their
// own (ListenLineSockets: every datagram still arrives to the line's
// reader).
func TestDelayLineForwardsBothWaysAfterTheBaseDelay(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sockets func(t *testing.T) LineSockets
	}{
		{"reads and sends on one socket per side", func(t *testing.T) LineSockets {
			return LineSockets{Near: loopbackUDP(t), Far: loopbackUDP(t)}
		}},
		{"sends from sockets of its own", func(t *testing.T) LineSockets {
			lo := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0)
			s, err := ListenLineSockets(context.Background(), lo, lo, listenUDP)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { testDelayLineForwardsBothWays(t, tc.sockets(t)) })
	}
}

func testDelayLineForwardsBothWays(t *testing.T, sockets LineSockets) {
	server, client := loopbackUDP(t), loopbackUDP(t)
	defer server.Close()
	defer client.Close()
	const base = 20 * time.Millisecond
	// A datagram leaves at its deadline, give or take the spread of the
	// send calls' latency, which the line learns up to maxSendLatency.
	const least = base - maxSendLatency
	line, err := NewDelayLine(sockets, addrOf(server), Path{BaseDelay: base}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer line.Close()
	go echo(server, "re:")
	buf := make([]byte, 100)
	for i := range 5 {
		msg := []byte{'p', byte('0' + i)}
		sent := time.Now()
		if _, err := client.WriteToUDPAddrPort(msg, line.Addr()); err != nil {
			t.Fatal(err)
		}
		client.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, from, err := client.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("datagram %d: no answer: %v", i, err)
		}
		if rtt := time.Since(sent); rtt < 2*least {
			t.Errorf("datagram %d: answered after %v, less than twice the base delay less the send latency", i, rtt)
		}
		if from != line.Addr() || !bytes.Equal(buf[:n], append([]byte("re:"), msg...)) {
			t.Errorf("datagram %d: %q from %v, want %q from the line %v", i, buf[:n], from, "re:"+string(msg), line.Addr())
		}
	}
	// The line records a datagram just after sending it: the last answer
	// can reach the client first.
	testtool.WaitFor(t, 10*time.Second, "the last answer recorded", func() bool { return len(line.Datagrams()) >= 10 })
	if st := line.Stats(); st.Up != 5 || st.Down != 5 || st.UpLost != 0 || st.DownLost != 0 ||
		st.UpDelay < least || st.DownDelay < least {
		t.Errorf("stats %+v, want 5 each way, no loss, each held at least the base delay less the send latency", st)
	}
	ds := line.Datagrams()
	if len(ds) != 10 {
		t.Errorf("%d datagrams recorded, want 10", len(ds))
	}
	// The loopback device stamps every datagram the line sends; the
	// stamp comes after the send call.
	for _, d := range ds {
		if !d.Stamped || d.Held < d.Called || d.Called < least {
			t.Errorf("datagram %s: want a transmit timestamp after the send call, the call near the deadline", d)
		}
	}
	if st := line.StatsSince(time.Now().Add(time.Hour)); st.Up != 0 || st.Down != 0 {
		t.Errorf("stats since a later time %+v, want none", st)
	}
}

// A direction makes its send calls as early as its recent calls took to
// put a datagram on its way: nothing before the first, then the median
// of those seen (the lower of two), at most learningLatency until it has
// seen sendLatencyLearnt, then the median of the last ones; what cannot
// be a latency is not learnt.
func TestSendLatencyIsTheMedianOfTheRecentCalls(t *testing.T) {
	var s sendLatency
	if got := s.estimate(); got != 0 {
		t.Errorf("estimate before any call %v, want 0", got)
	}
	for i, c := range []struct{ add, want time.Duration }{
		{300, 100}, // a held-up first call: bounded while learning
		{10, 10},   // the lower of two
		{20, 20},
		{30, 20},
		{40, 30}, // learnt: the median of five
	} {
		s.add(c.add * time.Microsecond)
		if got := s.estimate(); got != c.want*time.Microsecond {
			t.Errorf("estimate after call %d (%v µs): %v, want %v µs", i+1, int64(c.add), got, int64(c.want))
		}
	}
	s.add(-time.Microsecond)
	s.add(maxSendLatency + 1)
	if got := s.estimate(); got != 30*time.Microsecond {
		t.Errorf("estimate after a negative and a huge latency: %v, want 30 µs", got)
	}
	for range sendLatencyWindow {
		s.add(5 * time.Microsecond)
	}
	if got := s.estimate(); got != 5*time.Microsecond {
		t.Errorf("estimate after %d calls of 5 µs: %v, want only the recent ones", sendLatencyWindow, got)
	}
}

// With sinks on the addresses it sends to, a sender sends its sink a
// probe shortly before each datagram it forwards (warming the send path,
// so that the datagram's own send call is as quick as the last), and
// records for the datagram its own transmit timestamp, not the probe's:
// one taken after its send call.
func TestDelayLineProbesItsSinkBeforeEachDatagram(t *testing.T) {
	lo := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0)
	s, err := ListenLineSockets(context.Background(), lo, lo, listenUDP)
	if err != nil {
		t.Fatal(err)
	}
	nearSink, farSink := loopbackUDP(t), loopbackUDP(t)
	s.NearSink, s.FarSink = nearSink, farSink
	server, client := loopbackUDP(t), loopbackUDP(t)
	defer server.Close()
	defer client.Close()
	const base = 5 * time.Millisecond
	line, err := NewDelayLine(s, addrOf(server), Path{BaseDelay: base}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer line.Close()
	go echo(server, "")
	const n = 3
	buf := make([]byte, 100)
	for i := range n {
		if _, err := client.WriteToUDPAddrPort([]byte{'p', byte('0' + i)}, line.Addr()); err != nil {
			t.Fatal(err)
		}
		client.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := client.ReadFromUDPAddrPort(buf); err != nil {
			t.Fatalf("datagram %d: no answer: %v", i, err)
		}
	}
	testtool.WaitFor(t, 10*time.Second, "every datagram recorded", func() bool { return len(line.Datagrams()) >= 2*n })
	for _, sink := range []*net.UDPConn{nearSink, farSink} {
		for i := range n {
			sink.SetReadDeadline(time.Now().Add(10 * time.Second))
			k, _, err := sink.ReadFromUDPAddrPort(buf)
			if err != nil || !bytes.Equal(buf[:k], warmUpProbe) {
				t.Fatalf("probe %d at the sink %v: %q, %v; want %q", i, sink.LocalAddr(), buf[:k], err, warmUpProbe)
			}
		}
		sink.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, _, err := sink.ReadFromUDPAddrPort(buf); err == nil {
			t.Errorf("sink %v: more probes than datagrams", sink.LocalAddr())
		}
	}
	for _, d := range line.Datagrams() {
		if !d.Stamped || d.Held < d.Called {
			t.Errorf("datagram %s: want its own transmit timestamp, after its send call", d)
		}
	}
}

// Datagrams the Path loses never arrive, and the line counts them.
func TestDelayLineDropsLostDatagrams(t *testing.T) {
	server, client := loopbackUDP(t), loopbackUDP(t)
	defer server.Close()
	defer client.Close()
	p := Path{Loss: 0.5}
	line, err := NewDelayLine(LineSockets{Near: loopbackUDP(t), Far: loopbackUDP(t)}, addrOf(server), p, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer line.Close()
	want := 0
	s := newSchedule(p, 3) // the line's upward draws
	const n = 40
	for range n {
		if _, ok := s.next(); ok {
			want++
		}
	}
	for i := range n {
		if _, err := client.WriteToUDPAddrPort([]byte{byte(i)}, line.Addr()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // keep the order of the draws
	}
	got := 0
	buf := make([]byte, 10)
	server.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		if _, _, err := server.ReadFromUDPAddrPort(buf); err != nil {
			break
		}
		got++
		server.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	}
	if got != want || want == 0 || want == n {
		t.Errorf("server got %d of %d datagrams, the schedule keeps %d", got, n, want)
	}
	if st := line.Stats(); st.Up != uint64(want) || st.UpLost != uint64(n-want) {
		t.Errorf("stats %+v, want %d forwarded and %d lost", st, want, n-want)
	}
}

// chronyc tracking under -x: "System time … slow of NTP time" means
// chronyd's clock is ahead of the host's by that much, and "Frequency …
// slow" that it runs that much fast against the host's (both seen with a
// reference 5 ms ahead and one 10 ppm fast).
func TestParseTrackingSigns(t *testing.T) {
	const ahead = `Reference ID    : 7F000001 (localhost)
Stratum         : 2
System time     : 0.004954816 seconds slow of NTP time
Frequency       : 10.021 ppm slow
Leap status     : Normal
`
	off, ppm, synced, err := parseTracking(ahead)
	if err != nil || off != 4954816*time.Nanosecond || ppm != 10.021 || !synced {
		t.Errorf("parseTracking = %v %v %v %v, want 4.954816ms 10.021 true", off, ppm, synced, err)
	}
	const behind = `Reference ID    : 00000000 ()
System time     : 0.000000020 seconds fast of NTP time
Frequency       : 0.500 ppm fast
Leap status     : Not synchronised
`
	off, ppm, synced, err = parseTracking(behind)
	if err != nil || off != -20*time.Nanosecond || ppm != -0.5 || synced {
		t.Errorf("parseTracking = %v %v %v %v, want -20ns -0.5 false", off, ppm, synced, err)
	}
	if _, _, _, err := parseTracking("506 Cannot talk to daemon\n"); err == nil {
		t.Error("no error for output without the fields")
	}
}
