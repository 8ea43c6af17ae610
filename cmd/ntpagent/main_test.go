package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/fakeclock"
	"github.com/ntpagent/ntpagent/internal/nctest"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/ntpengine/ntpclock"
	"github.com/ntpagent/ntpagent/server"
	"github.com/ntpagent/ntpagent/server/netconf"
)

func TestSettingsFlagsFileAndDefaults(t *testing.T) {
	s, err := parseSettings(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.StateDir != "./ntpagent-state" || s.NetconfListen != "127.0.0.1:8830" || s.CLIListen != "127.0.0.1:2222" ||
		s.NTPListen != "127.0.0.1:10123" || s.Clock != "virtual" || s.LogLevel != "info" || s.MetricsListen != "" || s.RunningFrom != "auto" {
		t.Errorf("defaults: %+v", s)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "ntpagent.conf")
	os.WriteFile(file, []byte("# settings\nstate-dir = /var/lib/ntpagent\nntp-listen = [::]:123\nlog-level = \"debug\"\n\nclock=system\n"), 0o600)
	s, err = parseSettings([]string{"--config", file, "--log-level", "warn"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.StateDir != "/var/lib/ntpagent" || s.NTPListen != "[::]:123" || s.Clock != "system" || s.LogLevel != "warn" {
		t.Errorf("file with a flag overriding it: %+v", s)
	}
	bad := map[string]string{
		"unknown key":      "colour = blue\n",
		"no equals":        "state-dir /tmp\n",
		"bad clock":        "clock = sundial\n",
		"bad listen":       "ntp-listen = localhost\n",
		"nested file":      "config = other.conf\n",
		"bad stratum":      "local-stratum = 16\n",
		"bad loglevel":     "log-level = loud\n",
		"bad running-from": "running-from = factory\n",
	}
	for name, content := range bad {
		f := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(f, []byte(content), 0o600)
		if _, err := parseSettings([]string{"--config", f}, io.Discard); err == nil {
			t.Errorf("%s: accepted %q", name, content)
		}
	}
	if _, err := parseSettings([]string{"--clock", "system", "extra"}, io.Discard); err == nil {
		t.Error("a stray argument was accepted")
	}
}

// The SSH startup limits and the NETCONF hello timeout: defaults, the
// settings file, a flag winning, refusals, and the server.Config they give.
func TestSettingsSSHLimits(t *testing.T) {
	s, err := parseSettings(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.SSHMaxStartups != 32 || s.SSHMaxStartupsPerSource != 8 || s.NetconfHelloTimeout != 60*time.Second {
		t.Errorf("defaults: %+v", s)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "ntpagent.conf")
	os.WriteFile(file, []byte("ssh-max-startups = 100\nssh-max-startups-per-source = 4\nnetconf-hello-timeout = \"30s\"\n"), 0o600)
	s, err = parseSettings([]string{"--config", file, "--ssh-max-startups", "50"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var cfg server.Config
	s.sshLimits(&cfg)
	var ncCfg netconf.Config
	s.netconfLimits(&ncCfg)
	if cfg.MaxStartups != 50 || cfg.MaxStartupsStart != 50 || cfg.MaxStartupsPerSource != 4 || ncCfg.HelloTimeout != 30*time.Second {
		t.Errorf("file with a flag overriding it: %+v, %+v", cfg, ncCfg)
	}
	// OpenSSH's start:rate:full, and the defaults the server gets.
	s, err = parseSettings([]string{"--ssh-max-startups", "10:50:40", "--ssh-admin-reserve", "0", "--ssh-max-sessions-per-user", "5", "--ssh-preamble-timeout", "2s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg = server.Config{}
	s.sshLimits(&cfg)
	if cfg.MaxStartupsStart != 10 || cfg.MaxStartupsRate != 50 || cfg.MaxStartups != 40 || cfg.AdminReserve >= 0 ||
		cfg.MaxSessionsPerUser != 5 || cfg.PreambleTimeout != 2*time.Second {
		t.Errorf("start:rate:full and session limits: %+v", cfg)
	}
	s, _ = parseSettings(nil, io.Discard)
	cfg = server.Config{}
	s.sshLimits(&cfg)
	if cfg.MaxStartupsStart != 16 || cfg.MaxStartupsRate != 30 || cfg.MaxStartups != 32 || cfg.AdminReserve != 8 || cfg.PreambleTimeout != 5*time.Second {
		t.Errorf("defaults: %+v", cfg)
	}
	for _, bad := range [][]string{
		{"--ssh-max-startups", "0"},
		{"--ssh-max-startups", "-1"},
		{"--ssh-max-startups", "ten"},
		{"--ssh-max-startups", "10:30"},
		{"--ssh-max-startups", "40:30:32"},
		{"--ssh-max-startups", "10:0:32"},
		{"--ssh-max-startups", "10:101:32"},
		{"--ssh-preamble-timeout", "0s"},
		{"--ssh-admin-reserve", "-1"},
		{"--ssh-max-sessions-per-user", "0"},
		{"--ssh-max-startups-per-source", "0"},
		{"--ssh-max-startups-per-source", "1.5"},
		{"--netconf-hello-timeout", "0s"},
		{"--netconf-hello-timeout", "-5s"},
		{"--netconf-hello-timeout", "60"},
	} {
		if _, err := parseSettings(bad, io.Discard); err == nil {
			t.Errorf("accepted %q", bad)
		}
		f := filepath.Join(dir, "bad.conf")
		os.WriteFile(f, []byte(strings.TrimPrefix(bad[0], "--")+" = "+bad[1]+"\n"), 0o600)
		if _, err := parseSettings([]string{"--config", f}, io.Discard); err == nil {
			t.Errorf("settings file: accepted %q", bad)
		}
	}
}

// syncWriter is a goroutine-safe buffer for the daemon's output.
type syncWriter struct {
	mu chan struct{}
	b  bytes.Buffer
}

func newSyncWriter() *syncWriter { w := &syncWriter{mu: make(chan struct{}, 1)}; return w }
func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu <- struct{}{}
	defer func() { <-w.mu }()
	return w.b.Write(p)
}
func (w *syncWriter) String() string {
	w.mu <- struct{}{}
	defer func() { <-w.mu }()
	return w.b.String()
}

type daemon struct {
	started started
	out     *syncWriter
	cancel  context.CancelFunc
	done    chan error
}

// stop ends the daemon and waits for it (the cleanup then finds it done).
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	d.cancel()
	select {
	case err := <-d.done:
		d.done <- err
	case <-time.After(15 * time.Second):
		t.Fatal("daemon did not stop")
	}
}

// startDaemon runs the daemon with its NTP service 16 times faster than
// the host (fastTimeService).
func startDaemon(t *testing.T, s *settings) *daemon {
	t.Helper()
	return startDaemonWith(t, s, fastTimeService(16))
}

// fastTimeService is a virtual clock and a process clock that both run
// scale times faster than the host's: polls come sooner, and the agent
// sleeps between them in the same time scale. Neither touches the host
// clock.
func fastTimeService(scale float64) timeService {
	p := fakeclock.NewFast(scale)
	return timeService{ntp: ntpclock.NewVirtual(p.Elapsed, p.Origin()), process: p}
}

// startDaemonWith runs the daemon on the given NTP service clocks.
func startDaemonWith(t *testing.T, s *settings, ts timeService) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{out: newSyncWriter(), cancel: cancel, done: make(chan error, 1)}
	ready := make(chan started, 1)
	go func() { d.done <- run(ctx, s, ts, d.out, d.out, func(st started) { ready <- st }) }()
	select {
	case d.started = <-ready:
	case err := <-d.done:
		t.Fatalf("daemon did not start: %v\n%s", err, d.out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon did not start:\n%s", d.out.String())
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-d.done:
			if err != nil {
				t.Errorf("daemon: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("daemon did not stop")
		}
		if t.Failed() {
			t.Logf("daemon output:\n%s", d.out.String())
		}
	})
	return d
}

func testSettings(t *testing.T) *settings {
	s, err := parseSettings([]string{"--state-dir", t.TempDir(), "--netconf-listen", "127.0.0.1:0", "--cli-listen", "127.0.0.1:0",
		"--ntp-listen", "127.0.0.1:0", "--log-level", "debug"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ncSession is a NETCONF session to the daemon (nctest over SSH, base:1.0
// end-of-message framing) as admin.
type ncSession struct {
	*nctest.Client
	t *testing.T
}

func dialNETCONF(t *testing.T, addr net.Addr, password string) *ncSession {
	t.Helper()
	cfg := &ssh.ClientConfig{User: "admin", Auth: []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
	c, err := nctest.DialSSH(t, addr.String(), cfg, false)
	if err != nil {
		t.Fatalf("netconf over ssh: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &ncSession{Client: c, t: t}
}

// rpc sends an operation and returns its reply, which must not be an
// rpc-error; notifications that arrive first are kept for notification.
func (nc *ncSession) rpc(op string) string {
	nc.t.Helper()
	m := nc.RPC(op)
	if strings.Contains(m, "<rpc-error>") {
		nc.t.Fatalf("rpc %s: %s", op, m)
	}
	return m
}

// rpcReply sends one RPC and returns its reply, rpc-error or not.
func (nc *ncSession) rpcReply(op string) string {
	nc.t.Helper()
	return nc.RPC(op)
}

// notification returns the first notification that contains every one of
// marks, waiting at most limit (others are skipped).
func (nc *ncSession) notification(limit time.Duration, marks ...string) string {
	nc.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			nc.t.Fatalf("no notification with %q within %v", marks, limit)
		}
		m, err := nc.ReadWithin(left)
		if err != nil {
			nc.t.Fatalf("waiting for a notification with %q: %v", marks, err)
		}
		all := true
		for _, k := range marks {
			all = all && strings.Contains(m, k)
		}
		if all {
			return m
		}
	}
}

func adminPassword(t *testing.T, out string) string {
	m := regexp.MustCompile(`created user admin with password (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no generated password in the output:\n%s", out)
	}
	return m[1]
}

// The daemon end to end: a reference daemon serves its own clock; the
// daemon under test is configured over NETCONF (edit-config + commit) with
// the reference as a domain peer resolved from --hosts-file; it
// synchronizes, sends the sync-state-change notification to a subscribed
// session, shows the session in <get>, in the CLI and in /metrics, and
// stops cleanly.
func TestDaemonEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: two daemons until one synchronizes to the other; make test runs it")
	}
	ref := testSettings(t)
	ref.LocalStratum = 3
	ref.NTPListen = "127.0.0.41:0"
	rd := startDaemon(t, ref)

	hosts := filepath.Join(t.TempDir(), "hosts")
	os.WriteFile(hosts, []byte("127.0.0.41 reference.ntpagent.test\n"), 0o600)
	s := testSettings(t)
	s.NTPListen = "127.0.0.40:0"
	s.HostsFile = hosts
	s.MetricsListen = "127.0.0.1:0"
	s.settledPPM = 500
	d := startDaemon(t, s)
	out := d.out.String()
	for _, want := range []string{"ssh -p", "admin@127.0.0.1", "-s admin@127.0.0.1 netconf", "manager.connect(", "created user admin with password"} {
		if !strings.Contains(out, want) {
			t.Errorf("welcome text lacks %q:\n%s", want, out)
		}
	}
	pw := adminPassword(t, out)
	nc := dialNETCONF(t, d.started.SSH[0], pw)
	nc.rpc(`<create-subscription xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"/>`)
	_, refPort, _ := net.SplitHostPort(rd.started.NTP)
	nc.rpc(`<edit-config><target><candidate/></target><config>
<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><unicast-peer>
<address>reference.ntpagent.test</address><vpn-instance>_public_</vpn-instance><port>` + refPort + `</port>
<minpoll>3</minpoll><maxpoll>4</maxpoll></unicast-peer></ntp></config></edit-config>`)
	nc.rpc(`<commit/>`)

	// The notification arrives when the daemon synchronizes.
	m := nc.notification(60*time.Second, "<sync-state-change")
	for _, want := range []string{"<clock-state>synchronized</clock-state>", "<system-peer>reference.ntpagent.test</system-peer>", "<stratum>4</stratum>", "<eventTime>"} {
		if !strings.Contains(m, want) {
			t.Errorf("notification lacks %s: %s", want, m)
		}
	}
	get := nc.rpc(`<get><filter type="subtree"><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><status/><sessions/></ntp></filter></get>`)
	for _, want := range []string{"<clock-state>synchronized</clock-state>", "<stratum>4</stratum>",
		"<address>reference.ntpagent.test</address>", "<resolved-address>127.0.0.41</resolved-address>", "<local-mode>symmetric-active</local-mode>"} {
		if !strings.Contains(get, want) {
			t.Errorf("<get> lacks %s:\n%s", want, get)
		}
	}

	// The CLI over SSH (exec channel).
	cfg := &ssh.ClientConfig{User: "admin", Auth: []ssh.AuthMethod{ssh.Password(pw)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
	c, err := ssh.Dial("tcp", d.started.SSH[1].String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	cliOut, _ := sess.CombinedOutput("display ntp sessions")
	if !strings.Contains(string(cliOut), "reference.ntpagent.test") {
		t.Errorf("display ntp sessions does not show the peer:\n%s", cliOut)
	}

	// Prometheus.
	resp, err := http.Get("http://" + d.started.Metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "ntpagent_unsynchronized{") {
		t.Errorf("/metrics has a reason for not being synchronized while synchronized")
	}
	for _, want := range []string{"ntpagent_synchronized 1", "ntpagent_stratum 4",
		`ntpagent_peer_reach{address="reference.ntpagent.test",mode="symmetric-active",port="` + refPort + `",vpn_instance="_public_"}`,
		"ntpagent_peer_offset_seconds{", "ntpagent_ntp_datagrams_received_total", "go_goroutines"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// The NETCONF statistics (RFC 6022) move with the RPCs, read at scrape time.
	before := scrapeMetrics(t, d.started.Metrics)
	nc.rpc(`<get-config><source><running/></source></get-config>`)
	nctest.WantErrorTag(t, nc.rpcReply(`<frobnicate/>`), "operation-not-supported")
	after := scrapeMetrics(t, d.started.Metrics)
	for name, delta := range map[string]float64{
		"ntpagent_netconf_rpcs_total":                                   2,
		"ntpagent_netconf_rpc_errors_total":                             1,
		`ntpagent_netconf_operation_rpcs_total{operation="get-config"}`: 1,
		`ntpagent_netconf_operation_rpcs_total{operation="other"}`:      1,
		"ntpagent_netconf_sessions_total":                               0,
	} {
		b, okb := before[name]
		a, oka := after[name]
		if !okb || !oka || a-b != delta {
			t.Errorf("%s: %v -> %v, want +%v", name, b, a, delta)
		}
	}
	if after["ntpagent_netconf_sessions_total"] < 1 || after["ntpagent_netconf_notifications_total"] < 1 {
		t.Errorf("sessions %v, notifications %v", after["ntpagent_netconf_sessions_total"], after["ntpagent_netconf_notifications_total"])
	}

	// The drift file is written once the frequency is settled (a loose
	// threshold: loopback noise on a fast clock).
	testtool.WaitFor(t, 60*time.Second, "the drift file", func() bool {
		_, err := os.Stat(s.driftPath())
		return err == nil
	})

	// A commit survives a restart: stop, start again on the same state.
	d.cancel()
	if err := <-d.done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	d.done <- nil
	if !strings.Contains(d.out.String(), "shutting down") {
		t.Error("no shutdown log line")
	}
	d2 := startDaemon(t, s)
	if strings.Contains(d2.out.String(), "created user admin") {
		t.Error("a second start created the admin user again")
	}
	if !strings.Contains(d2.out.String(), "clock frequency from the drift file") {
		t.Error("the second start did not read the drift file")
	}
	st := d2.started.Agent.State()
	if len(st.GetNtp().GetSessions().Session) != 1 {
		t.Errorf("after a restart the committed peer is not running: %v", st.GetNtp().GetSessions().Session)
	}

	// Losing the only peer: the notification and /ntp/status say why the
	// clock is no longer synchronized.
	nc2 := dialNETCONF(t, d2.started.SSH[0], pw)
	nc2.rpc(`<create-subscription xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"/>`)
	waitNotification := func(what string, want ...string) {
		t.Helper()
		m := nc2.notification(60*time.Second, "<sync-state-change", want[0])
		for _, w := range want[1:] {
			if !strings.Contains(m, w) {
				t.Errorf("%s notification lacks %s: %s", what, w, m)
			}
		}
	}
	if d2.started.Agent.State().GetNtp().GetStatus().GetClockState() != gen.NtpagentNtp_Ntp_Status_ClockState_synchronized {
		waitNotification("synchronized", "<clock-state>synchronized</clock-state>")
	}
	nc2.rpc(`<edit-config><target><candidate/></target><config><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">
<unicast-peer xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" nc:operation="delete"><address>reference.ntpagent.test</address><vpn-instance>_public_</vpn-instance></unicast-peer>
</ntp></config></edit-config>`)
	nc2.rpc(`<commit/>`)
	waitNotification("unsynchronized", "<clock-state>unsynchronized</clock-state>",
		"<unsync-reason>no-sources</unsync-reason>", "<previous-system-peer>reference.ntpagent.test</previous-system-peer>")
	get = nc2.rpc(`<get><filter type="subtree"><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><status/></ntp></filter></get>`)
	if !strings.Contains(get, "<unsync-reason>no-sources</unsync-reason>") {
		t.Errorf("<get> of the status lacks unsync-reason no-sources:\n%s", get)
	}
	if m := scrapeMetrics(t, d2.started.Metrics); m[`ntpagent_unsynchronized{reason="no-sources"}`] != 1 || m["ntpagent_synchronized"] != 0 {
		t.Errorf("/metrics after losing the peer: synchronized %v, unsynchronized{no-sources} %v", m["ntpagent_synchronized"], m[`ntpagent_unsynchronized{reason="no-sources"}`])
	}
}

// NTPAGENT_ADMIN_PASSWORD chooses the first admin's password; nothing is
// generated or printed then.
func TestAdminPasswordFromEnvironment(t *testing.T) {
	t.Setenv("NTPAGENT_ADMIN_PASSWORD", "correct-horse-battery")
	d := startDaemon(t, testSettings(t))
	out := d.out.String()
	if strings.Contains(out, "created user admin with password") || !strings.Contains(out, "$NTPAGENT_ADMIN_PASSWORD") {
		t.Errorf("welcome text with NTPAGENT_ADMIN_PASSWORD set:\n%s", out)
	}
	nc := dialNETCONF(t, d.started.SSH[0], "correct-horse-battery")
	if r := nc.rpc(`<get-config><source><running/></source></get-config>`); !strings.Contains(r, "<data") {
		t.Errorf("get-config: %s", r)
	}
}

// scrapeMetrics reads /metrics into sample name (with labels) -> value.
func scrapeMetrics(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if strings.HasPrefix(line, "#") || i < 0 {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[i+1:], &v); err == nil {
			m[line[:i]] = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// A damaged state folder stops the daemon before anything listens, with a
// message that names the damage and the way out (--recover); started once
// with --recover, it comes up on the last good configuration.
func TestDaemonRefusesDamagedStateThenRecovers(t *testing.T) {
	s := testSettings(t)
	d := startDaemon(t, s)
	nc := dialNETCONF(t, d.started.SSH[0], adminPassword(t, d.out.String()))
	nc.rpc(`<edit-config><target><running/></target><config><system xmlns="urn:ntpagent:yang:ntpagent-system"><sysname>kept</sysname></system></config></edit-config>`)
	d.stop(t)

	journal := filepath.Join(s.StateDir, "datastore", "journal")
	data, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x10 // a bit flip inside a complete record
	os.WriteFile(journal, data, 0o600)

	var out bytes.Buffer
	err = run(context.Background(), s, timeService{}, &out, &out, func(started) { t.Error("the daemon started on a damaged folder") })
	if err == nil || !strings.Contains(err.Error(), journal) || !strings.Contains(err.Error(), "--recover") {
		t.Fatalf("run: %v", err)
	}
	if after, _ := os.ReadFile(journal); !bytes.Equal(after, data) {
		t.Fatal("the refused start changed the journal")
	}

	s.Recover = true
	d = startDaemon(t, s)
	if !strings.Contains(d.out.String(), "recovered from a damaged state folder") {
		t.Errorf("recovery not logged:\n%s", d.out.String())
	}
	if aside, _ := filepath.Glob(journal + ".damaged-*"); len(aside) != 1 {
		t.Errorf("damaged journal kept aside as %v", aside)
	}
}

// --recover repairs once; a settings file that said it would repair
// silently at every start, so it is refused there.
func TestRecoverIsACommandLineFlagOnly(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "ntpagent.conf")
	os.WriteFile(conf, []byte("recover = true\n"), 0o600)
	if _, err := parseSettings([]string{"--config", conf}, io.Discard); err == nil || !strings.Contains(err.Error(), "command-line flag") {
		t.Fatalf("settings file with recover: %v", err)
	}
	s, err := parseSettings([]string{"--recover"}, io.Discard)
	if err != nil || !s.Recover {
		t.Fatalf("--recover: %+v %v", s, err)
	}
}

// ntpagent user: the first setup without editing JSON — add, change a
// password, delete, list; the last admin stays; a running daemon lets the
// new user in at the next login.
func TestUserCommand(t *testing.T) {
	s := testSettings(t)
	run := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := runUser(append(args, "--state-dir", s.StateDir), strings.NewReader(stdin), &out, &out)
		return out.String(), err
	}
	if _, err := run("short\n", "add", "root", "--role", "admin"); err == nil {
		t.Fatal("a password of 5 characters was accepted")
	}
	if _, err := run("long-enough-1\n", "add", "noc"); err == nil || !strings.Contains(err.Error(), "no admin") {
		t.Fatalf("a first user that is not an admin: %v", err)
	}
	if _, err := run("root-password-1\n", "add", "root", "--role", "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("root-password-2\n", "add", "root", "--role", "admin"); err == nil {
		t.Fatal("a second user named root")
	}
	if _, err := run("noc-password-1\n", "add", "noc"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("noc-password-2\n", "passwd", "noc"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("", "del", "root"); err == nil || !strings.Contains(err.Error(), "last admin") {
		t.Fatalf("deleting the last admin: %v", err)
	}
	out, err := run("", "list")
	if err != nil || !regexp.MustCompile(`(?m)^root +admin `).MatchString(out) || !regexp.MustCompile(`(?m)^noc +operator `).MatchString(out) {
		t.Fatalf("list: %q %v", out, err)
	}
	if b, _ := os.ReadFile(filepath.Join(s.StateDir, "ssh", "users.json")); bytes.Contains(b, []byte("noc-password")) {
		t.Fatal("the users file holds a password in clear")
	}
	d := startDaemon(t, s)
	if strings.Contains(d.out.String(), "created user admin") {
		t.Fatal("the daemon created admin although users exist")
	}
	for user, pw := range map[string]string{"root": "root-password-1", "noc": "noc-password-2"} {
		cfg := &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.Password(pw)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
		c, err := ssh.Dial("tcp", d.started.SSH[0].String(), cfg)
		if err != nil {
			t.Fatalf("%s cannot log in: %v", user, err)
		}
		c.Close()
	}
	if _, err := run("", "del", "noc"); err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ClientConfig{User: "noc", Auth: []ssh.AuthMethod{ssh.Password("noc-password-2")}, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
	if c, err := ssh.Dial("tcp", d.started.SSH[0].String(), cfg); err == nil {
		c.Close()
		t.Fatal("a deleted user still logs in")
	}
}

// RFC 6241 §8.7 at the daemon: a restart keeps running (unsaved changes
// included); --running-from startup loads the saved configuration.
func TestDaemonRunningFrom(t *testing.T) {
	s := testSettings(t)
	d := startDaemon(t, s)
	pw := adminPassword(t, d.out.String())
	nc := dialNETCONF(t, d.started.SSH[0], pw)
	sysname := func(name string) string {
		return `<edit-config><target><running/></target><config><system xmlns="urn:ntpagent:yang:ntpagent-system"><sysname>` + name + `</sysname></system></config></edit-config>`
	}
	nc.rpc(sysname("saved"))
	nc.rpc(`<copy-config><target><startup/></target><source><running/></source></copy-config>`)
	nc.rpc(sysname("unsaved"))
	d.stop(t)

	d = startDaemon(t, s)
	if r := dialNETCONF(t, d.started.SSH[0], pw).rpc(`<get-config><source><running/></source></get-config>`); !strings.Contains(r, "<sysname>unsaved</sysname>") {
		t.Fatalf("running after a restart: %s", r)
	}
	d.stop(t)

	s.RunningFrom = "startup"
	d = startDaemon(t, s)
	nc = dialNETCONF(t, d.started.SSH[0], pw)
	if r := nc.rpc(`<get-config><source><running/></source></get-config>`); !strings.Contains(r, "<sysname>saved</sysname>") {
		t.Fatalf("running after --running-from startup: %s", r)
	}
	if r := nc.rpc(`<get-config><source><startup/></source></get-config>`); !strings.Contains(r, "<sysname>saved</sysname>") {
		t.Fatalf("startup after the restart: %s", r)
	}
}
