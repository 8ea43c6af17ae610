package ocsys

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	oc "github.com/ntpagent/ntpagent/gen/openconfig"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/internal/vpninstance"
	"github.com/ntpagent/ntpagent/server/netconf/xmlcodec"
)

// Module is the module of the view's data; its deviations are in
// ntpagent-openconfig-deviations.
const Module = "openconfig-system"

// View is the OpenConfig view. Its zero value is not usable: use New.
type View struct {
	schema func() (*xmlcodec.Schema, error)
}

// New returns the OpenConfig view. Its codec schema is built at the first
// use and shared by every View.
func New() *View { return &View{schema: loadSchema} }

var loadSchema = sync.OnceValues(func() (*xmlcodec.Schema, error) { // built once, read only after
	return xmlcodec.NewSchema(xmlcodec.Model{Root: &oc.Device{}, Modules: []string{Module}})
})

// Name names the view in logs and benchmarks.
func (*View) Name() string { return Module }

// Schema is the codec's table for openconfig-system on gen/openconfig. It
// panics if the generated package does not fit the module, which the
// package's tests rule out.
func (v *View) Schema() *xmlcodec.Schema {
	s, err := v.schema()
	if err != nil {
		panic(fmt.Sprintf("ocsys: %v", err))
	}
	return s
}

// Path prefixes of the view's error paths (the module's own prefix).
const (
	ntpPath     = "/oc-sys:system/oc-sys:ntp"
	serversPath = ntpPath + "/oc-sys:servers/oc-sys:server"
	keysPath    = ntpPath + "/oc-sys:ntp-keys/oc-sys:ntp-key"
)

// ServerPath is the view's path of a server entry, or of a leaf of its
// config when leaf is not empty.
func ServerPath(address, leaf string) string {
	p := serversPath + "[oc-sys:address=" + quote(address) + "]"
	if leaf != "" {
		p += "/oc-sys:config/oc-sys:" + leaf
	}
	return p
}

// KeyPath is the view's path of an NTP key, or of a leaf of its config.
func KeyPath(id uint16, leaf string) string {
	p := fmt.Sprintf("%s[oc-sys:key-id='%d']", keysPath, id)
	if leaf != "" {
		p += "/oc-sys:config/oc-sys:" + leaf
	}
	return p
}

// quote renders a key value as an XPath 1.0 literal.
func quote(v string) string {
	if strings.Contains(v, "'") {
		return `"` + v + `"`
	}
	return "'" + v + "'"
}

// keyTypes pairs the native MAC algorithms with the view's key types.
var keyTypes = []struct {
	native gen.E_NtpagentNtp_Ntp_Authentication_Key_Mode
	view   oc.E_OpenconfigSystem_NTP_AUTH_TYPE
}{
	{gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5, oc.OpenconfigSystem_NTP_AUTH_TYPE_NTP_AUTH_MD5},
	{gen.NtpagentNtp_Ntp_Authentication_Key_Mode_sha1, oc.OpenconfigSystem_NTP_AUTH_TYPE_NTP_AUTH_SHA1},
	{gen.NtpagentNtp_Ntp_Authentication_Key_Mode_hmac_sha256, oc.OpenconfigSystem_NTP_AUTH_TYPE_NTP_AUTH_HMAC_SHA256},
	{gen.NtpagentNtp_Ntp_Authentication_Key_Mode_aes_128_cmac, oc.OpenconfigSystem_NTP_AUTH_TYPE_NTP_AUTH_AES_128_CMAC},
	{gen.NtpagentNtp_Ntp_Authentication_Key_Mode_aes_256_cmac, oc.OpenconfigSystem_NTP_AUTH_TYPE_NTP_AUTH_AES_256_CMAC},
}

// maxKeyID is the largest key id the view can name (key-id is a uint16).
const maxKeyID = 1<<16 - 1

// Project returns the view of native: its configuration, and its state
// when native holds state.
func (*View) Project(native *gen.Device) ygot.GoStruct {
	d := &oc.Device{}
	n := native.GetNtp()
	if n == nil {
		return d
	}
	ntp := d.GetOrCreateSystem().GetOrCreateNtp()
	if a := n.GetAuthentication(); a != nil && a.Enable != nil {
		ntp.GetOrCreateConfig().EnableNtpAuth = ygot.Bool(*a.Enable)
	}
	for id, k := range nativeKeys(n) {
		if id > maxKeyID {
			continue
		}
		c := ntp.GetOrCreateNtpKeys().GetOrCreateNtpKey(uint16(id)).GetOrCreateConfig()
		c.KeyId = ygot.Uint16(uint16(id))
		c.KeyValue = k.KeyValue
		for _, t := range keyTypes {
			if t.native == k.Mode {
				c.KeyType = t.view
			}
		}
	}
	if len(n.UnicastServer)+len(n.UnicastPeer) > 0 {
		ntp.GetOrCreateServers().Server = make(map[string]*oc.OpenconfigSystem_System_Ntp_Servers_Server, len(n.UnicastServer)+len(n.UnicastPeer))
	}
	for k, s := range nativeServers(n) {
		if k.VpnInstance == vpninstance.Public {
			projectServer(ntp, (*gen.NtpagentNtp_Ntp_UnicastPeer)(s), oc.OpenconfigSystem_System_Ntp_Servers_Server_Config_AssociationType_SERVER)
		}
	}
	for k, p := range nativePeers(n) {
		if k.VpnInstance == vpninstance.Public {
			projectServer(ntp, p, oc.OpenconfigSystem_System_Ntp_Servers_Server_Config_AssociationType_PEER)
		}
	}
	if n.Status != nil || n.Statistics != nil || n.Sessions != nil {
		projectState(ntp, n)
	}
	return d
}

// projectServer adds an association of the public VPN instance as a
// server of the view. An association's unicast-peer and unicast-server
// structs are one grouping, so a server is handled as a peer.
func projectServer(ntp *oc.OpenconfigSystem_System_Ntp, a *gen.NtpagentNtp_Ntp_UnicastPeer, typ oc.E_OpenconfigSystem_System_Ntp_Servers_Server_Config_AssociationType) {
	c := ntp.GetOrCreateServers().GetOrCreateServer(a.GetAddress()).GetOrCreateConfig()
	c.Address = ygot.String(a.GetAddress())
	c.AssociationType = typ
	c.Port = a.Port
	c.Version = a.Version
	c.Iburst = a.Iburst
	c.Prefer = a.Preferred
}

// projectState fills the view's state from the native state: the
// effective configuration of each server and key, and the counters and
// measurements of the associations (RFC 5905 section 9).
func projectState(ntp *oc.OpenconfigSystem_System_Ntp, n *gen.NtpagentNtp_Ntp) {
	st := ntp.GetOrCreateState()
	st.Enabled = ygot.Bool(true)
	st.EnableNtpAuth = ygot.Bool(n.GetAuthentication().GetEnable())
	if n.Statistics != nil {
		st.AuthMismatch = n.Statistics.AuthenticationFailures
	}
	for id, k := range viewKeys(ntp) {
		k.GetOrCreateState().KeyId = ygot.Uint16(id)
		k.State.KeyType = k.GetConfig().KeyType
	}
	for addr, s := range viewServers(ntp) {
		c := s.GetConfig()
		ss := s.GetOrCreateState()
		ss.Address = ygot.String(addr)
		ss.AssociationType = c.AssociationType
		ss.Port = ygot.Uint16(c.GetPort())
		ss.Version = ygot.Uint8(c.GetVersion())
		ss.Iburst = ygot.Bool(c.GetIburst())
		ss.Prefer = ygot.Bool(c.GetPrefer())
		a := n.GetSessions().GetSession(addr, vpninstance.Public, c.GetPort())
		if a == nil {
			continue
		}
		ss.Stratum = a.Stratum
		ss.Offset = a.Offset
		ss.RootDelay = a.Delay
		ss.RootDispersion = a.Dispersion
		if a.Poll != nil && *a.Poll >= 0 && *a.Poll < 32 {
			ss.PollInterval = ygot.Uint32(1 << *a.Poll)
		}
	}
}

// Apply puts the view's tree back into native: the enable-ntp-auth leaf,
// the keys whose ids the view can name, and the associations of the public
// VPN instance take the view's content; the rest of native is kept. A tree
// native cannot hold is an error naming the view's node, and native is
// left as it was.
func (*View) Apply(native *gen.Device, vt ygot.GoStruct) error {
	d, ok := vt.(*oc.Device)
	if !ok {
		return fmt.Errorf("ocsys: Apply takes a *openconfig.Device, not %T", vt)
	}
	ntp := d.GetSystem().GetNtp()
	cfg := ntp.GetConfig()
	if cfg != nil && cfg.Enabled != nil && !*cfg.Enabled {
		// The deviation's must statement (RFC 7950 section 15.4).
		return &rpcerror.Error{Type: rpcerror.TypeApplication, Tag: rpcerror.TagOperationFailed, AppTag: "must-violation",
			Path:    ntpPath + "/oc-sys:config/oc-sys:enabled",
			Message: "The NTP service of this device cannot be disabled; delete its servers instead."}
	}
	if ntp == nil && native.Ntp == nil {
		return nil
	}
	n := native.GetNtp()
	keys, err := applyKeys(n, viewKeys(ntp))
	if err != nil {
		return err
	}
	peers, clients, err := applyServers(n, viewServers(ntp))
	if err != nil {
		return err
	}
	n = native.GetOrCreateNtp()
	n.UnicastPeer, n.UnicastServer = peers, clients
	var enable *bool
	if cfg != nil {
		enable = cfg.EnableNtpAuth
	}
	if enable != nil || keys != nil || n.Authentication != nil {
		a := n.GetOrCreateAuthentication()
		a.Enable, a.Key = enable, keys
	}
	return nil
}

// applyKeys returns the native keys for the view's: the native keys with
// ids above maxKeyID, and the view's keys, each keeping what the view has
// no leaf for (trust) from the native key of its id.
func applyKeys(n *gen.NtpagentNtp_Ntp, keys map[uint16]*oc.OpenconfigSystem_System_Ntp_NtpKeys_NtpKey) (map[uint32]*gen.NtpagentNtp_Ntp_Authentication_Key, error) {
	old := nativeKeys(n)
	next := map[uint32]*gen.NtpagentNtp_Ntp_Authentication_Key{}
	for id, k := range old {
		if id > maxKeyID {
			next[id] = k
		}
	}
	for id, k := range keys {
		c := k.GetConfig()
		if c.KeyId != nil && *c.KeyId != id {
			return nil, rpcerror.New(rpcerror.TagInvalidValue, KeyPath(id, "key-id"),
				"The key-id %d of config differs from the entry's key-id %d.", *c.KeyId, id)
		}
		nk := &gen.NtpagentNtp_Ntp_Authentication_Key{KeyId: ygot.Uint32(uint32(id)), Trusted: ygot.Bool(true)}
		if prev, ok := old[uint32(id)]; ok {
			cp := *prev
			nk = &cp
		}
		nk.KeyValue = c.KeyValue
		if c.KeyType != oc.OpenconfigSystem_NTP_AUTH_TYPE_UNSET {
			nk.Mode = gen.NtpagentNtp_Ntp_Authentication_Key_Mode_UNSET
			for _, t := range keyTypes {
				if t.view == c.KeyType {
					nk.Mode = t.native
				}
			}
		}
		if nk.Mode == gen.NtpagentNtp_Ntp_Authentication_Key_Mode_UNSET {
			return nil, rpcerror.New(rpcerror.TagDataMissing, KeyPath(id, "key-type"),
				"Key %d needs a key-type: the MAC algorithm of the key.", id)
		}
		next[uint32(id)] = nk
	}
	if len(next) == 0 {
		return nil, nil
	}
	return next, nil
}

// applyServers returns the native associations for the view's servers:
// those of other VPN instances as they are, and one per server of the
// view in the public VPN instance, in the list of its association-type.
// An entry keeps what the view cannot say from the association of its
// address, whichever list it was in.
func applyServers(n *gen.NtpagentNtp_Ntp, servers map[string]*oc.OpenconfigSystem_System_Ntp_Servers_Server) (
	map[gen.NtpagentNtp_Ntp_UnicastPeer_Key]*gen.NtpagentNtp_Ntp_UnicastPeer,
	map[gen.NtpagentNtp_Ntp_UnicastServer_Key]*gen.NtpagentNtp_Ntp_UnicastServer, error) {
	// Sized for the common edit, which moves no association between lists.
	peers := make(map[gen.NtpagentNtp_Ntp_UnicastPeer_Key]*gen.NtpagentNtp_Ntp_UnicastPeer, len(nativePeers(n)))
	clients := make(map[gen.NtpagentNtp_Ntp_UnicastServer_Key]*gen.NtpagentNtp_Ntp_UnicastServer, len(nativeServers(n)))
	for k, p := range nativePeers(n) {
		if k.VpnInstance != vpninstance.Public {
			peers[k] = p
		}
	}
	for k, s := range nativeServers(n) {
		if k.VpnInstance != vpninstance.Public {
			clients[k] = s
		}
	}
	for addr, s := range servers {
		c := s.GetConfig()
		if c.Address != nil && *c.Address != addr {
			return nil, nil, rpcerror.New(rpcerror.TagInvalidValue, ServerPath(addr, "address"),
				"The address %s of config differs from the entry's address %s.", *c.Address, addr)
		}
		a := &gen.NtpagentNtp_Ntp_UnicastPeer{}
		if p := n.GetUnicastPeer(addr, vpninstance.Public); p != nil {
			*a = *p
		} else if p := n.GetUnicastServer(addr, vpninstance.Public); p != nil {
			*a = gen.NtpagentNtp_Ntp_UnicastPeer(*p)
		}
		a.Address = ygot.String(addr)
		a.VpnInstance = ygot.String(vpninstance.Public)
		a.Port, a.Version, a.Iburst, a.Preferred = c.Port, c.Version, c.Iburst, c.Prefer
		switch c.AssociationType {
		case oc.OpenconfigSystem_System_Ntp_Servers_Server_Config_AssociationType_PEER:
			peers[gen.NtpagentNtp_Ntp_UnicastPeer_Key{Address: addr, VpnInstance: vpninstance.Public}] = a
		case oc.OpenconfigSystem_System_Ntp_Servers_Server_Config_AssociationType_POOL:
			return nil, nil, &rpcerror.Error{Type: rpcerror.TypeApplication, Tag: rpcerror.TagOperationFailed, AppTag: "must-violation",
				Path:    ServerPath(addr, "association-type"),
				Message: "This device has no NTP pool associations: use SERVER or PEER."}
		default: // SERVER, the default of association-type
			clients[gen.NtpagentNtp_Ntp_UnicastServer_Key{Address: addr, VpnInstance: vpninstance.Public}] = (*gen.NtpagentNtp_Ntp_UnicastServer)(a)
		}
	}
	if len(peers) == 0 {
		peers = nil
	}
	if len(clients) == 0 {
		clients = nil
	}
	return peers, clients, nil
}

// nativeKeys, nativePeers, nativeServers, viewKeys and viewServers are the
// lists of the trees, nil when their parents are absent.
func nativeKeys(n *gen.NtpagentNtp_Ntp) map[uint32]*gen.NtpagentNtp_Ntp_Authentication_Key {
	if n.GetAuthentication() == nil {
		return nil
	}
	return n.Authentication.Key
}

func nativePeers(n *gen.NtpagentNtp_Ntp) map[gen.NtpagentNtp_Ntp_UnicastPeer_Key]*gen.NtpagentNtp_Ntp_UnicastPeer {
	if n == nil {
		return nil
	}
	return n.UnicastPeer
}

func nativeServers(n *gen.NtpagentNtp_Ntp) map[gen.NtpagentNtp_Ntp_UnicastServer_Key]*gen.NtpagentNtp_Ntp_UnicastServer {
	if n == nil {
		return nil
	}
	return n.UnicastServer
}

func viewKeys(ntp *oc.OpenconfigSystem_System_Ntp) map[uint16]*oc.OpenconfigSystem_System_Ntp_NtpKeys_NtpKey {
	if ntp.GetNtpKeys() == nil {
		return nil
	}
	return ntp.NtpKeys.NtpKey
}

func viewServers(ntp *oc.OpenconfigSystem_System_Ntp) map[string]*oc.OpenconfigSystem_System_Ntp_Servers_Server {
	if ntp.GetServers() == nil {
		return nil
	}
	return ntp.Servers.Server
}

// nativePath matches the native paths the view has a place for: an
// association, a key, or the authentication switch, with the leaf after.
var nativePath = regexp.MustCompile(`^/ntpa:ntp/ntpa:(?:` +
	`(unicast-peer|unicast-server)\[ntpa:address=(?:'([^']*)'|"([^"]*)")\]\[ntpa:vpn-instance=(?:'([^']*)'|"([^"]*)")\]` +
	`|authentication/ntpa:key\[ntpa:key-id=(?:'(\d+)'|"(\d+)")\]` +
	`|authentication/ntpa:(enable))` +
	`(?:/ntpa:([a-z-]+))?$`)

// serverLeaves and keyLeaves map native leaves to the view's; a native
// leaf the view has none for is named by its entry.
var (
	serverLeaves = map[string]string{"address": "address", "port": "port", "version": "version", "iburst": "iburst", "preferred": "prefer"}
	keyLeaves    = map[string]string{"key-id": "key-id", "key-value": "key-value", "mode": "key-type"}
)

// Path names in the view the node at a native path; "" when the node has
// no place in the view (another VPN instance, a key id above 65535, a
// native-only container).
func (*View) Path(native string) string {
	m := nativePath.FindStringSubmatch(native)
	if m == nil {
		return ""
	}
	leaf := m[9]
	switch {
	case m[1] != "":
		if vpn := m[4] + m[5]; vpn != vpninstance.Public {
			return ""
		}
		return ServerPath(m[2]+m[3], serverLeaves[leaf])
	case m[6]+m[7] != "":
		var id uint32
		fmt.Sscan(m[6]+m[7], &id)
		if id > maxKeyID {
			return ""
		}
		return KeyPath(uint16(id), keyLeaves[leaf])
	case m[8] != "" && leaf == "":
		return ntpPath + "/oc-sys:config/oc-sys:enable-ntp-auth"
	}
	return ""
}
