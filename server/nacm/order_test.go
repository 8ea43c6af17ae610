package nacm

import (
	"slices"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
)

// storedNacm is /nacm as the datastore holds it: rule-lists (each for
// group ops, with its rules) appended in the order given, as an edit
// enters them.
func storedNacm(t *testing.T, lists ...[]string) *gen.IETFNetconfAcm_Nacm {
	t.Helper()
	n := &gen.IETFNetconfAcm_Nacm{ExecDefault: gen.IETFNetconfAcm_ActionType_permit}
	n.GetOrCreateGroups().GetOrCreateGroup("ops").UserName = []string{"alice"}
	for _, l := range lists {
		rl, err := n.AppendNewRuleList(l[0])
		if err != nil {
			t.Fatal(err)
		}
		rl.Group = []string{"ops"}
		for _, name := range l[1:] {
			r, err := rl.AppendNewRule(name)
			if err != nil {
				t.Fatal(err)
			}
			r.ModuleName, r.Path, r.AccessOperations = ygotStr("*"), ygotStr("/ntpa:ntp"), ygotStr("*")
			r.Action = gen.IETFNetconfAcm_ActionType_permit
			if name[0] == 'z' {
				r.Action = gen.IETFNetconfAcm_ActionType_deny
			}
		}
	}
	return n
}

// RFC 8341 §3.4.5 (and §3.4.4 step 6): rule-lists are processed in the
// order they appear in the configuration, and the rules of a rule-list
// likewise; the first rule that matches decides. The names sort the other
// way round on purpose: order by name would give the opposite answer.
func TestRuleListsAndRulesInConfiguredOrderRFC8341(t *testing.T) {
	for _, c := range []struct {
		name  string
		lists [][]string // each: rule-list name, then its rules' names (z…: deny, a…: permit)
		want  bool       // alice may read /ntp
	}{
		{"3.4.5 a deny rule-list z-… entered before a permit rule-list a-… denies", [][]string{{"z-deny", "z-rule"}, {"a-permit", "a-rule"}}, false},
		{"3.4.5 the permit rule-list a-… entered first permits", [][]string{{"a-permit", "a-rule"}, {"z-deny", "z-rule"}}, true},
		{"3.4.5 within a rule-list a deny rule z-… entered first denies", [][]string{{"ops", "z-rule", "a-rule"}}, false},
		{"3.4.5 within a rule-list the permit rule a-… entered first permits", [][]string{{"ops", "a-rule", "z-rule"}}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := FromGen(storedNacm(t, c.lists...))
			if err != nil {
				t.Fatal(err)
			}
			cfg.ReadDefault = Deny // only a rule lets alice read
			a := compile(t, cfg).Access(alice)
			pruned := a.Prune(device()).(*gen.Device)
			if got := pruned.GetNtp().GetUnicastPeer("10.0.0.1", "_public_") != nil; got != c.want {
				t.Errorf("alice reads the peer: %t, want %t", got, c.want)
			}
			var names []string
			for _, l := range cfg.RuleLists {
				names = append(names, l.Name)
				for _, r := range l.Rules {
					names = append(names, l.Name+"/"+r.Name)
				}
			}
			var want []string
			for _, l := range c.lists {
				want = append(want, l[0])
				for _, r := range l[1:] {
					want = append(want, l[0]+"/"+r)
				}
			}
			if !slices.Equal(names, want) {
				t.Fatalf("FromGen gives %v, want the configured order %v", names, want)
			}
		})
	}
}

// RFC 8341 §3.2 update: moving an entry of an ordered-by user list alters
// the list, so a session that may create and delete rule-lists but not
// update them cannot reorder them; one that may update can.
func TestMovingAnOrderedEntryIsAnUpdateRFC8341(t *testing.T) {
	before := &gen.Device{Nacm: storedNacm(t, []string{"a-permit", "a-rule"}, []string{"z-deny", "z-rule"}, []string{"m", "m-rule"})}
	after := &gen.Device{Nacm: storedNacm(t, []string{"z-deny", "z-rule"}, []string{"a-permit", "a-rule"}, []string{"m", "m-rule"})}
	same := &gen.Device{Nacm: storedNacm(t, []string{"a-permit", "a-rule"}, []string{"z-deny", "z-rule"}, []string{"m", "m-rule"})}
	rules := func(ops Ops) Config {
		c := base(Rule{Name: "nacm", Module: "ietf-netconf-acm", Type: DataRule, Path: "/nacm:nacm", Ops: ops, Action: Permit})
		c.WriteDefault = Deny
		return c
	}
	if d := compile(t, rules(Create|Delete)).Access(alice).CheckWrite(before, after); d == nil || d.Op != Update {
		t.Errorf("a move without update access: %+v, want an update denied", d)
	}
	if d := compile(t, rules(Create|Delete)).Access(alice).CheckWrite(before, same); d != nil {
		t.Errorf("the same order is no change, but %+v is denied", d)
	}
	if d := compile(t, rules(Create|Delete|Update)).Access(alice).CheckWrite(before, after); d != nil {
		t.Errorf("a move with update access is denied: %+v", d)
	}
}
