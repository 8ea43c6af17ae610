package server

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/view"
	"github.com/ntpagent/ntpagent/view/ietfntp"
)

// ietfNTPView is the view set of the native model and ietf-ntp.
func ietfNTPView(t *testing.T) *view.Set {
	t.Helper()
	iv, err := ietfntp.New()
	if err != nil {
		t.Fatal(err)
	}
	set, err := view.NewSet(iv)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestNcclientIETFNTPView runs testdata/netconf/ncclient_ietf_ntp.py:
// ncclient configures the device through ietf-ntp and natively, reads
// each back through the other (the candidate in the same session, then
// running after one commit), deletes through the view, meets a validation
// error named in ietf-ntp, and reads the state; yanglint then validates
// every reply against the modules the script fetched with <get-schema>,
// with the features the library announces.
func TestNcclientIETFNTPView(t *testing.T) {
	t.Parallel()
	yl := testtool.Require(t, "yanglint")
	py := requireNcclient(t)
	set := ietfNTPView(t)
	// The state the agent would report: a synchronized clock and one
	// association per server.
	state := func(d *gen.Device) {
		n := d.GetOrCreateNtp()
		n.Status = &gen.NtpagentNtp_Ntp_Status{ClockState: gen.NtpagentNtp_Ntp_Status_ClockState_synchronized,
			Stratum: ygot.Uint8(3), ReferenceId: ygot.String("192.0.2.1"), Precision: ygot.Int8(-20),
			SyncState: gen.NtpagentNtp_Ntp_Status_SyncState_synchronized}
		for k, s := range n.UnicastServer {
			a := n.GetOrCreateSessions().GetOrCreateSession(k.Address, k.VpnInstance, s.GetPort())
			a.LocalMode, a.Configured = gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_client, ygot.Bool(true)
			a.Stratum, a.Offset, a.Poll = ygot.Uint8(2), ygot.Float64(-0.25), ygot.Int8(6)
		}
	}
	a := startAgent(t, func(c *agentConfig) { c.nc.Views, c.nc.State = set, state })
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, repoFile("testdata", "netconf", "ncclient_ietf_ntp.py"),
		"127.0.0.1", portOf(a.addrs[1]), a.keyFile, out)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil || !strings.Contains(buf.String(), "ALL OK") {
		t.Fatalf("ncclient script: %v\n%s", err, buf.String())
	}
	t.Logf("ncclient:\n%s", buf.String())
	mods := schemaModules(t, out)
	features := []string{"-F", "ietf-ntp:ntp-port,authentication,deprecated,hex-key-string,unicast-configuration"}
	configs, _ := filepath.Glob(filepath.Join(out, "getconfig-*.xml"))
	gets, _ := filepath.Glob(filepath.Join(out, "get", "get-*.xml"))
	for kind, files := range map[string][]string{"config": configs, "get": gets} {
		if len(files) == 0 {
			t.Fatalf("no %s reply saved", kind)
		}
		for _, f := range files {
			args := append(append(append([]string{"-t", kind, "-p", out}, features...), mods...), f)
			if b, err := exec.Command(yl, args...).CombinedOutput(); err != nil {
				data, _ := os.ReadFile(f)
				t.Errorf("yanglint -t %s %s: %v\n%s\n%s", kind, filepath.Base(f), err, b, data)
			}
		}
	}
}
