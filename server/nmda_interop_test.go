package server

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/yang"
)

// fakeState stands for the agent's state provider: a status, a configured
// session and an ephemeral symmetric-passive one (configured false).
func fakeState(d *gen.Device) {
	n := d.GetOrCreateNtp()
	n.GetOrCreateStatus().SetStratum(2)
	s := n.GetOrCreateSessions().GetOrCreateSession("10.30.0.1", "_public_", 123)
	s.SetConfigured(true)
	s.SetReach(255)
	p := n.GetOrCreateSessions().GetOrCreateSession("10.30.9.9", "_public_", 123)
	p.SetConfigured(false)
	p.SetLocalMode(gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_passive)
}

// TestNcclientDiscoveryAndNMDA runs testdata/netconf/ncclient_nmda.py: a
// client that knows nothing of ntpagent finds every module through the
// YANG library (RFC 8525) and fetches it with get-schema, then uses
// edit-data and get-data (RFC 8526) on every datastore. Everything it
// received is then validated by yanglint against the modules it fetched.
func TestNcclientDiscoveryAndNMDA(t *testing.T) {
	if testing.Short() {
		t.Skip("interop: skipped under -short")
	}
	t.Parallel()
	py := requireNcclient(t)
	testtool.Require(t, "yanglint")
	a := startAgent(t, withState(fakeState))
	out := t.TempDir()
	runNcclient(t, py, a, "ncclient_nmda.py", a.keyFile, out)

	// The modules the client fetched, with the features the library lists.
	mods, _ := filepath.Glob(filepath.Join(out, "*.yang"))
	feats, err := os.ReadFile(filepath.Join(out, "features.txt"))
	if err != nil || len(mods) < 13 {
		t.Fatalf("fetched %d modules, features: %v", len(mods), err)
	}
	args := []string{"-p", out}
	var implemented []string
	for _, line := range strings.Split(strings.TrimSpace(string(feats)), "\n") {
		name, fs, _ := strings.Cut(line, ":")
		if fs != "" {
			args = append(args, "-F", line)
		}
		m, _ := filepath.Glob(filepath.Join(out, name+"@*.yang"))
		implemented = append(implemented, m...)
	}
	schema := append(args, implemented...)
	for _, c := range []struct{ file, typ string }{
		// A <get> reply of the library's two trees: "get" validates what
		// is there (a complete "data" tree would also need the other
		// implemented modules' mandatory state, /nacm's counters).
		{"yanglib.xml", "get"},
		{"getdata-running.xml", "config"},
		{"getdata-intended.xml", "config"},
		{"getdata-candidate.xml", "config"},
		{"getdata-startup.xml", "config"},
		{"getdata-operational.xml", "get"},
	} {
		yanglintFile(t, c.typ, filepath.Join(out, c.file), schema...)
	}
}

// TestYangcliDiscoversModulesFromModulesState runs yuma123's yangcli, a
// client of the YANG library before NMDA (RFC 7895): from the
// :yang-library:1.0 capability it reads /modules-state and fetches our
// YANG 1.1 modules, which the hello no longer lists, with get-schema; then
// it can address /ntp/status by its schema — unless its compiler stops at
// ietf-access-control-list (imported by ietf-ntp), which Debian's yuma123
// cannot compile: the test then holds it to exactly that limit.
func TestYangcliDiscoversModulesFromModulesState(t *testing.T) {
	if testing.Short() {
		t.Skip("interop: skipped under -short")
	}
	t.Parallel()
	yc := testtool.Require(t, "yangcli")
	a := startAgent(t, withState(fakeState))
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, yc, "--server=127.0.0.1", "--ncport="+portOf(a.addr), "--user=admin",
		"--password="+adminPassword, "--batch-mode", "--run-command=sget /ntp/status")
	cmd.Dir = home
	cmd.Env = append(os.Environ(), "HOME="+home)
	out, err := cmd.CombinedOutput()
	sch, lerr := yang.Load()
	if lerr != nil {
		t.Fatal(lerr)
	}
	// Discovery: yangcli reads the module set from /modules-state.
	if want := "Current module-set-id: " + sch.ContentID(); !strings.Contains(string(out), want) {
		t.Fatalf("yangcli output lacks %q (%v):\n%s", want, err, out)
	}
	if err != nil {
		// yuma123's compiler (Debian's yangcli) does not take
		// ietf-access-control-list, which ietf-ntp (RFC 9249) imports: it
		// reports a definition loop at the module's YANG 1.1 if-feature
		// expressions and derived-from-or-self() calls, and later aborts
		// on an assertion. That, and only that, is yangcli's known limit
		// with this server (README, Known limits).
		for _, want := range []string{"import of module 'ietf-access-control-list' failed", "Auto-load for module 'ietf-ntp' failed"} {
			if !strings.Contains(string(out), want) {
				t.Fatalf("yangcli: %v, not at its known limit (no %q):\n%s", err, want, out)
			}
		}
		t.Logf("yangcli discovered the module set, then stopped at its known limit (ietf-access-control-list): %v", err)
		return
	}
	if !strings.Contains(string(out), "stratum 2") {
		t.Errorf("yangcli output lacks the state it asked for:\n%s", out)
	}
	if strings.Contains(string(out), "definition not found") {
		t.Errorf("yangcli did not learn our module:\n%s", out)
	}
}
