package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/clock"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/openconfig/ygot/ygot"
)

// env is one fixture file's world: a store shared by the sessions it runs,
// and the operational state the State func returns.
type env struct {
	t      testing.TB
	store  *datastore.Store
	cli    *CLI
	state  *gen.Device
	nextID uint32
	ssh    *sshAgent // when set, sessions run over SSH
}

func newEnv(t testing.TB) *env {
	e := &env{t: t, store: openStore(t, t.TempDir()), nextID: 1}
	e.cli = New(Config{
		Store: e.store,
		State: func() *gen.Device { return e.state },
		Check: func(root *gen.Device) error { return rules.Check(root, rules.WithLocalPrefixes(nil)) },
	})
	return e
}

// keys turns fixture input into keystrokes: every line ends with Enter
// unless it ends with a backslash; <tab>, <up>, <down>, <left>, <right>,
// <bs>, <ctrl-c>, <ctrl-u>, <ctrl-z>, <space> name keys.
func keys(input string) string {
	var b strings.Builder
	for _, l := range strings.Split(input, "\n") {
		enter := true
		if strings.HasSuffix(l, `\`) {
			l, enter = strings.TrimSuffix(l, `\`), false
		}
		l = strings.NewReplacer("<tab>", "\t", "<up>", "\x1b[A", "<down>", "\x1b[B", "<left>", "\x1b[D",
			"<right>", "\x1b[C", "<bs>", "\x7f", "<ctrl-c>", "\x03", "<ctrl-u>", "\x15", "<ctrl-z>", "\x1a", "<space>", " ").Replace(l)
		b.WriteString(l)
		if enter {
			b.WriteString("\r")
		}
	}
	return b.String()
}

// run runs one session with the given input and returns what its user sees.
func (e *env) run(mode, user string, role Role, width int, input string) string {
	return e.runSized(mode, user, role, width, 50, input)
}

func (e *env) runSized(mode, user string, role Role, width, height int, input string) string {
	if e.ssh != nil {
		return e.runSSH(mode, role, width, height, input)
	}
	e.nextID++
	var out bytes.Buffer
	ts := &TerminalSession{ID: e.nextID, User: user, Role: role, Stdout: &out, Stderr: &out}
	switch mode {
	case "pty":
		ts.PTY, ts.Width, ts.Height = true, width, height
		ts.Stdin = strings.NewReader(keys(input))
	case "batch":
		ts.Stdin = strings.NewReader(input + "\n")
	case "exec":
		ts.Command = input
		ts.Stdin = strings.NewReader("")
	default:
		e.t.Fatalf("unknown mode %q", mode)
	}
	status := e.cli.ServeTerminal(context.Background(), ts)
	switch mode {
	case "pty":
		sc := newScreen(width)
		sc.write(out.Bytes())
		return sc.String()
	case "exec":
		return out.String() + fmt.Sprintf("[exit status %d]\n", status)
	}
	return out.String() + fmt.Sprintf("[exit status %d]\n", status)
}

func emitJSON(t testing.TB, d *gen.Device) string {
	if d == nil {
		return "{}\n"
	}
	s, err := ygot.EmitJSON(d, &ygot.EmitJSONConfig{Format: ygot.RFC7951, Indent: "  ", SkipValidation: true})
	if err != nil {
		t.Fatalf("emit: %v", err)
	}
	return s + "\n"
}

// dispatch runs a fixture command:
//
//	cli [mode=pty|batch|exec] [user=NAME] [role=admin|operator] [width=N]
//	    input: keystrokes (pty) or lines → the screen / output
//	state   input: RFC 7951 JSON of the operational state → "ok"
//	show ds=running|candidate → the datastore as RFC 7951 JSON
//	lock id=N / unlock id=N → another session locks the candidate
func (e *env) dispatch(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "cli":
		mode, user, role, width, height := "pty", "admin", string(RoleAdmin), 80, 50
		d.MaybeScanArgs(t, "height", &height)
		d.MaybeScanArgs(t, "mode", &mode)
		d.MaybeScanArgs(t, "user", &user)
		d.MaybeScanArgs(t, "role", &role)
		d.MaybeScanArgs(t, "width", &width)
		return e.runSized(mode, user, Role(role), width, height, d.Input)
	case "state":
		st := &gen.Device{}
		if err := gen.Unmarshal([]byte(d.Input), st); err != nil {
			return "error: " + err.Error() + "\n"
		}
		e.state = st
		return "ok\n"
	case "show":
		var ds string
		d.ScanArgs(t, "ds", &ds)
		return emitJSON(t, e.store.Snapshot(datastore.Name(ds)))
	case "lock", "unlock":
		var id int
		d.ScanArgs(t, "id", &id)
		other := datastore.Session{ID: uint32(id), User: "netconf-user", Origin: datastore.OriginNETCONF}
		lock := e.store.Lock
		if d.Cmd == "unlock" {
			lock = e.store.Unlock
		}
		if err := lock(other, datastore.Candidate); err != nil {
			// The tag only: the message names session ids, which the SSH
			// server allocates.
			return "error: " + string(rpcerror.All(err)[0].Tag) + "\n"
		}
		return "ok\n"
	}
	t.Fatalf("unknown command %q", d.Cmd)
	return ""
}

// TestTranscripts runs the fixtures of testdata/cli: every command form,
// every error form with its caret, help, completion, views and prompts.
func TestTranscripts(t *testing.T) {
	datadriven.Walk(t, "../../testdata/cli", func(t *testing.T, path string) {
		e := newEnv(t)
		datadriven.RunTest(t, path, e.dispatch)
	})
}

// fixedClock is the datastore's clock in tests: every commit happens at the
// same instant, so transcripts do not depend on the wall clock; timers never
// fire (no confirmed commit here).
type fixedClock struct{}

func (fixedClock) Now() time.Time { return time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC) }

func (fixedClock) AfterFunc(time.Duration, func()) clock.Timer { return stoppedTimer{} }

func (fixedClock) NewTimer(time.Duration) (clock.Timer, <-chan time.Time) { return stoppedTimer{}, nil }

type stoppedTimer struct{}

func (stoppedTimer) Stop() bool { return true }

func (stoppedTimer) Reset(time.Duration) bool { return false }

// testDeviceKey is the device key of every test store (the datastore's
// device-key file), so that transcripts show the same cipher texts: all
// test stores are one device.
const testDeviceKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"

func openStore(t testing.TB, dir string) *datastore.Store {
	if _, err := os.Stat(filepath.Join(dir, "device-key")); os.IsNotExist(err) {
		if err := os.WriteFile(filepath.Join(dir, "device-key"), []byte(testDeviceKey), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st, err := datastore.Open(datastore.Options{Dir: dir, Clock: fixedClock{},
		LocalPrefixes: func() []netip.Prefix { return nil }})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
