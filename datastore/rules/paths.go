package rules

import (
	"fmt"
	"strings"
)

// Module prefixes used in error paths (the prefixes declared by the modules).
const (
	NtpPrefix    = "ntpa"
	SystemPrefix = "ntps"
)

// quoteKey renders a key value for a path predicate (XPath 1.0 literal).
func quoteKey(v string) string {
	if !strings.Contains(v, "'") {
		return "'" + v + "'"
	}
	return `"` + v + `"`
}

// PeerPath is the instance path of a unicast peer, or of its leaf when leaf is
// not empty.
func PeerPath(address, vpn, leaf string) string { return UnicastPeer.Path(address, vpn, leaf) }

// ServerPath is the instance path of a unicast server, or of its leaf.
func ServerPath(address, vpn, leaf string) string { return UnicastServer.Path(address, vpn, leaf) }

// Path is the instance path of an entry of the list, or of its leaf when
// leaf is not empty.
func (l AssociationList) Path(address, vpn, leaf string) string {
	p := fmt.Sprintf("/ntpa:ntp/ntpa:%s[ntpa:address=%s][ntpa:vpn-instance=%s]", string(l), quoteKey(address), quoteKey(vpn))
	if leaf != "" {
		p += "/ntpa:" + leaf
	}
	return p
}

// KeyPath is the instance path of an authentication key, or of its leaf.
func KeyPath(id uint32, leaf string) string {
	p := fmt.Sprintf("/ntpa:ntp/ntpa:authentication/ntpa:key[ntpa:key-id='%d']", id)
	if leaf != "" {
		p += "/ntpa:" + leaf
	}
	return p
}

// UnsyncPath is the instance path of a leaf of /ntp/unsync.
func UnsyncPath(leaf string) string { return "/ntpa:ntp/ntpa:unsync/ntpa:" + leaf }

// localUserListPath is the path of the list of local users.
const localUserListPath = "/ntps:system/ntps:local-user"

// UserPath is the instance path of a local user, or of its leaf.
func UserPath(name, leaf string) string {
	p := localUserListPath + "[ntps:name=" + quoteKey(name) + "]"
	if leaf != "" {
		p += "/ntps:" + leaf
	}
	return p
}

// UserKeyPath is the instance path of one authorized key of a local user
// (a leaf-list entry, RFC 7950 §9.13.2).
func UserKeyPath(name, line string) string {
	return UserPath(name, "authorized-key") + "[.=" + quoteKey(line) + "]"
}
