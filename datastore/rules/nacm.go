package rules

import (
	"fmt"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// checkNacm enforces what ietf-netconf-acm makes mandatory (RFC 7950
// §15.6): every rule of /nacm has an action.
func checkNacm(n *gen.IETFNetconfAcm_Nacm, add func(tag rpcerror.Tag, appTag, path, format string, args ...any)) {
	if n == nil {
		return
	}
	for _, rl := range n.RuleList.Values() {
		ln := rl.GetName()
		for _, r := range rl.Rule.Values() {
			if rn := r.GetName(); r.Action == gen.IETFNetconfAcm_ActionType_UNSET {
				add(rpcerror.TagDataMissing, "", fmt.Sprintf("/nacm:nacm/nacm:rule-list[nacm:name='%s']/nacm:rule[nacm:name='%s']/nacm:action", ln, rn),
					"Rule %s of rule-list %s has no action (permit or deny).", rn, ln)
			}
		}
	}
}
