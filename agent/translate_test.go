package agent

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/ntpengine"
	"github.com/ntpagent/ntpagent/ntpengine/auth"
)

func noNames(name, _ string) (netip.Addr, string) { return netip.Addr{}, "resolving " + name }

// Every leaf of the configuration reaches the engine's Config.
func TestTranslateCarriesEveryLeaf(t *testing.T) {
	t.Parallel()
	kc, err := rules.NewKeyCipher(make([]byte, rules.DeviceKeySize))
	if err != nil {
		t.Fatal(err)
	}
	root := &gen.Device{}
	ntp := root.GetOrCreateNtp()
	u := ntp.GetOrCreateUnsync()
	u.MaxPollInterval, u.DecStep = ptr(uint8(8)), ptr(uint8(2))
	au := ntp.GetOrCreateAuthentication()
	au.Enable = ptr(true)
	k1 := au.GetOrCreateKey(1)
	k1.Mode, k1.KeyValue, k1.Trusted = gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5, ptr(kc.Seal("secret-one")), ptr(true)
	k2 := au.GetOrCreateKey(2)
	k2.Mode, k2.KeyValue = gen.NtpagentNtp_Ntp_Authentication_Key_Mode_aes_128_cmac, ptr(kc.Seal("000102030405060708090a0b0c0d0e0f"))
	si := ntp.GetOrCreateSourceInterface(gen.NtpagentNtp_AddressFamily_ipv4)
	si.Interface, si.VpnInstance = ptr("eth9"), ptr("_public_")
	p := ntp.GetOrCreateUnicastPeer("198.18.0.1", "_public_")
	p.Port, p.Version, p.AuthenticationKeyid = ptr(uint16(1123)), ptr(uint8(3)), ptr(uint32(1))
	p.Minpoll, p.Maxpoll, p.Preferred, p.Preempt = ptr(uint8(4)), ptr(uint8(9)), ptr(true), ptr(true)
	p.Iburst, p.Burst = ptr(true), ptr(true)
	ntp.AllowUnauthenticatedPassivePeers = ptr(true)
	q := ntp.GetOrCreateUnicastPeer("fd00::1", "blue")
	q.Iburst = ptr(true)
	q.SourceInterface = ptr("eth7")
	ntp.GetOrCreateUnicastPeer("peer.example", "_public_")
	sv := ntp.GetOrCreateUnicastServer("198.18.0.9", "red")
	sv.Port, sv.Version, sv.AuthenticationKeyid = ptr(uint16(1124)), ptr(uint8(3)), ptr(uint32(2))
	sv.Minpoll, sv.Maxpoll, sv.Preferred, sv.Preempt = ptr(uint8(5)), ptr(uint8(7)), ptr(true), ptr(true)
	sv.Iburst, sv.Burst, sv.SourceInterface = ptr(true), ptr(true), ptr("eth5")
	ntp.GetOrCreateUnicastServer("fd00::9", "_public_")

	pl := translate(root, ntpengine.Config{MaxEphemeral: 3}, noNames, kc)
	c := pl.engine
	if c.UnsyncMaxPoll != 8 || c.UnsyncDecStep != 2 || !c.AuthEnabled || c.MaxEphemeral != 3 || !c.AllowUnauthenticatedPassive {
		t.Errorf("globals: %+v", c)
	}
	wantKeys := []auth.Key{
		{ID: 1, Mode: auth.MD5, Secret: []byte("secret-one"), Trusted: true},
		{ID: 2, Mode: auth.AES128CMAC, Secret: []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
	}
	if !reflect.DeepEqual(c.Keys, wantKeys) {
		t.Errorf("keys %+v, want %+v", c.Keys, wantKeys)
	}
	want := []ntpengine.PeerConfig{
		{Key: "peer 198.18.0.1 vpn _public_", Address: netip.MustParseAddrPort("198.18.0.1:1123"), VPN: "_public_",
			Version: 3, KeyID: 1, MinPoll: 4, MaxPoll: 9, Prefer: true, Preempt: true, IBurst: true, Burst: true, SourceInterface: "eth9"},
		{Key: "peer fd00::1 vpn blue", Address: netip.MustParseAddrPort("[fd00::1]:123"), VPN: "blue",
			Version: 4, MinPoll: 6, MaxPoll: 10, IBurst: true, SourceInterface: "eth7"},
		// Servers are client associations (RFC 5905 mode 3).
		{Key: "server 198.18.0.9 vpn red", Address: netip.MustParseAddrPort("198.18.0.9:1124"), VPN: "red", Mode: ntpengine.AssocClient,
			Version: 3, KeyID: 2, MinPoll: 5, MaxPoll: 7, Prefer: true, Preempt: true, IBurst: true, Burst: true, SourceInterface: "eth5"},
		{Key: "server fd00::9 vpn _public_", Address: netip.MustParseAddrPort("[fd00::9]:123"), VPN: "_public_", Mode: ntpengine.AssocClient,
			Version: 4, MinPoll: 6, MaxPoll: 10},
	}
	if !reflect.DeepEqual(c.Peers, want) {
		t.Errorf("peers\n%+v\nwant\n%+v", c.Peers, want)
	}
	if len(pl.peers) != 5 {
		t.Fatalf("%d planned peers and servers, want 5", len(pl.peers))
	}
	for _, pp := range pl.peers {
		if pp.address == "peer.example" && (pp.blocked != "resolving peer.example" || pp.kind != rules.Domain) {
			t.Errorf("unresolved domain peer: %+v", pp)
		}
	}
	if err := c.Validate(); err != nil {
		t.Errorf("the translated configuration does not validate: %v", err)
	}
}

// A resolved domain peer runs at its address, with the global
// source-interface of that address's family; a damaged key blocks only the
// peers that use it.
func TestTranslateDomainAndBadKey(t *testing.T) {
	t.Parallel()
	root := config(true, []key{{7, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_sha1, "%^%#garbage%^%#", true}},
		peer{address: "peer.example", port: 2000},
		peer{address: "198.18.0.2", key: 7})
	si := root.GetNtp().GetOrCreateSourceInterface(gen.NtpagentNtp_AddressFamily_ipv6)
	si.Interface, si.VpnInstance = ptr("eth6"), ptr("_public_")
	pl := translate(root, ntpengine.Config{}, func(string, string) (netip.Addr, string) { return netip.MustParseAddr("fd00::9"), "" }, nil)
	if len(pl.engine.Peers) != 1 {
		t.Fatalf("engine peers %+v, want only the domain peer", pl.engine.Peers)
	}
	p := pl.engine.Peers[0]
	if p.Address != netip.MustParseAddrPort("[fd00::9]:2000") || p.SourceInterface != "eth6" || p.Version != 4 {
		t.Errorf("domain peer %+v", p)
	}
	for _, pp := range pl.peers {
		if pp.address == "198.18.0.2" && !strings.Contains(pp.blocked, "authentication key 7") {
			t.Errorf("peer with a damaged key: blocked %q", pp.blocked)
		}
	}
	if len(pl.engine.Keys) != 0 {
		t.Errorf("a damaged key reached the engine: %+v", pl.engine.Keys)
	}
}

// A peer the engine refuses on its own is dropped with the engine's reason;
// the others stay. A configuration wrong as a whole drops no peer.
func TestDropRefusedPeers(t *testing.T) {
	good := ntpengine.PeerConfig{Key: "peer 127.0.0.1 vpn _public_", Address: netip.MustParseAddrPort("127.0.0.1:123"), Mode: ntpengine.AssocSymmetric}
	bad := ntpengine.PeerConfig{Key: "peer x.test vpn _public_", Address: netip.MustParseAddrPort("0.0.0.0:123"), Mode: ntpengine.AssocSymmetric}
	p := plan{peers: []peerPlan{{key: good.Key}, {key: bad.Key}}}
	cfg := ntpengine.Config{Peers: []ntpengine.PeerConfig{good, bad}}
	if cfg.Validate() == nil {
		t.Fatal("the engine accepts a peer at 0.0.0.0; the test needs another refused peer")
	}
	out, n := dropRefusedPeers(&p, cfg)
	if n != 1 || len(out.Peers) != 1 || out.Peers[0].Key != good.Key || out.Validate() != nil {
		t.Errorf("dropped %d, kept %+v", n, out.Peers)
	}
	if p.peers[0].blocked != "" || !strings.Contains(p.peers[1].blocked, "not accepted by the NTP engine") {
		t.Errorf("blocked: %q, %q", p.peers[0].blocked, p.peers[1].blocked)
	}
	whole := cfg
	whole.UnsyncMaxPoll = 6 // without its dec-step
	p2 := plan{peers: []peerPlan{{key: good.Key}, {key: bad.Key}}}
	if _, n := dropRefusedPeers(&p2, whole); n != 0 || p2.peers[0].blocked != "" {
		t.Errorf("a configuration wrong as a whole dropped %d peers", n)
	}
}

// A link-local IPv6 peer runs only with a source-interface, which says on
// which link it is (RFC 4007 §6); without one it shows why.
func TestTranslateLinkLocalNeedsSourceInterface(t *testing.T) {
	t.Parallel()
	root := config(false, nil, peer{address: "fe80::1"}, peer{address: "fe80::2", sourceInterface: "eth1"})
	pl := translate(root, ntpengine.Config{}, noNames, nil)
	if len(pl.engine.Peers) != 1 || pl.engine.Peers[0].Address.Addr() != netip.MustParseAddr("fe80::2") || pl.engine.Peers[0].SourceInterface != "eth1" {
		t.Fatalf("engine peers %+v, want only fe80::2 on eth1", pl.engine.Peers)
	}
	for _, pp := range pl.peers {
		if pp.address == "fe80::1" && !strings.Contains(pp.blocked, "source-interface") {
			t.Errorf("link-local peer without a source-interface: blocked %q", pp.blocked)
		}
	}
}

// Start bursts, bursts and the selection of unauthenticated passive peers
// are off unless configured (the leaves' YANG defaults).
func TestTranslateBurstsAndUnauthenticatedPassiveOffByDefault(t *testing.T) {
	t.Parallel()
	pl := translate(config(false, nil, peer{address: "198.18.0.7"}), ntpengine.Config{}, noNames, nil)
	if len(pl.engine.Peers) != 1 {
		t.Fatalf("engine peers %+v", pl.engine.Peers)
	}
	if p := pl.engine.Peers[0]; p.IBurst || p.Burst {
		t.Errorf("peer without iburst/burst: IBurst %v Burst %v", p.IBurst, p.Burst)
	}
	if pl.engine.AllowUnauthenticatedPassive {
		t.Error("AllowUnauthenticatedPassive without the leaf")
	}
}

// Every reason the engine gives has its YANG enum value, of the same name,
// and the status shows it only while unsynchronized.
func TestUnsyncReasonHasItsYANGEnum(t *testing.T) {
	t.Parallel()
	for _, r := range []ntpengine.UnsyncReason{
		ntpengine.UnsyncNoSources, ntpengine.UnsyncUnreachable, ntpengine.UnsyncSourcesUnsynchronized,
		ntpengine.UnsyncAcquiring, ntpengine.UnsyncDistance, ntpengine.UnsyncUnauthenticated,
		ntpengine.UnsyncTimingLoop, ntpengine.UnsyncNoMajority, ntpengine.UnsyncPanic,
	} {
		e, ok := unsyncReason(r)
		if !ok || e.String() != string(r) {
			t.Errorf("%q: enum %v %v", r, e, ok)
		}
		a := &Agent{}
		if st := a.status(ntpengine.Status{UnsyncReason: r}); st.UnsyncReason != e {
			t.Errorf("%q: status unsync-reason %v", r, st.UnsyncReason)
		}
		if st := a.status(ntpengine.Status{Synchronized: true, UnsyncReason: r}); st.UnsyncReason != gen.NtpagentNtp_UnsyncReason_UNSET {
			t.Errorf("%q shown while synchronized", r)
		}
	}
	if _, ok := unsyncReason("no-such-reason"); ok {
		t.Error("an unknown reason maps to an enum value")
	}
}

// A server is planned as a client association under a key of its own: a
// peer and a server of one address in two vpn-instances are two
// associations, and an unresolved server name is planned, blocked, in
// client mode (its session shows as a client's).
func TestTranslateServersAreClientAssociations(t *testing.T) {
	t.Parallel()
	root := config(false, nil,
		peer{address: "198.18.0.7"},
		peer{address: "198.18.0.7", vpn: "blue", server: true, iburst: true},
		peer{address: "time.example", server: true})
	pl := translate(root, ntpengine.Config{}, noNames, nil)
	if len(pl.engine.Peers) != 2 {
		t.Fatalf("engine associations %+v, want the peer and the resolved server", pl.engine.Peers)
	}
	byKey := map[string]ntpengine.PeerConfig{}
	for _, p := range pl.engine.Peers {
		byKey[p.Key] = p
	}
	if p, ok := byKey["peer 198.18.0.7 vpn _public_"]; !ok || p.Mode != ntpengine.AssocSymmetric {
		t.Errorf("the peer: %+v", p)
	}
	if s, ok := byKey["server 198.18.0.7 vpn blue"]; !ok || s.Mode != ntpengine.AssocClient || !s.IBurst || s.VPN != "blue" {
		t.Errorf("the server: %+v", s)
	}
	var found bool
	for _, pp := range pl.peers {
		if pp.address == "time.example" {
			found = true
			if pp.mode != ntpengine.AssocClient || pp.key != "server time.example vpn _public_" || pp.blocked == "" {
				t.Errorf("unresolved server: %+v", pp)
			}
		}
	}
	if !found {
		t.Error("the unresolved server is not planned")
	}
	if err := pl.engine.Validate(); err != nil {
		t.Errorf("the translated configuration does not validate: %v", err)
	}
}
