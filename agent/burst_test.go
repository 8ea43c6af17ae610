package agent

import (
	"net"
	"testing"
	"time"

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
	// Hand-driven clocks: the counts compared are those of the same
	// instant of the agent's time, however loaded the machine is.
	a := startAgent(t, Options{Clock: handClock()})
	root := config(false, nil, peer{address: "127.0.0.1", port: plainPort})
	p := root.GetNtp().GetOrCreateUnicastPeer("127.0.0.2", vpninstance.Public)
	p.Port, p.Minpoll, p.Maxpoll, p.Iburst = ptr(burstPort), ptr(uint8(3)), ptr(uint8(4)), ptr(true)
	a.apply(t, root)

	var plain, burst uint64
	for range 600 { // at most 10 minutes of the agent's time
		st := a.State()
		plain = session(st, "127.0.0.1", plainPort).GetPacketsSent()
		burst = session(st, "127.0.0.2", burstPort).GetPacketsSent()
		if plain >= 2 {
			break
		}
		a.advance(t, time.Second, time.Second)
	}
	if plain < 2 {
		t.Fatalf("the plain peer sent %d packets in 10 minutes", plain)
	}
	if burst < 2*plain {
		t.Errorf("after %d packets of the plain peer the iburst peer sent %d, want a burst (≥ %d)", plain, burst, 2*plain)
	}
}
