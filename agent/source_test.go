package agent

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine"
	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// TestRepliesLeaveFromTheAddressTheyWereSentTo: on a host with several
// addresses (here 127.0.0.1 and 127.0.0.2, both on lo, with the agent on
// the wildcard address), a client's reply (the batch fast path) and a
// symmetric passive association's packet (RFC 5905 §9: an association is a
// pair of addresses) leave from the address the peer sent to, not from
// the one the routing table would choose (127.0.0.1).
func TestRepliesLeaveFromTheAddressTheyWereSentTo(t *testing.T) {
	a := startAgent(t, Options{
		Listen: []netip.AddrPort{netip.MustParseAddrPort("0.0.0.0:0")},
		Engine: ntpengine.Config{LocalStratum: 4},
	})
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: int(a.addr.Port())}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, m := range []packet.Mode{packet.ModeClient, packet.ModeSymmetricActive} {
		if _, err := c.WriteToUDP(ntpPacket(m, 4, time.Time{}, time.Now()), to); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 2048)
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("mode %v: no answer: %v", m, err)
		}
		p, err := packet.Unmarshal(buf[:n])
		if err != nil {
			t.Fatalf("mode %v: answer does not parse: %v", m, err)
		}
		want := map[packet.Mode]packet.Mode{packet.ModeClient: packet.ModeServer, packet.ModeSymmetricActive: packet.ModeSymmetricPassive}[m]
		if p.Mode != want || from.Addr() != netip.MustParseAddr("127.0.0.2") {
			t.Errorf("mode %v: mode-%v answer from %v, want mode %v from 127.0.0.2", m, p.Mode, from, want)
		}
	}
	st := a.State()
	var found bool
	for _, s := range st.GetNtp().GetSessions().Session {
		if !s.GetConfigured() {
			found = true
			if s.GetLocalAddress() != "127.0.0.2" || s.GetPacketsReceived() != 1 || s.GetPacketsSent() != 1 {
				t.Errorf("ephemeral session local-address %q, received %d, sent %d; want 127.0.0.2, 1, 1",
					s.GetLocalAddress(), s.GetPacketsReceived(), s.GetPacketsSent())
			}
		}
	}
	if !found {
		t.Error("no ephemeral session")
	}
	if ts := a.TransportStats(); ts.Responded != 1 {
		t.Errorf("transport stats %+v: want the client request answered by the responder", ts)
	}
}
