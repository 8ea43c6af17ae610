package huawei

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	hw "github.com/ntpagent/ntpagent/gen/huawei"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// native is a configuration with every kind of entry the view meets.
func native(t *testing.T) *gen.Device {
	t.Helper()
	d := &gen.Device{}
	n := d.GetOrCreateNtp()
	p := n.GetOrCreateUnicastPeer("192.0.2.1", "_public_")
	p.Minpoll, p.Maxpoll, p.Preferred = ptr(uint8(4)), ptr(uint8(8)), ptr(true)
	p.SourceInterface = ptr("40ge1_0_22")
	p6 := n.GetOrCreateUnicastPeer("2001:DB8::1", "vrf1")
	p6.AuthenticationKeyid = ptr(uint32(32))
	n.GetOrCreateUnicastPeer("ntp.example.net", "_public_").Iburst = ptr(true)
	s := n.GetOrCreateUnicastServer("198.51.100.7", "_public_")
	s.Iburst, s.SourceInterface, s.Preferred = ptr(true), ptr("eth0"), ptr(false) // explicitly the default
	return d
}

func entry(t *testing.T, v *hw.Device, af hw.E_NtpagentHuaweiVrp_Ntp_NtpUCastCfgs_NtpUCastCfg_AddrFamily, v4, v6 string,
	typ hw.E_NtpagentHuaweiVrp_Ntp_NtpUCastCfgs_NtpUCastCfg_Type, vpn string) *ucastCfg {
	t.Helper()
	e := v.GetNtp().GetNtpUCastCfgs().GetNtpUCastCfg(af, v4, v6, typ, vpn)
	if e == nil {
		t.Fatalf("no entry %s %s %s %s %s in the view", af, v4, v6, typ, vpn)
	}
	return e
}

func TestProjectShowsEveryLeafVRPClientsRead(t *testing.T) {
	v := project(native(t))
	if n := len(v.Ntp.NtpUCastCfgs.NtpUCastCfg); n != 3 {
		t.Fatalf("%d entries, want 3 (the domain-name peer has no place in the view)", n)
	}
	for _, tc := range []struct {
		rule          string
		e             *ucastCfg
		ifName, keyID string
		preferred     bool
	}{
		{"IPv4 peer: source interface in VRP spelling", entry(t, v, ipv4, "192.0.2.1", "::", typePeer, "_public_"), "40GE1/0/22", "", true},
		{"IPv6 peer: address as configured, 0.0.0.0 beside it, key id", entry(t, v, ipv6, "0.0.0.0", "2001:DB8::1", typePeer, "vrf1"), "", "32", false},
		{"server: type Server, a Linux name as it is", entry(t, v, ipv4, "198.51.100.7", "::", typeServer, "_public_"), "eth0", "", false},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			e := tc.e
			if e.IfName == nil || *e.IfName != tc.ifName || e.KeyId == nil || *e.KeyId != tc.keyID || e.IsPreferred == nil || *e.IsPreferred != tc.preferred {
				t.Fatalf("ifName %v keyId %v isPreferred %v", e.IfName, e.KeyId, e.IsPreferred)
			}
		})
	}
}

// TestApplyOfTheProjectionChangesNothing: a client that writes back what it
// read changes nothing, down to which leaves are set.
func TestApplyOfTheProjectionChangesNothing(t *testing.T) {
	d := native(t)
	want, err := ygot.DeepCopy(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := apply(project(d), d); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("apply(project(d)) changed d:\n%+v", d.Ntp)
	}
}

func TestApplyEditsOnlyWhatTheViewMaps(t *testing.T) {
	d := native(t)
	old := d.Ntp.UnicastPeer[peerKey{Address: "192.0.2.1", VpnInstance: "_public_"}]
	v := project(d)
	e := entry(t, v, ipv4, "192.0.2.1", "::", typePeer, "_public_")
	e.IsPreferred, e.IfName, e.KeyId = ptr(false), ptr("Vlanif10"), ptr("7")
	v.Ntp.NtpUCastCfgs.DeleteNtpUCastCfg(ipv4, "198.51.100.7", "::", typeServer, "_public_")
	nv, err := v.Ntp.NtpUCastCfgs.NewNtpUCastCfg(ipv6, "0.0.0.0", "fd00::5", typeServer, "_public_")
	if err != nil {
		t.Fatal(err)
	}
	nv.IsPreferred, nv.IfName, nv.KeyId = ptr(true), ptr("loopback0"), ptr("")
	if err := apply(v, d); err != nil {
		t.Fatal(err)
	}
	p := d.Ntp.UnicastPeer[peerKey{Address: "192.0.2.1", VpnInstance: "_public_"}]
	if p.Preferred != nil || p.GetSourceInterface() != "vlanif10" || p.GetAuthenticationKeyid() != 7 || p.GetMinpoll() != 4 || p.GetMaxpoll() != 8 {
		t.Fatalf("updated peer: %+v", p)
	}
	if old.GetSourceInterface() != "40ge1_0_22" || !old.GetPreferred() {
		t.Fatal("apply changed the entry of the tree it was given instead of a copy")
	}
	if _, ok := d.Ntp.UnicastPeer[peerKey{Address: "ntp.example.net", VpnInstance: "_public_"}]; !ok {
		t.Fatal("the domain-name peer, which the view does not show, was deleted")
	}
	if _, ok := d.Ntp.UnicastServer[gen.NtpagentNtp_Ntp_UnicastServer_Key{Address: "198.51.100.7", VpnInstance: "_public_"}]; ok {
		t.Fatal("the server deleted from the view is still there")
	}
	s := d.Ntp.UnicastServer[gen.NtpagentNtp_Ntp_UnicastServer_Key{Address: "fd00::5", VpnInstance: "_public_"}]
	if s == nil || !s.GetPreferred() || s.GetSourceInterface() != "loopback0" || s.AuthenticationKeyid != nil || s.Minpoll != nil {
		t.Fatalf("new server: %+v", s)
	}
}

func TestApplyRefusesBadEntriesNamingTheViewPath(t *testing.T) {
	for _, tc := range []struct {
		rule    string
		af      hw.E_NtpagentHuaweiVrp_Ntp_NtpUCastCfgs_NtpUCastCfg_AddrFamily
		v4, v6  string
		ifName  string
		keyID   string
		path    string
		message string
	}{
		{"IPv4 entry with an IPv6 address beside it", ipv4, "192.0.2.9", "fd00::1", "", "", "/vrp:ipv6Addr", "must be ::"},
		{"IPv6 entry with an IPv4 address beside it", ipv6, "192.0.2.9", "fd00::1", "", "", "/vrp:ipv4Addr", "must be 0.0.0.0"},
		{"IPv6 entry with an IPv4 address", ipv6, "0.0.0.0", "192.0.2.1", "", "", "/vrp:ipv6Addr", "is not an IPv6 address"},
		{"an IPv4-mapped IPv6 address is an IPv6 address (RFC 4291 section 2.5.5.2)", ipv6, "0.0.0.0", "::ffff:192.0.2.1", "", "", "", ""},
		{"IPv6 entry whose address is not one", ipv6, "0.0.0.0", "fd00::1::2", "", "", "/vrp:ipv6Addr", "is not an IPv6 address"},
		{"key id out of range", ipv4, "192.0.2.9", "::", "", "4294967296", "/vrp:keyId", "between 1 and 4294967295"},
		{"interface without a Linux name", ipv4, "192.0.2.9", "::", "Fabric-Port1/0/1", "", "/vrp:ifName", "longer than 15"},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			v := &hw.Device{}
			e, err := v.GetOrCreateNtp().GetOrCreateNtpUCastCfgs().NewNtpUCastCfg(tc.af, tc.v4, tc.v6, typePeer, "_public_")
			if err != nil {
				t.Fatal(err)
			}
			e.IfName, e.KeyId = ptr(tc.ifName), ptr(tc.keyID)
			d := native(t)
			err = apply(v, d)
			if tc.path == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var re *rpcerror.Error
			if err == nil || !errors.As(err, &re) || !strings.HasPrefix(re.Path, "/vrp:ntp/vrp:ntpUCastCfgs/vrp:ntpUCastCfg[") ||
				!strings.HasSuffix(re.Path, tc.path) || !strings.Contains(re.Message, tc.message) {
				t.Fatalf("got %#v", err)
			}
		})
	}
}

func TestViewPathNamesTheNodeOfANativeErrorPath(t *testing.T) {
	const entry4 = "/vrp:ntp/vrp:ntpUCastCfgs/vrp:ntpUCastCfg[vrp:addrFamily='IPv4'][vrp:ipv4Addr='192.0.2.1'][vrp:ipv6Addr='::'][vrp:type='Peer'][vrp:vpnName='_public_']"
	const entry6 = "/vrp:ntp/vrp:ntpUCastCfgs/vrp:ntpUCastCfg[vrp:addrFamily='IPv6'][vrp:ipv4Addr='0.0.0.0'][vrp:ipv6Addr='fd00::1'][vrp:type='Server'][vrp:vpnName=\"it's\"]"
	for _, tc := range []struct{ rule, native, view string }{
		{"the entry", rules.PeerPath("192.0.2.1", "_public_", ""), entry4},
		{"address is the family's address leaf", rules.PeerPath("192.0.2.1", "_public_", "address"), entry4 + "/vrp:ipv4Addr"},
		{"preferred is isPreferred", rules.PeerPath("192.0.2.1", "_public_", "preferred"), entry4 + "/vrp:isPreferred"},
		{"authentication-keyid is keyId (a key that is not configured)", rules.ServerPath("fd00::1", "it's", "authentication-keyid"), entry6 + "/vrp:keyId"},
		{"source-interface is ifName", rules.PeerPath("192.0.2.1", "_public_", "source-interface"), entry4 + "/vrp:ifName"},
		{"a leaf the view does not map names its entry", rules.ServerPath("fd00::1", "it's", "minpoll"), entry6},
		{"a domain-name entry has no place in the view", rules.PeerPath("ntp.example.net", "_public_", "preferred"), ""},
		{"nor has a key", rules.KeyPath(32, "mode"), ""},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			if got := viewPath(tc.native); got != tc.view {
				t.Fatalf("viewPath(%s)\n got %s\nwant %s", tc.native, got, tc.view)
			}
		})
	}
}
