package rules

import (
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/vpninstance"
)

// The YANG module's default vpn-instance (source-interface's, as ygot
// generates it) is the one constant every layer uses for the public
// instance.
func TestPublicVPNInstanceIsTheYANGDefault(t *testing.T) {
	if got := (&gen.NtpagentNtp_Ntp_SourceInterface{}).GetVpnInstance(); got != vpninstance.Public {
		t.Fatalf("YANG default vpn-instance %q, vpninstance.Public %q", got, vpninstance.Public)
	}
}
