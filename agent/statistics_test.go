package agent

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/ntpengine"
	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// TestStatisticsCountTheWire: a running agent counts what arrives on its
// socket in /ntp/statistics — client requests answered, one that fails
// authentication (crypto-NAK), a datagram too
// short to be NTP, a server packet nobody asked for, a datagram larger
// than any NTP packet — and the <get> state holding them is valid YANG
// data.
func TestStatisticsCountTheWire(t *testing.T) {
	t.Parallel()
	a := startAgent(t, Options{Clock: fastClock(1),
		Engine: ntpengine.Config{LocalStratum: 3}})
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const requests = 3
	buf := make([]byte, 2048)
	for i := range requests {
		req := ntpPacket(packet.ModeClient, 4, time.Time{}, time.Now().Add(time.Duration(i)*time.Millisecond))
		if _, err := c.WriteToUDPAddrPort(req, a.addr); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
			t.Fatalf("request %d: no reply: %v", i, err)
		}
	}
	// A request signed with a key the agent does not have goes the slow
	// way (Handle) and gets a crypto-NAK (RFC 5905 §7.4).
	nak := md5MAC(ntpPacket(packet.ModeClient, 4, time.Time{}, time.Now()), 77, []byte("unknown"))
	if _, err := c.WriteToUDPAddrPort(nak, a.addr); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := c.ReadFromUDPAddrPort(buf); err != nil || n != packet.HeaderLen+4 {
		t.Fatalf("signed request: %d-octet reply (%v), want a crypto-NAK", n, err)
	}
	bad := map[string][]byte{
		"short":     make([]byte, 20),
		"server":    ntpPacket(packet.ModeServer, 4, time.Now(), time.Now()),
		"oversized": make([]byte, 3000),
	}
	for name, d := range bad {
		if _, err := c.WriteToUDPAddrPort(d, a.addr); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}

	var st *gen.NtpagentNtp_Ntp_Statistics
	testtool.WaitFor(t, 10*time.Second, "the bad datagrams counted", func() bool {
		st = a.State().GetNtp().GetStatistics()
		return st.GetBadFormat() >= 1 && st.GetNoAssociationDropped() >= 1 && st.GetOversizeDropped() >= 1
	})
	want := gen.NtpagentNtp_Ntp_Statistics{
		PacketsReceived: ptr(uint64(requests + 3)), PacketsSent: ptr(uint64(requests + 1)),
		ClientRequests: ptr(uint64(requests + 1)), ServerReplies: ptr(uint64(requests + 1)),
		KissOfDeathSent: ptr(uint64(0)), RateLimited: ptr(uint64(0)), AccessDenied: ptr(uint64(0)),
		BadFormat: ptr(uint64(1)), AuthenticationFailures: ptr(uint64(1)), BogusOrDuplicate: ptr(uint64(0)),
		NoAssociationDropped: ptr(uint64(1)), ReceiveQueueOverflows: ptr(uint64(0)), OversizeDropped: ptr(uint64(1)),
		DiscontinuityTime: st.DiscontinuityTime,
	}
	if got := *st; !equalStatistics(got, want) {
		t.Errorf("statistics\n%s\nwant\n%s", describeStatistics(got), describeStatistics(want))
	}
	since, err := time.Parse(time.RFC3339Nano, st.GetDiscontinuityTime())
	if err != nil || since.After(a.ntpClock.Now()) {
		t.Errorf("discontinuity-time %q (%v): want a time before now", st.GetDiscontinuityTime(), err)
	}

	full := &gen.Device{}
	a.StateProvider(full)
	yanglintGet(t, full)
}

func equalStatistics(a, b gen.NtpagentNtp_Ntp_Statistics) bool {
	return describeStatistics(a) == describeStatistics(b)
}

func describeStatistics(s gen.NtpagentNtp_Ntp_Statistics) string {
	v := func(p *uint64) any {
		if p == nil {
			return "absent"
		}
		return *p
	}
	return fmt.Sprintf("received %v sent %v requests %v replies %v kod %v rate %v denied %v bad %v auth %v bogus %v noassoc %v overflow %v oversize %v",
		v(s.PacketsReceived), v(s.PacketsSent), v(s.ClientRequests), v(s.ServerReplies), v(s.KissOfDeathSent),
		v(s.RateLimited), v(s.AccessDenied), v(s.BadFormat), v(s.AuthenticationFailures), v(s.BogusOrDuplicate),
		v(s.NoAssociationDropped), v(s.ReceiveQueueOverflows), v(s.OversizeDropped))
}
