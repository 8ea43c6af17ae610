package agent

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/ntpengine"
	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// rawSender sends UDP datagrams with any IPv4 source address and port (a
// raw socket with IP_HDRINCL: needs root). Traffic stays on loopback.
type rawSender struct{ fd int }

func newRawSender(t testing.TB) *rawSender {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		testtool.Missing(t, "raw socket: "+err.Error())
	}
	t.Cleanup(func() { syscall.Close(fd) })
	return &rawSender{fd: fd}
}

func (r *rawSender) send(t testing.TB, src, dst netip.AddrPort, payload []byte) {
	t.Helper()
	if !src.Addr().Is4() || !dst.Addr().Is4() || !dst.Addr().IsLoopback() {
		t.Fatalf("raw send %v → %v: loopback IPv4 only", src, dst)
	}
	b := make([]byte, 28+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8] = 64
	b[9] = syscall.IPPROTO_UDP
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(b[12:16], s4[:])
	copy(b[16:20], d4[:])
	binary.BigEndian.PutUint16(b[10:], ipChecksum(b[:20]))
	binary.BigEndian.PutUint16(b[20:], src.Port())
	binary.BigEndian.PutUint16(b[22:], dst.Port())
	binary.BigEndian.PutUint16(b[24:], uint16(8+len(payload)))
	// UDP checksum 0: none (allowed over IPv4, RFC 768).
	copy(b[28:], payload)
	if err := syscall.Sendto(r.fd, b, 0, &syscall.SockaddrInet4{Addr: d4}); err != nil {
		t.Fatalf("raw send: %v", err)
	}
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// rawSniffer reads copies of the UDP datagrams the host receives (a raw
// IPPROTO_UDP socket), to replay a real packet.
func sniffOne(t testing.TB, src, dst netip.AddrPort, limit time.Duration) []byte {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_UDP)
	if err != nil {
		testtool.Missing(t, "raw socket: "+err.Error())
	}
	defer syscall.Close(fd)
	tv := syscall.NsecToTimeval(int64(200 * time.Millisecond))
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	buf := make([]byte, 2048)
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if err != nil || n < 28 {
			continue
		}
		ihl := int(buf[0]&0xf) * 4
		if n < ihl+8 {
			continue
		}
		s := netip.AddrPortFrom(netip.AddrFrom4([4]byte(buf[12:16])), binary.BigEndian.Uint16(buf[ihl:]))
		d := netip.AddrPortFrom(netip.AddrFrom4([4]byte(buf[16:20])), binary.BigEndian.Uint16(buf[ihl+2:]))
		if s == src && d == dst {
			return append([]byte(nil), buf[ihl+8:n]...)
		}
	}
	t.Fatalf("no datagram %v → %v seen in %v", src, dst, limit)
	return nil
}

func ntpPacket(mode packet.Mode, version uint8, org, xmt time.Time) []byte {
	h := packet.Header{Leap: packet.LeapNone, Version: version, Mode: mode, Stratum: 2, Poll: 3, Precision: -20,
		ReferenceID: 0x7f000001, ReferenceTime: packet.TimestampFromTime(xmt.Add(-time.Second)),
		TransmitTime: packet.TimestampFromTime(xmt)}
	if !org.IsZero() {
		h.OriginTime = packet.TimestampFromTime(org)
		h.ReceiveTime = packet.TimestampFromTime(xmt)
	}
	return h.AppendHeader(nil)
}

// md5MAC appends an RFC 5905 MAC (key id, MD5(key ‖ packet)).
func md5MAC(pkt []byte, id uint32, secret []byte) []byte {
	sum := md5.Sum(append(append([]byte(nil), secret...), pkt...))
	out := binary.BigEndian.AppendUint32(append([]byte(nil), pkt...), id)
	return append(out, sum[:]...)
}

// Bad input on the wire does not break configured associations: spoofed
// origin timestamps, replays of real packets, unauthenticated packets for a
// keyed peer and a flood of mode-1 packets from a thousand loopback sources
// arrive while the agent is synchronized to two peers. The associations
// keep synchronizing, ephemeral associations stay within MaxEphemeral, and
// no reply to a client request is longer than the request (no
// amplification).
func TestBadInputOnTheWire(t *testing.T) {
	testtool.RequireRoot(t)
	t.Parallel()
	raw := newRawSender(t)
	const scale = 8
	secret := []byte("bad-input-test-key")
	keyed := config(true, []key{{5, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5, string(secret), true}})
	// The two references serve the same time: fast clocks started apart
	// would differ by (scale−1) times the gap, beyond their error bounds
	// (RFC 5905 §11.2.1: both falsetickers).
	origin := time.Now()
	r1 := startAgent(t, Options{Clock: fastClockFrom(origin, scale),
		Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.31:0")}, Engine: ntpengine.Config{LocalStratum: 3}})
	r1.apply(t, keyed)
	r2 := startAgent(t, Options{Clock: fastClockFrom(origin, scale),
		Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.32:0")}, Engine: ntpengine.Config{LocalStratum: 3}})
	// r2 follows r1, so that the two agree (RFC 5905 §11.2.1): the agent
	// is to synchronize to both, and two free-running local clocks
	// started apart disagree by tens of milliseconds.
	r2.apply(t, config(false, []key{{5, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5, string(secret), true}},
		peer{address: "127.0.0.31", port: r1.addr.Port(), key: 5}))
	const maxEphemeral = 8
	a := startAgent(t, Options{Clock: fastClockFrom(origin, scale),
		Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.30:0")},
		Engine: ntpengine.Config{MaxEphemeral: maxEphemeral}})
	cfg := config(true, []key{{5, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5, string(secret), true}},
		peer{address: "127.0.0.31", port: r1.addr.Port(), key: 5},
		peer{address: "127.0.0.32", port: r2.addr.Port()})
	a.apply(t, cfg)

	synced := func(st *gen.Device) bool {
		if st.GetNtp().GetStatus().ClockState != gen.NtpagentNtp_Ntp_Status_ClockState_synchronized {
			return false
		}
		for _, addr := range []string{"127.0.0.31", "127.0.0.32"} {
			s := session(st, addr, 0)
			if s == nil || s.GetReach()&7 != 7 {
				return false
			}
		}
		return true
	}
	testtool.WaitFor(t, 120*time.Second, "the agent to synchronize with both peers", func() bool { return synced(a.State()) })
	before := session(a.State(), "127.0.0.31", 0)

	// Replays of a real packet of each peer.
	replay2 := sniffOne(t, r2.addr, a.addr, 20*time.Second)
	replay1 := sniffOne(t, r1.addr, a.addr, 20*time.Second)

	rng := rand.New(rand.NewPCG(7, 7))
	now := time.Now()
	const spoofs = 20
	for i := range spoofs {
		xmt := now.Add(time.Duration(i) * time.Millisecond)
		// Spoofed origin timestamps, as if from the unkeyed peer.
		bogusOrg := now.Add(-time.Duration(rng.IntN(1e9)) * time.Microsecond)
		raw.send(t, r2.addr, a.addr, ntpPacket(packet.ModeSymmetricPassive, 4, bogusOrg, xmt))
		// Unauthenticated, and wrongly authenticated, packets for the
		// keyed peer.
		raw.send(t, r1.addr, a.addr, ntpPacket(packet.ModeSymmetricPassive, 4, bogusOrg, xmt))
		raw.send(t, r1.addr, a.addr, md5MAC(ntpPacket(packet.ModeSymmetricPassive, 4, bogusOrg, xmt), 5, []byte("guess")))
		// Replays.
		raw.send(t, r2.addr, a.addr, replay2)
		raw.send(t, r1.addr, a.addr, replay1)
	}
	// A flood of symmetric active packets from 1,000 loopback sources.
	for i := range 1000 {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 1, byte(i / 250), byte(1 + i%250)}), 123)
		raw.send(t, src, a.addr, ntpPacket(packet.ModeSymmetricActive, 4, time.Time{}, now))
	}

	// Client requests of several shapes: the reply is never longer.
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 39)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	requests := map[string][]byte{
		"v4 plain":             ntpPacket(packet.ModeClient, 4, time.Time{}, now),
		"v3 plain":             ntpPacket(packet.ModeClient, 3, time.Time{}, now),
		"v4 MAC, unknown key":  md5MAC(ntpPacket(packet.ModeClient, 4, time.Time{}, now), 77, []byte("x")),
		"v4 MAC, key 5":        md5MAC(ntpPacket(packet.ModeClient, 4, time.Time{}, now), 5, secret),
		"v4 MAC, wrong digest": md5MAC(ntpPacket(packet.ModeClient, 4, time.Time{}, now), 5, []byte("guess")),
	}
	// The flood overflows the socket's receive buffer (the kernel drops
	// datagrams then): let it drain before asking, and ask up to three
	// times.
	last := uint64(0)
	testtool.WaitFor(t, 10*time.Second, "the flood to drain", func() bool {
		n := a.TransportStats().Received
		defer func() { last = n }()
		return n == last
	})
	for name, req := range requests {
		var n int
		var err error
		buf := make([]byte, 2048)
		for range 3 {
			if _, err := c.WriteToUDPAddrPort(req, a.addr); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if n, _, err = c.ReadFromUDPAddrPort(buf); err == nil {
				break
			}
		}
		if err != nil {
			t.Errorf("%s: no reply: %v (transport %+v)", name, err, a.TransportStats())
			continue
		}
		if n > len(req) {
			t.Errorf("%s: %d-octet reply to a %d-octet request", name, n, len(req))
		}
		if p, err := packet.Unmarshal(buf[:n]); err != nil || p.Mode != packet.ModeServer {
			t.Errorf("%s: reply is not a mode-4 packet: %v", name, err)
		}
	}

	// Three more polls: both associations still answer and the agent stays
	// synchronized to them.
	var st *gen.Device
	s1 := func() *gen.NtpagentNtp_Ntp_Sessions_Session { return session(st, "127.0.0.31", 0) }
	testtool.WaitFor(t, 60*time.Second, "three more answered polls", func() bool {
		st = a.State()
		return synced(st) && s1().GetPacketsReceived() >= before.GetPacketsReceived()+3
	})
	ephemeral := 0
	for _, s := range st.GetNtp().GetSessions().Session {
		if !s.GetConfigured() {
			ephemeral++
		}
	}
	if ephemeral > maxEphemeral {
		t.Errorf("%d ephemeral associations after the flood, want ≤ %d", ephemeral, maxEphemeral)
	}
	if got := s1().GetAuthenticationErrors(); got < 2*spoofs {
		t.Errorf("keyed peer: %d authentication errors counted, want ≥ %d", got, 2*spoofs)
	}
	if t.Failed() {
		t.Log(describeSessions(st))
	}
	_ = fmt.Sprint
}
