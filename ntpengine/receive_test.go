package ntpengine

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// TestDispatchTable checks every cell of RFC 5905 §9.2 figure 25 for the
// association modes the engine has.
func TestDispatchTable(t *testing.T) {
	const none = packet.Mode(0)
	cells := []struct {
		pkt, assoc packet.Mode
		want       action
	}{
		{packet.ModeSymmetricActive, none, actMobilize},
		{packet.ModeSymmetricActive, packet.ModeSymmetricActive, actProcess},
		{packet.ModeSymmetricActive, packet.ModeSymmetricPassive, actProcess},
		{packet.ModeSymmetricActive, packet.ModeClient, actDiscard},
		{packet.ModeSymmetricPassive, none, actDiscard},
		{packet.ModeSymmetricPassive, packet.ModeSymmetricActive, actProcess},
		{packet.ModeSymmetricPassive, packet.ModeSymmetricPassive, actError},
		{packet.ModeSymmetricPassive, packet.ModeClient, actDiscard},
		{packet.ModeClient, none, actReply},
		{packet.ModeClient, packet.ModeSymmetricActive, actDiscard},
		{packet.ModeClient, packet.ModeSymmetricPassive, actDiscard},
		{packet.ModeClient, packet.ModeClient, actDiscard},
		{packet.ModeServer, none, actDiscard},
		{packet.ModeServer, packet.ModeSymmetricActive, actDiscard},
		{packet.ModeServer, packet.ModeSymmetricPassive, actDiscard},
		{packet.ModeServer, packet.ModeClient, actProcess},
		{packet.ModeBroadcast, none, actDiscard},
		{packet.ModeBroadcast, packet.ModeSymmetricActive, actDiscard},
		{packet.ModeControl, none, actDiscard},
		{packet.ModePrivate, none, actDiscard},
	}
	for _, c := range cells {
		t.Run("RFC5905 §9.2 "+c.pkt.String()+" packet, association "+c.assoc.String()+" → "+c.want.String(), func(t *testing.T) {
			if got := dispatch(c.pkt, c.assoc); got != c.want {
				t.Errorf("got %v", got)
			}
		})
	}
}

// TestHandleUnknownSource checks the dispatch behaviour for a source with
// no association (RFC 5905 §9.2 first column).
func TestHandleUnknownSource(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mode      packet.Mode
		replies   int
		ephemeral bool
	}{
		{"RFC5905 §9.2 client packet FXMIT: stateless reply", packet.ModeClient, 1, false},
		// The new passive association answers the first packet of the
		// peer's burst at once (passivePoll, RFC 5905 §13).
		{"RFC5905 §9.2 symmetric active NEWPS: passive association", packet.ModeSymmetricActive, 1, true},
		{"RFC5905 §9.2 symmetric passive DSCRD", packet.ModeSymmetricPassive, 0, false},
		{"RFC5905 §9.2 server DSCRD", packet.ModeServer, 0, false},
		{"RFC5905 §9.2 broadcast DSCRD", packet.ModeBroadcast, 0, false},
		{"RFC5905 §9.2 control (mode 6) DSCRD", packet.ModeControl, 0, false},
		{"RFC5905 §9.2 private (mode 7) DSCRD", packet.ModePrivate, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustNew(t, Config{LocalStratum: 3})
			h := packet.Header{Version: 4, Mode: tc.mode, Poll: 6, TransmitTime: packet.TimestampFromTime(at(1))}
			r := e.Handle(Incoming{Data: h.AppendHeader(nil), Src: otherSrc, Dst: ourAddr, RxTime: at(1)})
			if len(r.Packets) != tc.replies {
				t.Fatalf("%d replies", len(r.Packets))
			}
			if tc.ephemeral {
				p, err := packet.Unmarshal(r.Packets[0].Data)
				if err != nil || p.Mode != packet.ModeSymmetricPassive || p.OriginTime != h.TransmitTime {
					t.Fatalf("reply %+v, %v: want mode 2 echoing the transmit timestamp", p, err)
				}
			}
			if got := len(e.Associations(at(1))) == 1; got != tc.ephemeral {
				t.Fatalf("ephemeral association: %v", got)
			}
			if tc.ephemeral {
				s := e.Associations(at(1))[0]
				if s.LocalMode != "symmetric-passive" || s.Configured {
					t.Errorf("session %+v", s)
				}
			}
		})
	}
}

// TestPacketErrors is one row per packet test of RFC 5905 §8 / A.5.1.
func TestPacketErrors(t *testing.T) {
	type mut func(h *packet.Header)
	tests := []struct {
		name    string
		cfg     func(*Config)
		sym     bool // symmetric active association (default: client)
		mutate  mut
		trailer func(t *testing.T, h packet.Header) []byte
		twice   bool   // deliver the same packet twice (duplicate)
		wantErr string // "" = accepted
		reach   bool
	}{
		{name: "RFC5905 §8 valid server reply accepted", reach: true},
		{name: "RFC5905 §8 duplicate: same transmit timestamp again", twice: true, wantErr: "duplicate", reach: true},
		{name: "RFC5905 §8 bogus: origin does not match our transmit", mutate: func(h *packet.Header) { h.OriginTime++ }, wantErr: "bogus"},
		{name: "RFC5905 §8 invalid: zero transmit timestamp", mutate: func(h *packet.Header) { h.TransmitTime = 0 }, wantErr: "zero transmit"},
		{name: "RFC5905 §8 unsync: leap indicator 3 (no sample; reachable, §13)", mutate: func(h *packet.Header) { h.Leap = packet.LeapUnsync }, wantErr: "unsynchronized", reach: true},
		{name: "RFC5905 §8 unsync: stratum 16 (no sample; reachable, §13)", mutate: func(h *packet.Header) { h.Stratum = 16 }, wantErr: "unsynchronized", reach: true},
		{name: "RFC5905 §8 invalid: root dispersion ≥ MAXDISP", mutate: func(h *packet.Header) { h.RootDispersion = packet.ShortFromSeconds(17) }, wantErr: "invalid"},
		{name: "RFC5905 §8 invalid: reference time after transmit time", mutate: func(h *packet.Header) { h.ReferenceTime = h.TransmitTime + 1<<32 }, wantErr: "invalid"},
		{name: "RFC5905 §8 access: source denied", cfg: func(c *Config) { c.Deny = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} }, wantErr: "access denied"},
		{name: "RFC5905 §8 auth: MAC missing", cfg: authOn(1), wantErr: "no MAC"},
		{name: "RFC5905 §8 auth: MAC wrong", cfg: authOn(1), trailer: func(t *testing.T, h packet.Header) []byte {
			tr := sign(t, h, 1)
			tr[5] ^= 1
			return tr
		}, wantErr: "MAC does not match"},
		{name: "RFC5905 §8 auth: other key", cfg: authOn(1), trailer: func(t *testing.T, h packet.Header) []byte { return sign(t, h, 2) }, wantErr: "key 2 used"},
		{name: "RFC5905 §8 auth: valid SHA1 MAC accepted", cfg: authOn(1), trailer: func(t *testing.T, h packet.Header) []byte { return sign(t, h, 1) }, reach: true},
		{name: "RFC5905 §8 auth: valid AES-CMAC MAC accepted", cfg: authOn(2), trailer: func(t *testing.T, h packet.Header) []byte { return sign(t, h, 2) }, reach: true},
		{name: "RFC5905 §8 auth: untrusted key", cfg: authOn(3), trailer: func(t *testing.T, h packet.Header) []byte { return sign(t, h, 3) }, wantErr: "not trusted"},
		{name: "RFC5905 §7.4 auth: crypto-NAK", cfg: authOn(1), trailer: func(*testing.T, packet.Header) []byte { return []byte{0, 0, 0, 0} }, wantErr: "crypto-NAK"},
		{name: "RFC5905 §8 auth off: MAC ignored", cfg: func(c *Config) { c.Keys = testKeys; c.Peers[0].KeyID = 1 },
			trailer: func(*testing.T, packet.Header) []byte { return append([]byte{0, 0, 0, 1}, make([]byte, 20)...) }, reach: true},
		{name: "RFC5905 §8 symmetric: valid passive reply accepted", sym: true, reach: true},
		{name: "RFC5905 §8 symmetric: origin zero, peer has not heard us", sym: true, mutate: func(h *packet.Header) { h.OriginTime = 0 }, wantErr: "origin timestamp zero"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Peers: []PeerConfig{peerCfg(AssocClient)}}
			if tc.sym {
				cfg.Peers[0].Mode = AssocSymmetric
			}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			e := mustNew(t, cfg)
			req, _, sent := pollOnce(t, e, 0)
			m := packet.ModeServer
			if tc.sym {
				m = packet.ModeSymmetricPassive
			}
			h := serverReply(req, m, sent, 0.001, 0.01)
			if tc.mutate != nil {
				tc.mutate(&h)
			}
			var tr []byte
			if tc.trailer != nil {
				tr = tc.trailer(t, h)
			}
			deliver(e, h, sent+0.02, tr)
			if tc.twice {
				deliver(e, h, sent+0.03, tr)
			}
			s := session(t, e, "p1")
			if tc.wantErr == "" && s.LastError != "" || !strings.Contains(s.LastError, tc.wantErr) {
				t.Errorf("last error %q, want %q", s.LastError, tc.wantErr)
			}
			if got := s.Reach&1 == 1; got != tc.reach {
				t.Errorf("reach %08b, want set=%v", s.Reach, tc.reach)
			}
			valid := 0
			for _, f := range s.Filter {
				if f.Dispersion < maxDisp {
					valid++
				}
			}
			want := 0
			if tc.reach && !strings.Contains(tc.wantErr, "unsynchronized") {
				want = 1 // an unsynchronized peer is reachable but gives no sample
			}
			if valid != want {
				t.Errorf("%d filter samples, want %d", valid, want)
			}
		})
	}
}

func authOn(key uint32) func(*Config) {
	return func(c *Config) {
		c.AuthEnabled = true
		c.Keys = testKeys
		c.Peers[0].KeyID = key
	}
}

// TestOnWireOffsetDelay checks the on-wire calculation of RFC 5905 §8.
func TestOnWireOffsetDelay(t *testing.T) {
	e := mustNew(t, Config{Peers: []PeerConfig{peerCfg(AssocClient)}})
	req, _, sent := pollOnce(t, e, 0)
	h := serverReply(req, packet.ModeServer, sent, 0.25, 0.010)
	deliver(e, h, sent+0.0201, nil)
	s := session(t, e, "p1")
	f := s.Filter[0]
	if d := f.Offset - 0.25; d > 1e-6 || d < -1e-6 {
		t.Errorf("offset %.9f, want 0.25", f.Offset)
	}
	if d := f.Delay - 0.020; d > 1e-6 || d < -1e-6 {
		t.Errorf("delay %.9f, want 0.020", f.Delay)
	}
}

// TestKissOfDeath is one row per kiss code of RFC 5905 §7.4.
func TestKissOfDeath(t *testing.T) {
	for _, tc := range []struct {
		name    string
		code    uint32
		bogus   bool
		stopped bool
		backoff bool
	}{
		{"RFC5905 §7.4 DENY demobilizes", packet.KissDeny, false, true, false},
		{"RFC5905 §7.4 RSTR demobilizes", packet.KissRstr, false, true, false},
		{"RFC5905 §7.4 RATE backs off", packet.KissRate, false, false, true},
		{"RFC5905 §7.4 other codes (INIT) are only unsync", 0x494e4954, false, false, false},
		{"RFC5905 §7.4 KoD with a bad origin is ignored", packet.KissDeny, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustNew(t, Config{Peers: []PeerConfig{peerCfg(AssocClient)}})
			req, _, sent := pollOnce(t, e, 0)
			poll0 := assoc(e, "p1").hpoll
			h := serverReply(req, packet.ModeServer, sent, 0, 0.01)
			h.Stratum, h.Leap, h.ReferenceID = 0, packet.LeapUnsync, tc.code
			h.Poll = 6
			if tc.bogus {
				h.OriginTime++
			}
			r := deliver(e, h, sent+0.02, nil)
			s := session(t, e, "p1")
			if s.Stopped != tc.stopped {
				t.Fatalf("stopped = %v (%s)", s.Stopped, s.LastError)
			}
			if tc.stopped {
				if len(r.Events) == 0 || r.Events[len(r.Events)-1].Kind != EventDemobilize {
					t.Errorf("events %+v", r.Events)
				}
				for i := 0.0; i < 3000; i++ {
					if out := e.Tick(at(sent + i)); len(out.Packets) != 0 {
						t.Fatal("a demobilized association still sends")
					}
				}
			}
			if got := assoc(e, "p1").hpoll > poll0; got != tc.backoff {
				t.Errorf("poll %d → %d", poll0, assoc(e, "p1").hpoll)
			}
		})
	}
}
