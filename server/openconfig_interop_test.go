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
	"github.com/ntpagent/ntpagent/view/ocsys"
)

// TestNcclientOpenConfigView runs testdata/netconf/ncclient_openconfig.py:
// ncclient configures the device through openconfig-system, ietf-ntp and
// natively, reads each back through the others, meets the view's errors, and reads
// the servers' state; yanglint then validates every reply against the
// modules the script fetched with <get-schema>.
func TestNcclientOpenConfigView(t *testing.T) {
	t.Parallel()
	yl := testtool.Require(t, "yanglint")
	py := requireNcclient(t)
	iv, err := ietfntp.New()
	if err != nil {
		t.Fatal(err)
	}
	set, err := view.NewSet(iv, ocsys.New())
	if err != nil {
		t.Fatal(err)
	}
	// The association state the agent would report for every server.
	state := func(d *gen.Device) {
		n := d.GetOrCreateNtp()
		for k, s := range n.UnicastServer {
			a := n.GetOrCreateSessions().GetOrCreateSession(k.Address, k.VpnInstance, s.GetPort())
			a.Stratum, a.Offset, a.Poll = ygot.Uint8(2), ygot.Float64(-0.25), ygot.Int8(6)
		}
	}
	a := startAgent(t, func(c *agentConfig) { c.nc.Views, c.nc.State = set, state })
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, repoFile("testdata", "netconf", "ncclient_openconfig.py"),
		"127.0.0.1", portOf(a.addrs[1]), a.keyFile, out)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil || !strings.Contains(buf.String(), "ALL OK") {
		t.Fatalf("ncclient script: %v\n%s", err, buf.String())
	}
	t.Logf("ncclient:\n%s", buf.String())
	if n := yanglintConfigs(t, out); n < 7 {
		t.Fatalf("only %d get-config replies validated", n)
	}
	gets, _ := filepath.Glob(filepath.Join(out, "get", "get-*.xml"))
	mods := schemaModules(t, out)
	for _, f := range gets {
		args := append(append([]string{"-t", "get", "-p", out}, mods...), f)
		if b, err := exec.Command(yl, args...).CombinedOutput(); err != nil {
			data, _ := os.ReadFile(f)
			t.Errorf("yanglint -t get %s: %v\n%s\n%s", filepath.Base(f), err, b, data)
		}
	}
	if len(gets) == 0 {
		t.Fatal("no <get> reply saved")
	}
}
