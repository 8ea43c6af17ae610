package nacm

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ntpagent/ntpagent/gen"
)

// Action is what a rule or a default does (RFC 8341 action-type).
type Action uint8

// The actions.
const (
	Permit Action = iota
	Deny
)

// Ops is a set of access operations (RFC 8341 access-operations-type).
type Ops uint8

// The access operations.
const (
	Create Ops = 1 << iota
	Read
	Update
	Delete
	Exec
	AllOps = Create | Read | Update | Delete | Exec
)

var opNames = []struct {
	op   Ops
	name string
}{{Create, "create"}, {Read, "read"}, {Update, "update"}, {Delete, "delete"}, {Exec, "exec"}}

// String is the operation's name as the module spells it ("read"), or the
// names of a set separated by spaces.
func (o Ops) String() string {
	var out []string
	for _, n := range opNames {
		if o&n.op != 0 {
			out = append(out, n.name)
		}
	}
	return strings.Join(out, " ")
}

// ParseOps reads an access-operations value: "*" or bit names separated by
// spaces (RFC 7950 §9.7.2).
func ParseOps(s string) (Ops, error) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return AllOps, nil
	}
	var o Ops
	for _, w := range strings.Fields(s) {
		found := false
		for _, n := range opNames {
			if n.name == w {
				o |= n.op
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("nacm: unknown access operation %q", w)
		}
	}
	return o, nil
}

// RuleType is the case of a rule's rule-type choice.
type RuleType uint8

// The rule types; AnyType is a rule without rule-type, which matches every
// request of its access operations (RFC 8341 §3.5.2 rule-type).
const (
	AnyType RuleType = iota
	OperationRule
	NotificationRule
	DataRule
)

// Rule is one access control rule.
type Rule struct {
	Name string
	// Module is "*" or a module name.
	Module string
	Type   RuleType
	// Name of the rule-type case: RPC, Notification ("*" or a name) or
	// Path (a node-instance-identifier, "/" for everything).
	RPC, Notification, Path string
	Ops                     Ops
	Action                  Action
}

// RuleList is an ordered collection of rules for some groups ("*": all).
type RuleList struct {
	Name   string
	Groups []string
	Rules  []Rule
}

// Group is a NACM group with its member users.
type Group struct {
	Name  string
	Users []string
}

// Config is /nacm as the rules need it (RFC 8341 §3.5.2).
type Config struct {
	Enabled                                bool
	ReadDefault, WriteDefault, ExecDefault Action
	// ExternalGroups is enable-external-groups: the groups the transport
	// gives (here the user's role) count.
	ExternalGroups bool
	Groups         []Group
	RuleLists      []RuleList
}

// The factory-default groups: every user belongs to the group of its role
// (admin or operator), reported by the transport as an external group.
const (
	GroupAdmin    = "admin"
	GroupOperator = "operator"
)

// operatorDenied are the operations the operator group may not execute in
// the factory defaults: everything that writes a datastore, holds a lock
// or ends another session — what the operator role could never do.
var operatorDenied = []struct{ module, rpc string }{
	{"ietf-netconf", "edit-config"}, {"ietf-netconf", "copy-config"}, {"ietf-netconf", "delete-config"},
	{"ietf-netconf", "lock"}, {"ietf-netconf", "unlock"}, {"ietf-netconf", "commit"},
	{"ietf-netconf", "cancel-commit"}, {"ietf-netconf", "discard-changes"}, {"ietf-netconf", "kill-session"},
	{"ietf-netconf-nmda", "edit-data"}, {"ntpagent-system", "rollback-to-commit"},
}

// FactoryDefault is the access control a device has while /nacm is not
// configured: the YANG defaults (enabled; read and exec permitted unless a
// node says nacm:default-deny-all; write denied) and two rule-lists that
// keep the rights of the two roles. The admin group may do everything,
// secrets included; the operator group reads everything but the nodes
// marked default-deny-all (NTP key values, password hashes, /nacm itself)
// and may not execute the operations that write or lock (the write-default
// deny would refuse their writes anyway; refusing the operation says so
// at once, as the role always did).
func FactoryDefault() Config {
	op := RuleList{Name: "operator", Groups: []string{GroupOperator}}
	for _, d := range operatorDenied {
		op.Rules = append(op.Rules, Rule{Name: "deny-" + d.rpc, Module: d.module, Type: OperationRule, RPC: d.rpc, Ops: Exec, Action: Deny})
	}
	return Config{
		Enabled: true, ReadDefault: Permit, WriteDefault: Deny, ExecDefault: Permit, ExternalGroups: true,
		RuleLists: []RuleList{
			{Name: "admin", Groups: []string{GroupAdmin}, Rules: []Rule{{Name: "permit-all", Module: "*", Ops: AllOps, Action: Permit}}},
			op,
		},
	}
}

// FromGen is the configured /nacm, the YANG defaults filled in; nil (no
// /nacm configured) gives FactoryDefault. Rule-lists and rules keep the
// order they have in the configuration (ordered-by user), the order
// RFC 8341 §3.4.5 evaluates them in.
func FromGen(n *gen.IETFNetconfAcm_Nacm) (Config, error) {
	if n == nil {
		return FactoryDefault(), nil
	}
	c := Config{
		Enabled:        n.EnableNacm == nil || *n.EnableNacm,
		ExternalGroups: n.EnableExternalGroups == nil || *n.EnableExternalGroups,
		ReadDefault:    action(n.ReadDefault, Permit),
		WriteDefault:   action(n.WriteDefault, Deny),
		ExecDefault:    action(n.ExecDefault, Permit),
	}
	if n.Groups != nil {
		for _, name := range sortedKeys(n.Groups.Group) {
			c.Groups = append(c.Groups, Group{Name: name, Users: n.Groups.Group[name].UserName})
		}
	}
	for _, rl := range n.RuleList.Values() {
		name := rl.GetName()
		l := RuleList{Name: name, Groups: rl.Group}
		for _, r := range rl.Rule.Values() {
			rn := r.GetName()
			x := Rule{Name: rn, Module: "*", Ops: AllOps, Action: action(r.Action, Deny)}
			if r.ModuleName != nil {
				x.Module = *r.ModuleName
			}
			if r.AccessOperations != nil {
				o, err := ParseOps(*r.AccessOperations)
				if err != nil {
					return Config{}, fmt.Errorf("%w (rule-list %s, rule %s)", err, name, rn)
				}
				x.Ops = o
			}
			switch {
			case r.RpcName != nil:
				x.Type, x.RPC = OperationRule, *r.RpcName
			case r.NotificationName != nil:
				x.Type, x.Notification = NotificationRule, *r.NotificationName
			case r.Path != nil:
				x.Type, x.Path = DataRule, *r.Path
			}
			l.Rules = append(l.Rules, x)
		}
		c.RuleLists = append(c.RuleLists, l)
	}
	return c, nil
}

// action reads an action-type leaf; unset is the default def. A rule's
// action is mandatory: the datastore refuses a rule without one.
func action(e gen.E_IETFNetconfAcm_ActionType, def Action) Action {
	switch e {
	case gen.IETFNetconfAcm_ActionType_permit:
		return Permit
	case gen.IETFNetconfAcm_ActionType_deny:
		return Deny
	}
	return def
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
