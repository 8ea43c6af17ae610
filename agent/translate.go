package agent

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/vpninstance"
	"github.com/ntpagent/ntpagent/ntpengine"
	"github.com/ntpagent/ntpagent/ntpengine/auth"
)

// peerPlan is one configured unicast peer or server after translation.
type peerPlan struct {
	key     string              // the engine's association key
	mode    ntpengine.AssocMode // symmetric active for a peer, client for a server
	address string              // as configured: an IP literal or a domain name
	vpn     string
	port    uint16
	kind    rules.AddressKind
	// ip is the literal address or the resolved one; invalid while a
	// domain name is unresolved.
	ip  netip.Addr
	cfg ntpengine.PeerConfig
	// blocked says why the peer cannot run (an unusable key, an unresolved
	// name); such a peer is not given to the engine, and its session shows
	// this as its last error.
	blocked string
}

// plan is a running configuration translated for the engine.
type plan struct {
	engine ntpengine.Config // only the peers that can run
	peers  []peerPlan       // every configured peer and server, in key order
}

// peerKey is the association key of a configured peer: its list keys.
func peerKey(address, vpn string) string { return "peer " + address + " vpn " + vpn }

// serverKey is the association key of a configured server: its list keys.
// It differs from a peer's, so that changing an entry from peer to server
// makes a new association (RFC 5905 §9.1: the mode is part of it).
func serverKey(address, vpn string) string { return "server " + address + " vpn " + vpn }

// configured is one entry of /ntp/unicast-peer or /ntp/unicast-server; both
// lists have the same leaves, a server's entry seen as a peer's.
type configured struct {
	mode  ntpengine.AssocMode
	key   func(address, vpn string) string
	entry *gen.NtpagentNtp_Ntp_UnicastPeer
}

// configuredAssociations lists the peers (symmetric active, RFC 5905 mode 1)
// and the servers (client, mode 3) of ntp.
func configuredAssociations(ntp *gen.NtpagentNtp_Ntp) []configured {
	out := make([]configured, 0, len(ntp.UnicastPeer)+len(ntp.UnicastServer))
	for _, p := range ntp.UnicastPeer {
		out = append(out, configured{ntpengine.AssocSymmetric, peerKey, p})
	}
	for _, s := range ntp.UnicastServer {
		out = append(out, configured{ntpengine.AssocClient, serverKey, rules.ServerAsPeer(s)})
	}
	return out
}

// role is how messages name the remote host of an association of mode m.
func role(m ntpengine.AssocMode) string {
	if m == ntpengine.AssocClient {
		return "server"
	}
	return "peer"
}

// keyModeName is the YANG enum name of a key mode (what rules.KeyBytes and
// auth.ParseMode take).
func keyModeName(m gen.E_NtpagentNtp_Ntp_Authentication_Key_Mode) string {
	switch m {
	case gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5:
		return "md5"
	case gen.NtpagentNtp_Ntp_Authentication_Key_Mode_sha1:
		return "sha1"
	case gen.NtpagentNtp_Ntp_Authentication_Key_Mode_hmac_sha256:
		return "hmac-sha256"
	case gen.NtpagentNtp_Ntp_Authentication_Key_Mode_aes_128_cmac:
		return "aes-128-cmac"
	case gen.NtpagentNtp_Ntp_Authentication_Key_Mode_aes_256_cmac:
		return "aes-256-cmac"
	}
	return ""
}

// translateKeys turns the configured keys into auth keys. A key whose value
// does not decrypt or does not fit its mode is left out and reported in bad
// (the datastore's rules refuse such keys at commit, so this only guards
// against a hand-edited state folder). Cipher forms are opened with kc, the
// device's key cipher.
func translateKeys(root *gen.Device, kc *rules.KeyCipher) (keys []auth.Key, bad map[uint32]string) {
	bad = map[uint32]string{}
	a := root.GetNtp().GetAuthentication()
	if a == nil {
		return nil, bad
	}
	ids := make([]uint32, 0, len(a.Key))
	for id := range a.Key {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		k := a.Key[id]
		mode := keyModeName(k.GetMode())
		m, err := auth.ParseMode(mode)
		if err != nil {
			bad[id] = fmt.Sprintf("authentication key %d: %v", id, err)
			continue
		}
		plain, err := kc.Open(k.GetKeyValue())
		if err != nil {
			bad[id] = fmt.Sprintf("authentication key %d: %v", id, err)
			continue
		}
		secret, err := rules.KeyBytes(mode, plain)
		if err != nil {
			bad[id] = fmt.Sprintf("authentication key %d: %v", id, err)
			continue
		}
		keys = append(keys, auth.Key{ID: id, Mode: m, Secret: secret, Trusted: k.GetTrusted()})
	}
	return keys, bad
}

// translate builds the engine configuration of root. base carries the
// settings that do not come from the YANG model (limits, local stratum,
// logger); resolved returns the current address of a domain peer's name in
// its vpn-instance (invalid when unresolved) and why it is unresolved; kc
// opens the cipher form of key values.
func translate(root *gen.Device, base ntpengine.Config, resolved func(name, vpn string) (netip.Addr, string), kc *rules.KeyCipher) plan {
	cfg := base
	cfg.Peers = nil
	ntp := root.GetNtp()
	if ntp == nil {
		ntp = &gen.NtpagentNtp_Ntp{}
	}
	if u := ntp.GetUnsync(); u != nil && u.MaxPollInterval != nil && u.DecStep != nil {
		cfg.UnsyncMaxPoll, cfg.UnsyncDecStep = int8(u.GetMaxPollInterval()), int8(u.GetDecStep())
	} else {
		cfg.UnsyncMaxPoll, cfg.UnsyncDecStep = 0, 0
	}
	cfg.AuthEnabled = ntp.GetAuthentication().GetEnable()
	cfg.AllowUnauthenticatedPassive = ntp.GetAllowUnauthenticatedPassivePeers()
	keys, badKeys := translateKeys(root, kc)
	cfg.Keys = keys

	var out plan
	for _, c := range configuredAssociations(ntp) {
		p := c.entry
		vpn := p.GetVpnInstance()
		if vpn == "" {
			vpn = vpninstance.Public
		}
		pp := peerPlan{
			key:     c.key(p.GetAddress(), vpn),
			mode:    c.mode,
			address: p.GetAddress(),
			vpn:     vpn,
			port:    p.GetPort(),
		}
		var lit netip.Addr
		pp.kind, lit = rules.ClassifyAddress(pp.address)
		switch pp.kind {
		case rules.IPv4, rules.IPv6:
			pp.ip = lit.Unmap()
		case rules.Domain:
			var why string
			pp.ip, why = resolved(pp.address, vpn)
			if !pp.ip.IsValid() {
				pp.blocked = why
			}
		default:
			pp.blocked = fmt.Sprintf("%q is not an address or a domain name", pp.address)
		}
		ifname, _ := rules.EffectiveSourceInterface(root, p, pp.ip)
		if pp.ip.Is6() && pp.ip.IsLinkLocalUnicast() && pp.ip.Zone() == "" && ifname == "" && pp.blocked == "" {
			// A link-local address names a host only on one link (RFC
			// 4007 §6); the kernel cannot send to it without one.
			pp.blocked = fmt.Sprintf("%s is a link-local address: set the peer's source-interface to say on which link it is", pp.ip)
		}
		pp.cfg = ntpengine.PeerConfig{
			Key:             pp.key,
			VPN:             vpn,
			Mode:            c.mode,
			Version:         int(p.GetVersion()),
			MinPoll:         int8(p.GetMinpoll()),
			MaxPoll:         int8(p.GetMaxpoll()),
			Prefer:          p.GetPreferred(),
			Preempt:         p.GetPreempt(),
			IBurst:          p.GetIburst(),
			Burst:           p.GetBurst(),
			SourceInterface: ifname,
		}
		if pp.ip.IsValid() && pp.ip.Is6() && pp.cfg.Version != 4 {
			// An IPv6 peer always speaks version 4 (NTPv4 is the first version with IPv6, RFC 5905 §1); a name
			// that resolved to IPv6 is held to it too.
			pp.cfg.Version = 4
		}
		if p.AuthenticationKeyid != nil {
			id := p.GetAuthenticationKeyid()
			pp.cfg.KeyID = id
			if why, ok := badKeys[id]; ok && pp.blocked == "" {
				pp.blocked = why
			} else if !hasKey(keys, id) && pp.blocked == "" {
				pp.blocked = fmt.Sprintf("authentication key %d is not configured", id)
			}
		}
		if pp.ip.IsValid() && pp.blocked == "" {
			// A name may resolve to anything (a DNS sinkhole answers
			// 0.0.0.0); the engine refuses a configuration holding such
			// a peer, so it stays out with its reason.
			if err := rules.CheckHostAddress(pp.ip.String(), nil); err != nil {
				if pp.kind == rules.Domain {
					pp.blocked = fmt.Sprintf("%s resolved to %s, which is not a host address: %v", pp.address, pp.ip, err)
				} else {
					pp.blocked = err.Error()
				}
			}
		}
		if pp.ip.IsValid() {
			pp.cfg.Address = netip.AddrPortFrom(pp.ip, pp.port)
		}
		out.peers = append(out.peers, pp)
	}
	sort.Slice(out.peers, func(i, j int) bool { return out.peers[i].key < out.peers[j].key })
	// Two peers (or servers) at the same (address, vpn-instance, port) would
	// be one association on the wire; the first in key order runs.
	type where struct {
		addr netip.AddrPort
		vpn  string
	}
	first := map[where]string{}
	for i := range out.peers {
		pp := &out.peers[i]
		if pp.blocked != "" || !pp.ip.IsValid() {
			continue
		}
		w := where{pp.cfg.Address, pp.vpn}
		if other, ok := first[w]; ok {
			pp.blocked = fmt.Sprintf("%s is at %s in vpn-instance %s, the same address and port as the %s; only that one runs", pp.address, pp.cfg.Address, pp.vpn, other)
			continue
		}
		first[w] = role(pp.mode) + " " + pp.address
	}
	for _, pp := range out.peers {
		if pp.blocked == "" {
			cfg.Peers = append(cfg.Peers, pp.cfg)
		}
	}
	out.engine = cfg
	return out
}

func hasKey(keys []auth.Key, id uint32) bool {
	for _, k := range keys {
		if k.ID == id {
			return true
		}
	}
	return false
}
