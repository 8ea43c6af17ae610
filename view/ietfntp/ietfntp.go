package ietfntp

import (
	"encoding/binary"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	m "github.com/ntpagent/ntpagent/gen/ietfntp"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/internal/vpninstance"
	"github.com/ntpagent/ntpagent/server/netconf/xmlcodec"
)

// Namespace is ietf-ntp's.
const Namespace = "urn:ietf:params:xml:ns:yang:ietf-ntp"

// View is the ietf-ntp view; its zero value is not usable, New makes one.
type View struct{ schema *xmlcodec.Schema }

// loadSchema maps ietf-ntp onto gen/ietfntp once per process; the table
// is read-only.
var loadSchema = sync.OnceValues(func() (*xmlcodec.Schema, error) {
	return xmlcodec.NewSchema(xmlcodec.Model{
		Root:    &m.Device{},
		Modules: []string{"ietf-ntp"},
		Unions:  []any{m.UnionString(""), m.UnionUint8(0), m.UnionUint32(0)},
	})
})

// New returns the view.
func New() (*View, error) {
	s, err := loadSchema()
	if err != nil {
		return nil, fmt.Errorf("ietfntp: %w", err)
	}
	return &View{schema: s}, nil
}

// Name is the module's name.
func (*View) Name() string { return "ietf-ntp" }

// Schema maps ietf-ntp onto gen/ietfntp.
func (v *View) Schema() *xmlcodec.Schema { return v.schema }

// shown reports whether a configured server or peer of ntpagent-ntp has a
// place in ietf-ntp: the public vpn-instance (ietf-ntp has no routing
// instance) and an IP address (ietf-ntp's address is inet:ip-address).
func shown(address, vpn string) bool {
	if vpn != vpninstance.Public {
		return false
	}
	_, err := netip.ParseAddr(address)
	return err == nil
}

// Project returns the ietf-ntp tree of native.
func (v *View) Project(native *gen.Device) ygot.GoStruct {
	// /ntp is a presence container meaning "NTP is enabled"; the device
	// always runs NTP.
	out := &m.Device{Ntp: &m.IETFNtp_Ntp{}}
	n := native.GetNtp()
	if n == nil {
		return out
	}
	projectAuthentication(out.Ntp, n.Authentication)
	if len(n.UnicastPeer)+len(n.UnicastServer) > 0 {
		// One allocation for every entry: a list of 1,000 peers is
		// projected at each edit made through the view.
		slab := make([]ucSlab, 0, len(n.UnicastPeer)+len(n.UnicastServer))
		out.Ntp.UnicastConfiguration = make(map[m.IETFNtp_Ntp_UnicastConfiguration_Key]*m.IETFNtp_Ntp_UnicastConfiguration, cap(slab))
		for k, p := range n.UnicastPeer {
			if shown(k.Address, k.VpnInstance) {
				slab = projectAssociation(out.Ntp, slab, k.Address, m.IETFNtp_UnicastConfigurationType_uc_peer, p)
			}
		}
		for k, s := range n.UnicastServer {
			if shown(k.Address, k.VpnInstance) {
				slab = projectAssociation(out.Ntp, slab, k.Address, m.IETFNtp_UnicastConfigurationType_uc_server, (*gen.NtpagentNtp_Ntp_UnicastPeer)(s))
			}
		}
		if len(out.Ntp.UnicastConfiguration) == 0 {
			out.Ntp.UnicastConfiguration = nil
		}
	}
	projectAssociations(out.Ntp, n)
	projectClock(out.Ntp, n)
	projectStatistics(out.Ntp, n.Statistics)
	return out
}

func projectAuthentication(out *m.IETFNtp_Ntp, a *gen.NtpagentNtp_Ntp_Authentication) {
	if a == nil {
		return
	}
	oa := &m.IETFNtp_Ntp_Authentication{AuthEnabled: a.Enable}
	for id, k := range a.Key {
		ok := &m.IETFNtp_Ntp_Authentication_AuthenticationKeys{Keyid: ptr(id), Algorithm: algorithmOf(k.Mode), Istrusted: k.Trusted}
		if k.KeyValue != nil {
			// The value as the native model shows it: the device's cipher
			// form, never the key in clear; written back unchanged, it is
			// kept.
			ok.Key = &m.IETFNtp_Ntp_Authentication_AuthenticationKeys_Key{Keystring: ptr(*k.KeyValue)}
		}
		if oa.AuthenticationKeys == nil {
			oa.AuthenticationKeys = map[uint32]*m.IETFNtp_Ntp_Authentication_AuthenticationKeys{}
		}
		oa.AuthenticationKeys[id] = ok
	}
	if oa.AuthEnabled != nil || oa.AuthenticationKeys != nil {
		out.Authentication = oa
	}
}

// algorithmOf is the ietf-ntp identity of a native MAC mode. HMAC-SHA256
// has none: RFC 9249's hmac-sha-256 identity is not derived from
// crypto-algorithm, so such a key is shown without its algorithm.
func algorithmOf(mode gen.E_NtpagentNtp_Ntp_Authentication_Key_Mode) m.E_IETFNtp_CryptoAlgorithm {
	switch mode {
	case gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5:
		return m.IETFNtp_CryptoAlgorithm_md5
	case gen.NtpagentNtp_Ntp_Authentication_Key_Mode_sha1:
		return m.IETFNtp_CryptoAlgorithm_sha_1
	case gen.NtpagentNtp_Ntp_Authentication_Key_Mode_aes_128_cmac, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_aes_256_cmac:
		return m.IETFNtp_CryptoAlgorithm_aes_cmac
	}
	return m.IETFNtp_CryptoAlgorithm_UNSET
}

// ucSlab holds one projected unicast configuration and the values its
// leaves point to that the native entry does not have in the same type.
type ucSlab struct {
	uc               m.IETFNtp_Ntp_UnicastConfiguration
	auth             m.IETFNtp_Ntp_UnicastConfiguration_Authentication
	address          string
	minpoll, maxpoll int8
}

// projectAssociation adds the unicast configuration of a native entry,
// built in the next element of slab. Leaves of the same type share the
// native entry's values: the codec never writes through a leaf's pointer
// (an edit sets a new one).
func projectAssociation(out *m.IETFNtp_Ntp, slab []ucSlab, address string, typ m.E_IETFNtp_UnicastConfigurationType, p *gen.NtpagentNtp_Ntp_UnicastPeer) []ucSlab {
	slab = append(slab, ucSlab{address: address})
	e := &slab[len(slab)-1]
	uc := &e.uc
	*uc = m.IETFNtp_Ntp_UnicastConfiguration{
		Address: &e.address, Type: typ,
		Prefer: p.Preferred, Burst: p.Burst, Iburst: p.Iburst,
		Source: p.SourceInterface, Port: p.Port,
	}
	if p.Minpoll != nil && *p.Minpoll <= 127 {
		e.minpoll, uc.Minpoll = int8(*p.Minpoll), &e.minpoll
	}
	if p.Maxpoll != nil && *p.Maxpoll <= 127 {
		e.maxpoll, uc.Maxpoll = int8(*p.Maxpoll), &e.maxpoll
	}
	if p.Version != nil && *p.Version >= 3 {
		uc.Version = p.Version // ietf-ntp's ntp-version starts at 3
	}
	if p.AuthenticationKeyid != nil {
		e.auth.Keyid, uc.Authentication = p.AuthenticationKeyid, &e.auth
	}
	out.UnicastConfiguration[m.IETFNtp_Ntp_UnicastConfiguration_Key{Address: address, Type: typ}] = uc
	return slab
}

// projectAssociations shows the sessions of the public vpn-instance whose
// address is an IP address (the resolved one for a domain name).
func projectAssociations(out *m.IETFNtp_Ntp, n *gen.NtpagentNtp_Ntp) {
	if n.Sessions == nil || len(n.Sessions.Session) == 0 {
		return
	}
	keys := slices.SortedFunc(maps.Keys(n.Sessions.Session), func(a, b gen.NtpagentNtp_Ntp_Sessions_Session_Key) int {
		return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
	})
	assocs := &m.IETFNtp_Ntp_Associations{Association: map[m.IETFNtp_Ntp_Associations_Association_Key]*m.IETFNtp_Ntp_Associations_Association{}}
	for _, k := range keys {
		s := n.Sessions.Session[k]
		addr := sessionAddress(k.Address, s)
		mode := modes[s.LocalMode]
		if k.VpnInstance != vpninstance.Public || addr == "" || mode == m.IETFNtp_AssociationMode_UNSET {
			continue
		}
		configured := s.Configured != nil && *s.Configured
		key := m.IETFNtp_Ntp_Associations_Association_Key{Address: addr, LocalMode: mode, Isconfigured: configured}
		if _, dup := assocs.Association[key]; dup {
			continue // the same host on two ports: ietf-ntp's key has no port
		}
		a := &m.IETFNtp_Ntp_Associations_Association{
			Address: ptr(addr), LocalMode: mode, Isconfigured: ptr(configured),
			Stratum: stratumOf(s.Stratum), Refid: refidOf[m.IETFNtp_Ntp_Associations_Association_Refid_Union](s.ReferenceId),
			Prefer: s.Preferred, Port: s.Port, Reach: s.Reach, Poll: s.Poll, Now: s.Now,
			Offset: s.Offset, Delay: s.Delay, Dispersion: s.Dispersion,
		}
		if id := s.AuthenticationKeyid; id != nil && out.Authentication != nil && out.Authentication.AuthenticationKeys[*id] != nil {
			a.Authentication = id // a leafref: only to a key that exists
		}
		if s.PacketsSent != nil || s.PacketsReceived != nil {
			a.NtpStatistics = &m.IETFNtp_Ntp_Associations_Association_NtpStatistics{
				PacketSent: counter32(s.PacketsSent), PacketReceived: counter32(s.PacketsReceived)}
		}
		assocs.Association[key] = a
	}
	if len(assocs.Association) > 0 {
		out.Associations = assocs
	}
}

func sessionAddress(address string, s *gen.NtpagentNtp_Ntp_Sessions_Session) string {
	for _, a := range []*string{&address, s.ResolvedAddress} {
		if a == nil {
			continue
		}
		if ip, err := netip.ParseAddr(*a); err == nil && ip.Zone() == "" {
			return ip.String()
		}
	}
	return ""
}

// modes maps the native local modes to ietf-ntp's association modes.
var modes = map[gen.E_NtpagentNtp_Ntp_Sessions_Session_LocalMode]m.E_IETFNtp_AssociationMode{
	gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_active:  m.IETFNtp_AssociationMode_active,
	gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_passive: m.IETFNtp_AssociationMode_passive,
	gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_client:            m.IETFNtp_AssociationMode_client,
}

// projectClock fills clock-state/system-status from /ntp/status.
func projectClock(out *m.IETFNtp_Ntp, n *gen.NtpagentNtp_Ntp) {
	st := n.Status
	if st == nil {
		return
	}
	ss := &m.IETFNtp_Ntp_ClockState_SystemStatus{
		ClockState:     m.IETFNtp_ClockState_unsynchronized,
		ClockStratum:   ptr(uint8(16)),
		ClockRefid:     refidOf[m.IETFNtp_Ntp_ClockState_SystemStatus_ClockRefid_Union](st.ReferenceId),
		ClockPrecision: st.Precision,
		ClockOffset:    st.Offset,
		RootDelay:      st.RootDelay,
		RootDispersion: st.RootDispersion,
		SyncState:      syncStates[st.SyncState],
	}
	if ss.SyncState == m.IETFNtp_NtpSyncState_UNSET {
		ss.SyncState = m.IETFNtp_NtpSyncState_clock_never_set
	}
	if st.ClockState == gen.NtpagentNtp_Ntp_Status_ClockState_synchronized {
		ss.ClockState = m.IETFNtp_ClockState_synchronized
	}
	if s := stratumOf(st.Stratum); s != nil {
		ss.ClockStratum = s
	}
	if ss.ClockRefid == nil {
		ss.ClockRefid = m.UnionUint32(0)
	}
	if ss.ClockPrecision == nil {
		ss.ClockPrecision = ptr(int8(0))
	}
	if t := st.ReferenceTime; t != nil {
		if _, err := time.Parse(time.RFC3339Nano, *t); err == nil {
			ss.ReferenceTime = m.UnionString(*t)
		}
	}
	if sp := st.SystemPeer; sp != nil && out.Associations != nil {
		// The association the clock follows (leafrefs into
		// /ntp/associations): the configured one with the system peer's
		// address.
		for k := range out.Associations.Association {
			if k.Address == *sp && k.Isconfigured {
				ss.AssociationsAddress, ss.AssociationsLocalMode, ss.AssociationsIsconfigured = ptr(k.Address), k.LocalMode, ptr(true)
			}
		}
	}
	out.ClockState = &m.IETFNtp_Ntp_ClockState{SystemStatus: ss}
}

// syncStates maps the clock discipline's states (RFC 5905 Appendix
// A.1.1) between the models; a state not listed is clock-never-set.
var syncStates = map[gen.E_NtpagentNtp_Ntp_Status_SyncState]m.E_IETFNtp_NtpSyncState{
	gen.NtpagentNtp_Ntp_Status_SyncState_clock_not_set:     m.IETFNtp_NtpSyncState_clock_never_set,
	gen.NtpagentNtp_Ntp_Status_SyncState_frequency_set:     m.IETFNtp_NtpSyncState_freq_set_by_cfg,
	gen.NtpagentNtp_Ntp_Status_SyncState_spike:             m.IETFNtp_NtpSyncState_spike,
	gen.NtpagentNtp_Ntp_Status_SyncState_frequency_measure: m.IETFNtp_NtpSyncState_freq,
	gen.NtpagentNtp_Ntp_Status_SyncState_synchronized:      m.IETFNtp_NtpSyncState_clock_synchronized,
}

// projectStatistics fills /ntp/ntp-statistics: ietf-ntp's counters are
// 32 bits (yang:counter32 wraps, RFC 6991 §3); packet-dropped counts every
// packet the device received and could not use.
func projectStatistics(out *m.IETFNtp_Ntp, s *gen.NtpagentNtp_Ntp_Statistics) {
	if s == nil {
		return
	}
	var dropped uint64
	for _, c := range []*uint64{s.BadFormat, s.AuthenticationFailures, s.BogusOrDuplicate, s.NoAssociationDropped,
		s.ReceiveQueueOverflows, s.OversizeDropped, s.AccessDenied, s.RateLimited} {
		if c != nil {
			dropped += *c
		}
	}
	st := &m.IETFNtp_Ntp_NtpStatistics{PacketSent: counter32(s.PacketsSent), PacketReceived: counter32(s.PacketsReceived),
		PacketDropped: counter32(&dropped)}
	if t := s.DiscontinuityTime; t != nil {
		if _, err := time.Parse(time.RFC3339Nano, *t); err == nil {
			st.DiscontinuityTime = m.UnionString(*t)
		}
	}
	out.NtpStatistics = st
}

// refidOf is a reference ID as ietf-ntp's refid union takes it (RFC 5905
// §7.3): an IPv4 address or four characters as they are, a shorter code
// (a kiss code or reference clock name of fewer letters) as the 32-bit
// number of its ASCII bytes, zero padded.
func refidOf[U any](s *string) U {
	var zero U
	if s == nil || *s == "" {
		return zero
	}
	var v any
	if ip, err := netip.ParseAddr(*s); err == nil && ip.Is4() {
		v = m.UnionString(*s)
	} else if len(*s) == 4 {
		v = m.UnionString(*s)
	} else if len(*s) < 4 {
		var b [4]byte
		copy(b[:], *s)
		v = m.UnionUint32(binary.BigEndian.Uint32(b[:]))
	} else if n, err := strconv.ParseUint(strings.TrimPrefix(*s, "0x"), 16, 32); err == nil && strings.HasPrefix(*s, "0x") {
		v = m.UnionUint32(n)
	} else {
		return zero
	}
	u, _ := v.(U)
	return u
}

func stratumOf(s *uint8) *uint8 {
	switch {
	case s == nil || *s == 0:
		return nil // unspecified (RFC 5905 §7.3): ietf-ntp's stratum starts at 1
	case *s > 16:
		return ptr(uint8(16))
	}
	return s
}

func counter32(c *uint64) *uint32 {
	if c == nil {
		return nil
	}
	return ptr(uint32(*c)) // yang:counter32 wraps at 2^32 (RFC 6991 §3)
}

func int8Of(p *uint8) *int8 {
	if p == nil || *p > 127 {
		return nil
	}
	return ptr(int8(*p))
}

func ptr[T any](v T) *T { return &v }

// enumName is the YANG name of a generated enumeration or identity value.
func enumName(e ygot.GoEnum) string {
	s, err := ygot.EnumName(e)
	if err != nil {
		return fmt.Sprint(int64(0))
	}
	return s
}

// Apply puts the ietf-ntp tree v back into native: the servers and peers
// of the public vpn-instance with IP addresses, the authentication keys
// and whether authentication is enabled take v's content; every other
// node of native is kept, and so are the leaves of a kept entry that
// ietf-ntp does not have (preempt).
func (v *View) Apply(native *gen.Device, vt ygot.GoStruct) error {
	d, ok := vt.(*m.Device)
	if !ok {
		return rpcerror.New(rpcerror.TagOperationFailed, "", "ietf-ntp: a tree of %T is not an ietf-ntp tree.", vt)
	}
	n := native.GetOrCreateNtp()
	view := d.Ntp
	if view == nil {
		// The presence container deleted: nothing of what the view covers
		// remains configured.
		view = &m.IETFNtp_Ntp{}
	}
	if err := applyAuthentication(n, view.Authentication); err != nil {
		return err
	}
	return applyAssociations(n, view.UnicastConfiguration)
}

func applyAuthentication(n *gen.NtpagentNtp_Ntp, va *m.IETFNtp_Ntp_Authentication) error {
	old := n.Authentication
	if va == nil {
		n.Authentication = nil
		return nil
	}
	na := &gen.NtpagentNtp_Ntp_Authentication{Enable: va.AuthEnabled}
	for id, vk := range va.AuthenticationKeys {
		path := fmt.Sprintf("/ntp:ntp/ntp:authentication/ntp:authentication-keys[ntp:keyid='%d']", id)
		k := &gen.NtpagentNtp_Ntp_Authentication_Key{KeyId: ptr(id), Trusted: vk.Istrusted}
		var prev *gen.NtpagentNtp_Ntp_Authentication_Key
		if old != nil {
			prev = old.Key[id]
		}
		if prev != nil {
			k.Mode, k.KeyValue = prev.Mode, prev.KeyValue
		}
		if vk.Key != nil {
			switch {
			case vk.Key.Keystring != nil:
				k.KeyValue = ptr(*vk.Key.Keystring)
			case vk.Key.HexadecimalString != nil:
				// yang:hex-string (RFC 6991 §3): octets as pairs of hex
				// digits separated by colons; the device takes the digits.
				k.KeyValue = ptr(strings.ReplaceAll(*vk.Key.HexadecimalString, ":", ""))
			}
		}
		mode, err := modeFor(vk.Algorithm, k, prev)
		if err != nil {
			return rpcerror.New(rpcerror.TagInvalidValue, path+"/ntp:algorithm", "%v", err)
		}
		k.Mode = mode
		if na.Key == nil {
			na.Key = map[uint32]*gen.NtpagentNtp_Ntp_Authentication_Key{}
		}
		na.Key[id] = k
	}
	n.Authentication = na
	if na.Enable == nil && na.Key == nil {
		n.Authentication = nil
	}
	return nil
}

// modeFor is the native MAC mode of an ietf-ntp algorithm. AES-CMAC is
// AES-128 or AES-256 by the key's length (RFC 8573 §4 uses 128 bits; the
// device takes both, as 32 or 64 hex digits); a key whose value is kept
// in cipher form keeps its mode. No algorithm keeps the mode a key has
// (an HMAC-SHA256 key, which ietf-ntp cannot name).
func modeFor(alg m.E_IETFNtp_CryptoAlgorithm, k, prev *gen.NtpagentNtp_Ntp_Authentication_Key) (gen.E_NtpagentNtp_Ntp_Authentication_Key_Mode, error) {
	switch alg {
	case m.IETFNtp_CryptoAlgorithm_UNSET:
		if prev == nil {
			return 0, fmt.Errorf("A new key needs its algorithm (md5, sha-1 or aes-cmac).")
		}
		return prev.Mode, nil
	case m.IETFNtp_CryptoAlgorithm_md5:
		return gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5, nil
	case m.IETFNtp_CryptoAlgorithm_sha_1:
		return gen.NtpagentNtp_Ntp_Authentication_Key_Mode_sha1, nil
	case m.IETFNtp_CryptoAlgorithm_aes_cmac:
		if prev != nil && k.KeyValue != nil && prev.KeyValue != nil && *k.KeyValue == *prev.KeyValue &&
			algorithmOf(prev.Mode) == m.IETFNtp_CryptoAlgorithm_aes_cmac {
			return prev.Mode, nil
		}
		if k.KeyValue != nil && len(*k.KeyValue) == 64 {
			return gen.NtpagentNtp_Ntp_Authentication_Key_Mode_aes_256_cmac, nil
		}
		return gen.NtpagentNtp_Ntp_Authentication_Key_Mode_aes_128_cmac, nil
	}
	return 0, fmt.Errorf("The algorithm %s is not supported; use md5, sha-1 or aes-cmac.", enumName(alg))
}

func applyAssociations(n *gen.NtpagentNtp_Ntp, ucs map[m.IETFNtp_Ntp_UnicastConfiguration_Key]*m.IETFNtp_Ntp_UnicastConfiguration) error {
	oldPeers, oldServers := n.UnicastPeer, n.UnicastServer
	peers := make(map[gen.NtpagentNtp_Ntp_UnicastPeer_Key]*gen.NtpagentNtp_Ntp_UnicastPeer, len(oldPeers))
	servers := make(map[gen.NtpagentNtp_Ntp_UnicastServer_Key]*gen.NtpagentNtp_Ntp_UnicastServer, len(oldServers))
	for k, p := range oldPeers {
		if !shown(k.Address, k.VpnInstance) {
			peers[k] = p
		}
	}
	for k, s := range oldServers {
		if !shown(k.Address, k.VpnInstance) {
			servers[k] = s
		}
	}
	for k, uc := range ucs {
		if ip, err := netip.ParseAddr(k.Address); err != nil || ip.Zone() != "" {
			return rpcerror.New(rpcerror.TagInvalidValue, ucPath(k.Address, k.Type)+"/ntp:address", "The address %s has a zone; give the interface as source instead.", k.Address)
		}
		var prev *gen.NtpagentNtp_Ntp_UnicastPeer
		switch k.Type {
		case m.IETFNtp_UnicastConfigurationType_uc_peer:
			prev = oldPeers[gen.NtpagentNtp_Ntp_UnicastPeer_Key{Address: k.Address, VpnInstance: vpninstance.Public}]
		case m.IETFNtp_UnicastConfigurationType_uc_server:
			prev = (*gen.NtpagentNtp_Ntp_UnicastPeer)(oldServers[gen.NtpagentNtp_Ntp_UnicastServer_Key{Address: k.Address, VpnInstance: vpninstance.Public}])
		default:
			return rpcerror.New(rpcerror.TagInvalidValue, ucPath(k.Address, k.Type)+"/ntp:type", "The type of a unicast configuration is uc-server or uc-peer.")
		}
		p := prev
		if prev == nil || !unchanged(uc, prev) {
			var err error
			if p, err = association(ucPath(k.Address, k.Type), k.Address, uc, prev); err != nil {
				return err
			}
		}
		if k.Type == m.IETFNtp_UnicastConfigurationType_uc_peer {
			peers[gen.NtpagentNtp_Ntp_UnicastPeer_Key{Address: k.Address, VpnInstance: vpninstance.Public}] = p
		} else {
			servers[gen.NtpagentNtp_Ntp_UnicastServer_Key{Address: k.Address, VpnInstance: vpninstance.Public}] = (*gen.NtpagentNtp_Ntp_UnicastServer)(p)
		}
	}
	n.UnicastPeer, n.UnicastServer = peers, servers
	if len(peers) == 0 {
		n.UnicastPeer = nil
	}
	if len(servers) == 0 {
		n.UnicastServer = nil
	}
	return nil
}

// unchanged reports whether the native entry p is what association would
// make of uc: the entry the projection came from, left as it was by the
// edit (most entries of a large list), is kept as it is.
func unchanged(uc *m.IETFNtp_Ntp_UnicastConfiguration, p *gen.NtpagentNtp_Ntp_UnicastPeer) bool {
	var keyid *uint32
	if uc.Authentication != nil {
		keyid = uc.Authentication.Keyid
	}
	version := uc.Version
	if version == nil && p.Version != nil && *p.Version < 3 {
		version = p.Version
	}
	return same(uc.Prefer, p.Preferred) && same(uc.Burst, p.Burst) && same(uc.Iburst, p.Iburst) &&
		same(uc.Source, p.SourceInterface) && same(uc.Port, p.Port) && same(version, p.Version) &&
		same(keyid, p.AuthenticationKeyid) && same(uc.Minpoll, int8Of(p.Minpoll)) && same(uc.Maxpoll, int8Of(p.Maxpoll)) &&
		(p.Minpoll == nil || *p.Minpoll <= 127) && (p.Maxpoll == nil || *p.Maxpoll <= 127)
}

// same reports whether two optional leaves hold the same value.
func same[T comparable](a, b *T) bool { return a == b || a != nil && b != nil && *a == *b }

// association is the native entry of a unicast configuration: the leaves
// ietf-ntp has come from it, the others (preempt) from the entry it
// replaces.
func association(path, address string, uc *m.IETFNtp_Ntp_UnicastConfiguration, prev *gen.NtpagentNtp_Ntp_UnicastPeer) (*gen.NtpagentNtp_Ntp_UnicastPeer, error) {
	p := &gen.NtpagentNtp_Ntp_UnicastPeer{
		Address: ptr(address), VpnInstance: ptr(vpninstance.Public),
		Preferred: uc.Prefer, Burst: uc.Burst, Iburst: uc.Iburst,
		SourceInterface: uc.Source, Port: uc.Port, Version: uc.Version,
	}
	if prev != nil {
		p.Preempt = prev.Preempt
		if uc.Version == nil && prev.Version != nil && *prev.Version < 3 {
			p.Version = prev.Version // not shown in ietf-ntp, so not changed through it
		}
	}
	for _, pl := range []struct {
		name string
		v    *int8
		to   **uint8
	}{{"minpoll", uc.Minpoll, &p.Minpoll}, {"maxpoll", uc.Maxpoll, &p.Maxpoll}} {
		if pl.v == nil {
			continue
		}
		if *pl.v < 0 {
			return nil, rpcerror.New(rpcerror.TagInvalidValue, path+"/ntp:"+pl.name, "A poll interval of 2^%d s is not supported; the device polls at 2^N s with N from 3 to 17.", *pl.v)
		}
		*pl.to = ptr(uint8(*pl.v))
	}
	if uc.Authentication != nil {
		p.AuthenticationKeyid = uc.Authentication.Keyid
	}
	return p, nil
}

func ucPath(address string, typ m.E_IETFNtp_UnicastConfigurationType) string {
	return fmt.Sprintf("/ntp:ntp/ntp:unicast-configuration[ntp:address='%s'][ntp:type='ntp:%s']", address, enumName(typ))
}

// nativePath matches the error-paths of ntpagent-ntp that have a place in
// ietf-ntp: a leaf of a server or peer, a key, or authentication.
var nativePath = regexp.MustCompile(`^/ntpa:ntp/ntpa:(unicast-peer|unicast-server)\[ntpa:address='([^']*)'\]\[ntpa:vpn-instance='([^']*)'\](?:/ntpa:([a-z-]+))?$|^/ntpa:ntp/ntpa:authentication(?:/ntpa:key\[ntpa:key-id='(\d+)'\])?(?:/ntpa:([a-z-]+))?$`)

// leafNames maps leaves of an ntpagent-ntp server or peer to ietf-ntp's.
var leafNames = map[string]string{
	"address": "ntp:address", "preferred": "ntp:prefer", "burst": "ntp:burst", "iburst": "ntp:iburst",
	"source-interface": "ntp:source", "port": "ntp:port", "version": "ntp:version", "minpoll": "ntp:minpoll",
	"maxpoll": "ntp:maxpoll", "authentication-keyid": "ntp:authentication/ntp:keyid",
}

// keyLeafNames maps leaves of a key and of authentication.
var keyLeafNames = map[string]string{
	"key-id": "ntp:keyid", "mode": "ntp:algorithm", "key-value": "ntp:key", "trusted": "ntp:istrusted", "enable": "ntp:auth-enabled",
}

// Path names in ietf-ntp the node of an ntpagent-ntp error-path; "" when
// it has none there.
func (*View) Path(native string) string {
	g := nativePath.FindStringSubmatch(native)
	if g == nil {
		return ""
	}
	if g[1] != "" {
		if !shown(g[2], g[3]) {
			return ""
		}
		typ := m.IETFNtp_UnicastConfigurationType_uc_peer
		if g[1] == "unicast-server" {
			typ = m.IETFNtp_UnicastConfigurationType_uc_server
		}
		p := ucPath(g[2], typ)
		switch leaf := g[4]; {
		case leaf == "" || leaf == "vpn-instance":
			return p
		case leafNames[leaf] != "":
			return p + "/" + leafNames[leaf]
		}
		return ""
	}
	p := "/ntp:ntp/ntp:authentication"
	if g[5] != "" {
		p += "/ntp:authentication-keys[ntp:keyid='" + g[5] + "']"
	}
	if leaf := g[6]; leaf != "" {
		name := keyLeafNames[leaf]
		if name == "" || (g[5] == "") != (leaf == "enable") {
			return ""
		}
		p += "/" + name
	}
	return p
}
