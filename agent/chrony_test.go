package agent

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/ntpengine"
)

// chronyd runs one `chronyd -d -x -f CONF` (never without -x: it must not
// touch the host clock) in a folder of its own.
type chronyd struct {
	dir     string
	sock    string
	chronyc string
	cmd     *exec.Cmd
	log     *bytes.Buffer
}

// freeUDPPort returns a UDP port that was free a moment ago on both
// wildcard addresses, 0.0.0.0 and [::] (an agent listening on [::] binds
// both), taken below the kernel's ephemeral range (ip_local_port_range,
// 32768-60999 by default). A port of that range that was free a moment ago
// can meanwhile be given to any socket on the host that sends without
// binding first (a DNS lookup, another test's client), and the agent's
// bind then fails with "address already in use".
func freeUDPPort(t testing.TB) uint16 {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		c4, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero, Port: port})
		if err != nil {
			continue
		}
		c6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6unspecified, Port: port})
		c4.Close()
		if err != nil {
			continue
		}
		c6.Close()
		return uint16(port)
	}
	t.Fatal("no free UDP port in 20000-31999 after 100 tries")
	return 0
}

// chronyDir makes a 0700 folder that chronyd accepts for its socket: Debian's
// chronyd drops root privileges to _chrony and refuses a socket folder owned
// by anyone else.
func chronyDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ntpagent-chrony-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

func chownToChrony(t testing.TB, dir string) {
	t.Helper()
	u, err := user.Lookup("_chrony")
	if err != nil {
		return // not Debian's chronyd: it keeps the user it runs as
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.Chown(filepath.Join(dir, e.Name()), uid, gid)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatalf("chown %s to _chrony: %v", dir, err)
	}
}

func fillTemplate(t testing.TB, name string, data any) []byte {
	t.Helper()
	tm, err := template.ParseFiles(filepath.Join("..", "testdata", "chrony", name))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tm.Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// startChronyd writes conf (and keys) into dir and starts chronyd; it
// returns once chronyc can talk to it. The test's cleanup stops it.
func startChronyd(t testing.TB, dir string, conf, keys []byte) *chronyd {
	t.Helper()
	bin := testtool.Require(t, "chronyd")
	c := &chronyd{dir: dir, sock: filepath.Join(dir, "chronyd.sock"), chronyc: testtool.Require(t, "chronyc"), log: &bytes.Buffer{}}
	if err := os.WriteFile(filepath.Join(dir, "keys"), keys, 0o600); err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "chronyd.conf")
	if err := os.WriteFile(confPath, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	chownToChrony(t, dir)
	c.cmd = exec.Command(bin, "-d", "-x", "-f", confPath)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { c.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			c.cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("chronyd log:\n%s", c.log.String())
		}
	})
	testtool.WaitFor(t, 10*time.Second, "chronyd's command socket", func() bool {
		select {
		case <-exited:
			t.Fatalf("chronyd exited: %s", c.log.String())
		default:
		}
		_, err := c.run("tracking")
		return err == nil
	})
	return c
}

func (c *chronyd) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, c.chronyc, append([]string{"-h", c.sock, "-n"}, args...)...).CombinedOutput()
	if err == nil && strings.Contains(string(out), "Could not open") {
		err = fmt.Errorf("chronyc: %s", out)
	}
	return string(out), err
}

// ntpdata returns chronyc's `ntpdata ADDR` as a map of its fields.
func (c *chronyd) ntpdata(t testing.TB, addr string) map[string]string {
	t.Helper()
	out, err := c.run("ntpdata", addr)
	if err != nil {
		t.Fatalf("chronyc ntpdata %s: %v\n%s", addr, err, out)
	}
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

func atoi(s string) int {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// storeAgent is an agent driven by its own datastore, as in the daemon.
type storeAgent struct {
	*testAgent
	store *datastore.Store
}

func startStoreAgent(t testing.TB, listen netip.AddrPort, eng ntpengine.Config) *storeAgent {
	t.Helper()
	st, err := datastore.Open(datastore.Options{Dir: t.TempDir(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ta := startAgent(t, Options{Store: st, Listen: []netip.AddrPort{listen}, Engine: eng})
	return &storeAgent{testAgent: ta, store: st}
}

// commit replaces the NTP configuration in the candidate and commits it,
// as a NETCONF <edit-config> + <commit> does.
func (s *storeAgent) commit(t testing.TB, root *gen.Device) {
	t.Helper()
	sess := datastore.Session{ID: 1, User: "test", Origin: datastore.OriginNETCONF}
	err := s.store.Edit(sess, datastore.Candidate, datastore.EditOptions{}, func(r *gen.Device) error {
		r.Ntp = root.Ntp
		return nil
	})
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	if _, err := s.store.Commit(sess, datastore.CommitOptions{}); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

type chronyKey struct {
	ID   uint32
	Type string
	Hex  string
}

type chronyPeer struct {
	Addr   string
	Port   uint16
	Key    uint32
	Xleave bool // chronyd's xleave option: interleaved mode (RFC 9769)
}

// Interop with chronyd 4.x. One chronyd (local stratum 8) is a symmetric
// peer of six agents, each on its own loopback address, and a second chronyd
// is a client of a seventh agent. All run at once; a capture of the traffic
// on lo is decoded by tshark at the end.
//
// Synchronization needs about five samples at poll 3 (8 s), so this test
// takes about a minute whatever the number of agents; it asserts reach > 0,
// stratum 9 and a small offset rather than reach 377 (eight polls, > 64 s).
func TestChronyd(t *testing.T) {
	t.Parallel()
	testtool.Require(t, "chronyd")
	testtool.Require(t, "chronyc")
	tshark := testtool.Require(t, "tshark")
	dumpcap := testtool.Require(t, "dumpcap")
	if os.Getenv("NTPAGENT_SKIP_INTEROP") != "" && !testtool.InCI() {
		t.Skip("NTPAGENT_SKIP_INTEROP set")
	}
	const chronyStratum = 8
	chronyPort := freeUDPPort(t)
	keys := []chronyKey{
		{1, "MD5", "0102030405060708090a0b0c0d0e0f1011121314"},
		{2, "SHA1", "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4"},
		{3, "AES128", "000102030405060708090a0b0c0d0e0f"},
		{4, "MD5", "deadbeefdeadbeefdeadbeefdeadbeef"},
	}
	type tc struct {
		name     string
		addr     string
		key      uint32 // chronyd's key for this peer (0: none)
		ourKey   *key   // the agent's key (nil: no authentication)
		passive  bool   // the agent has no configuration: chronyd is the active side
		wrongKey bool
		agent    *storeAgent
	}
	cases := []*tc{
		{name: "symmetric", addr: "127.0.0.2"},
		{name: "md5", addr: "127.0.0.3", key: 1, ourKey: &key{1, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5, "HEX:" + keys[0].Hex, true}},
		{name: "sha1", addr: "127.0.0.4", key: 2, ourKey: &key{2, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_sha1, "HEX:" + keys[1].Hex, true}},
		{name: "aes-128-cmac", addr: "127.0.0.5", key: 3, ourKey: &key{3, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_aes_128_cmac, keys[2].Hex, true}},
		{name: "wrong-key", addr: "127.0.0.6", key: 4, wrongKey: true, ourKey: &key{4, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5, "HEX:0badc0de0badc0de0badc0de0badc0de", true}},
		{name: "passive", addr: "127.0.0.7", passive: true},
	}
	var peers []chronyPeer
	ports := []string{strconv.Itoa(int(chronyPort))}
	for _, c := range cases {
		c.agent = startStoreAgent(t, netip.MustParseAddrPort(c.addr+":0"), ntpengine.Config{})
		peers = append(peers, chronyPeer{Addr: c.addr, Port: c.agent.addr.Port(), Key: c.key})
	}
	// The server for chronyd as a client: an agent serving its own clock.
	server := startStoreAgent(t, netip.MustParseAddrPort("127.0.0.8:0"), ntpengine.Config{LocalStratum: 4})
	ports = append(ports, strconv.Itoa(int(server.addr.Port())))

	// Capture everything to and from chronyd's port and the server agent.
	work := t.TempDir()
	pcap := filepath.Join(work, "ntp.pcapng")
	capFilter := "udp and (port " + strings.Join(ports, " or port ") + ")"
	capCtx, stopCap := context.WithCancel(context.Background())
	defer stopCap()
	capture := exec.CommandContext(capCtx, dumpcap, "-q", "-i", "lo", "-f", capFilter, "-w", pcap)
	capture.Cancel = func() error { return capture.Process.Signal(syscall.SIGTERM) }
	var capLog bytes.Buffer
	capture.Stderr = &capLog
	if err := capture.Start(); err != nil {
		t.Fatal(err)
	}
	capDone := make(chan struct{})
	go func() { capture.Wait(); close(capDone) }()
	testtool.WaitFor(t, 10*time.Second, "dumpcap to start capturing", func() bool {
		fi, err := os.Stat(pcap)
		return err == nil && fi.Size() > 0
	})

	dir := chronyDir(t)
	conf := fillTemplate(t, "peers.conf.tmpl", map[string]any{"Port": chronyPort, "Dir": dir, "Stratum": chronyStratum, "Peers": peers})
	keyFile := fillTemplate(t, "keys.tmpl", map[string]any{"Keys": keys})
	chrony := startChronyd(t, dir, conf, keyFile)

	cdir := chronyDir(t)
	cconf := fillTemplate(t, "client.conf.tmpl", map[string]any{"Dir": cdir,
		"Servers": []chronyPeer{{Addr: "127.0.0.8", Port: server.addr.Port()}}})
	client := startChronyd(t, cdir, cconf, nil)

	// Every agent starts at once; the sub-tests then check them one after
	// the other (the first one waits, the others are ready by then), so
	// the test takes as long as the slowest synchronization, whatever
	// go test's -parallel.
	for _, c := range cases {
		if c.passive {
			// chronyd drives this agent without authentication: only
			// allow-unauthenticated-passive-peers lets its ephemeral
			// association be selected.
			root := config(false, nil)
			root.GetNtp().AllowUnauthenticatedPassivePeers = ptr(true)
			c.agent.commit(t, root)
			continue
		}
		c.agent.commit(t, keyedConfig(peer{address: "127.0.0.1", port: chronyPort, minpoll: 3, maxpoll: 4}, c.ourKey))
	}
	t.Run("group", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				chronySymmetric(t, chrony, c.agent, c.addr, chronyPort, c.ourKey, c.passive, c.wrongKey)
			})
		}
		t.Run("chronyd-client", func(t *testing.T) {
			var sources string
			testtool.WaitFor(t, 60*time.Second, "chronyd's client to reach the agent", func() bool {
				d := client.ntpdata(t, "127.0.0.8")
				return atoi(d["Total valid RX"]) >= 3
			})
			d := client.ntpdata(t, "127.0.0.8")
			// Packet and header tests must pass; the delay tests (A-C)
			// judge loopback jitter, not our packets.
			if d["Mode"] != "Server" || d["Stratum"] != "4" || !strings.HasPrefix(d["NTP tests"], "111 111") {
				t.Errorf("chronyd's view of the agent as a server: mode %q stratum %q tests %q", d["Mode"], d["Stratum"], d["NTP tests"])
			}
			sources, _ = client.run("sources")
			if !regexp.MustCompile(`127\.0\.0\.8\s+4\s`).MatchString(sources) {
				t.Errorf("chronyc sources does not show the agent at stratum 4:\n%s", sources)
			}
		})
	})

	t0 := time.Now()
	stopCap()
	<-capDone
	t.Logf("capture stopped in %v", time.Since(t0))
	checkCapture(t, tshark, pcap, ports, cases[1].addr, cases[4].addr)
}

func chronySymmetric(t *testing.T, chrony *chronyd, a *storeAgent, addr string, chronyPort uint16, k *key, passive, wrongKey bool) {
	if wrongKey {
		var st *gen.Device
		testtool.WaitFor(t, 60*time.Second, "authentication errors on both sides", func() bool {
			st = a.State()
			s := session(st, "127.0.0.1", chronyPort)
			d := chrony.ntpdata(t, addr)
			return s != nil && s.GetAuthenticationErrors() >= 2 && atoi(d["Total RX"]) >= 2
		})
		s := session(st, "127.0.0.1", chronyPort)
		if st.GetNtp().GetStatus().ClockState != gen.NtpagentNtp_Ntp_Status_ClockState_unsynchronized || s.GetReach() != 0 {
			t.Errorf("with a wrong key the agent synchronized: %s", describeSessions(st))
		}
		if !strings.Contains(s.GetLastError(), "authentication") {
			t.Errorf("last-error %q does not mention authentication", s.GetLastError())
		}
		d := chrony.ntpdata(t, addr)
		if d["Total valid RX"] != "0" || d["Authenticated"] != "No" {
			t.Errorf("chronyd accepted packets signed with a wrong key: valid RX %q authenticated %q", d["Total valid RX"], d["Authenticated"])
		}
		out, _ := chrony.run("sources")
		if !regexp.MustCompile(regexp.QuoteMeta(addr) + `\s+\d+\s+\d+\s+0\s`).MatchString(out) {
			t.Errorf("chronyd reaches the agent despite the wrong key:\n%s", out)
		}
		return
	}
	var st *gen.Device
	testtool.WaitFor(t, 120*time.Second, "the agent to synchronize to chronyd", func() bool {
		st = a.State()
		return st.GetNtp().GetStatus().ClockState == gen.NtpagentNtp_Ntp_Status_ClockState_synchronized
	})
	status := st.GetNtp().GetStatus()
	if status.GetStratum() != 9 || status.GetSystemPeer() != "127.0.0.1" {
		t.Errorf("synchronized at stratum %d to %q, want 9 to 127.0.0.1: %s", status.GetStratum(), status.GetSystemPeer(), describeSessions(st))
	}
	s := session(st, "127.0.0.1", chronyPort)
	if s == nil {
		t.Fatalf("no session for chronyd: %s", describeSessions(st))
	}
	wantMode := gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_active
	if passive {
		wantMode = gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_passive
	}
	if s.LocalMode != wantMode || s.GetConfigured() == passive {
		t.Errorf("session mode %v configured %v, want %v", s.LocalMode, s.GetConfigured(), wantMode)
	}
	if s.GetReach() == 0 || s.GetStratum() != 8 || s.GetAuthenticationErrors() != 0 {
		t.Errorf("session: %s", describeSessions(st))
	}
	// The virtual clock starts at the host's time and chronyd -x serves
	// the host's time: the offset is loopback-small.
	if off := math.Abs(s.GetOffset()); off > 50 {
		t.Errorf("offset %.3f ms, want < 50 ms", s.GetOffset())
	}
	if k != nil && s.GetAuthenticationKeyid() != k.id {
		t.Errorf("authentication-keyid %d, want %d", s.GetAuthenticationKeyid(), k.id)
	}
	// chronyd's side: our packets, sent since we synchronized, pass its
	// packet tests (1-3), header tests (5-7: authentication, leap/stratum,
	// root distance) and delay tests (A-C). Test D (sync loop) fails by
	// design when we are synchronized to chronyd itself: our reference id
	// is its address, and chronyd must not use us as a source then.
	var d map[string]string
	testtool.WaitFor(t, 40*time.Second, "chronyd to see the agent synchronized", func() bool {
		d = chrony.ntpdata(t, addr)
		return d["Stratum"] == "9" && atoi(d["Total valid RX"]) >= 2
	})
	if !strings.HasPrefix(d["NTP tests"], "111 111 111") {
		t.Errorf("chronyd's tests of our packets: %q, want 111 111 111x", d["NTP tests"])
	}
	wantChronyMode := "Symmetric active"
	if passive {
		wantChronyMode = "Symmetric passive"
	}
	if d["Mode"] != wantChronyMode {
		t.Errorf("chronyd saw mode %q, want %q", d["Mode"], wantChronyMode)
	}
	if wantAuth := map[bool]string{true: "Yes", false: "No"}[k != nil]; d["Authenticated"] != wantAuth {
		t.Errorf("chronyd: Authenticated %q, want %q", d["Authenticated"], wantAuth)
	}
}

// checkCapture has tshark decode the capture as NTP: no malformed packets
// and no expert warnings, and the agents' packets in the modes and with the
// MACs the test expects.
func checkCapture(t *testing.T, tshark, pcap string, ports []string, keyedAddrs ...string) {
	var decode []string
	for _, p := range ports {
		decode = append(decode, "-d", "udp.port=="+p+",ntp")
	}
	run := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, tshark, append(append([]string{"-n", "-r", pcap}, decode...), args...)...)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tshark %v: %v\n%s%s", args, err, out, stderr.String())
		}
		return string(out)
	}
	t0 := time.Now()
	defer func() { t.Logf("tshark checks took %v", time.Since(t0)) }()
	if bad := strings.TrimSpace(run("-Y", "_ws.malformed || _ws.expert.severity >= 0x00600000")); bad != "" {
		t.Errorf("tshark reports malformed packets or warnings:\n%s", bad)
	}
	fields := run("-Y", "ntp", "-T", "fields", "-E", "separator=,", "-e", "ip.src", "-e", "ntp.flags.vn", "-e", "ntp.flags.mode", "-e", "ntp.keyid")
	modes := map[string]int{}
	keyed := map[string]bool{}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(fields), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 4 || f[0] == "127.0.0.1" {
			continue // chronyd's own packets
		}
		n++
		if f[1] != "4" {
			t.Errorf("agent packet from %s decoded as version %q", f[0], f[1])
		}
		modes[f[2]]++
		if f[3] != "" {
			keyed[f[0]] = true
		}
	}
	if n == 0 {
		t.Fatalf("no agent packet in the capture:\n%s", fields)
	}
	// 1 symmetric active, 2 symmetric passive, 4 server.
	for _, m := range []string{"1", "2", "4"} {
		if modes[m] == 0 {
			t.Errorf("no agent packet of mode %s decoded (modes seen: %v)", m, modes)
		}
	}
	for _, a := range keyedAddrs {
		if !keyed[a] {
			t.Errorf("tshark found no key id in the packets of the keyed agent %s", a)
		}
	}
}
