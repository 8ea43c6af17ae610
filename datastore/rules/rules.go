package rules

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/internal/vpninstance"
)

// Option adjusts a validation.
type Option func(*options)

type options struct {
	localPrefixes func() []netip.Prefix
	keys          *KeyCipher
}

// WithKeyCipher sets the device's key cipher, with which key values in
// cipher form are opened and checked against their mode. Without it only
// plain key values are checked.
func WithKeyCipher(c *KeyCipher) Option {
	return func(o *options) { o.keys = c }
}

// WithLocalPrefixes sets the subnets of the device's interfaces, whose
// broadcast addresses are not host addresses (rule 1). By default they are
// read from the host's interfaces.
func WithLocalPrefixes(fn func() []netip.Prefix) Option {
	return func(o *options) { o.localPrefixes = fn }
}

// HostPrefixes returns the IP prefixes of the host's interfaces.
func HostPrefixes() []netip.Prefix {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if p, err := netip.ParsePrefix(n.String()); err == nil {
				out = append(out, p)
			}
		}
	}
	return out
}

func buildOptions(opts []Option) options {
	o := options{localPrefixes: HostPrefixes}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// must-violation is the error-app-tag of RFC 7950 §15.4; instance-required
// that of §15.5.
const (
	appTagMust     = "must-violation"
	appTagInstance = "instance-required"
)

// Validate checks a configuration tree completely: the YANG types, lengths,
// ranges and patterns of every configuration leaf (with keyed instance
// paths), then the product rules of Check (mandatory leaves, must and leafref
// semantics, host addresses, keys). It returns nil or an rpcerror.List.
func Validate(root *gen.Device, opts ...Option) error {
	var errs rpcerror.List
	errs = append(errs, checkSchema(root)...)
	if err := Check(root, opts...); err != nil {
		errs = append(errs, rpcerror.All(err)...)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// Check enforces the product rules that YANG types do not:
// host addresses (rule 1), key references (rule 3), minpoll ≤ maxpoll and
// max-poll-interval with dec-step (rule 4), IPv6 peers and servers at
// version 4, an address as a peer or a server but not both,
// mandatory leaves, key values that fit their algorithm, and local users'
// authorized keys. It returns nil or an rpcerror.List, in a stable order.
func Check(root *gen.Device, opts ...Option) error {
	o := buildOptions(opts)
	var errs rpcerror.List
	add := func(tag rpcerror.Tag, appTag, path, format string, args ...any) {
		e := rpcerror.New(tag, path, format, args...)
		e.AppTag = appTag
		errs = append(errs, e)
	}
	checkUsers(root.GetSystem(), add)
	checkNacm(root.GetNacm(), add)
	ntp := root.GetNtp()
	if ntp == nil {
		return errsOrNil(errs)
	}

	// Rule 4, second half (the command takes both values).
	if u := ntp.GetUnsync(); u != nil {
		switch {
		case u.MaxPollInterval != nil && u.DecStep == nil:
			add(rpcerror.TagOperationFailed, appTagMust, UnsyncPath("max-poll-interval"), "max-poll-interval and dec-step must be configured together.")
		case u.MaxPollInterval == nil && u.DecStep != nil:
			add(rpcerror.TagOperationFailed, appTagMust, UnsyncPath("dec-step"), "max-poll-interval and dec-step must be configured together.")
		}
	}

	for _, af := range sortedKeys(ntp.SourceInterface) {
		si := ntp.SourceInterface[af]
		if si.Interface == nil {
			add(rpcerror.TagDataMissing, "", fmt.Sprintf("/ntpa:ntp/ntpa:source-interface[ntpa:address-family='%s']/ntpa:interface", familyName(af)),
				"The %s source interface names no interface.", familyName(af))
		}
	}

	var keys map[uint32]*gen.NtpagentNtp_Ntp_Authentication_Key
	if a := ntp.GetAuthentication(); a != nil {
		keys = a.Key
		for _, id := range sortedKeys(a.Key) {
			k := a.Key[id]
			if k.Mode == gen.NtpagentNtp_Ntp_Authentication_Key_Mode_UNSET {
				add(rpcerror.TagDataMissing, "", KeyPath(id, "mode"), "Authentication key %d has no authentication mode.", id)
			}
			if k.KeyValue == nil {
				add(rpcerror.TagDataMissing, "", KeyPath(id, "key-value"), "Authentication key %d has no key value.", id)
				continue
			}
			plain, err := o.keys.Open(*k.KeyValue)
			if err != nil {
				if o.keys != nil {
					add(rpcerror.TagInvalidValue, "", KeyPath(id, "key-value"), "%s", ForeignCipherMessage(id))
				}
				continue
			}
			if k.Mode != gen.NtpagentNtp_Ntp_Authentication_Key_Mode_UNSET {
				if _, err := KeyBytes(modeName(k.Mode), plain); err != nil {
					add(rpcerror.TagInvalidValue, "", KeyPath(id, "key-value"), "Authentication key %d is not valid: %s.", id, err)
				}
			}
		}
	}

	var prefixes []netip.Prefix
	if len(ntp.UnicastPeer)+len(ntp.UnicastServer) > 0 && o.localPrefixes != nil {
		prefixes = o.localPrefixes()
	}
	for _, k := range sortedPeerKeys(ntp.UnicastPeer) {
		checkAssociation(UnicastPeer, k, ntp.UnicastPeer[k], keys, prefixes, add)
	}
	servers := make(map[gen.NtpagentNtp_Ntp_UnicastPeer_Key]*gen.NtpagentNtp_Ntp_UnicastPeer, len(ntp.UnicastServer))
	for k, v := range ntp.UnicastServer {
		servers[gen.NtpagentNtp_Ntp_UnicastPeer_Key(k)] = ServerAsPeer(v)
	}
	for _, k := range sortedPeerKeys(servers) {
		checkAssociation(UnicastServer, k, servers[k], keys, prefixes, add)
		// One address in one vpn-instance is one association on the wire
		// (RFC 5905 §9: an association is found by the remote address),
		// and one session in the operational state: a peer or a server.
		if _, ok := ntp.UnicastPeer[k]; ok {
			add(rpcerror.TagOperationFailed, "", ServerPath(k.Address, k.VpnInstance, ""),
				"%s in VPN instance %s is already a unicast peer: an address is configured as a peer or as a server, not both.", k.Address, k.VpnInstance)
		}
	}
	return errsOrNil(errs)
}

// checkAssociation applies the rules of a configured association (a peer or
// a server, whose leaves are the same) to the entry k of list.
func checkAssociation(list AssociationList, k gen.NtpagentNtp_Ntp_UnicastPeer_Key, p *gen.NtpagentNtp_Ntp_UnicastPeer,
	keys map[uint32]*gen.NtpagentNtp_Ntp_Authentication_Key, prefixes []netip.Prefix,
	add func(tag rpcerror.Tag, appTag, path, format string, args ...any)) {
	path := func(leaf string) string { return list.Path(k.Address, k.VpnInstance, leaf) }
	// Rule 1: a host address.
	if err := list.CheckHostAddress(k.Address, prefixes); err != nil {
		add(rpcerror.TagInvalidValue, "", path("address"), "%s", err)
	}
	kind, _ := ClassifyAddress(k.Address)
	if kind == IPv6 && p.Version != nil && *p.Version != 4 {
		add(rpcerror.TagOperationFailed, appTagMust, path("version"), "An IPv6 %s uses NTP version 4.", list.role())
	}
	if p.GetMinpoll() > p.GetMaxpoll() {
		add(rpcerror.TagOperationFailed, appTagMust, path("minpoll"),
			"minpoll must not be greater than maxpoll (minpoll %d, maxpoll %d).", p.GetMinpoll(), p.GetMaxpoll())
	}
	// Rule 3: the key must exist (RFC 7950 §15.5 for the leafref).
	if p.AuthenticationKeyid != nil {
		if _, ok := keys[*p.AuthenticationKeyid]; !ok {
			add(rpcerror.TagDataMissing, appTagInstance, path("authentication-keyid"),
				"Authentication key %d is not configured.", *p.AuthenticationKeyid)
		}
	}
}

func errsOrNil(errs rpcerror.List) error {
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// EffectiveSourceInterface resolves rule 2: the source interface of packets
// to peer is the peer's own source-interface when set (fromPeer true),
// otherwise the global source interface of the peer's address family when
// its vpn-instance is the peer's, otherwise none (""). For a domain peer the
// family is that of resolved; with no resolved address only the peer's own
// setting applies.
func EffectiveSourceInterface(root *gen.Device, peer *gen.NtpagentNtp_Ntp_UnicastPeer, resolved netip.Addr) (ifname string, fromPeer bool) {
	if peer == nil {
		return "", false
	}
	if peer.SourceInterface != nil {
		return *peer.SourceInterface, true
	}
	kind, a := ClassifyAddress(peer.GetAddress())
	if kind == Domain {
		a = resolved
	}
	if !a.IsValid() {
		return "", false
	}
	af := gen.NtpagentNtp_AddressFamily_ipv4
	if !a.Unmap().Is4() {
		af = gen.NtpagentNtp_AddressFamily_ipv6
	}
	si := root.GetNtp().GetSourceInterface(af)
	if si == nil || si.GetInterface() == "" {
		return "", false
	}
	vpn := peer.GetVpnInstance()
	if vpn == "" {
		vpn = vpninstance.Public
	}
	if si.GetVpnInstance() != vpn {
		return "", false
	}
	return si.GetInterface(), false
}

func familyName(af gen.E_NtpagentNtp_AddressFamily) string {
	if af == gen.NtpagentNtp_AddressFamily_ipv6 {
		return "ipv6"
	}
	return "ipv4"
}

func modeName(m gen.E_NtpagentNtp_Ntp_Authentication_Key_Mode) string {
	return gen.ΛEnum["E_NtpagentNtp_Ntp_Authentication_Key_Mode"][int64(m)].Name
}

func sortedKeys[K ~uint32 | ~int64 | ~string, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func sortedPeerKeys(m map[gen.NtpagentNtp_Ntp_UnicastPeer_Key]*gen.NtpagentNtp_Ntp_UnicastPeer) []gen.NtpagentNtp_Ntp_UnicastPeer_Key {
	ks := make([]gen.NtpagentNtp_Ntp_UnicastPeer_Key, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b gen.NtpagentNtp_Ntp_UnicastPeer_Key) int {
		if c := strings.Compare(a.Address, b.Address); c != 0 {
			return c
		}
		return strings.Compare(a.VpnInstance, b.VpnInstance)
	})
	return ks
}
