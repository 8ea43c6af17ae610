package ocsys_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	oc "github.com/ntpagent/ntpagent/gen/openconfig"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/server/netconf/xmlcodec"
	"github.com/ntpagent/ntpagent/view/ocsys"
)

const (
	serverType = oc.OpenconfigSystem_System_Ntp_Servers_Server_Config_AssociationType_SERVER
	peerType   = oc.OpenconfigSystem_System_Ntp_Servers_Server_Config_AssociationType_PEER
	poolType   = oc.OpenconfigSystem_System_Ntp_Servers_Server_Config_AssociationType_POOL
)

// device is a native configuration with every kind of entry the view
// meets: a server and a peer of the public VPN instance with options the
// view has and options it has not, a peer in another VPN instance, a key
// the view can name and one it cannot.
func device(t *testing.T) *gen.Device {
	t.Helper()
	d := &gen.Device{}
	n := d.GetOrCreateNtp()
	s, err := n.NewUnicastServer("192.0.2.1", "_public_")
	if err != nil {
		t.Fatal(err)
	}
	s.Port, s.Iburst, s.Minpoll, s.Maxpoll = ygot.Uint16(1123), ygot.Bool(true), ygot.Uint8(4), ygot.Uint8(8)
	s.AuthenticationKeyid = ygot.Uint32(7)
	p, err := n.NewUnicastPeer("2001:db8::1", "_public_")
	if err != nil {
		t.Fatal(err)
	}
	p.Preferred, p.Version, p.SourceInterface, p.Preempt = ygot.Bool(true), ygot.Uint8(4), ygot.String("eth1"), ygot.Bool(true)
	if _, err := n.NewUnicastPeer("198.18.0.9", "blue"); err != nil {
		t.Fatal(err)
	}
	a := n.GetOrCreateAuthentication()
	a.Enable = ygot.Bool(true)
	k := a.GetOrCreateKey(7)
	k.Mode, k.KeyValue, k.Trusted = gen.NtpagentNtp_Ntp_Authentication_Key_Mode_hmac_sha256, ygot.String("%^%#secret%^%#"), ygot.Bool(false)
	big := a.GetOrCreateKey(70000)
	big.Mode, big.KeyValue = gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5, ygot.String("%^%#other%^%#")
	return d
}

func project(t *testing.T, d *gen.Device) *oc.Device {
	t.Helper()
	v, ok := ocsys.New().Project(d).(*oc.Device)
	if !ok {
		t.Fatalf("Project returned %T", v)
	}
	return v
}

// The view's servers are the public VPN instance's associations, with
// association-type saying which list each is in; its keys are those whose
// ids fit its uint16.
func TestProjectShowsPublicAssociationsAndNamableKeys(t *testing.T) {
	v := project(t, device(t))
	ntp := v.GetSystem().GetNtp()
	if got := ntp.GetConfig().GetEnableNtpAuth(); !got {
		t.Error("enable-ntp-auth is not /ntp/authentication/enable (true)")
	}
	if n := len(ntp.GetServers().Server); n != 2 {
		t.Fatalf("%d servers, want the 2 of _public_ (not the peer in vpn-instance blue): %v", n, ntp.GetServers().Server)
	}
	s := ntp.GetServers().GetServer("192.0.2.1").GetConfig()
	if s.GetAddress() != "192.0.2.1" || s.AssociationType != serverType || s.GetPort() != 1123 || !s.GetIburst() || s.GetPrefer() {
		t.Errorf("unicast server: %+v", s)
	}
	p := ntp.GetServers().GetServer("2001:db8::1").GetConfig()
	if p.AssociationType != peerType || !p.GetPrefer() || p.GetVersion() != 4 || p.Port != nil {
		t.Errorf("unicast peer: %+v (an unset port stays unset: its default is the view's too)", p)
	}
	if n := len(ntp.GetNtpKeys().NtpKey); n != 1 {
		t.Fatalf("%d keys, want 1 (key 70000 has no place in a uint16 key-id)", n)
	}
	k := ntp.GetNtpKeys().GetNtpKey(7).GetConfig()
	if k.GetKeyId() != 7 || k.KeyType != oc.OpenconfigSystem_NTP_AUTH_TYPE_NTP_AUTH_HMAC_SHA256 || k.GetKeyValue() != "%^%#secret%^%#" {
		t.Errorf("key 7: %+v", k)
	}
	if ntp.State != nil || ntp.GetServers().GetServer("192.0.2.1").State != nil {
		t.Error("state projected from a tree without state")
	}
}

// What the view does not change comes back unchanged: applying the
// projection itself changes nothing in native.
func TestApplyOfTheProjectionChangesNothing(t *testing.T) {
	for _, c := range []struct {
		name string
		d    func(*testing.T) *gen.Device
	}{
		{"full", device},
		{"empty", func(*testing.T) *gen.Device { return &gen.Device{} }},
		{"ntp without associations", func(*testing.T) *gen.Device {
			d := &gen.Device{}
			d.GetOrCreateNtp().GetOrCreateUnsync().DecStep = ygot.Uint8(2)
			return d
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := c.d(t)
			want, _ := ygot.DeepCopy(d)
			v := ocsys.New()
			if err := v.Apply(d, v.Project(d)); err != nil {
				t.Fatal(err)
			}
			diff, err := ygot.Diff(want, d)
			if err != nil {
				t.Fatal(err)
			}
			if len(diff.GetUpdate())+len(diff.GetDelete()) > 0 {
				t.Errorf("native changed: %v", diff)
			}
		})
	}
}

// An edit through the view changes what the view shows, keeps the rest of
// each association (a native option survives a change of
// association-type), and leaves other VPN instances and unnamable keys
// alone.
func TestApplyEditsThroughTheView(t *testing.T) {
	d := device(t)
	v := project(t, d)
	ntp := v.GetSystem().GetNtp()
	ntp.GetConfig().EnableNtpAuth = nil
	s := ntp.GetServers().GetServer("192.0.2.1").GetConfig()
	s.AssociationType, s.Prefer, s.Port = peerType, ygot.Bool(true), nil
	ntp.GetServers().DeleteServer("2001:db8::1")
	nc := ntp.GetServers().GetOrCreateServer("203.0.113.5").GetOrCreateConfig()
	nc.Address, nc.Iburst = ygot.String("203.0.113.5"), ygot.Bool(true)
	k := ntp.GetNtpKeys().GetOrCreateNtpKey(9).GetOrCreateConfig()
	k.KeyId, k.KeyType, k.KeyValue = ygot.Uint16(9), oc.OpenconfigSystem_NTP_AUTH_TYPE_NTP_AUTH_AES_128_CMAC, ygot.String("00112233445566778899aabbccddeeff")
	ntp.GetNtpKeys().GetNtpKey(7).GetConfig().KeyValue = ygot.String("plain-text")
	if err := ocsys.New().Apply(d, v); err != nil {
		t.Fatal(err)
	}
	n := d.Ntp
	if n.Authentication.Enable != nil {
		t.Error("enable-ntp-auth removed in the view, still set in native")
	}
	moved := n.GetUnicastPeer("192.0.2.1", "_public_")
	if moved == nil || n.GetUnicastServer("192.0.2.1", "_public_") != nil {
		t.Fatalf("SERVER → PEER did not move the association: peers %v servers %v", n.UnicastPeer, n.UnicastServer)
	}
	if moved.GetMinpoll() != 4 || moved.GetMaxpoll() != 8 || moved.GetAuthenticationKeyid() != 7 || !moved.GetIburst() || !moved.GetPreferred() || moved.Port != nil {
		t.Errorf("moved association: %+v (minpoll, maxpoll, key kept; prefer set; port back to default)", moved)
	}
	if n.GetUnicastPeer("2001:db8::1", "_public_") != nil {
		t.Error("a server deleted in the view is still configured")
	}
	if n.GetUnicastPeer("198.18.0.9", "blue") == nil {
		t.Error("the peer of vpn-instance blue, which the view does not show, was removed")
	}
	added := n.GetUnicastServer("203.0.113.5", "_public_")
	if added == nil || !added.GetIburst() || added.Minpoll != nil || added.AuthenticationKeyid != nil {
		t.Errorf("a server created in the view (association-type defaults to SERVER): %+v", added)
	}
	if k := n.Authentication.Key[9]; k == nil || k.Mode != gen.NtpagentNtp_Ntp_Authentication_Key_Mode_aes_128_cmac || !k.GetTrusted() {
		t.Errorf("a key created in the view is an AES-128-CMAC key, trusted: %+v", k)
	}
	if k := n.Authentication.Key[7]; k.GetKeyValue() != "plain-text" || k.GetTrusted() || k.Mode != gen.NtpagentNtp_Ntp_Authentication_Key_Mode_hmac_sha256 {
		t.Errorf("key 7 takes the new value and keeps its mode and trust: %+v", k)
	}
	if n.Authentication.Key[70000] == nil {
		t.Error("key 70000, which the view cannot name, was removed")
	}
}

// Deleting /system through the view removes everything the view shows and
// nothing else.
func TestApplyOfAnEmptyViewRemovesOnlyWhatTheViewShows(t *testing.T) {
	d := device(t)
	if err := ocsys.New().Apply(d, &oc.Device{}); err != nil {
		t.Fatal(err)
	}
	n := d.Ntp
	if len(n.UnicastServer) != 0 || len(n.UnicastPeer) != 1 || n.GetUnicastPeer("198.18.0.9", "blue") == nil {
		t.Errorf("associations left: peers %v servers %v, want only blue's", n.UnicastPeer, n.UnicastServer)
	}
	if len(n.Authentication.Key) != 1 || n.Authentication.Key[70000] == nil || n.Authentication.Enable != nil {
		t.Errorf("authentication left: %+v, want key 70000 only", n.Authentication)
	}
}

// What the device does not do is refused with the view's path, and native
// is left as it was (the deviations' must statements, RFC 7950 §15.4).
func TestApplyRefusesWhatTheDeviceDoesNotDo(t *testing.T) {
	for _, c := range []struct {
		name, path, msg string
		tag             rpcerror.Tag
		edit            func(*oc.OpenconfigSystem_System_Ntp)
	}{
		{"enabled false", "/oc-sys:system/oc-sys:ntp/oc-sys:config/oc-sys:enabled", "cannot be disabled", rpcerror.TagOperationFailed,
			func(n *oc.OpenconfigSystem_System_Ntp) { n.GetOrCreateConfig().Enabled = ygot.Bool(false) }},
		{"POOL", "/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server[oc-sys:address='192.0.2.1']/oc-sys:config/oc-sys:association-type",
			"no NTP pool", rpcerror.TagOperationFailed,
			func(n *oc.OpenconfigSystem_System_Ntp) {
				n.GetServers().GetServer("192.0.2.1").GetConfig().AssociationType = poolType
			}},
		{"new key without key-type", "/oc-sys:system/oc-sys:ntp/oc-sys:ntp-keys/oc-sys:ntp-key[oc-sys:key-id='5']/oc-sys:config/oc-sys:key-type",
			"needs a key-type", rpcerror.TagDataMissing,
			func(n *oc.OpenconfigSystem_System_Ntp) {
				n.GetNtpKeys().GetOrCreateNtpKey(5).GetOrCreateConfig().KeyValue = ygot.String("k")
			}},
		{"config address differs from the key", "/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server[oc-sys:address='192.0.2.1']/oc-sys:config/oc-sys:address",
			"differs", rpcerror.TagInvalidValue,
			func(n *oc.OpenconfigSystem_System_Ntp) {
				n.GetServers().GetServer("192.0.2.1").GetConfig().Address = ygot.String("192.0.2.2")
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := device(t)
			want, _ := ygot.DeepCopy(d)
			v := project(t, d)
			// A valid change beside the bad one must not be half applied.
			v.GetSystem().GetNtp().GetServers().DeleteServer("2001:db8::1")
			c.edit(v.GetSystem().GetNtp())
			err := ocsys.New().Apply(d, v)
			var re *rpcerror.Error
			if !errors.As(err, &re) || re.Path != c.path || re.Tag != c.tag || !strings.Contains(re.Message, c.msg) {
				t.Fatalf("Apply = %v, want %s at %s (%q)", err, c.tag, c.path, c.msg)
			}
			if diff, _ := ygot.Diff(want, d); len(diff.GetUpdate())+len(diff.GetDelete()) > 0 {
				t.Errorf("a refused edit changed native: %v", diff)
			}
		})
	}
}

// Errors the datastore finds on native nodes are named in the view when the
// node has a place there.
func TestPathNamesNativeNodesInTheView(t *testing.T) {
	v := ocsys.New()
	for _, c := range []struct{ native, want string }{
		{"/ntpa:ntp/ntpa:unicast-server[ntpa:address='255.255.255.255'][ntpa:vpn-instance='_public_']/ntpa:address",
			"/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server[oc-sys:address='255.255.255.255']/oc-sys:config/oc-sys:address"},
		{"/ntpa:ntp/ntpa:unicast-peer[ntpa:address='2001:db8::1'][ntpa:vpn-instance='_public_']/ntpa:version",
			"/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server[oc-sys:address='2001:db8::1']/oc-sys:config/oc-sys:version"},
		{"/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.0.0.1'][ntpa:vpn-instance='_public_']/ntpa:preferred",
			"/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server[oc-sys:address='10.0.0.1']/oc-sys:config/oc-sys:prefer"},
		{"/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.0.0.1'][ntpa:vpn-instance='_public_']/ntpa:authentication-keyid",
			"/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server[oc-sys:address='10.0.0.1']"},
		{"/ntpa:ntp/ntpa:unicast-server[ntpa:address='10.0.0.1'][ntpa:vpn-instance='_public_']",
			"/oc-sys:system/oc-sys:ntp/oc-sys:servers/oc-sys:server[oc-sys:address='10.0.0.1']"},
		{"/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.0.0.1'][ntpa:vpn-instance='blue']/ntpa:port", ""},
		{"/ntpa:ntp/ntpa:authentication/ntpa:key[ntpa:key-id='7']/ntpa:key-value",
			"/oc-sys:system/oc-sys:ntp/oc-sys:ntp-keys/oc-sys:ntp-key[oc-sys:key-id='7']/oc-sys:config/oc-sys:key-value"},
		{"/ntpa:ntp/ntpa:authentication/ntpa:key[ntpa:key-id='7']/ntpa:mode",
			"/oc-sys:system/oc-sys:ntp/oc-sys:ntp-keys/oc-sys:ntp-key[oc-sys:key-id='7']/oc-sys:config/oc-sys:key-type"},
		{"/ntpa:ntp/ntpa:authentication/ntpa:key[ntpa:key-id='70000']/ntpa:mode", ""},
		{"/ntpa:ntp/ntpa:authentication/ntpa:enable", "/oc-sys:system/oc-sys:ntp/oc-sys:config/oc-sys:enable-ntp-auth"},
		{"/ntpa:ntp/ntpa:unsync/ntpa:dec-step", ""},
		{"/ntps:system/ntps:sysname", ""},
	} {
		if got := v.Path(c.native); got != c.want {
			t.Errorf("Path(%s) = %q, want %q", c.native, got, c.want)
		}
	}
}

// RFC 5905 section 9: each server's state comes from its association; the
// offset keeps its sign and sub-millisecond digits (the deviation's
// decimal64), the poll exponent becomes seconds.
func TestProjectStateFromTheAssociations(t *testing.T) {
	d := device(t)
	n := d.Ntp
	n.GetOrCreateStatus().Stratum = ygot.Uint8(3)
	n.GetOrCreateStatistics().AuthenticationFailures = ygot.Uint64(11)
	s := n.GetOrCreateSessions().GetOrCreateSession("192.0.2.1", "_public_", 1123)
	s.Stratum, s.Offset, s.Delay, s.Dispersion, s.Poll = ygot.Uint8(2), ygot.Float64(-0.012345), ygot.Float64(0.25), ygot.Float64(0.031), ygot.Int8(6)
	// A session of the same address at another port is not the server's.
	n.GetOrCreateSessions().GetOrCreateSession("2001:db8::1", "_public_", 4123).Stratum = ygot.Uint8(9)
	ntp := project(t, d).GetSystem().GetNtp()
	st := ntp.GetState()
	if !st.GetEnabled() || !st.GetEnableNtpAuth() || st.GetAuthMismatch() != 11 {
		t.Errorf("/system/ntp/state: %+v", st)
	}
	ss := ntp.GetServers().GetServer("192.0.2.1").GetState()
	if ss.GetStratum() != 2 || ss.GetOffset() != -0.012345 || ss.GetRootDelay() != 0.25 || ss.GetRootDispersion() != 0.031 ||
		ss.GetPollInterval() != 64 || ss.GetPort() != 1123 || ss.AssociationType != serverType || !ss.GetIburst() {
		t.Errorf("server state: %+v", ss)
	}
	ps := ntp.GetServers().GetServer("2001:db8::1").GetState()
	if ps.Stratum != nil || ps.GetPort() != 123 || ps.GetVersion() != 4 || !ps.GetPrefer() {
		t.Errorf("peer state (effective configuration, no association at port 123): %+v", ps)
	}
	if ks := ntp.GetNtpKeys().GetNtpKey(7).GetState(); ks.GetKeyId() != 7 || ks.KeyType != oc.OpenconfigSystem_NTP_AUTH_TYPE_NTP_AUTH_HMAC_SHA256 || ks.KeyValue != nil {
		t.Errorf("key state (no key material): %+v", ks)
	}
}

// The codec's schema of the view maps openconfig-system onto gen/openconfig
// and writes the projection as openconfig-system XML.
func TestSchemaEncodesTheProjection(t *testing.T) {
	v := ocsys.New()
	sc := v.Schema()
	if ns := sc.Namespaces(); len(ns) != 1 || ns[0] != "http://openconfig.net/yang/system" {
		t.Fatalf("namespaces %v", ns)
	}
	b, err := sc.AppendEncode(nil, v.Project(device(t)), xmlcodec.EncodeOptions{ConfigOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, want := range []string{
		`<system xmlns="http://openconfig.net/yang/system"><ntp>`,
		`<server><address>192.0.2.1</address><config><address>192.0.2.1</address><port>1123</port>`,
		`<association-type>SERVER</association-type><iburst>true</iburst>`,
		`<association-type>PEER</association-type>`,
		`NTP_AUTH_HMAC_SHA256</key-type>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("encoded view lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "198.18.0.9") || strings.Contains(out, "<state>") {
		t.Errorf("encoded view shows another VPN instance or state in a config-only encode:\n%s", out)
	}
}

// peers1000 is a native tree of 1,000 unicast peers of the public VPN
// instance, as the benchmarks configure.
func peers1000(b *testing.B) *gen.Device {
	d := &gen.Device{}
	n := d.GetOrCreateNtp()
	for i := range 1000 {
		p, err := n.NewUnicastPeer(fmt.Sprintf("10.%d.%d.1", i/250, i%250), "_public_")
		if err != nil {
			b.Fatal(err)
		}
		p.Minpoll = ygot.Uint8(6)
	}
	return d
}

func BenchmarkProject1000(b *testing.B) {
	d, v := peers1000(b), ocsys.New()
	for b.Loop() {
		v.Project(d)
	}
}

func BenchmarkApply1000(b *testing.B) {
	d, v := peers1000(b), ocsys.New()
	p := v.Project(d)
	for b.Loop() {
		if err := v.Apply(d, p); err != nil {
			b.Fatal(err)
		}
	}
}
