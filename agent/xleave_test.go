package agent

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/ntpengine"
)

// Interleaved mode (RFC 9769) with chronyd 4.x, both ways:
//   - a symmetric peer with chronyd's xleave: both sides settle in
//     interleaved mode (our session says so, and chronyd's ntpdata
//     shows our packets as interleaved and passing its tests);
//   - a symmetric peer without xleave: the agent falls back to basic
//     mode (RFC 9769 §5) and chronyd accepts its packets;
//   - chronyd as a client with xleave of an agent's server: the server
//     answers in interleaved mode, with the kernel's transmit timestamps.
//
// The agents report kernel transmit timestamping in /ntp/status.
func TestChronydInterleaved(t *testing.T) {
	if testing.Short() {
		t.Skip("interop: about a minute")
	}
	t.Parallel()
	testtool.Require(t, "chronyd")
	testtool.Require(t, "chronyc")
	chronyPort := freeUDPPort(t)
	xleave := startStoreAgent(t, netip.MustParseAddrPort("127.0.0.41:0"), ntpengine.Config{})
	basic := startStoreAgent(t, netip.MustParseAddrPort("127.0.0.42:0"), ntpengine.Config{})
	server := startStoreAgent(t, netip.MustParseAddrPort("127.0.0.43:0"), ntpengine.Config{LocalStratum: 4})

	dir := chronyDir(t)
	conf := fillTemplate(t, "peers.conf.tmpl", map[string]any{"Port": chronyPort, "Dir": dir, "Stratum": 8,
		"Peers": []chronyPeer{
			{Addr: "127.0.0.41", Port: xleave.addr.Port(), Xleave: true},
			{Addr: "127.0.0.42", Port: basic.addr.Port()},
		}})
	chrony := startChronyd(t, dir, conf, nil)
	cdir := chronyDir(t)
	cconf := fillTemplate(t, "client.conf.tmpl", map[string]any{"Dir": cdir,
		"Servers": []chronyPeer{{Addr: "127.0.0.43", Port: server.addr.Port(), Xleave: true}}})
	client := startChronyd(t, cdir, cconf, nil)
	for _, a := range []*storeAgent{xleave, basic} {
		a.commit(t, config(false, nil, peer{address: "127.0.0.1", port: chronyPort, minpoll: 3, maxpoll: 4}))
	}

	t.Run("RFC 9769 §4 symmetric, chronyd with xleave", func(t *testing.T) {
		var d map[string]string
		var s *gen.NtpagentNtp_Ntp_Sessions_Session
		testtool.WaitFor(t, 120*time.Second, "both sides in interleaved mode", func() bool {
			st := xleave.State()
			s = session(st, "127.0.0.1", chronyPort)
			d = chrony.ntpdata(t, "127.0.0.41")
			return st.GetNtp().GetStatus().ClockState == gen.NtpagentNtp_Ntp_Status_ClockState_synchronized &&
				s.GetInterleaved() && d["Interleaved"] == "Yes" && strings.HasPrefix(d["NTP tests"], "111 111 111")
		})
		if tx := xleave.State().GetNtp().GetStatus().GetTransmitTimestamping(); tx != gen.NtpagentNtp_Ntp_Status_TransmitTimestamping_kernel {
			t.Errorf("transmit-timestamping %v, want kernel", tx)
		}
		t.Logf("chronyd's view: offset %s, delay %s, tests %s", d["Offset"], d["Peer delay"], d["NTP tests"])
	})
	t.Run("RFC 9769 §5 symmetric, chronyd without xleave: basic mode", func(t *testing.T) {
		var d map[string]string
		var s *gen.NtpagentNtp_Ntp_Sessions_Session
		testtool.WaitFor(t, 120*time.Second, "a synchronized basic-mode association", func() bool {
			st := basic.State()
			s = session(st, "127.0.0.1", chronyPort)
			d = chrony.ntpdata(t, "127.0.0.42")
			return st.GetNtp().GetStatus().ClockState == gen.NtpagentNtp_Ntp_Status_ClockState_synchronized &&
				s.Interleaved != nil && atoi(d["Total valid RX"]) >= 4 && strings.HasPrefix(d["NTP tests"], "111 111 111")
		})
		if s.GetInterleaved() || d["Interleaved"] != "No" {
			t.Errorf("interleaved: ours %v, chronyd's %q; want basic mode on both sides", s.GetInterleaved(), d["Interleaved"])
		}
	})
	t.Run("RFC 9769 §3 server, chronyd client with xleave", func(t *testing.T) {
		var d map[string]string
		testtool.WaitFor(t, 60*time.Second, "interleaved responses at chronyd", func() bool {
			d = client.ntpdata(t, "127.0.0.43")
			return d["Interleaved"] == "Yes" && atoi(d["Total valid RX"]) >= 4
		})
		if d["Mode"] != "Server" || !strings.HasPrefix(d["NTP tests"], "111 111") {
			t.Errorf("chronyd's view of the agent as an interleaved server: mode %q tests %q", d["Mode"], d["NTP tests"])
		}
		st := server.State().GetNtp().GetStatistics()
		t.Logf("server: %s replies; chronyd: offset %s delay %s", strconv.FormatUint(st.GetServerReplies(), 10), d["Offset"], d["Peer delay"])
	})
}
