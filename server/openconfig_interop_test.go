package server

import (
	"path/filepath"
	"testing"

	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/view/ocsys"
)

// TestNcclientOpenConfigView runs testdata/netconf/ncclient_openconfig.py:
// ncclient configures the device through openconfig-system, ietf-ntp and
// natively, reads each back through the others, meets the view's errors, and reads
// the servers' state; yanglint then validates every reply against the
// modules the script fetched with <get-schema>.
func TestNcclientOpenConfigView(t *testing.T) {
	t.Parallel()
	testtool.Require(t, "yanglint")
	py := requireNcclient(t)
	a := startAgent(t, withViews(t, ietfNTPView(t), ocsys.New()), withState(reportServers))
	out := t.TempDir()
	runNcclient(t, py, a, "ncclient_openconfig.py", a.keyFile, out)
	if n := yanglintReplies(t, out, "config", "*.xml"); n < 7 {
		t.Fatalf("only %d get-config replies validated", n)
	}
	if yanglintReplies(t, out, "get", filepath.Join("get", "get-*.xml")) == 0 {
		t.Fatal("no <get> reply saved")
	}
}
