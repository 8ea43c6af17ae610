package datastore

import (
	"slices"
	"unicode/utf8"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// The access control configuration (/nacm, RFC 8341 §3.5) is small and
// changes rarely: the datastore handles it whole, like /system — the
// journal records it with the top-level nodes, and a change of it is one
// edited path.

// nacmPath is /nacm in the module prefixes of error-paths and events.
const nacmPath = "/nacm:nacm"

func copyNacm(n *gen.IETFNetconfAcm_Nacm) *gen.IETFNetconfAcm_Nacm {
	if n == nil {
		return nil
	}
	// Only configuration: the denied-* counters are state (config false).
	out := &gen.IETFNetconfAcm_Nacm{EnableNacm: ptr(n.EnableNacm), EnableExternalGroups: ptr(n.EnableExternalGroups),
		ReadDefault: n.ReadDefault, WriteDefault: n.WriteDefault, ExecDefault: n.ExecDefault}
	if n.Groups != nil {
		out.Groups = &gen.IETFNetconfAcm_Nacm_Groups{}
		if n.Groups.Group != nil {
			out.Groups.Group = make(map[string]*gen.IETFNetconfAcm_Nacm_Groups_Group, len(n.Groups.Group))
			for k, g := range n.Groups.Group {
				out.Groups.Group[k] = &gen.IETFNetconfAcm_Nacm_Groups_Group{Name: ptr(g.Name), UserName: slices.Clone(g.UserName)}
			}
		}
	}
	if n.RuleList != nil {
		out.RuleList = &gen.IETFNetconfAcm_Nacm_RuleList_OrderedMap{}
		for _, rl := range n.RuleList.Values() {
			o := &gen.IETFNetconfAcm_Nacm_RuleList{Name: ptr(rl.Name), Group: slices.Clone(rl.Group)}
			if rl.Rule != nil {
				o.Rule = &gen.IETFNetconfAcm_Nacm_RuleList_Rule_OrderedMap{}
				for _, r := range rl.Rule.Values() {
					c := *r
					c.AccessOperations, c.Comment, c.ModuleName, c.Name = ptr(r.AccessOperations), ptr(r.Comment), ptr(r.ModuleName), ptr(r.Name)
					c.NotificationName, c.Path, c.RpcName = ptr(r.NotificationName), ptr(r.Path), ptr(r.RpcName)
					mustAppend(o.Rule.Append(&c))
				}
			}
			mustAppend(out.RuleList.Append(o))
		}
	}
	return out
}

func equalNacm(a, b *gen.IETFNetconfAcm_Nacm) bool {
	if a == nil || b == nil {
		return a == b
	}
	if !eq(a.EnableNacm, b.EnableNacm) || !eq(a.EnableExternalGroups, b.EnableExternalGroups) ||
		a.ReadDefault != b.ReadDefault || a.WriteDefault != b.WriteDefault || a.ExecDefault != b.ExecDefault {
		return false
	}
	if (a.Groups == nil) != (b.Groups == nil) {
		return false
	}
	if a.Groups != nil && !equalMap(a.Groups.Group, b.Groups.Group, func(x, y *gen.IETFNetconfAcm_Nacm_Groups_Group) bool {
		return eq(x.Name, y.Name) && slices.Equal(x.UserName, y.UserName)
	}) {
		return false
	}
	// Rule-lists and rules are ordered-by user: the same entries in
	// another order are another configuration (RFC 8341 §3.4.5 evaluates
	// them in order).
	return equalOrdered(a.RuleList.Values(), b.RuleList.Values(), func(x, y *gen.IETFNetconfAcm_Nacm_RuleList) bool {
		return eq(x.Name, y.Name) && slices.Equal(x.Group, y.Group) && equalOrdered(x.Rule.Values(), y.Rule.Values(), func(r, s *gen.IETFNetconfAcm_Nacm_RuleList_Rule) bool {
			return eq(r.Name, s.Name) && eq(r.ModuleName, s.ModuleName) && eq(r.RpcName, s.RpcName) &&
				eq(r.NotificationName, s.NotificationName) && eq(r.Path, s.Path) && eq(r.AccessOperations, s.AccessOperations) &&
				r.Action == s.Action && eq(r.Comment, s.Comment)
		})
	})
}

// equalOrdered compares the entries of two ordered-by user lists, order
// included.
func equalOrdered[V any](a, b []*V, f func(x, y *V) bool) bool {
	return slices.EqualFunc(a, b, func(x, y *V) bool {
		if x == nil || y == nil {
			return x == y
		}
		return f(x, y)
	})
}

// mustAppend panics on an error of an ordered map's Append, which copies
// make only from a list that already holds each key once.
func mustAppend(err error) {
	if err != nil {
		panic("datastore: copying an ordered list: " + err.Error())
	}
}

// normalizeNacm refuses state data and list entries whose keys disagree
// with their list key, and removes what is empty.
func normalizeNacm(d *gen.Device) error {
	n := d.Nacm
	if n == nil {
		return nil
	}
	if n.DeniedOperations != nil || n.DeniedDataWrites != nil || n.DeniedNotifications != nil {
		return rpcerror.New(rpcerror.TagInvalidValue, nacmPath, "The denied-* counters of access control are state data and cannot be configured.")
	}
	if g := n.Groups; g != nil {
		for k, v := range g.Group {
			if v == nil || !eq(v.Name, &k) {
				return rpcerror.New(rpcerror.TagInvalidValue, nacmPath+"/nacm:groups/nacm:group", "The name of access control group %s does not match its list key.", k)
			}
			if len(v.UserName) == 0 {
				v.UserName = nil
			}
		}
		if len(g.Group) == 0 {
			n.Groups = nil
		}
	}
	for _, k := range n.RuleList.Keys() {
		rl := n.RuleList.Get(k)
		if rl == nil || !eq(rl.Name, &k) {
			return rpcerror.New(rpcerror.TagInvalidValue, nacmPath+"/nacm:rule-list", "The name of rule-list %s does not match its list key.", k)
		}
		for _, rk := range rl.Rule.Keys() {
			if r := rl.Rule.Get(rk); r == nil || !eq(r.Name, &rk) {
				return rpcerror.New(rpcerror.TagInvalidValue, nacmPath+"/nacm:rule-list", "The name of rule %s in rule-list %s does not match its list key.", rk, k)
			}
		}
		if rl.Rule.Len() == 0 {
			rl.Rule = nil
		}
		if len(rl.Group) == 0 {
			rl.Group = nil
		}
	}
	if n.RuleList.Len() == 0 {
		n.RuleList = nil
	}
	if n.EnableNacm == nil && n.EnableExternalGroups == nil && n.ReadDefault == 0 && n.WriteDefault == 0 &&
		n.ExecDefault == 0 && n.Groups == nil && n.RuleList == nil {
		d.Nacm = nil
	}
	return checkNacmUTF8(n)
}

func checkNacmUTF8(n *gen.IETFNetconfAcm_Nacm) error {
	var strs []string
	var groups map[string]*gen.IETFNetconfAcm_Nacm_Groups_Group
	if n.Groups != nil {
		groups = n.Groups.Group
	}
	for k, g := range groups {
		strs = append(append(strs, k), g.UserName...)
	}
	for _, rl := range n.RuleList.Values() {
		strs = append(append(strs, rl.GetName()), rl.Group...)
		for _, r := range rl.Rule.Values() {
			strs = append(strs, r.GetName())
			for _, p := range []*string{r.ModuleName, r.RpcName, r.NotificationName, r.Path, r.AccessOperations, r.Comment} {
				if p != nil {
					strs = append(strs, *p)
				}
			}
		}
	}
	for _, s := range strs {
		if !utf8.ValidString(s) {
			return rpcerror.New(rpcerror.TagInvalidValue, nacmPath, "The value is not valid UTF-8 text.")
		}
	}
	return nil
}

// nacmEdits is /nacm's part of diffTrees: one path, the container.
func nacmEdits(a, b *gen.Device) []EditedPath {
	x, y := a.GetNacm(), b.GetNacm()
	switch {
	case x == nil && y != nil:
		return []EditedPath{{nacmPath, "create"}}
	case x != nil && y == nil:
		return []EditedPath{{nacmPath, "delete"}}
	case !equalNacm(x, y):
		return []EditedPath{{nacmPath, "replace"}}
	}
	return nil
}
