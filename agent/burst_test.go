package agent

import (
	"net"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/internal/vpninstance"
)

// The iburst leaf reaches the wire: of two peers that never answer (a
// socket the test holds and never reads), the one configured with iburst
// sends a burst at each poll while unreachable (RFC 5905 §13 BCOUNT), the
// other one packet per poll. Compared in the same run: by the time the
// plain peer has sent its second packet (its second poll), the iburst peer
// has sent at least twice as many (a packet every 2 s against one every 8 s).
func TestIBurstSendsABurstWhileUnreachable(t *testing.T) {
	t.Parallel()
	silent := func() uint16 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return uint16(c.LocalAddr().(*net.UDPAddr).Port)
	}
	plainPort, burstPort := silent(), silent()
	a := startAgent(t, Options{Clock: fastClock(16)})
	root := config(false, nil, peer{address: "127.0.0.1", port: plainPort})
	p := root.GetNtp().GetOrCreateUnicastPeer("127.0.0.2", vpninstance.Public)
	p.Port, p.Minpoll, p.Maxpoll, p.Iburst = ptr(burstPort), ptr(uint8(3)), ptr(uint8(4)), ptr(true)
	a.apply(t, root)

	var plain, burst uint64
	testtool.WaitFor(t, 30*time.Second, "two polls of the plain peer", func() bool {
		st := a.State()
		plain = session(st, "127.0.0.1", plainPort).GetPacketsSent()
		burst = session(st, "127.0.0.2", burstPort).GetPacketsSent()
		return plain >= 2
	})
	if burst < 2*plain {
		t.Errorf("after %d packets of the plain peer the iburst peer sent %d, want a burst (≥ %d)", plain, burst, 2*plain)
	}
}
