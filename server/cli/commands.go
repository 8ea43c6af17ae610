package cli

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/internal/vpninstance"
)

func cmdSystemView(s *session, a args) error {
	s.view = systemView
	s.printf("Enter system view, return user view with return command.\n")
	return nil
}

// cmdScreenLength: screen-length N temporary sets the paging of this
// session (0 turns it off).
func cmdScreenLength(s *session, a args) error {
	n, _ := strconv.Atoi(a["lines"])
	s.pageSet, s.pageLines = true, n
	return nil
}

func cmdQuit(s *session, a args) error {
	if s.view == userView {
		s.done = true
		return nil
	}
	return cmdReturn(s, a)
}

// cmdReturn leaves the system view. With uncommitted changes an interactive
// session asks, as VRP does, whether to commit them first: Y commits (and
// stays in the view if the commit fails), N leaves them in the candidate —
// which is shared with NETCONF, so they are not thrown away (abort does
// that) — and C stays. Other sessions (batch, exec, Ctrl-Z) only warn.
func cmdReturn(s *session, a args) error {
	if !s.c.store.CandidateModified() {
		s.view = userView
		return nil
	}
	if s.term == nil || s.inCallback {
		s.view = userView
		s.printf("Warning: Uncommitted changes stay in the candidate until commit or abort.\n")
		return nil
	}
	answer, ok := s.ask("Warning: Uncommitted configurations found. Are you sure to commit them before exiting? [Y(yes)/N(no)/C(cancel)]:")
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		if err := cmdCommit(s, args{}); err != nil {
			return err
		}
	case "n", "no":
		s.printf("Info: The uncommitted changes stay in the candidate until commit or abort.\n")
	default:
		if ok {
			return nil // cancel: stay in the view
		}
	}
	s.view = userView
	return nil
}

func cmdAbort(s *session, a args) error {
	if err := s.c.store.Discard(s.ss); err != nil {
		return err
	}
	s.view = userView
	return nil
}

func cmdCommit(s *session, a args) error {
	if !s.c.store.CandidateModified() {
		s.printf("Info: No configuration change to commit.\n")
		return nil
	}
	// RFC 8341 §3.2.8: what the commit changes in running is judged with
	// the committing user's write access, whoever edited the candidate.
	if _, err := s.c.store.Commit(s.ss, datastore.CommitOptions{Label: a["label"], Check: s.writeCheck()}); err != nil {
		return locatedError{err}
	}
	return nil
}

// cmdSave copies running to startup (RFC 6241 §8.7), the configuration a
// boot of the host starts with. As on VRP, an interactive session asks
// first; save force, and sessions without a terminal (scripts: batch,
// exec), do not ask. Uncommitted changes are not running, so not saved.
func cmdSave(s *session, a args) error {
	if s.term != nil && !s.inCallback && !a.has("force") {
		answer, _ := s.ask("Warning: The current configuration will be written to the device. Continue? [Y/N]:")
		switch strings.ToLower(strings.TrimSpace(answer)) {
		case "y", "yes":
		default:
			s.printf("Info: The configuration was not saved.\n")
			return nil
		}
	}
	if s.c.store.CandidateModified() {
		s.printf("Warning: Uncommitted changes are not saved: commit them, then save.\n")
	}
	if err := s.c.store.CopyChecked(s.ss, datastore.Startup, datastore.Running, nil, s.saveCheck()); err != nil {
		return locatedError{err}
	}
	s.printf("Info: Save the configuration successfully.\n")
	return nil
}

func cmdRollback(s *session, a args) error {
	id, _ := strconv.ParseUint(a["id"], 10, 32)
	ci, err := s.c.store.RollbackChecked(s.ss, uint32(id), "", s.writeCheck())
	if err != nil {
		return locatedError{err}
	}
	s.printf("Info: The configuration was rolled back to commit %d (new commit %d).\n", id, ci.ID)
	return nil
}

// edit applies a configuration command to the shared candidate. The product
// rules run before and after: a violation the command introduces refuses it
// (with the rule's own message), except a reference to a key that is not
// configured yet (data-missing), which commit reports — VRP lets a peer name
// its key before the key is configured.
func (s *session) edit(apply func(root *gen.Device) error) error {
	// "set": the datastore does not validate the whole candidate at each
	// command (VRP checks a configuration as a whole at commit); the check
	// below looks at what this command changes.
	opt := datastore.EditOptions{TestOption: datastore.SetOnly, Check: s.writeCheck()}
	return s.c.store.Edit(s.ss, datastore.Candidate, opt, func(root *gen.Device) error {
		before := map[string]bool{}
		for _, e := range rpcerror.All(s.c.cfg.Check(root)) {
			before[e.Path+"\x00"+e.Message] = true
		}
		if err := apply(root); err != nil {
			return err
		}
		prune(root)
		var fresh rpcerror.List
		for _, e := range rpcerror.All(s.c.cfg.Check(root)) {
			if !before[e.Path+"\x00"+e.Message] && e.Tag != rpcerror.TagDataMissing {
				fresh = append(fresh, e)
			}
		}
		if len(fresh) > 0 {
			return fresh
		}
		return nil
	})
}

// prune removes containers and lists a CLI undo left empty, so that the
// candidate holds exactly what is configured.
func prune(root *gen.Device) {
	if sys := root.System; sys != nil {
		if len(sys.LocalUser) == 0 {
			sys.LocalUser = nil
		}
		if sys.Sysname == nil && sys.LocalUser == nil {
			root.System = nil
		}
	}
	ntp := root.Ntp
	if ntp == nil {
		return
	}
	if u := ntp.Unsync; u != nil && u.MaxPollInterval == nil && u.DecStep == nil {
		ntp.Unsync = nil
	}
	if au := ntp.Authentication; au != nil {
		if len(au.Key) == 0 {
			au.Key = nil
		}
		if au.Enable == nil && au.Key == nil {
			ntp.Authentication = nil
		}
	}
	if len(ntp.UnicastPeer) == 0 {
		ntp.UnicastPeer = nil
	}
	if len(ntp.UnicastServer) == 0 {
		ntp.UnicastServer = nil
	}
	if len(ntp.SourceInterface) == 0 {
		ntp.SourceInterface = nil
	}
	if ntp.Unsync == nil && ntp.Authentication == nil && ntp.UnicastPeer == nil && ntp.UnicastServer == nil && ntp.SourceInterface == nil &&
		ntp.AllowUnauthenticatedPassivePeers == nil && ntp.Status == nil && ntp.Sessions == nil {
		root.Ntp = nil
	}
}

func cmdSysname(s *session, a args) error {
	return s.edit(func(root *gen.Device) error {
		name := a["sysname"]
		root.GetOrCreateSystem().Sysname = &name
		return nil
	})
}

func cmdUndoSysname(s *session, a args) error {
	return s.edit(func(root *gen.Device) error {
		if root.System != nil {
			root.System.Sysname = nil
		}
		return nil
	})
}

func u8(v string) *uint8 {
	n, _ := strconv.ParseUint(v, 10, 8)
	x := uint8(n)
	return &x
}

func u32(v string) uint32 {
	n, _ := strconv.ParseUint(v, 10, 32)
	return uint32(n)
}

func cmdUnsync(s *session, a args) error {
	return s.edit(func(root *gen.Device) error {
		u := root.GetOrCreateNtp().GetOrCreateUnsync()
		u.MaxPollInterval, u.DecStep = u8(a["maxpoll"]), u8(a["decstep"])
		return nil
	})
}

func cmdUndoUnsync(s *session, a args) error {
	return s.edit(func(root *gen.Device) error {
		if u := root.GetNtp().GetUnsync(); u != nil {
			u.MaxPollInterval, u.DecStep = nil, nil
		}
		return nil
	})
}

func family(a args) gen.E_NtpagentNtp_AddressFamily {
	if a.has("ipv6") {
		return gen.NtpagentNtp_AddressFamily_ipv6
	}
	return gen.NtpagentNtp_AddressFamily_ipv4
}

// interfaceName joins "TYPE NUMBER" into one Linux interface name
// (yang typedef interface-name), or returns the single name given.
func interfaceName(name, number string) (string, error) {
	joined := name + number
	if _, ok := pIfName.check(joined); !ok {
		return "", cliErrorf("The interface name %s is not valid: at most 15 characters, without '/', ':' or spaces.", joined)
	}
	return joined, nil
}

// cmdSourceInterface: ntp [ ipv6 ] source-interface IF [ vpn-instance VPN ]
// replaces the family's entry.
func cmdSourceInterface(s *session, a args) error {
	ifname, err := interfaceName(a["if"], a["ifnum"])
	if err != nil {
		return err
	}
	return s.edit(func(root *gen.Device) error {
		ntp := root.GetOrCreateNtp()
		af := family(a)
		ntp.DeleteSourceInterface(af)
		si, err := ntp.NewSourceInterface(af)
		if err != nil {
			return err
		}
		si.Interface = &ifname
		if v, ok := a["vpn"]; ok {
			si.VpnInstance = &v
		}
		return nil
	})
}

func cmdUndoSourceInterface(s *session, a args) error {
	return s.edit(func(root *gen.Device) error {
		if ntp := root.GetNtp(); ntp != nil {
			ntp.DeleteSourceInterface(family(a))
		}
		return nil
	})
}

// associations is one of the two lists of configured associations as the
// CLI edits it. Their entries have the same leaves (one YANG grouping), so a
// server's entry is handled as a peer's (rules.ServerAsPeer).
type associations struct {
	list rules.AssociationList
	role string // "peer" or "server", as messages name an entry
}

var (
	peerList   = associations{rules.UnicastPeer, "peer"}
	serverList = associations{rules.UnicastServer, "server"}
)

// keys returns the keys of the list's entries, as peer keys.
func (l associations) keys(ntp *gen.NtpagentNtp_Ntp) []gen.NtpagentNtp_Ntp_UnicastPeer_Key {
	var out []gen.NtpagentNtp_Ntp_UnicastPeer_Key
	if l.list == rules.UnicastServer {
		for k := range ntp.UnicastServer {
			out = append(out, gen.NtpagentNtp_Ntp_UnicastPeer_Key(k))
		}
		return out
	}
	for k := range ntp.UnicastPeer {
		out = append(out, k)
	}
	return out
}

func (l associations) remove(ntp *gen.NtpagentNtp_Ntp, k gen.NtpagentNtp_Ntp_UnicastPeer_Key) {
	if l.list == rules.UnicastServer {
		delete(ntp.UnicastServer, gen.NtpagentNtp_Ntp_UnicastServer_Key(k))
		return
	}
	delete(ntp.UnicastPeer, k)
}

func (l associations) create(ntp *gen.NtpagentNtp_Ntp, addr, vpn string) (*gen.NtpagentNtp_Ntp_UnicastPeer, error) {
	if l.list == rules.UnicastServer {
		s, err := ntp.NewUnicastServer(addr, vpn)
		return rules.ServerAsPeer(s), err
	}
	return ntp.NewUnicastPeer(addr, vpn)
}

// find finds the configured entry an address of the CLI names: IPv6
// addresses compare as addresses, domain names without regard to case.
func (l associations) find(ntp *gen.NtpagentNtp_Ntp, addr, vpn string) (gen.NtpagentNtp_Ntp_UnicastPeer_Key, bool) {
	want, werr := netip.ParseAddr(addr)
	for _, k := range l.keys(ntp) {
		if k.VpnInstance != vpn {
			continue
		}
		if k.Address == addr {
			return k, true
		}
		if werr == nil {
			if got, err := netip.ParseAddr(k.Address); err == nil && got == want {
				return k, true
			}
		} else if strings.EqualFold(k.Address, addr) {
			return k, true
		}
	}
	return gen.NtpagentNtp_Ntp_UnicastPeer_Key{}, false
}

// cmdPeer: ntp unicast-peer { IPV4 | ipv6 IPV6 | domain NAME } [ options ]*.
// As on VRP, the command is the whole configuration of that peer: entering
// it again for the same address and VPN instance replaces the entry, so an
// option left out returns to its default.
func cmdPeer(s *session, a args) error { return peerList.configure(s, a) }

// cmdServer: ntp unicast-server { IPV4 | ipv6 IPV6 | domain NAME } [ options ]*,
// with the options of ntp unicast-peer and the same replacement.
func cmdServer(s *session, a args) error { return serverList.configure(s, a) }

func cmdUndoPeer(s *session, a args) error { return peerList.undo(s, a) }

func cmdUndoServer(s *session, a args) error { return serverList.undo(s, a) }

func (l associations) configure(s *session, a args) error {
	vpn := vpninstance.Public
	if v, ok := a["vpn"]; ok {
		vpn = v
	}
	var ifname string
	if a.has("peer-if") {
		var err error
		if ifname, err = interfaceName(a["peer-if"], a["peer-ifnum"]); err != nil {
			return err
		}
	}
	addr := a["addr"]
	if _, err := netip.ParseAddr(addr); err == nil && a.has("domain") {
		// yang typedef domain-name: a name that is itself an IP address
		// would be a different entry.
		return cliErrorf("The domain name %s is an IP address: configure the address instead.", addr)
	}
	return s.edit(func(root *gen.Device) error {
		ntp := root.GetOrCreateNtp()
		if k, ok := l.find(ntp, addr, vpn); ok {
			l.remove(ntp, k)
		}
		p, err := l.create(ntp, addr, vpn)
		if err != nil {
			return err
		}
		if v, ok := a["version"]; ok {
			p.Version = u8(v)
		}
		if v, ok := a["port"]; ok {
			n, _ := strconv.ParseUint(v, 10, 16)
			port := uint16(n)
			p.Port = &port
		}
		if v, ok := a["keyid"]; ok {
			id := u32(v)
			p.AuthenticationKeyid = &id
		}
		if ifname != "" {
			p.SourceInterface = &ifname
		}
		// Boolean options are set only when given: leaving one out is its
		// default, false.
		for _, o := range []struct {
			tag  string
			leaf **bool
		}{{"preferred", &p.Preferred}, {"preempt", &p.Preempt}, {"iburst", &p.Iburst}, {"burst", &p.Burst}} {
			if a.has(o.tag) {
				t := true
				*o.leaf = &t
			}
		}
		if v, ok := a["maxpoll"]; ok {
			p.Maxpoll = u8(v)
		}
		if v, ok := a["minpoll"]; ok {
			p.Minpoll = u8(v)
		}
		return nil
	})
}

func (l associations) undo(s *session, a args) error {
	vpn := vpninstance.Public
	if v, ok := a["vpn"]; ok {
		vpn = v
	}
	addr := a["addr"]
	return s.edit(func(root *gen.Device) error {
		ntp := root.GetOrCreateNtp()
		k, ok := l.find(ntp, addr, vpn)
		if !ok {
			return cliErrorf("The NTP %s %s in VPN instance %s is not configured.", l.role, addr, vpn)
		}
		l.remove(ntp, k)
		return nil
	})
}

// cmdAllowUnauthPassive: ntp allow-unauthenticated-passive-peers lets
// ephemeral passive associations of unauthenticated hosts be selected.
func cmdAllowUnauthPassive(s *session, a args) error {
	return s.edit(func(root *gen.Device) error {
		t := true
		root.GetOrCreateNtp().AllowUnauthenticatedPassivePeers = &t
		return nil
	})
}

func cmdUndoAllowUnauthPassive(s *session, a args) error {
	return s.edit(func(root *gen.Device) error {
		if ntp := root.GetNtp(); ntp != nil {
			ntp.AllowUnauthenticatedPassivePeers = nil
		}
		return nil
	})
}

func cmdAuthEnable(s *session, a args) error {
	return s.edit(func(root *gen.Device) error {
		t := true
		root.GetOrCreateNtp().GetOrCreateAuthentication().Enable = &t
		return nil
	})
}

func cmdUndoAuthEnable(s *session, a args) error {
	return s.edit(func(root *gen.Device) error {
		if au := root.GetNtp().GetAuthentication(); au != nil {
			au.Enable = nil
		}
		return nil
	})
}

var modeByWord = map[string]gen.E_NtpagentNtp_Ntp_Authentication_Key_Mode{
	"md5":          gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5,
	"sha1":         gen.NtpagentNtp_Ntp_Authentication_Key_Mode_sha1,
	"hmac-sha256":  gen.NtpagentNtp_Ntp_Authentication_Key_Mode_hmac_sha256,
	"aes-128-cmac": gen.NtpagentNtp_Ntp_Authentication_Key_Mode_aes_128_cmac,
	"aes-256-cmac": gen.NtpagentNtp_Ntp_Authentication_Key_Mode_aes_256_cmac,
}

// cmdKey: ntp authentication-keyid K authentication-mode MODE { cipher |
// plain } VALUE. The datastore stores the value only in this device's
// cipher form and refuses a cipher text made elsewhere; a key entered again
// keeps its trusted setting, which has a command of its own.
func cmdKey(s *session, a args) error {
	id := u32(a["keyid"])
	value := a["key"]
	mode := modeByWord[a["mode"]]
	return s.edit(func(root *gen.Device) error {
		au := root.GetOrCreateNtp().GetOrCreateAuthentication()
		var trusted *bool
		if old := au.GetKey(id); old != nil {
			trusted = old.Trusted
			au.DeleteKey(id)
		}
		k, err := au.NewKey(id)
		if err != nil {
			return err
		}
		k.Mode, k.KeyValue, k.Trusted = mode, &value, trusted
		return nil
	})
}

func keyNotConfigured(id uint32) error {
	return rpcerror.New(rpcerror.TagDataMissing, rules.KeyPath(id, "key-id"), "Authentication key %d is not configured.", id)
}

func cmdUndoKey(s *session, a args) error {
	id := u32(a["keyid"])
	return s.edit(func(root *gen.Device) error {
		au := root.GetNtp().GetAuthentication()
		if au.GetKey(id) == nil {
			return keyNotConfigured(id)
		}
		au.DeleteKey(id)
		return nil
	})
}

func setTrusted(s *session, a args, on bool) error {
	id := u32(a["keyid"])
	return s.edit(func(root *gen.Device) error {
		k := root.GetNtp().GetAuthentication().GetKey(id)
		if k == nil {
			return keyNotConfigured(id)
		}
		if on {
			k.Trusted = &on
		} else {
			k.Trusted = nil
		}
		return nil
	})
}

func cmdTrusted(s *session, a args) error     { return setTrusted(s, a, true) }
func cmdUndoTrusted(s *session, a args) error { return setTrusted(s, a, false) }
