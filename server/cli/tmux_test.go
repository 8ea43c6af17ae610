package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
)

// tmuxWait bounds each wait for the screen; reaching it fails the test.
const tmuxWait = 20 * time.Second

type tmux struct {
	t    *testing.T
	bin  string
	sock string
	env  []string
}

func (x *tmux) cmd(args ...string) string {
	x.t.Helper()
	c := exec.Command(x.bin, append([]string{"-S", x.sock}, args...)...)
	c.Env = x.env
	out, err := c.CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (x *tmux) screen() string { return x.cmd("capture-pane", "-p", "-J", "-S", "-200", "-t", "cli") }

// waitFor polls the pane until it shows want count times; on failure the
// last screen is logged.
func (x *tmux) waitFor(want string, count int) string {
	x.t.Helper()
	var sc string
	defer func() {
		if x.t.Failed() {
			x.t.Logf("last screen:\n%s", sc)
		}
	}()
	testtool.WaitFor(x.t, tmuxWait, fmt.Sprintf("the screen to show %q %d times", want, count), func() bool {
		sc = x.screen()
		return strings.Count(sc, want) >= count
	})
	return sc
}

// TestOpenSSHUnderTmux is the smoke test with the real OpenSSH client: the
// VRP NTP procedure typed into `ssh` running in tmux, then display ntp
// sessions showing the peer.
func TestOpenSSHUnderTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	x := &tmux{t: t, bin: testtool.Require(t, "tmux")}
	sshBin := testtool.Require(t, "ssh")
	e := newEnv(t)
	e.startSSH(t)
	e.state = &gen.Device{}
	se := e.state.GetOrCreateNtp().GetOrCreateSessions().GetOrCreateSession("10.1.1.1", "_public_", 123)
	reach, stratum, poll := uint8(0o377), uint8(2), int8(6)
	se.Reach, se.Stratum, se.Poll = &reach, &stratum, &poll
	se.LocalMode = gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_active
	se.SelectionStatus = gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_system_peer
	configured := true
	se.Configured = &configured

	dir := t.TempDir()
	key := filepath.Join(dir, "id_admin")
	if err := os.WriteFile(key, e.ssh.adminKey, 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(e.ssh.addr, ":")
	x.sock = filepath.Join(dir, "tmux.sock")
	x.env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "TERM=xterm"}
	sshCmd := strings.Join([]string{sshBin, "-F", "/dev/null", "-i", key, "-p", port,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "admin@" + host}, " ")
	x.cmd("new-session", "-d", "-s", "cli", "-x", "120", "-y", "50", sshCmd)
	t.Cleanup(func() {
		c := exec.Command(x.bin, "-S", x.sock, "kill-server")
		c.Env = x.env
		_ = c.Run()
	})

	x.waitFor("<ntpagent>", 1)
	steps := []struct{ line, prompt string }{
		{"system-view", "[~ntpagent]"},
		{"ntp unsync max-poll-interval 6 dec-step 2", "[*ntpagent]"},
		{"ntp source-interface eth0", "[*ntpagent]"},
		{"ntp unicast-peer 10.1.1.1 maxpoll 10 minpoll 6 preferred", "[*ntpagent]"},
		{"commit", "[~ntpagent]"},
		{"return", "<ntpagent>"},
		{"display ntp sessions", "<ntpagent>"},
	}
	seen := map[string]int{"<ntpagent>": 1}
	for _, st := range steps {
		x.cmd("send-keys", "-t", "cli", "-l", st.line)
		x.cmd("send-keys", "-t", "cli", "Enter")
		seen[st.prompt]++
		x.waitFor(st.prompt, seen[st.prompt])
	}
	sc := x.screen()
	for _, want := range []string{"Enter system view, return user view with return command.", "[1235]10.1.1.1", "Total number of sessions: 1"} {
		if !strings.Contains(sc, want) {
			t.Errorf("the screen lacks %q:\n%s", want, sc)
		}
	}
	run := e.store.Snapshot(datastore.Running)
	if p := run.GetNtp().GetUnicastPeer("10.1.1.1", "_public_"); p == nil || !p.GetPreferred() {
		t.Fatalf("the peer is not in running: %s", emitJSON(t, run))
	}
	// '?' help through the real terminal.
	x.cmd("send-keys", "-t", "cli", "-l", "display ntp ?")
	x.waitFor("status      NTP status", 1)
	x.cmd("send-keys", "-t", "cli", "C-u")
	x.cmd("send-keys", "-t", "cli", "-l", "quit")
	x.cmd("send-keys", "-t", "cli", "Enter")
	// ssh exits: quit in the user view ends the session.
	testtool.WaitFor(t, tmuxWait, "quit to end the session", func() bool {
		c := exec.Command(x.bin, "-S", x.sock, "has-session", "-t", "cli")
		c.Env = x.env
		return c.Run() != nil
	})
}
