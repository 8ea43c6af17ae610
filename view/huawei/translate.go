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

// associationList is the ntpagent-ntp list of an entry's type.
func associationList(t hw.E_NtpagentHuaweiVrp_Ntp_NtpUCastCfgs_NtpUCastCfg_Type) rules.AssociationList {
	if t == typeServer {
		return rules.UnicastServer
	}
	return rules.UnicastPeer
}

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
	list := v.GetOrCreateNtp().GetOrCreateNtpUCastCfgs()
	add := func(t hw.E_NtpagentHuaweiVrp_Ntp_NtpUCastCfgs_NtpUCastCfg_Type, p *peer) {
		af, ok := inView(p.GetAddress())
		if !ok {
			return
		}
		v4, v6 := unspecified4, unspecified6
		if af == ipv4 {
			v4 = p.GetAddress()
		} else {
			v6 = p.GetAddress()
		}
		e := list.GetOrCreateNtpUCastCfg(af, v4, v6, t, p.GetVpnInstance())
		e.IfName = ptr("")
		if p.SourceInterface != nil {
			e.IfName = ptr(VRPInterfaceName(*p.SourceInterface))
		}
		e.KeyId = ptr("")
		if p.AuthenticationKeyid != nil {
			e.KeyId = ptr(strconv.FormatUint(uint64(*p.AuthenticationKeyid), 10))
		}
		e.IsPreferred = ptr(p.GetPreferred())
	}
	for _, p := range n.UnicastPeer {
		add(typePeer, p)
	}
	for _, s := range n.UnicastServer {
		add(typeServer, rules.ServerAsPeer(s))
	}
	return v
}

// apply makes the peers and servers of d that have a place in the view
// (IP addresses) those of v: entries missing from v are deleted, the others
// created or updated. Only the leaves the view maps change; an entry's
// other options (minpoll, port, ...) and the domain-name entries stay as
// they are. The error names the view's path.
func apply(v *hw.Device, d *gen.Device) error {
	want := map[rules.AssociationList]map[peerKey]*ucastCfg{
		rules.UnicastPeer:   {},
		rules.UnicastServer: {},
	}
	var entries map[ucastCfgKey]*ucastCfg
	if l := v.GetNtp().GetNtpUCastCfgs(); l != nil {
		entries = l.NtpUCastCfg
	}
	for k, e := range entries {
		address, err := entryAddress(k)
		if err != nil {
			return err
		}
		if e.Type != k.Type || e.AddrFamily != k.AddrFamily || e.GetIpv4Addr() != k.Ipv4Addr || e.GetIpv6Addr() != k.Ipv6Addr || e.GetVpnName() != k.VpnName {
			return rpcerror.New(rpcerror.TagInvalidValue, entryPath(k, ""), "The key leaves of the entry do not match its list key.")
		}
		want[associationList(k.Type)][peerKey{Address: address, VpnInstance: k.VpnName}] = e
	}
	var n *gen.NtpagentNtp_Ntp
	if d.Ntp != nil {
		c := *d.Ntp // the lists are replaced below; d's container may be shared
		n = &c
	} else {
		n = &gen.NtpagentNtp_Ntp{}
	}
	d.Ntp = n
	peers := map[peerKey]*peer{}
	for k, p := range n.UnicastPeer {
		peers[k] = p
	}
	servers := map[peerKey]*peer{}
	for k, s := range n.UnicastServer {
		servers[peerKey(k)] = rules.ServerAsPeer(s)
	}
	for list, have := range map[rules.AssociationList]map[peerKey]*peer{rules.UnicastPeer: peers, rules.UnicastServer: servers} {
		for k := range have {
			if _, ok := inView(k.Address); ok && want[list][k] == nil {
				delete(have, k)
			}
		}
		for k, e := range want[list] {
			p, err := updated(have[k], k, e)
			if err != nil {
				return err
			}
			have[k] = p
		}
	}
	n.UnicastPeer = nil
	if len(peers) > 0 {
		n.UnicastPeer = peers
	}
	n.UnicastServer = nil
	for k, p := range servers {
		if n.UnicastServer == nil {
			n.UnicastServer = map[gen.NtpagentNtp_Ntp_UnicastServer_Key]*gen.NtpagentNtp_Ntp_UnicastServer{}
		}
		n.UnicastServer[gen.NtpagentNtp_Ntp_UnicastServer_Key(k)] = (*gen.NtpagentNtp_Ntp_UnicastServer)(p)
	}
	return nil
}

// updated returns old (nil for a new entry) with the leaves the view maps
// set from e. Old is never changed (stored trees share entries); when e
// says what old already means, old itself is returned, so that a client
// writing back what it read changes nothing, down to which leaves are set.
func updated(old *peer, k peerKey, e *ucastCfg) (*peer, error) {
	key := entryKey(e)
	var keyid *uint32
	if id := e.GetKeyId(); id != "" {
		n, err := strconv.ParseUint(id, 10, 32)
		if err != nil || n == 0 {
			return nil, rpcerror.New(rpcerror.TagInvalidValue, entryPath(key, "keyId"), "The key ID %s is not between 1 and 4294967295.", id)
		}
		keyid = ptr(uint32(n))
	}
	var ifname *string
	if name := e.GetIfName(); name != "" {
		linux, err := LinuxInterfaceName(name)
		if err != nil {
			return nil, rpcerror.New(rpcerror.TagInvalidValue, entryPath(key, "ifName"), "%s", err.Error())
		}
		ifname = ptr(linux)
	}
	pref := e.GetIsPreferred()
	if old != nil && eq(old.AuthenticationKeyid, keyid) && eq(old.SourceInterface, ifname) && old.GetPreferred() == pref {
		return old, nil
	}
	p := &peer{Address: ptr(k.Address), VpnInstance: ptr(k.VpnInstance)}
	if old != nil {
		c := *old
		p = &c
	}
	p.AuthenticationKeyid, p.SourceInterface = keyid, ifname
	if pref != p.GetPreferred() {
		// Unset is false; only true is written.
		p.Preferred = nil
		if pref {
			p.Preferred = ptr(true)
		}
	}
	return p, nil
}

// eq compares two optional values.
func eq[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
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
