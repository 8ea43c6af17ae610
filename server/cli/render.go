package cli

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/vpninstance"
)

// configLines renders a configuration tree as the CLI commands that make it,
// in a canonical order: sysname; local users (userLines); authentication (enable, keys, trusted keys)
// first so that peers find their keys; whether unauthenticated passive peers
// may be selected; the unsync poll cap; the source
// interfaces (IPv4, IPv6); the peers (IPv4 in numeric order, then IPv6, then
// domain names; then by VPN instance), then the servers in the same order. Leaves that are set are shown even
// when they hold the default, so that feeding the lines back reproduces the
// same tree. Key values are shown only in cipher form, and only with
// showKeys (the admin role): other users see "******" in their place, as
// VRP shows keys to users without the level to read them. Password hashes
// are shown with showKeys only; for other users their lines are left out.
//
// Sections are separated by "#" lines, as VRP does; the parser skips them.
func configLines(root *gen.Device, showKeys bool) []string {
	var sections [][]string
	if sys := root.GetSystem(); sys != nil && sys.Sysname != nil {
		sections = append(sections, []string{"sysname " + quote(*sys.Sysname)})
	}
	if users := userLines(root.GetSystem(), showKeys); len(users) > 0 {
		sections = append(sections, users)
	}
	ntp := root.GetNtp()
	var lines []string
	if au := ntp.GetAuthentication(); au != nil {
		if au.Enable != nil && *au.Enable {
			lines = append(lines, "ntp authentication enable")
		}
		ids := make([]uint32, 0, len(au.Key))
		for id := range au.Key {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			k := au.Key[id]
			mode := modeWord(k.Mode)
			if mode == "" || (k.KeyValue == nil && showKeys) {
				// Incomplete entry (only NETCONF can make one): show what
				// there is as a comment, it cannot be entered as a command.
				lines = append(lines, fmt.Sprintf("# ntp authentication-keyid %d (incomplete)", id))
				continue
			}
			value := hiddenKey
			if showKeys && k.KeyValue != nil && rules.IsCipher(*k.KeyValue) {
				value = quote(*k.KeyValue)
			}
			lines = append(lines, fmt.Sprintf("ntp authentication-keyid %d authentication-mode %s cipher %s", id, mode, value))
		}
		for _, id := range ids {
			if t := au.Key[id].Trusted; t != nil && *t {
				lines = append(lines, fmt.Sprintf("ntp trusted authentication-keyid %d", id))
			}
		}
	}
	if ntp.GetAllowUnauthenticatedPassivePeers() {
		lines = append(lines, "ntp allow-unauthenticated-passive-peers")
	}
	if u := ntp.GetUnsync(); u != nil && u.MaxPollInterval != nil && u.DecStep != nil {
		lines = append(lines, fmt.Sprintf("ntp unsync max-poll-interval %d dec-step %d", *u.MaxPollInterval, *u.DecStep))
	}
	for _, af := range []gen.E_NtpagentNtp_AddressFamily{gen.NtpagentNtp_AddressFamily_ipv4, gen.NtpagentNtp_AddressFamily_ipv6} {
		si := ntp.GetSourceInterface(af)
		if si == nil || si.Interface == nil {
			continue
		}
		l := "ntp source-interface " + quote(*si.Interface)
		if af == gen.NtpagentNtp_AddressFamily_ipv6 {
			l = "ntp ipv6 source-interface " + quote(*si.Interface)
		}
		if si.VpnInstance != nil {
			l += " vpn-instance " + quote(*si.VpnInstance)
		}
		lines = append(lines, l)
	}
	if ntp != nil {
		keys := make([]gen.NtpagentNtp_Ntp_UnicastPeer_Key, 0, len(ntp.UnicastPeer))
		for k := range ntp.UnicastPeer {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, comparePeers)
		for _, k := range keys {
			lines = append(lines, peerLine("ntp unicast-peer", k, ntp.UnicastPeer[k]))
		}
		skeys := make([]gen.NtpagentNtp_Ntp_UnicastPeer_Key, 0, len(ntp.UnicastServer))
		for k := range ntp.UnicastServer {
			skeys = append(skeys, gen.NtpagentNtp_Ntp_UnicastPeer_Key(k))
		}
		slices.SortFunc(skeys, comparePeers)
		for _, k := range skeys {
			lines = append(lines, peerLine("ntp unicast-server", k, rules.ServerAsPeer(ntp.UnicastServer[gen.NtpagentNtp_Ntp_UnicastServer_Key(k)])))
		}
	}
	if len(lines) > 0 {
		sections = append(sections, lines)
	}
	var out []string
	for _, sec := range sections {
		out = append(out, "#")
		out = append(out, sec...)
	}
	return append(out, "#", "return")
}

// peerKind orders peers: IPv4, IPv6, domain.
func peerKind(addr string) (int, netip.Addr) {
	a, err := netip.ParseAddr(addr)
	switch {
	case err != nil:
		return 2, netip.Addr{}
	case a.Is4():
		return 0, a
	default:
		return 1, a
	}
}

func comparePeers(x, y gen.NtpagentNtp_Ntp_UnicastPeer_Key) int {
	kx, ax := peerKind(x.Address)
	ky, ay := peerKind(y.Address)
	if kx != ky {
		return kx - ky
	}
	if kx < 2 {
		if c := ax.Compare(ay); c != 0 {
			return c
		}
	} else if c := strings.Compare(x.Address, y.Address); c != 0 {
		return c
	}
	return strings.Compare(x.VpnInstance, y.VpnInstance)
}

// peerLine renders one peer (command "ntp unicast-peer") or server ("ntp
// unicast-server", the same options) in VRP's option order.
func peerLine(command string, k gen.NtpagentNtp_Ntp_UnicastPeer_Key, p *gen.NtpagentNtp_Ntp_UnicastPeer) string {
	var b strings.Builder
	kind, _ := peerKind(k.Address)
	switch kind {
	case 0:
		b.WriteString(command + " " + k.Address)
	case 1:
		b.WriteString(command + " ipv6 " + k.Address)
	default:
		b.WriteString(command + " domain " + quote(k.Address))
	}
	if p.Version != nil && kind != 1 {
		fmt.Fprintf(&b, " version %d", *p.Version)
	}
	if p.Port != nil {
		fmt.Fprintf(&b, " port %d", *p.Port)
	}
	if p.AuthenticationKeyid != nil {
		fmt.Fprintf(&b, " authentication-keyid %d", *p.AuthenticationKeyid)
	}
	if p.SourceInterface != nil {
		b.WriteString(" source-interface " + quote(*p.SourceInterface))
	}
	if k.VpnInstance != vpninstance.Public {
		b.WriteString(" vpn-instance " + quote(k.VpnInstance))
	}
	if p.Preferred != nil && *p.Preferred {
		b.WriteString(" preferred")
	}
	if p.Maxpoll != nil {
		fmt.Fprintf(&b, " maxpoll %d", *p.Maxpoll)
	}
	if p.Minpoll != nil {
		fmt.Fprintf(&b, " minpoll %d", *p.Minpoll)
	}
	if p.Preempt != nil && *p.Preempt {
		b.WriteString(" preempt")
	}
	if p.Iburst != nil && *p.Iburst {
		b.WriteString(" iburst")
	}
	if p.Burst != nil && *p.Burst {
		b.WriteString(" burst")
	}
	return b.String()
}

// quote puts a value that the tokenizer would split (spaces, a leading
// quote) between double quotes.
// hiddenKey stands for a key value the user may not read.
const hiddenKey = "******"

func quote(v string) string {
	if v == "" || strings.ContainsAny(v, " \t\"") {
		return `"` + strings.ReplaceAll(v, `"`, "") + `"`
	}
	return v
}

func modeWord(m gen.E_NtpagentNtp_Ntp_Authentication_Key_Mode) string {
	for w, v := range modeByWord {
		if v == m {
			return w
		}
	}
	return ""
}
