package rules

import (
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// RFC 7950 §15.6 for ietf-netconf-acm (RFC 8341 §3.5.2): a rule's action
// is mandatory; a rule with one passes.
func TestNacmRuleNeedsAnActionRFC8341(t *testing.T) {
	d := &gen.Device{}
	rl, _ := d.GetOrCreateNacm().AppendNewRuleList("ops")
	r, _ := rl.AppendNewRule("r1")
	err := Check(d)
	es := rpcerror.All(err)
	if len(es) != 1 || es[0].Tag != rpcerror.TagDataMissing || es[0].Path != "/nacm:nacm/nacm:rule-list[nacm:name='ops']/nacm:rule[nacm:name='r1']/nacm:action" {
		t.Fatalf("Check = %v", err)
	}
	r.Action = gen.IETFNetconfAcm_ActionType_deny
	if err := Check(d); err != nil {
		t.Fatalf("a rule with an action: %v", err)
	}
}
