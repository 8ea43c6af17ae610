package cli

// cmdFunc runs a parsed command in a session. It writes its output with the
// session's printf and returns an error to print as "Error: <message>".
type cmdFunc func(s *session, a args) error

func kw(word, help string, next ...*node) *node {
	return &node{word: word, help: help, next: next}
}

func prm(spec *paramSpec, tag, help string, next ...*node) *node {
	return &node{param: spec, tag: tag, help: help, next: next}
}

func hub(run cmdFunc, next ...*node) *node { return &node{run: run, next: next} }

func (n *node) runs(f cmdFunc) *node    { n.run = f; return n }
func (n *node) tagged(tag string) *node { n.tag = tag; return n }
func (n *node) onceAs(id string) *node  { n.once = id; return n }
func (n *node) needs(module, rpc string) *node {
	n.op = [2]string{module, rpc}
	return n
}
func (n *node) then(next ...*node) *node   { n.next = append(n.next, next...); return n }
func (n *node) loopTo(h *node) *node       { n.next = append(n.next, h); return n }
func (n *node) onceTagged(id string) *node { return n.onceAs(id).tagged(id) }

// view is a CLI view; each has its own command set.
type view int

const (
	userView view = iota
	systemView
)

// pipe is the output filter of display commands: | { include | exclude |
// begin } REGEX.
func pipe(run cmdFunc) *node {
	re := func() *node { return prm(pRegex, "regex", "Regular expression").runs(run) }
	return kw("|", "Matching output",
		kw("begin", "Begin with the line that matches the regular expression", re()).tagged("pipe"),
		kw("exclude", "Match the lines that do not match the regular expression", re()).tagged("pipe"),
		kw("include", "Match the lines that match the regular expression", re()).tagged("pipe"),
	)
}

func displayable(word, help string, run cmdFunc, next ...*node) *node {
	n := kw(word, help, next...).runs(run)
	return n.then(pipe(run))
}

func displayTree() *node {
	verbose := displayable("verbose", "Detailed information", cmdDisplaySessions).tagged("verbose")
	return kw("display", "Display information",
		displayable("current-configuration", "Current configuration", cmdDisplayCurrent),
		displayable("saved-configuration", "Saved configuration (startup)", cmdDisplaySaved),
		displayable("this", "Configuration of the current view", cmdDisplayThis),
		kw("configuration", "Configuration database",
			displayable("candidate", "Candidate configuration (uncommitted changes included)", cmdDisplayCandidate),
			kw("commit", "Commit records",
				displayable("list", "List of commit records", cmdDisplayCommitList),
			),
		),
		kw("ntp", "NTP",
			displayable("sessions", "NTP sessions", cmdDisplaySessions, verbose),
			displayable("statistics", "NTP packet statistics", cmdDisplayStatistics),
			displayable("status", "NTP status", cmdDisplayStatus),
		),
	)
}

// peerOptions builds the options of ntp unicast-peer and ntp
// unicast-server (the same set; role is "peer" or "server" in the help) that
// may follow the address in any order, each at most once. IPv6 peers and
// servers have no version option.
func peerOptions(run cmdFunc, role string, withVersion bool) *node {
	h := hub(run)
	ifname := prm(pIfName, "peer-if", "Interface name, or interface type followed by its number")
	ifname.then(prm(pIfNum, "peer-ifnum", "Interface number").loopTo(h)).loopTo(h)
	opts := []*node{
		kw("authentication-keyid", "Key that authenticates the "+role,
			prm(pKeyID, "keyid", "Key ID").loopTo(h)).onceAs("keyid"),
		kw("burst", "Send a burst of packets at each poll").onceTagged("burst").loopTo(h),
		kw("iburst", "Send a burst of packets while the "+role+" is unreachable").onceTagged("iburst").loopTo(h),
		kw("maxpoll", "Largest poll interval (log2 seconds)",
			prm(pPoll, "maxpoll", "Maximum poll exponent").loopTo(h)).onceAs("maxpoll"),
		kw("minpoll", "Smallest poll interval (log2 seconds)",
			prm(pPoll, "minpoll", "Minimum poll exponent").loopTo(h)).onceAs("minpoll"),
		kw("port", "UDP port of the "+role,
			prm(pPort, "port", "Port number").loopTo(h)).onceAs("port"),
		kw("preempt", "Preemptible association").onceTagged("preempt").loopTo(h),
		kw("preferred", "Preferred "+role).onceTagged("preferred").loopTo(h),
		kw("source-interface", "Source interface of packets to the "+role, ifname).onceAs("peer-if"),
		kw("vpn-instance", "VPN instance of the "+role,
			prm(pVPN, "vpn", "VPN instance name").loopTo(h)).onceAs("vpn"),
	}
	if withVersion {
		opts = append(opts, kw("version", "NTP version",
			prm(pVersion, "version", "Version number").loopTo(h)).onceAs("version"))
	}
	h.next = opts
	return h
}

// sourceInterface builds IFNAME [IFNUM] [vpn-instance VPN].
func sourceInterface(run cmdFunc) *node {
	vpn := kw("vpn-instance", "VPN instance whose peers use the interface",
		prm(pVPN, "vpn", "VPN instance name").runs(run))
	return kw("source-interface", "Source interface of NTP packets",
		prm(pIfName, "if", "Interface name, or interface type followed by its number",
			prm(pIfNum, "ifnum", "Interface number", vpn).runs(run),
			vpn,
		).runs(run),
	)
}

func ntpTree() *node {
	modes := []*node{}
	for _, m := range []struct{ word, help string }{
		{"aes-128-cmac", "AES-CMAC with a 128-bit key (RFC 8573)"},
		{"aes-256-cmac", "AES-CMAC with a 256-bit key (RFC 8573)"},
		{"hmac-sha256", "HMAC-SHA256"},
		{"md5", "MD5 (RFC 5905)"},
		{"sha1", "SHA-1"},
	} {
		modes = append(modes, kw(m.word, m.help,
			kw("cipher", "The key is shown in cipher text (input: cipher or clear text)",
				prm(pCipherKey, "key", "Key value").runs(cmdKey)).tagged("form"),
			kw("plain", "The key is given in clear text (shown in cipher text)",
				prm(pPlainKey, "key", "Key value").runs(cmdKey)).tagged("form"),
		).tagged("mode"))
	}
	association := func(word, help, role string, run cmdFunc) *node {
		return kw(word, help,
			prm(pIPv4, "addr", "IPv4 address of the "+role).loopTo(peerOptions(run, role, true)),
			kw("domain", "Domain name of the "+role,
				prm(pDomain, "addr", "Domain name").loopTo(peerOptions(run, role, true))).tagged("domain"),
			kw("ipv6", "IPv6 "+role,
				prm(pIPv6, "addr", "IPv6 address of the "+role).loopTo(peerOptions(run, role, false))).tagged("ipv6"),
		)
	}
	return kw("ntp", "NTP",
		kw("allow-unauthenticated-passive-peers", "Select unauthenticated passive peers").runs(cmdAllowUnauthPassive),
		kw("authentication", "Authentication",
			kw("enable", "Require authentication").runs(cmdAuthEnable)),
		kw("authentication-keyid", "Authentication key",
			prm(pKeyID, "keyid", "Key ID",
				kw("authentication-mode", "Authentication mode", modes...))),
		kw("ipv6", "IPv6", sourceInterface(cmdSourceInterface)).tagged("ipv6"),
		sourceInterface(cmdSourceInterface),
		kw("trusted", "Trusted key",
			kw("authentication-keyid", "Authentication key",
				prm(pKeyID, "keyid", "Key ID").runs(cmdTrusted))),
		association("unicast-peer", "Symmetric passive peer", "peer", cmdPeer),
		association("unicast-server", "NTP server (this device is its client)", "server", cmdServer),
		kw("unsync", "Polling while the clock is unsynchronized",
			kw("max-poll-interval", "Largest poll interval while unsynchronized (log2 seconds)",
				prm(pPoll, "maxpoll", "Poll exponent",
					kw("dec-step", "Step by which the poll exponent decreases",
						prm(pDecStep, "decstep", "Step").runs(cmdUnsync))))),
	)
}

func undoNtpTree() *node {
	associationUndo := func(word, help, role string, run cmdFunc) *node {
		vpn := kw("vpn-instance", "VPN instance of the "+role, prm(pVPN, "vpn", "VPN instance name").runs(run))
		return kw(word, help,
			prm(pIPv4, "addr", "IPv4 address of the "+role, vpn).runs(run),
			kw("domain", "Domain name of the "+role, prm(pDomain, "addr", "Domain name", vpn).runs(run)).tagged("domain"),
			kw("ipv6", "IPv6 "+role, prm(pIPv6, "addr", "IPv6 address of the "+role, vpn).runs(run)).tagged("ipv6"),
		)
	}
	srcUndo := func() *node {
		return kw("source-interface", "Source interface of NTP packets").runs(cmdUndoSourceInterface)
	}
	return kw("ntp", "NTP",
		kw("allow-unauthenticated-passive-peers", "Select unauthenticated passive peers").runs(cmdUndoAllowUnauthPassive),
		kw("authentication", "Authentication",
			kw("enable", "Require authentication").runs(cmdUndoAuthEnable)),
		kw("authentication-keyid", "Authentication key",
			prm(pKeyID, "keyid", "Key ID").runs(cmdUndoKey)),
		kw("ipv6", "IPv6", srcUndo()).tagged("ipv6"),
		srcUndo(),
		kw("trusted", "Trusted key",
			kw("authentication-keyid", "Authentication key",
				prm(pKeyID, "keyid", "Key ID").runs(cmdUndoTrusted))),
		associationUndo("unicast-peer", "Symmetric passive peer", "peer", cmdUndoPeer),
		associationUndo("unicast-server", "NTP server (this device is its client)", "server", cmdUndoServer),
		kw("unsync", "Polling while the clock is unsynchronized",
			kw("max-poll-interval", "Largest poll interval while unsynchronized").runs(cmdUndoUnsync)),
	)
}

// grammar returns the command roots of the views.
func grammar() map[view]*node {
	user := &node{next: []*node{
		displayTree(),
		kw("quit", "Exit from the current view").runs(cmdQuit),
		kw("rollback", "Roll back the configuration",
			kw("configuration", "Running configuration",
				kw("to", "Target of the rollback",
					kw("commit-id", "A commit of the commit list",
						prm(pCommitID, "id", "Commit ID").runs(cmdRollback))))).needs("ntpagent-system", "rollback-to-commit"),
		kw("save", "Save the running configuration as the startup configuration",
			kw("force", "Save without asking for confirmation").tagged("force").runs(cmdSave)).runs(cmdSave).needs("ietf-netconf", "copy-config"),
		kw("screen-length", "Lines of output per screen",
			prm(uintRange("INTEGER<0-512>", 0, 512), "lines", "Lines per screen (0: no paging)",
				kw("temporary", "For this session").runs(cmdScreenLength))),
		kw("system-view", "Enter the system view").runs(cmdSystemView).needs("ietf-netconf", "edit-config"),
	}}
	system := &node{next: []*node{
		kw("abort", "Discard the uncommitted configuration and return to the user view").runs(cmdAbort),
		kw("commit", "Commit the candidate configuration",
			kw("label", "Label of the commit", prm(pLabel, "label", "Label").runs(cmdCommit))).runs(cmdCommit).needs("ietf-netconf", "commit"),
		displayTree(),
		ntpTree(),
		kw("quit", "Exit from the current view").runs(cmdQuit),
		kw("return", "Return to the user view").runs(cmdReturn),
		kw("sysname", "Host name", prm(pSysname, "sysname", "Host name").runs(cmdSysname)),
		localUserTree(),
		kw("undo", "Undo a configuration",
			undoLocalUserTree(),
			undoNtpTree(),
			kw("sysname", "Host name").runs(cmdUndoSysname),
		),
	}}
	return map[view]*node{userView: user, systemView: system}
}
