package agent

import (
	"math"
	"net/netip"
	"regexp"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/ntpengine"
)

// chronyd 4.x as the server of agents configured with unicast-server
// (client associations, RFC 5905 mode 3): one agent without a key and two
// with MD5 and SHA1 keys (RFC 5905 §9.1), the keyed ones with authentication
// enabled, so that only replies signed with their trusted key count. Each
// agent must synchronize to chronyd one stratum below it, show a configured
// client session, and be one of chronyd's clients.
func TestChronydAsServer(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("interop with chronyd: skipped under -short")
	}
	testtool.Require(t, "chronyd")
	testtool.Require(t, "chronyc")
	const chronyStratum = 8
	chronyPort := freeUDPPort(t)
	keys := []chronyKey{
		{5, "MD5", "1112131415161718191a1b1c1d1e1f2021222324"},
		{6, "SHA1", "b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4"},
	}
	cases := []struct {
		name   string
		addr   string
		ourKey *key
		agent  *storeAgent
	}{
		{name: "no-key", addr: "127.0.0.20"},
		{name: "md5", addr: "127.0.0.21", ourKey: &key{5, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5, "HEX:" + keys[0].Hex, true}},
		{name: "sha1", addr: "127.0.0.22", ourKey: &key{6, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_sha1, "HEX:" + keys[1].Hex, true}},
	}
	dir := chronyDir(t)
	conf := fillTemplate(t, "server.conf.tmpl", map[string]any{"Port": chronyPort, "Dir": dir, "Stratum": chronyStratum})
	chrony := startChronyd(t, dir, conf, fillTemplate(t, "keys.tmpl", map[string]any{"Keys": keys}))

	serverConfig := func(k *key) *gen.Device {
		return keyedConfig(peer{server: true, address: "127.0.0.1", port: chronyPort, minpoll: 3, maxpoll: 4, iburst: true}, k)
	}
	// Every agent starts at once; the sub-tests then check them in turn.
	for i := range cases {
		c := &cases[i]
		c.agent = startStoreAgent(t, netip.MustParseAddrPort(c.addr+":0"), ntpengine.Config{})
		c.agent.commit(t, serverConfig(c.ourKey))
	}
	t.Run("group", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var st *gen.Device
				testtool.WaitFor(t, 120*time.Second, "the agent to synchronize to chronyd", func() bool {
					st = c.agent.State()
					return st.GetNtp().GetStatus().ClockState == gen.NtpagentNtp_Ntp_Status_ClockState_synchronized
				})
				status := st.GetNtp().GetStatus()
				if status.GetStratum() != chronyStratum+1 || status.GetSystemPeer() != "127.0.0.1" {
					t.Errorf("synchronized at stratum %d to %q, want %d to 127.0.0.1: %s", status.GetStratum(), status.GetSystemPeer(), chronyStratum+1, describeSessions(st))
				}
				s := session(st, "127.0.0.1", chronyPort)
				if s == nil {
					t.Fatalf("no session for chronyd: %s", describeSessions(st))
				}
				if s.LocalMode != gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_client || !s.GetConfigured() {
					t.Errorf("session mode %v configured %v, want a configured client association", s.LocalMode, s.GetConfigured())
				}
				if s.GetReach() == 0 || s.GetStratum() != chronyStratum || s.GetAuthenticationErrors() != 0 {
					t.Errorf("session: %s", describeSessions(st))
				}
				if c.ourKey != nil && s.GetAuthenticationKeyid() != c.ourKey.id {
					t.Errorf("authentication-keyid %d, want %d", s.GetAuthenticationKeyid(), c.ourKey.id)
				}
				// chronyd -x serves the host's time and the virtual clock
				// starts at it: the offset is loopback-small.
				if off := math.Abs(s.GetOffset()); off > 50 {
					t.Errorf("offset %.3f ms, want < 50 ms", s.GetOffset())
				}
				// The <get> output (the server's entry and its client
				// session) is valid YANG data.
				full := serverConfig(c.ourKey)
				c.agent.StateProvider(full)
				yanglintGet(t, full)
				// chronyd counts the agent among its clients.
				out, err := chrony.run("clients")
				if err != nil {
					t.Fatalf("chronyc clients: %v\n%s", err, out)
				}
				if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(c.addr) + `\s+[1-9]`).MatchString(out) {
					t.Errorf("chronyc clients does not list %s with NTP packets:\n%s", c.addr, out)
				}
			})
		}
	})
	// The keyed agents' requests were authenticated by chronyd (it signs
	// its reply with the request's key, which the agents required).
	out, err := chrony.run("serverstats")
	if err != nil {
		t.Fatalf("chronyc serverstats: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^Authenticated NTP packets\s*:\s*(\d+)`).FindStringSubmatch(out)
	if m == nil || atoi(m[1]) == 0 {
		t.Errorf("chronyd authenticated none of the agents' requests:\n%s", out)
	}
}
