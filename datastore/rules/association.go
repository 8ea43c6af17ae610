package rules

import "github.com/ntpagent/ntpagent/gen"

// AssociationList names one of the two lists of configured associations.
// Their entries have the same leaves (one YANG grouping), so the same rules
// apply to both; only the paths and the words of the messages differ.
type AssociationList string

// The lists of configured associations, by their YANG names.
const (
	// UnicastPeer: symmetric active associations (RFC 5905 mode 1).
	UnicastPeer AssociationList = "unicast-peer"
	// UnicastServer: client associations (RFC 5905 mode 3).
	UnicastServer AssociationList = "unicast-server"
)

// Noun is how messages name an entry of the list.
func (l AssociationList) Noun() string {
	if l == UnicastServer {
		return "unicast server"
	}
	return "unicast peer"
}

// role is the one word messages use for the remote host of an entry.
func (l AssociationList) role() string {
	if l == UnicastServer {
		return "server"
	}
	return "peer"
}

// ServerAsPeer views a unicast server as a unicast peer: both lists use the
// same YANG grouping, so their generated structs have the same fields and
// convert into each other. Code written for a peer's leaves (validation,
// copying, source-interface resolution) then serves both lists, and a leaf
// added to only one of them stops this from compiling.
func ServerAsPeer(s *gen.NtpagentNtp_Ntp_UnicastServer) *gen.NtpagentNtp_Ntp_UnicastPeer {
	return (*gen.NtpagentNtp_Ntp_UnicastPeer)(s)
}
