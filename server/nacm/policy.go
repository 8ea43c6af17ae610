package nacm

import (
	"fmt"
	"slices"
	"strings"
)

// Policy is a Config compiled against a Schema: rule paths resolved, ready
// to answer for any session. Read-only once Compile returns.
type Policy struct {
	cfg    Config
	schema *Schema
	rules  []compiledRule // every rule of every rule-list, in order
}

type compiledRule struct {
	Rule
	list   int // index of its rule-list
	groups []string
	all    bool    // the rule-list's groups include "*"
	path   []pstep // DataRule: the path's steps; empty for "/"
}

// pstep is one step of a node-instance-identifier: a node of a module
// (module "" matches any) with key predicates (name → value).
type pstep struct {
	module, name string
	preds        map[string]string
	// keyPreds are preds by the index of the key in the list's key order,
	// when the step resolves to a list of the schema (Compile).
	keyPreds []keyPred
	resolved bool
}

type keyPred struct {
	index int
	value string
}

// Compile resolves c's rule paths against s. A path that does not parse
// or names an unknown module prefix is an error naming its rule.
func Compile(c Config, s *Schema) (*Policy, error) {
	p := &Policy{cfg: c, schema: s}
	for i, rl := range c.RuleLists {
		for _, r := range rl.Rules {
			cr := compiledRule{Rule: r, list: i, groups: rl.Groups, all: slices.Contains(rl.Groups, "*")}
			if r.Type == DataRule {
				steps, err := s.parsePath(r.Path)
				if err != nil {
					return nil, fmt.Errorf("nacm: rule-list %s, rule %s: %w", rl.Name, r.Name, err)
				}
				s.resolvePreds(steps)
				cr.path = steps
			}
			p.rules = append(p.rules, cr)
		}
	}
	return p, nil
}

// Config returns the configuration p was compiled from.
func (p *Policy) Config() Config { return p.cfg }

// parsePath reads a node-instance-identifier (RFC 8341 §3.5.1): an
// instance-identifier whose key predicates are optional. Prefixes are the
// modules' own prefixes or their names (the form of RFC 7951); a step
// without one matches the name in any module.
func (s *Schema) parsePath(path string) ([]pstep, error) {
	path = strings.TrimSpace(path)
	if path == "/" {
		return nil, nil
	}
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("path %q does not start at the root (/)", path)
	}
	var steps []pstep
	rest := path[1:]
	for rest != "" {
		end := 0
		quote := byte(0)
		for end < len(rest) && (quote != 0 || rest[end] != '/') {
			switch c := rest[end]; {
			case quote != 0 && c == quote:
				quote = 0
			case quote == 0 && (c == '\'' || c == '"'):
				quote = c
			}
			end++
		}
		seg := rest[:end]
		rest = strings.TrimPrefix(rest[end:], "/")
		name, predText, _ := strings.Cut(seg, "[")
		st := pstep{}
		if pre, local, ok := strings.Cut(name, ":"); ok {
			mod, err := s.moduleOf(pre)
			if err != nil {
				return nil, fmt.Errorf("path %q: %w", path, err)
			}
			st.module, st.name = mod, local
		} else {
			st.name = name
		}
		if st.name == "" {
			return nil, fmt.Errorf("path %q has an empty step", path)
		}
		if predText != "" {
			preds, err := parsePredicates("[" + predText)
			if err != nil {
				return nil, fmt.Errorf("path %q: %w", path, err)
			}
			st.preds = preds
		}
		steps = append(steps, st)
	}
	return steps, nil
}

// resolvePreds turns the predicates of the steps that name a list of
// the schema into key indexes (a step the schema does not know keeps its
// names and never matches on keys).
func (s *Schema) resolvePreds(steps []pstep) {
	var n *node
	for i := range steps {
		st := &steps[i]
		if i == 0 {
			n = s.top(st.module, st.name)
			if st.module == "" && len(s.tops[st.name]) > 1 {
				n = nil // several modules' nodes: matched by key name
			}
		} else if n != nil {
			n = n.children[st.name]
		}
		if n == nil || st.preds == nil {
			continue
		}
		st.resolved = true
		for k, v := range st.preds {
			idx := slices.Index(n.keys, k)
			if idx < 0 {
				st.keyPreds = append(st.keyPreds, keyPred{index: -1, value: v})
				continue
			}
			st.keyPreds = append(st.keyPreds, keyPred{index: idx, value: n.keyText(k, v)})
		}
	}
}

func (s *Schema) moduleOf(prefix string) (string, error) {
	if m, ok := s.byPrefix[prefix]; ok {
		return m, nil
	}
	if _, ok := s.modules[prefix]; ok {
		return prefix, nil
	}
	return "", fmt.Errorf("unknown module prefix %q", prefix)
}

// parsePredicates reads [name='value'][...]; names may carry a prefix.
func parsePredicates(t string) (map[string]string, error) {
	preds := map[string]string{}
	for t != "" {
		if t[0] != '[' {
			return nil, fmt.Errorf("bad predicate %q", t)
		}
		eq := strings.IndexByte(t, '=')
		if eq < 0 || eq+1 >= len(t) {
			return nil, fmt.Errorf("bad predicate %q", t)
		}
		key := strings.TrimSpace(t[1:eq])
		if _, local, ok := strings.Cut(key, ":"); ok {
			key = local
		}
		v := strings.TrimSpace(t[eq+1:])
		if v == "" || (v[0] != '\'' && v[0] != '"') {
			return nil, fmt.Errorf("bad predicate value in %q", t)
		}
		q := v[0]
		close := strings.IndexByte(v[1:], q)
		if close < 0 {
			return nil, fmt.Errorf("unterminated predicate value in %q", t)
		}
		preds[key] = v[1 : 1+close]
		rest := strings.TrimSpace(v[2+close:])
		if !strings.HasPrefix(rest, "]") {
			return nil, fmt.Errorf("bad predicate %q", t)
		}
		t = rest[1:]
	}
	return preds, nil
}

// Session identifies who asks: the user, the groups the transport gives
// (the role), and whether the session is the recovery session.
type Session struct {
	User           string
	ExternalGroups []string
	// Recovery marks the recovery session (RFC 8341 §3.4.3), which access
	// control never restricts.
	Recovery bool
}

// Access answers for one session. It is cheap to make (one per request is
// fine) and not safe for concurrent use: it caches decisions per schema
// node.
type Access struct {
	p        *Policy
	open     bool           // NACM disabled or the recovery session: everything permitted
	groups   []string       // the user's groups
	rules    []compiledRule // the rules of the rule-lists of the user's groups, in order
	static   map[staticKey]staticDecision
	hasPreds bool
}

type staticKey struct {
	n  *node
	op Ops
}

// staticDecision is what a schema node's instances get, as far as it is
// known without their keys.
type staticDecision struct {
	permit bool
	// uniform: every instance of the node and every descendant gets the
	// same answer.
	uniform bool
	// instance: the answer depends on the instance's keys (a rule with
	// predicates applies); permit is then meaningless.
	instance bool
	// below: every descendant of an instance gets the instance's answer
	// (no rule reaches below the node, nothing below is marked or of
	// another module's rules).
	below bool
	// cond are the rules (indexes in Access.rules) with key predicates that
	// come before the rule deciding permit; an instance whose keys one of
	// them matches gets that rule's answer. complex: some of them has
	// predicates elsewhere than on this list's own step.
	cond    []int
	complex bool
	// byKey, when every rule of cond has one predicate on the same key
	// (keyIndex), maps its value to the first such rule's answer.
	byKey    map[string]bool
	keyIndex int
}

// Access returns the decisions for session x (RFC 8341 §3.4.4 steps 1-5:
// the recovery session and a disabled NACM are permitted everything; the
// groups are the configured ones listing the user plus, with
// enable-external-groups, the transport's).
func (p *Policy) Access(x Session) *Access {
	a := &Access{p: p, open: !p.cfg.Enabled || x.Recovery, static: map[staticKey]staticDecision{}}
	if a.open {
		return a
	}
	for _, g := range p.cfg.Groups {
		if slices.Contains(g.Users, x.User) {
			a.groups = append(a.groups, g.Name)
		}
	}
	if p.cfg.ExternalGroups {
		for _, g := range x.ExternalGroups {
			if !slices.Contains(a.groups, g) {
				a.groups = append(a.groups, g)
			}
		}
	}
	if len(a.groups) == 0 {
		return a // §3.4.4: no groups, no rule-list applies; the defaults decide
	}
	for _, r := range p.rules {
		if r.all || slices.ContainsFunc(r.groups, func(g string) bool { return slices.Contains(a.groups, g) }) {
			a.rules = append(a.rules, r)
			for _, st := range r.path {
				if st.preds != nil {
					a.hasPreds = true
				}
			}
		}
	}
	return a
}

// Groups returns the session's NACM groups.
func (a *Access) Groups() []string { return slices.Clone(a.groups) }

// Unrestricted tells whether every request of the session is permitted
// (NACM disabled, or the recovery session).
func (a *Access) Unrestricted() bool { return a.open }

// Exec decides whether the session may execute the protocol operation rpc
// of module (RFC 8341 §3.4.4).
func (a *Access) Exec(module, rpc string) bool {
	if a.open || (module == "ietf-netconf" && rpc == "close-session") {
		return true
	}
	for _, r := range a.rules {
		if r.Ops&Exec == 0 || !moduleMatch(r.Module, module) {
			continue
		}
		if r.Type == AnyType || (r.Type == OperationRule && nameMatch(r.RPC, rpc)) {
			return r.Action == Permit
		}
	}
	if a.p.schema.operationDenyAll(module, rpc) {
		return false
	}
	// §3.4.4: kill-session and delete-config are denied unless a rule
	// permits them.
	if module == "ietf-netconf" && (rpc == "kill-session" || rpc == "delete-config") {
		return false
	}
	return a.p.cfg.ExecDefault == Permit
}

// Notify decides whether the session may receive the notification name of
// module (RFC 8341 §3.4.6).
func (a *Access) Notify(module, name string) bool {
	if a.open || (module == "nc-notifications" && (name == "replayComplete" || name == "notificationComplete")) {
		return true
	}
	for _, r := range a.rules {
		if r.Ops&Read == 0 || !moduleMatch(r.Module, module) {
			continue
		}
		if r.Type == AnyType || (r.Type == NotificationRule && nameMatch(r.Notification, name)) {
			return r.Action == Permit
		}
	}
	if a.p.schema.operationDenyAll(module, name) {
		return false
	}
	return a.p.cfg.ReadDefault == Permit
}

func moduleMatch(rule, module string) bool { return rule == "*" || rule == module }
func nameMatch(rule, name string) bool     { return rule == "*" || rule == name }

// matches tells whether the data rule r applies to the node n (r's path
// names n or an ancestor); with keys nil, predicates are not checked.
// conditional reports that predicates were skipped.
func (r *compiledRule) matches(n *node, keys [][]string) (ok, conditional bool) {
	if len(r.path) > n.depth {
		return false, false
	}
	// The ancestors of n at the depths of the path's steps.
	anc := n
	for anc.depth > len(r.path) {
		anc = anc.parent
	}
	for i := len(r.path) - 1; i >= 0; i-- {
		st := r.path[i]
		if st.name != anc.name || (st.module != "" && st.module != anc.module) {
			return false, false
		}
		if st.preds != nil {
			if keys == nil {
				conditional = true
			} else if i >= len(keys) || !predsMatch(st, anc, keys[i]) {
				return false, false
			}
		}
		anc = anc.parent
	}
	return true, conditional
}

func predsMatch(st pstep, n *node, vals []string) bool {
	if st.resolved {
		for _, p := range st.keyPreds {
			if p.index < 0 || p.index >= len(vals) || vals[p.index] != p.value {
				return false
			}
		}
		return true
	}
	for k, v := range st.preds {
		i := slices.Index(n.keys, k)
		if i < 0 || i >= len(vals) || vals[i] != v {
			return false
		}
	}
	return true
}

// ruleApplies tells whether r can decide access op to a data node of its
// module at all.
func (r *compiledRule) dataRule(op Ops) bool {
	return r.Ops&op != 0 && (r.Type == AnyType || r.Type == DataRule)
}

// decide answers access op to one instance (RFC 8341 §3.4.5): the first
// matching rule of the user's rule-lists, else the node's default-deny
// marks, else the default.
func (a *Access) decide(n *node, keys [][]string, op Ops) bool {
	if a.open {
		return true
	}
	for i := range a.rules {
		r := &a.rules[i]
		if !r.dataRule(op) || !moduleMatch(r.Module, n.module) {
			continue
		}
		if r.Type == AnyType {
			return r.Action == Permit
		}
		if ok, _ := r.matches(n, keys); ok {
			return r.Action == Permit
		}
	}
	return a.dataDefault(n, op)
}

func (a *Access) dataDefault(n *node, op Ops) bool {
	if op == Read {
		return !n.denyAll && a.p.cfg.ReadDefault == Permit
	}
	return !n.denyAll && !n.denyWrite && a.p.cfg.WriteDefault == Permit
}

// staticFor is the decision for n's instances known without their keys,
// and whether it holds for n's whole subtree.
func (a *Access) staticFor(n *node, op Ops) staticDecision {
	if a.open {
		return staticDecision{permit: true, uniform: true}
	}
	k := staticKey{n, op}
	if d, ok := a.static[k]; ok {
		return d
	}
	d := staticDecision{uniform: true, below: true}
	decided := false
	for i := range a.rules {
		r := &a.rules[i]
		if !r.dataRule(op) {
			continue
		}
		// A rule of another module that some descendant belongs to, or a
		// path reaching below n, may decide descendants otherwise.
		if r.Module != "*" && r.Module != n.module {
			if n.modulesBelow[r.Module] {
				d.uniform, d.below = false, false
			}
			continue
		}
		if r.Type == DataRule {
			if len(r.path) > n.depth && pathThrough(r.path, n) {
				d.uniform, d.below = false, false
			}
		}
		if decided {
			continue
		}
		ok, conditional := true, false
		if r.Type == DataRule {
			ok, conditional = r.matches(n, nil)
		}
		if !ok {
			continue
		}
		if conditional {
			// Decided per instance, by this rule when its predicates
			// hold, else by what follows.
			d.instance, d.uniform = true, false
			d.cond = append(d.cond, i)
			if len(r.path) != n.depth || !r.path[n.depth-1].resolved || predsAbove(r.path) {
				d.complex = true
			}
			continue
		}
		d.permit = r.Action == Permit
		decided = true
		if r.Module != "*" && len(n.modulesBelow) > 0 {
			d.uniform, d.below = false, false // descendants of other modules are not this rule's
		}
	}
	if !decided {
		d.permit = a.dataDefault(n, op)
	}
	if (!decided || d.instance) && a.dataDefault(n, op) && n.markedBelow {
		d.uniform, d.below = false, false
	}
	if len(d.cond) > 0 && !d.complex {
		d.byKey, d.keyIndex = map[string]bool{}, -1
		for _, i := range d.cond {
			kp := a.rules[i].path[n.depth-1].keyPreds
			if len(kp) != 1 || kp[0].index < 0 || (d.keyIndex >= 0 && kp[0].index != d.keyIndex) {
				d.byKey = nil
				break
			}
			d.keyIndex = kp[0].index
			if _, seen := d.byKey[kp[0].value]; !seen {
				d.byKey[kp[0].value] = a.rules[i].Action == Permit
			}
		}
	}
	a.static[k] = d
	return d
}

// predsAbove tells whether a path has predicates before its last step.
func predsAbove(path []pstep) bool {
	for _, st := range path[:len(path)-1] {
		if st.preds != nil {
			return true
		}
	}
	return false
}

// pathThrough tells whether a path longer than n's depth passes through n.
func pathThrough(path []pstep, n *node) bool {
	anc := n
	for i := n.depth - 1; i >= 0; i-- {
		st := path[i]
		if st.name != anc.name || (st.module != "" && st.module != anc.module) {
			return false
		}
		anc = anc.parent
	}
	return true
}
