package huawei

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	hw "github.com/ntpagent/ntpagent/gen/huawei"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// Names of the view's generated types, shortened.
type (
	ucastCfg    = hw.NtpagentHuaweiVrp_Ntp_NtpUCastCfgs_NtpUCastCfg
	ucastCfgKey = hw.NtpagentHuaweiVrp_Ntp_NtpUCastCfgs_NtpUCastCfg_Key
	peer        = gen.NtpagentNtp_Ntp_UnicastPeer
	peerKey     = gen.NtpagentNtp_Ntp_UnicastPeer_Key
	server      = gen.NtpagentNtp_Ntp_UnicastServer
	serverKey   = gen.NtpagentNtp_Ntp_UnicastServer_Key
)

const (
	ipv4 = hw.NtpagentHuaweiVrp_Ntp_NtpUCastCfgs_NtpUCastCfg_AddrFamily_IPv4
	ipv6 = hw.NtpagentHuaweiVrp_Ntp_NtpUCastCfgs_NtpUCastCfg_AddrFamily_IPv6

	typeServer = hw.NtpagentHuaweiVrp_Ntp_NtpUCastCfgs_NtpUCastCfg_Type_Server
	typePeer   = hw.NtpagentHuaweiVrp_Ntp_NtpUCastCfgs_NtpUCastCfg_Type_Peer

	// The other family's address leaf of an entry holds the unspecified
	// address of that family, as VRP's clients send it.
	unspecified4 = "0.0.0.0"
	unspecified6 = "::"
)

// inView reports whether a native association address has a place in the
// view: ntpUCastCfg holds IPv4 and IPv6 addresses, not domain names.
func inView(address string) (hw.E_NtpagentHuaweiVrp_Ntp_NtpUCastCfgs_NtpUCastCfg_AddrFamily, bool) {
	switch kind, _ := rules.ClassifyAddress(address); kind {
	case rules.IPv4:
		return ipv4, true
	case rules.IPv6:
		return ipv6, true
	}
	return 0, false
}

// entrySlab holds an entry and its leaf values in one allocation; project
// makes one slab for all the entries, so that 1,000 peers cost a few
// allocations instead of several thousand.
type entrySlab struct {
	e                   ucastCfg
	v4, v6, vpn, ifName string
	keyID               string
	preferred           bool
}

// project returns the view of a native configuration: one ntpUCastCfg for
// each unicast peer and server with an IP address. Every leaf a VRP client
// reads is set; ifName and keyId are empty when not configured, as VRP
// answers.
func project(d *gen.Device) *hw.Device {
	v := &hw.Device{}
	n := d.GetNtp()
	if n == nil || (len(n.UnicastPeer) == 0 && len(n.UnicastServer) == 0) {
		return v
	}
	entries := make(map[ucastCfgKey]*ucastCfg, len(n.UnicastPeer)+len(n.UnicastServer))
	slab := make([]entrySlab, len(n.UnicastPeer)+len(n.UnicastServer))
	i := 0
	add := func(t hw.E_NtpagentHuaweiVrp_Ntp_NtpUCastCfgs_NtpUCastCfg_Type, p *peer) {
		af, ok := inView(p.GetAddress())
		if !ok {
			return
		}
		s := &slab[i]
		i++
		s.v4, s.v6, s.vpn = unspecified4, unspecified6, p.GetVpnInstance()
		if af == ipv4 {
			s.v4 = p.GetAddress()
		} else {
			s.v6 = p.GetAddress()
		}
		if p.SourceInterface != nil {
			s.ifName = VRPInterfaceName(*p.SourceInterface)
		}
		if p.AuthenticationKeyid != nil {
			s.keyID = strconv.FormatUint(uint64(*p.AuthenticationKeyid), 10)
		}
		s.preferred = p.GetPreferred()
		s.e = ucastCfg{AddrFamily: af, Type: t, Ipv4Addr: &s.v4, Ipv6Addr: &s.v6, VpnName: &s.vpn,
			IfName: &s.ifName, KeyId: &s.keyID, IsPreferred: &s.preferred}
		entries[entryKey(&s.e)] = &s.e
	}
	for _, p := range n.UnicastPeer {
		add(typePeer, p)
	}
	for _, s := range n.UnicastServer {
		add(typeServer, rules.ServerAsPeer(s))
	}
	if len(entries) > 0 {
		v.Ntp = &hw.NtpagentHuaweiVrp_Ntp{NtpUCastCfgs: &hw.NtpagentHuaweiVrp_Ntp_NtpUCastCfgs{NtpUCastCfg: entries}}
	}
	return v
}

// apply makes the peers and servers of d that have a place in the view
// (IP addresses) those of v: entries missing from v are deleted, the others
// created or updated. Only the leaves the view maps change; an entry's
// other options (minpoll, port, ...) and the domain-name entries stay as
// they are. The error names the view's path.
func apply(v *hw.Device, d *gen.Device) error {
	var entries map[ucastCfgKey]*ucastCfg
	if l := v.GetNtp().GetNtpUCastCfgs(); l != nil {
		entries = l.NtpUCastCfg
	}
	var n *gen.NtpagentNtp_Ntp
	if d.Ntp != nil {
		c := *d.Ntp // the lists are replaced below; d's container may be shared
		n = &c
	} else {
		n = &gen.NtpagentNtp_Ntp{}
	}
	peers := make(map[peerKey]*peer, len(entries))
	servers := make(map[serverKey]*server)
	// What the view does not show stays.
	for k, p := range n.UnicastPeer {
		if _, ok := inView(k.Address); !ok {
			peers[k] = p
		}
	}
	for k, s := range n.UnicastServer {
		if _, ok := inView(k.Address); !ok {
			servers[k] = s
		}
	}
	for vk, e := range entries {
		if e.Type != vk.Type || e.AddrFamily != vk.AddrFamily || e.GetIpv4Addr() != vk.Ipv4Addr || e.GetIpv6Addr() != vk.Ipv6Addr || e.GetVpnName() != vk.VpnName {
			return rpcerror.New(rpcerror.TagInvalidValue, entryPath(vk, ""), "The key leaves of the entry do not match its list key.")
		}
		address, err := entryAddress(vk)
		if err != nil {
			return err
		}
		k := peerKey{Address: address, VpnInstance: vk.VpnName}
		if vk.Type == typeServer {
			p, err := updated((*peer)(n.UnicastServer[serverKey(k)]), k, e)
			if err != nil {
				return err
			}
			servers[serverKey(k)] = (*server)(p)
			continue
		}
		p, err := updated(n.UnicastPeer[k], k, e)
		if err != nil {
			return err
		}
		peers[k] = p
	}
	n.UnicastPeer, n.UnicastServer = nil, nil
	if len(peers) > 0 {
		n.UnicastPeer = peers
	}
	if len(servers) > 0 {
		n.UnicastServer = servers
	}
	d.Ntp = n
	return nil
}

// updated returns old (nil for a new entry) with the leaves the view maps
// set from e. Old is never changed (stored trees share entries); when e
// says what old already means, old itself is returned, so that a client
// writing back what it read changes nothing, down to which leaves are set.
func updated(old *peer, k peerKey, e *ucastCfg) (*peer, error) {
	var keyid uint32
	if id := e.GetKeyId(); id != "" {
		n, err := strconv.ParseUint(id, 10, 32)
		if err != nil || n == 0 {
			return nil, rpcerror.New(rpcerror.TagInvalidValue, entryPath(entryKey(e), "keyId"), "The key ID %s is not between 1 and 4294967295.", id)
		}
		keyid = uint32(n)
	}
	var ifname string
	if name := e.GetIfName(); name != "" {
		linux, err := LinuxInterfaceName(name)
		if err != nil {
			return nil, rpcerror.New(rpcerror.TagInvalidValue, entryPath(entryKey(e), "ifName"), "%s", err.Error())
		}
		ifname = linux
	}
	pref := e.GetIsPreferred()
	if old != nil && old.GetAuthenticationKeyid() == keyid && (old.AuthenticationKeyid == nil) == (keyid == 0) &&
		old.GetSourceInterface() == ifname && (old.SourceInterface == nil) == (ifname == "") && old.GetPreferred() == pref {
		return old, nil
	}
	p := &peer{Address: ptr(k.Address), VpnInstance: ptr(k.VpnInstance)}
	if old != nil {
		c := *old
		p = &c
	}
	p.AuthenticationKeyid, p.SourceInterface = nil, nil
	if keyid != 0 {
		p.AuthenticationKeyid = ptr(keyid)
	}
	if ifname != "" {
		p.SourceInterface = ptr(ifname)
	}
	if pref != p.GetPreferred() {
		// Unset is false; only true is written.
		p.Preferred = nil
		if pref {
			p.Preferred = ptr(true)
		}
	}
	return p, nil
}

// entryKey is the list key of an entry.
func entryKey(e *ucastCfg) ucastCfgKey {
	return ucastCfgKey{AddrFamily: e.AddrFamily, Ipv4Addr: e.GetIpv4Addr(), Ipv6Addr: e.GetIpv6Addr(), Type: e.Type, VpnName: e.GetVpnName()}
}

// entryAddress is the native address of an entry: its family's address
// leaf, spelled as given; the other family's leaf must be unspecified.
func entryAddress(k ucastCfgKey) (string, error) {
	addr, other, otherLeaf, otherWant := k.Ipv4Addr, k.Ipv6Addr, "ipv6Addr", unspecified6
	leaf := "ipv4Addr"
	if k.AddrFamily == ipv6 {
		addr, other, otherLeaf, otherWant, leaf = k.Ipv6Addr, k.Ipv4Addr, "ipv4Addr", unspecified4, "ipv6Addr"
	}
	if a, err := netip.ParseAddr(other); err != nil || a.String() != otherWant {
		return "", rpcerror.New(rpcerror.TagInvalidValue, entryPath(k, otherLeaf), "%s of an %s entry must be %s.", otherLeaf, k.AddrFamily, otherWant)
	}
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" || a.Is4() != (k.AddrFamily == ipv4) {
		return "", rpcerror.New(rpcerror.TagInvalidValue, entryPath(k, leaf), "%s is not an %s address.", addr, k.AddrFamily)
	}
	return addr, nil
}

// entryPath is the instance path of an entry of the view, or of its leaf.
func entryPath(k ucastCfgKey, leaf string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "/vrp:ntp/vrp:ntpUCastCfgs/vrp:ntpUCastCfg[vrp:addrFamily='%s'][vrp:ipv4Addr='%s'][vrp:ipv6Addr='%s'][vrp:type='%s'][vrp:vpnName=%s]",
		k.AddrFamily, k.Ipv4Addr, k.Ipv6Addr, k.Type, quote(k.VpnName))
	if leaf != "" {
		b.WriteString("/vrp:" + leaf)
	}
	return b.String()
}

// quote renders a key value as an XPath 1.0 literal.
func quote(v string) string {
	if !strings.Contains(v, "'") {
		return "'" + v + "'"
	}
	return `"` + v + `"`
}

func ptr[T any](v T) *T { return &v }

// viewLeaf names, for each leaf of a native association the view maps,
// the view's leaf; the key leaf address is ipv4Addr or ipv6Addr.
var viewLeaf = map[string]string{
	"vpn-instance":         "vpnName",
	"source-interface":     "ifName",
	"preferred":            "isPreferred",
	"authentication-keyid": "keyId",
}

// viewPath names in the view the node at a native error-path: an entry of
// /ntp/unicast-peer or /ntp/unicast-server with an IP address, or one of
// its leaves. A leaf the view does not map names its entry; "" for a node
// with no place in the view.
func viewPath(native string) string {
	var typ hw.E_NtpagentHuaweiVrp_Ntp_NtpUCastCfgs_NtpUCastCfg_Type
	rest, ok := strings.CutPrefix(native, "/ntpa:ntp/ntpa:unicast-peer[")
	typ = typePeer
	if !ok {
		if rest, ok = strings.CutPrefix(native, "/ntpa:ntp/ntpa:unicast-server["); !ok {
			return ""
		}
		typ = typeServer
	}
	address, rest, ok := cutPredicate(rest, "ntpa:address=")
	if !ok {
		return ""
	}
	vpn, rest, ok := cutPredicate(strings.TrimPrefix(rest, "["), "ntpa:vpn-instance=")
	if !ok {
		return ""
	}
	af, ok := inView(address)
	if !ok {
		return ""
	}
	k := ucastCfgKey{AddrFamily: af, Ipv4Addr: unspecified4, Ipv6Addr: unspecified6, Type: typ, VpnName: vpn}
	addrLeaf := "ipv4Addr"
	if af == ipv4 {
		k.Ipv4Addr = address
	} else {
		k.Ipv6Addr, addrLeaf = address, "ipv6Addr"
	}
	switch leaf := strings.TrimPrefix(rest, "/ntpa:"); {
	case leaf == "address":
		return entryPath(k, addrLeaf)
	case viewLeaf[leaf] != "":
		return entryPath(k, viewLeaf[leaf])
	}
	return entryPath(k, "")
}

// cutPredicate reads `NAME='value']` or `NAME="value"]` (an XPath 1.0
// literal) at the start of s and returns the value and what follows.
func cutPredicate(s, name string) (value, rest string, ok bool) {
	s, ok = strings.CutPrefix(s, name)
	if !ok || s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 || !strings.HasPrefix(s[1+end+1:], "]") {
		return "", "", false
	}
	return s[1 : 1+end], s[1+end+2:], true
}
