package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
)

// richConfig exercises every command form; it is committed by a batch.
const richConfig = `system-view
sysname edge-7
local-user noc role operator
local-user noc password Noc-Pass-1
local-user noc authorized-key ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIPzw+FWpeabqTQW9eWKUp71wGrkEy+76hEgL0tMK4Yp noc@example
local-user carol role admin
local-user keyless password "pass with spaces"
local-user bare
ntp authentication enable
ntp authentication-keyid 1 authentication-mode md5 plain Huawei@123
ntp authentication-keyid 2 authentication-mode sha1 cipher Two-2
ntp authentication-keyid 3 authentication-mode hmac-sha256 plain three
ntp authentication-keyid 4 authentication-mode aes-128-cmac plain 00112233445566778899aabbccddeeff
ntp authentication-keyid 5 authentication-mode aes-256-cmac plain 0123456789abcdef0123456789abcdef
ntp trusted authentication-keyid 1
ntp trusted authentication-keyid 4
ntp unsync max-poll-interval 7 dec-step 2
ntp source-interface eth0 vpn-instance _public_
ntp ipv6 source-interface Vlanif 100 vpn-instance mgmt
ntp unicast-peer 10.1.1.1 version 3 port 1025 authentication-keyid 1 source-interface eth1 vpn-instance blue preferred maxpoll 9 minpoll 4 preempt
ntp unicast-peer 10.1.1.1
ntp unicast-peer 192.0.2.10 minpoll 3 maxpoll 3
ntp unicast-peer ipv6 2001:db8::10 port 65535 authentication-keyid 4 source-interface eth 3 vpn-instance red maxpoll 17 minpoll 10
ntp unicast-peer ipv6 fc00::1 preempt
ntp unicast-peer domain ntp.example.com version 4 port 123 authentication-keyid 3 source-interface lo preferred
ntp unicast-peer domain time.example.net vpn-instance blue
ntp unicast-server 10.2.2.2 version 3 port 1123 authentication-keyid 2 source-interface eth1 vpn-instance blue preferred maxpoll 8 minpoll 4 preempt iburst burst
ntp unicast-server 10.1.1.1 vpn-instance green iburst
ntp unicast-server ipv6 2001:db8::20 iburst
ntp unicast-server domain pool.example.org burst
commit label rich
`

func (e *env) batch(t *testing.T, input string) string {
	t.Helper()
	out := e.run("batch", "admin", RoleAdmin, 80, input)
	if !strings.HasSuffix(out, "[exit status 0]\n") {
		t.Fatalf("batch failed:\n%s", out)
	}
	return out
}

func (e *env) exec(t *testing.T, command string) string {
	t.Helper()
	out := e.run("exec", "admin", RoleAdmin, 80, command)
	if !strings.HasSuffix(out, "[exit status 0]\n") {
		t.Fatalf("exec %q failed:\n%s", command, out)
	}
	return strings.TrimSuffix(out, "[exit status 0]\n")
}

// TestRoundTrip: display current-configuration of a rich configuration, fed
// as a batch to a fresh store, reproduces the same running tree.
func TestRoundTrip(t *testing.T) {
	a := newEnv(t)
	a.batch(t, richConfig)
	shown := a.exec(t, "display current-configuration")
	if !strings.Contains(shown, "cipher %^%#") || strings.Contains(shown, "Huawei@123") {
		t.Fatalf("keys must be shown only in cipher form:\n%s", shown)
	}
	if !strings.Contains(shown, "ntp unicast-server 10.1.1.1 vpn-instance green iburst\n") {
		t.Fatalf("unicast servers are not shown:\n%s", shown)
	}
	if !strings.Contains(shown, "local-user noc password irreversible-cipher $2") || strings.Contains(shown, "Noc-Pass-1") || strings.Contains(shown, "with spaces") {
		t.Fatalf("passwords must be shown only as bcrypt hashes:\n%s", shown)
	}

	b := newEnv(t)
	b.batch(t, "system-view\n"+shown+"\nsystem-view\ncommit\n")
	want := emitJSON(t, a.store.Snapshot(datastore.Running))
	got := emitJSON(t, b.store.Snapshot(datastore.Running))
	if got != want {
		t.Fatalf("round trip changed the running tree:\nwant %s\ngot  %s", want, got)
	}
	// The rendering is canonical: the second store shows the same lines.
	if again := b.exec(t, "display current-configuration | exclude ^!"); again != a.exec(t, "display current-configuration | exclude ^!") {
		t.Fatalf("renderings differ:\n%s\n%s", shown, again)
	}
}

// TestRoundTripOfNETCONFTree: a tree written the NETCONF way, with leaves set
// explicitly to their defaults, also survives the round trip.
func TestRoundTripOfNETCONFTree(t *testing.T) {
	a := newEnv(t)
	nc := datastore.Session{ID: 500, User: "netconf", Origin: datastore.OriginNETCONF}
	err := a.store.Edit(nc, datastore.Candidate, datastore.EditOptions{}, func(root *gen.Device) error {
		p := root.GetOrCreateNtp().GetOrCreateUnicastPeer("198.51.100.7", "_public_")
		v, port, minp, maxp := uint8(4), uint16(123), uint8(6), uint8(10)
		p.Version, p.Port, p.Minpoll, p.Maxpoll = &v, &port, &minp, &maxp
		si := root.GetNtp().GetOrCreateSourceInterface(gen.NtpagentNtp_AddressFamily_ipv6)
		name, vpn := "eth9", "_public_"
		si.Interface, si.VpnInstance = &name, &vpn
		sys := "from-netconf"
		root.GetOrCreateSystem().Sysname = &sys
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.Commit(nc, datastore.CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	shown := a.exec(t, "display current-configuration")
	b := newEnv(t)
	b.batch(t, "system-view\n"+shown+"\nsystem-view\ncommit\n")
	if want, got := emitJSON(t, a.store.Snapshot(datastore.Running)), emitJSON(t, b.store.Snapshot(datastore.Running)); got != want {
		t.Fatalf("round trip changed the running tree:\nwant %s\ngot  %s", want, got)
	}
}

// TestCrossInterface: a CLI edit is in the shared candidate (what NETCONF
// get-config reads); a NETCONF commit shows in display
// current-configuration; a CLI commit reaches the store's subscribers (the
// engine) like a NETCONF commit.
func TestCrossInterface(t *testing.T) {
	e := newEnv(t)
	changes, stop := e.store.Subscribe(4)
	defer stop()

	e.batch(t, "system-view\nntp unicast-peer 10.20.30.40 maxpoll 8")
	cand := e.store.Snapshot(datastore.Candidate)
	p := cand.GetNtp().GetUnicastPeer("10.20.30.40", "_public_")
	if p == nil || p.GetMaxpoll() != 8 {
		t.Fatalf("CLI edit not in the candidate: %s", emitJSON(t, cand))
	}
	if e.store.Snapshot(datastore.Running).GetNtp().GetUnicastPeer("10.20.30.40", "_public_") != nil {
		t.Fatal("an uncommitted CLI edit reached running")
	}

	// NETCONF commits the shared candidate (with its own addition).
	nc := datastore.Session{ID: 900, User: "netconf", Origin: datastore.OriginNETCONF}
	if err := e.store.Edit(nc, datastore.Candidate, datastore.EditOptions{}, func(root *gen.Device) error {
		root.GetOrCreateNtp().GetOrCreateUnicastPeer("2001:db8::99", "_public_")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Commit(nc, datastore.CommitOptions{Label: "from-netconf"}); err != nil {
		t.Fatal(err)
	}
	shown := e.exec(t, "display current-configuration")
	for _, want := range []string{"ntp unicast-peer 10.20.30.40 maxpoll 8", "ntp unicast-peer ipv6 2001:db8::99"} {
		if !strings.Contains(shown, want) {
			t.Fatalf("display current-configuration lacks %q:\n%s", want, shown)
		}
	}
	if c := <-changes; c.Commit.Origin != datastore.OriginNETCONF {
		t.Fatalf("first change: %+v", c.Commit)
	}

	e.exec(t, "system-view; undo ntp unicast-peer ipv6 2001:db8::99; commit label cli-commit")
	c := <-changes
	if c.Commit.Origin != datastore.OriginCLI || c.Commit.Label != "cli-commit" || c.Commit.User != "admin" {
		t.Fatalf("CLI commit: %+v", c.Commit)
	}
	if c.New.GetNtp().GetUnicastPeer("2001:db8::99", "_public_") != nil {
		t.Fatal("the CLI commit did not reach the subscribers")
	}
}

// TestDomainPeerStoredLikeNETCONF: the CLI stores a domain name in the same
// (lower-case) spelling as an edit-config does, so a name typed in either
// interface is one peer, and the CLI's re-entry replaces it.
func TestDomainPeerStoredLikeNETCONF(t *testing.T) {
	e := newEnv(t)
	e.batch(t, "system-view\nntp unicast-peer domain NTP.Example.net maxpoll 8\nntp unicast-peer domain ntp.EXAMPLE.net maxpoll 9")
	peers := e.store.Snapshot(datastore.Candidate).GetNtp().UnicastPeer
	if len(peers) != 1 {
		t.Fatalf("candidate holds %d peers, want 1: %v", len(peers), peers)
	}
	p := e.store.Snapshot(datastore.Candidate).GetNtp().GetUnicastPeer("ntp.example.net", "_public_")
	if p == nil || p.GetMaxpoll() != 9 {
		t.Fatalf("the peer is not stored as ntp.example.net with maxpoll 9: %v", peers)
	}
}

// TestBadInputChangesNothing: 1 MB lines, control characters, unknown
// commands and ambiguous abbreviations give a clear error, the session goes
// on (the command after them runs), and the configuration is unchanged.
func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.batch(t, "system-view\nntp unicast-peer 10.0.0.1\ncommit")
	before := emitJSON(t, e.store.Snapshot(datastore.Candidate))
	huge := strings.Repeat("ntp unicast-peer 10.0.0.2 ", 1<<20/26+1)
	bad := []string{
		huge,
		"ntp \x01unicast-peer 10.0.0.3",
		"ntp unicast-peer 10.0.0.3 vpn-instance a\x1b[31mb",
		"\x1b[2J\x1b[H",
		"sysname \x7f",
		"ntp unicast-peer 10.0.0.3 source-interface \xff\xfe",
		"frobnicate",
		"ntp a 1",
		"ntp unicast-peer 10.0.0.3 p",
	}
	for _, mode := range []string{"pty", "batch", "exec"} {
		for i, b := range bad {
			if mode == "pty" && strings.Contains(b, "\x1b") {
				// In a terminal an escape sequence is a key (x/term's line
				// editor acts on it or drops it), not text of the line.
				continue
			}
			var input string
			switch mode {
			case "exec":
				input = "system-view\n" + b
			default:
				input = "system-view\n" + b + "\ndisplay ntp status | include stratum"
			}
			out := e.run(mode, "admin", RoleAdmin, 80, input)
			if !strings.Contains(out, "Error: ") {
				t.Errorf("%s input %d: no error:\n%.2000s", mode, i, out)
			}
			if mode != "exec" && !strings.Contains(out, "clock stratum: 16") {
				t.Errorf("%s input %d: the session did not go on:\n%.2000s", mode, i, out)
			}
			if mode != "pty" && strings.ContainsAny(out, "\x1b\x01\x7f") {
				t.Errorf("%s input %d: control characters echoed raw:\n%q", mode, i, out)
			}
			if len(out) > 64<<10 {
				t.Errorf("%s input %d: %d bytes of output for one bad line", mode, i, len(out))
			}
			if after := emitJSON(t, e.store.Snapshot(datastore.Candidate)); after != before {
				t.Fatalf("%s input %d changed the candidate:\n%s", mode, i, after)
			}
		}
	}
}

// TestExitStatus: an exec command's status tells whether it worked; a batch
// goes on after a failing line but reports it.
func TestExitStatus(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		mode, input string
		status      string
	}{
		{"exec", "display ntp status", "[exit status 0]"},
		{"exec", "display ntp sttus", "[exit status 1]"},
		{"exec", "system-view; ntp unicast-peer 224.0.0.1; commit", "[exit status 1]"},
		{"batch", "display ntp status\nbogus\ndisplay this", "[exit status 1]"},
		{"batch", "display ntp status\n\n# comment\n!comment\ndisplay this", "[exit status 0]"},
		{"batch", "quit\nbogus", "[exit status 0]"},
	} {
		out := e.run(c.mode, "admin", RoleAdmin, 80, c.input)
		if !strings.HasSuffix(out, c.status+"\n") {
			t.Errorf("%s %q: want %s, got:\n%s", c.mode, c.input, c.status, out)
		}
	}
}

// TestContextEndsSession: a cancelled context ends a batch at the next line.
func TestContextEndsSession(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	status := e.cli.ServeTerminal(ctx, &TerminalSession{ID: 3, User: "admin", Role: RoleAdmin,
		Stdin: strings.NewReader("system-view\nntp unicast-peer 10.0.0.9\n"), Stdout: &out, Stderr: &out})
	if status != 0 || out.Len() != 0 {
		t.Fatalf("status %d, output %q", status, out.String())
	}
	if e.store.CandidateModified() {
		t.Fatal("a cancelled session edited the candidate")
	}
}

// TestInputGuard: runes split across reads pass whole, bytes that are not
// UTF-8 are dropped, Ctrl-C becomes Ctrl-U, an over-long line is cut and
// flagged until the next Enter.
func TestInputGuard(t *testing.T) {
	chunks := []string{"ab\xc3", "\xa9c\xff\x03", "d\r", strings.Repeat("x", maxLineBytes+10), "\rz"}
	g := &inputGuard{r: &chunkReader{chunks: chunks}}
	var got []byte
	buf := make([]byte, 256)
	for range 100 {
		n, err := g.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	want := "ab\u00e9c\x15d\r" + strings.Repeat("x", maxLineBytes) + "\rz"
	if string(got) != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if !g.overflow {
		t.Fatal("over-long line not flagged")
	}
}

type chunkReader struct{ chunks []string }

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if n == len(c.chunks[0]) {
		c.chunks = c.chunks[1:]
	} else {
		c.chunks[0] = c.chunks[0][n:]
	}
	return n, nil
}

// TestConcurrentSessions: sessions run at the same time on one CLI and one
// store; every edit lands in the shared candidate (run with -race).
func TestConcurrentSessions(t *testing.T) {
	e := newEnv(t)
	const n = 4
	done := make(chan string, n)
	for i := range n {
		go func() {
			var out bytes.Buffer
			lines := fmt.Sprintf("system-view\nntp unicast-peer 10.50.0.%d\nntp unicast-peer 10.60.0.%d\ndisplay configuration candidate\n", i+1, i+1)
			e.cli.ServeTerminal(context.Background(), &TerminalSession{ID: uint32(100 + i), User: "admin", Role: RoleAdmin,
				Stdin: strings.NewReader(lines), Stdout: &out, Stderr: &out})
			done <- out.String()
		}()
	}
	for range n {
		if out := <-done; strings.Contains(out, "Error") {
			t.Fatalf("a session failed:\n%s", out)
		}
	}
	cand := e.store.Snapshot(datastore.Candidate)
	if got := len(cand.GetNtp().UnicastPeer); got != 2*n {
		t.Fatalf("%d peers in the candidate, want %d: %s", got, 2*n, emitJSON(t, cand))
	}
}

// TestAuditLogMasksKeys: commands are logged for audit, key values masked.
func TestAuditLogMasksKeys(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t)
	e.cli = New(Config{Store: e.store, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	e.batch(t, "system-view\nntp authentication-keyid 9 authentication-mode md5 plain TopSecret9")
	if strings.Contains(logs.String(), "TopSecret9") || !strings.Contains(logs.String(), "plain ******") {
		t.Fatalf("audit log:\n%s", logs.String())
	}
}

// TestExecWithPTY: ssh -t HOST 'command' asks for a PTY with an exec
// request; the output then has CR LF line ends.
func TestExecWithPTY(t *testing.T) {
	e := newEnv(t)
	var out bytes.Buffer
	status := e.cli.ServeTerminal(context.Background(), &TerminalSession{ID: 9, User: "admin", Role: RoleAdmin, PTY: true,
		Command: "display this", Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out})
	if status != 0 || out.String() != "#\r\nreturn\r\n" {
		t.Fatalf("status %d, output %q", status, out.String())
	}
}

// TestWindowChange: a window-change (the Resize channel) sets the paging
// height and the line editor's width of a running interactive session.
func TestWindowChange(t *testing.T) {
	e := newEnv(t)
	var peers strings.Builder
	peers.WriteString("system-view\n")
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&peers, "ntp unicast-peer 10.9.0.%d\n", i)
	}
	e.batch(t, peers.String()+"commit")

	inR, inW := io.Pipe()
	var out testtool.Buffer
	resize := make(chan [2]int) // unbuffered: a send returns when the session takes it
	ts := &TerminalSession{ID: 40, User: "admin", Role: RoleAdmin, PTY: true, Width: 80, Height: 50,
		Resize: resize, Stdin: inR, Stdout: &out, Stderr: &out}
	done := make(chan int)
	go func() { done <- e.cli.ServeTerminal(context.Background(), ts) }()
	// The second send is taken only after the first size was applied.
	resize <- [2]int{40, 6}
	resize <- [2]int{40, 6}
	inW.Write([]byte("display current-configuration | include 10.9.0\rq"))
	inW.Close()
	<-done
	sc := newScreen(40)
	sc.write(out.Bytes())
	got := sc.String()
	if !strings.Contains(got, "ntp unicast-peer 10.9.0.5\n<ntpagent>") || strings.Contains(got, "10.9.0.6") {
		t.Fatalf("want a page of 5 lines after the resize to 40x6:\n%s", got)
	}
}

// A command that panics (here: the operational state the agent provides)
// fails with an error; the session goes on and the process survives.
func TestPanickingCommandEndsOnlyThatCommand(t *testing.T) {
	e := newEnv(t)
	e.cli.cfg.State = func() *gen.Device { panic("state provider bug") }
	out := e.run("batch", "admin", RoleAdmin, 80, "display ntp status\nsystem-view\nsysname after-panic\ncommit")
	if !strings.Contains(out, "Error: The command failed with an internal error.") || !strings.HasSuffix(out, "[exit status 1]\n") {
		t.Errorf("output:\n%s", out)
	}
	if got := e.store.Snapshot(datastore.Running).GetSystem().GetSysname(); got != "after-panic" {
		t.Errorf("the commands after the panic did not run: sysname %q", got)
	}
}

// Every value of /ntp/status/unsync-reason has its explanation in display
// ntp status.
func TestEveryUnsyncReasonIsExplained(t *testing.T) {
	for v, def := range gen.ΛEnum["E_NtpagentNtp_UnsyncReason"] {
		if unsyncReasonText[gen.E_NtpagentNtp_UnsyncReason(v)] == "" {
			t.Errorf("unsync-reason %s has no text", def.Name)
		}
	}
	if len(gen.ΛEnum["E_NtpagentNtp_UnsyncReason"]) < 9 {
		t.Error("the enumeration is missing")
	}
}

// Key values are shown only to the admin role, in cipher form; the other
// roles see "******" in their place, as VRP shows keys to users without the
// level to read them, in every display of a configuration.
func TestOperatorSeesNoKeyValue(t *testing.T) {
	e := newEnv(t)
	e.batch(t, "system-view\nntp authentication-keyid 3 authentication-mode md5 plain Operator-Must-Not-See\ncommit\n"+
		"ntp authentication-keyid 4 authentication-mode sha1 plain Candidate-Only\n")
	sealed := e.store.Snapshot(datastore.Running).GetNtp().GetAuthentication().GetKey(3).GetKeyValue()
	if !rules.IsCipher(sealed) {
		t.Fatalf("stored key value %q", sealed)
	}
	for _, input := range []string{
		"display current-configuration",
		"display current-configuration | include keyid",
		"display configuration candidate",
		// display this shows nothing in the user view, the only view of
		// the operator role.
	} {
		oper := e.run("batch", "oper", RoleOperator, 80, input)
		if strings.Contains(oper, "%^%#") || strings.Contains(oper, "Must-Not-See") || strings.Contains(oper, "Candidate-Only") {
			t.Errorf("%q: the operator reads a key:\n%s", input, oper)
		}
		if !strings.Contains(oper, "ntp authentication-keyid 3 authentication-mode md5 cipher ******") {
			t.Errorf("%q: the operator does not see that key 3 exists:\n%s", input, oper)
		}
		if admin := e.run("batch", "admin", RoleAdmin, 80, input); !strings.Contains(admin, "cipher "+sealed) {
			t.Errorf("%q: the admin does not read the cipher form:\n%s", input, admin)
		}
	}
}

// A cipher text made by another device is refused with a message asking
// for the plain key; nothing changes.
func TestCipherTextOfAnotherDeviceIsRefused(t *testing.T) {
	e := newEnv(t)
	other, err := rules.NewKeyCipher([]byte("another device's 32-byte secret!"))
	if err != nil {
		t.Fatal(err)
	}
	out := e.run("batch", "admin", RoleAdmin, 80, "system-view\nntp authentication-keyid 3 authentication-mode md5 cipher "+other.Seal("secret")+"\n")
	if !strings.Contains(out, "Error: The cipher text of authentication key 3 was not made by this device") || !strings.Contains(out, "give the key in plain text") {
		t.Fatalf("output:\n%s", out)
	}
	if e.store.CandidateModified() {
		t.Error("the refused key changed the candidate")
	}
}

// The CLI ends the datastore session of each terminal session it served:
// whatever the session held in the store (here a lock of the candidate,
// taken under its id) is released when ServeTerminal returns (RFC 6241
// §7.5: a session's locks end with it).
func TestServeTerminalEndsItsDatastoreSession(t *testing.T) {
	e := newEnv(t)
	const id = 41
	if err := e.store.Lock(datastore.Session{ID: id, User: "admin", Origin: datastore.OriginCLI}, datastore.Candidate); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	status := e.cli.ServeTerminal(context.Background(), &TerminalSession{ID: id, User: "admin", Role: RoleAdmin,
		Command: "display current-configuration", Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out})
	if status != 0 {
		t.Fatalf("exit status %d: %s", status, out.String())
	}
	if locks := e.store.Locks(); len(locks) != 0 {
		t.Fatalf("locks after the session ended: %+v", locks)
	}
}
