package server

import (
	"path/filepath"
	"testing"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/view/ietfntp"
)

// ietfNTPView is the ietf-ntp view (RFC 9249) the daemon serves.
func ietfNTPView(t testing.TB) *ietfntp.View {
	iv, err := ietfntp.New()
	if err != nil {
		t.Fatal(err)
	}
	return iv
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
	testtool.Require(t, "yanglint")
	py := requireNcclient(t)
	// The state the agent would report: a synchronized clock and one
	// client association per server.
	state := func(d *gen.Device) {
		reportServers(d)
		n := d.GetNtp()
		n.Status = &gen.NtpagentNtp_Ntp_Status{ClockState: gen.NtpagentNtp_Ntp_Status_ClockState_synchronized,
			Stratum: ygot.Uint8(3), ReferenceId: ygot.String("192.0.2.1"), Precision: ygot.Int8(-20),
			SyncState: gen.NtpagentNtp_Ntp_Status_SyncState_synchronized}
		if s := n.GetSessions(); s != nil {
			for _, a := range s.Session {
				a.LocalMode, a.Configured = gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_client, ygot.Bool(true)
			}
		}
	}
	a := startAgent(t, withViews(t, ietfNTPView(t)), withState(state))
	out := t.TempDir()
	runNcclient(t, py, a, "ncclient_ietf_ntp.py", a.keyFile, out)
	features := []string{"-F", "ietf-ntp:ntp-port,authentication,deprecated,hex-key-string,unicast-configuration"}
	if yanglintReplies(t, out, "config", "getconfig-*.xml", features...) == 0 {
		t.Fatal("no get-config reply saved")
	}
	if yanglintReplies(t, out, "get", filepath.Join("get", "get-*.xml"), features...) == 0 {
		t.Fatal("no <get> reply saved")
	}
}
