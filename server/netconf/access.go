package netconf

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/server/nacm"
	"github.com/ntpagent/ntpagent/view"
)

// Access control (RFC 8341): the server compiles running's /nacm (or the
// factory defaults while none is configured) once per running generation,
// and each request asks the compiled policy for its session's answer:
// exec before an operation runs, read by pruning the tree a reply encodes
// (before any view projects it, so no view shows what the native tree
// hides), write by judging an edit's effect inside the datastore's edit,
// notifications before each is queued.

// policyCache holds the policy of one running generation.
type policyCache struct {
	mu     sync.Mutex
	gen    datastore.Generation
	policy *nacm.Policy
	valid  bool
}

// policy returns the access control policy of running as it is now.
func (s *Server) policy() *nacm.Policy {
	root, g := s.cfg.Store.Shared(datastore.Running)
	c := &s.policies
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.valid && c.gen == g {
		return c.policy
	}
	p, err := s.compilePolicy(root.GetNacm())
	if err != nil {
		// The datastore refuses a /nacm that does not compile (see
		// checkWrite); one stored before that rule would deny everyone but
		// the recovery session rather than permit what it meant to deny.
		s.log.Error("access control configuration does not compile; only the recovery session has access", "err", err)
		cfg := nacm.Config{Enabled: true, ReadDefault: nacm.Deny, WriteDefault: nacm.Deny, ExecDefault: nacm.Deny}
		p, _ = nacm.Compile(cfg, s.nacmSchema)
	}
	c.gen, c.policy, c.valid = g, p, true
	return p
}

func (s *Server) compilePolicy(n *gen.IETFNetconfAcm_Nacm) (*nacm.Policy, error) {
	cfg, err := nacm.FromGen(n)
	if err != nil {
		return nil, err
	}
	return nacm.Compile(cfg, s.nacmSchema)
}

// nacmSession is the session as access control sees it: its user, the
// groups its transport gives (the role), and whether it is the recovery
// session.
func (x *session) nacmSession() nacm.Session {
	groups := x.info.Groups
	if groups == nil {
		groups = []string{nacm.GroupAdmin}
		if x.info.ReadOnly {
			groups = []string{nacm.GroupOperator}
		}
	}
	return nacm.Session{User: x.info.User, ExternalGroups: groups, Recovery: x.info.Recovery}
}

// access returns the session's answers under running's policy now. Only
// the session's own RPCs call it (notifications ask the policy apart).
func (x *session) access() *nacm.Access {
	p := x.srv.policy()
	if x.acc == nil || x.accPolicy != p {
		x.acc, x.accPolicy = p.Access(x.nacmSession()), p
	}
	return x.acc
}

// operationModules names the module of each namespace's operations
// (RFC 8341 module-name of a protocol operation).
var operationModules = map[string]string{
	NSBase: "ietf-netconf", "": "ietf-netconf", NSMonitoring: "ietf-netconf-monitoring",
	NSNotification: "notifications", NSNMDA: "ietf-netconf-nmda", NSSystem: "ntpagent-system",
}

// checkExec refuses an operation the session may not execute (RFC 8341
// §3.4.4) with access-denied, counted in denied-operations.
func (x *session) checkExec(op *element) error {
	mod, ok := operationModules[op.Name.Space]
	if !ok {
		return nil // unknown operations are refused as such
	}
	if x.access().Exec(mod, op.Name.Local) {
		return nil
	}
	x.srv.stats.deniedOperations.Add(1)
	return accessDenied(op.Name.Local)
}

func accessDenied(op string) *rpcerror.Error {
	return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagAccessDenied,
		Message: fmt.Sprintf("Access control does not permit this user to use %s.", op)}
}

// readable is root as the session may read it (RFC 8341 §3.4.5): the tree
// itself when the session reads everything, else a pruned copy sharing
// what it keeps.
func (x *session) readable(root *gen.Device) *gen.Device {
	out, w := readableBy(x.access(), root)
	x.withheld.root, x.withheld.w = out, w
	return out
}

// readableStored is readable for a stored tree of the Store (never
// changed), remembering the last answer.
func (x *session) readableStored(root *gen.Device) *gen.Device {
	a := x.access()
	m := &x.pruned
	if m.root != root || m.acc != a || root == nil {
		m.out, m.w = readableBy(a, root)
		m.root, m.acc = root, a
	}
	x.withheld.root, x.withheld.w = m.out, m.w
	return m.out
}

// readableBy is root pruned by a, and the fields the pruning zeroed (nil
// when none).
func readableBy(a *nacm.Access, root *gen.Device) (*gen.Device, *nacm.Withheld) {
	if root == nil {
		return nil, nil
	}
	w := &nacm.Withheld{}
	out := a.PruneWithheld(root, w).(*gen.Device)
	if w.Empty() {
		w = nil
	}
	return out, w
}

// withheldFields is the encoder's EncodeOptions.Withheld for a reply of
// root (a tree readable or readableStored returned last) and of the
// views' projections pruned by readableView into views: with-defaults
// report-all then fills in no default of a node access control left out.
// nil when nothing was left out.
func (x *session) withheldFields(root *gen.Device, views *nacm.Withheld) func(uintptr, int) bool {
	var native *nacm.Withheld
	if x.withheld.root == root {
		native = x.withheld.w
	}
	if native.Empty() && views == nil {
		return nil
	}
	return func(parent uintptr, field int) bool { return native.Has(parent, field) || views.Has(parent, field) }
}

// readKey identifies what the session reads of a tree for the reply
// cache: "" when it reads everything, else the policy's generation and
// the session's groups (the answers depend on nothing else).
func (x *session) readKey() string {
	a := x.access()
	if a.Unrestricted() {
		return ""
	}
	_, g := x.srv.cfg.Store.Shared(datastore.Running)
	gs := a.Groups()
	slices.Sort(gs)
	return fmt.Sprintf("%v|%s", g, strings.Join(gs, ","))
}

// writeCheck returns the datastore edit check of the session (RFC 8341
// §3.4.5) under running's policy as it is now (the check runs under the
// store's lock, where the policy cannot be looked up): the first node the
// edit creates, updates or deletes that the user may not write refuses
// the edit whole, with access-denied naming it, counted in
// denied-data-writes. The nodes are found from the edit's effect (the
// target before and after, normalized) rather than from the request: what
// access control guards is what changes, whatever operation attributes
// said it. An edit of /nacm must also compile.
//
// An edit made through views (package view) is judged on each view's
// nodes too: the view's projection of the target before and after the
// edit, under the rules naming that view's modules (RFC 8341 rules apply
// to every implemented module's data). A denial there names the view's
// node.
func (x *session) writeCheck(views ...view.View) func(before, after *gen.Device) error {
	a := x.access()
	return func(before, after *gen.Device) error {
		if d := a.CheckWrite(before, after); d != nil {
			return x.srv.writeDenied(d)
		}
		for _, v := range views {
			if a.WritesAll(v.Project(nil)) {
				continue
			}
			if d := a.CheckWrite(v.Project(before), v.Project(after)); d != nil {
				return x.srv.writeDenied(d)
			}
		}
		return x.srv.checkNacmCompiles(after)
	}
}

// writeDenied is the access-denied error of a denied write, counted in
// denied-data-writes.
func (s *Server) writeDenied(d *nacm.Denial) error {
	s.stats.deniedDataWrites.Add(1)
	return &rpcerror.Error{Type: rpcerror.TypeApplication, Tag: rpcerror.TagAccessDenied, Path: d.Path,
		Message: fmt.Sprintf("Access control does not permit this user to %s this node.", opVerb(d.Op))}
}

// checkNacmCompiles refuses a tree whose /nacm has a rule path that does
// not resolve.
func (s *Server) checkNacmCompiles(after *gen.Device) error {
	if after == nil || after.Nacm == nil {
		return nil
	}
	if _, err := s.compilePolicy(after.Nacm); err != nil {
		return rpcerror.New(rpcerror.TagInvalidValue, "/nacm:nacm/nacm:rule-list", "%s.", strings.TrimPrefix(err.Error(), "nacm: "))
	}
	return nil
}

// copyCheck is writeCheck for copy-config, which must also read its
// whole source: a source holding nodes the user may not read is refused
// rather than copied without them (which would delete them from the
// target).
func (x *session) copyCheck(views ...view.View) func(before, after *gen.Device) error {
	a, write := x.access(), x.writeCheck(views...)
	return func(before, after *gen.Device) error {
		// Prune returns the tree itself when it hides nothing.
		if out, _ := readableBy(a, after); after != nil && out != after {
			x.srv.stats.deniedOperations.Add(1)
			return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagAccessDenied,
				Message: "Access control does not permit this user to read all of the source."}
		}
		return write(before, after)
	}
}

func opVerb(o nacm.Ops) string {
	switch o {
	case nacm.Create:
		return "create"
	case nacm.Delete:
		return "delete"
	}
	return "update"
}

// cachedPolicy is the policy last compiled, without asking the store (an
// event may be published while the store's lock is held); the current
// one before any was compiled.
func (s *Server) cachedPolicy() *nacm.Policy {
	c := &s.policies
	c.mu.Lock()
	p, ok := c.policy, c.valid
	c.mu.Unlock()
	if ok {
		return p
	}
	return s.policy()
}

// notification renders ev for the session, or reports that its user may
// not receive it (RFC 8341 §3.4.6), counted in denied-notifications. A
// netconf-config-change the user receives lists only the edits whose
// targets the user may read (§3.4.5 applied to the event's content).
func (x *session) notification(ev event) ([]byte, bool) {
	a := x.srv.cachedPolicy().Access(x.nacmSession())
	if a.Unrestricted() {
		return notificationXML(ev), true
	}
	mod := x.srv.notificationModules[ev.ns]
	if !a.Notify(mod, ev.local) {
		x.srv.stats.deniedNotifications.Add(1)
		return nil, false
	}
	if ev.change != nil {
		ev.body = x.srv.renderConfigChange(*ev.change, a.ReadsPath)
	}
	return notificationXML(ev), true
}

// AccessPolicy is running's access control policy now: the CLI decides
// with the same one.
func (s *Server) AccessPolicy() *nacm.Policy { return s.policy() }

// readableView is the read check of a view's projection (RFC 8341
// §3.4.5 on the view's own nodes), for view.Set.AppendEncodeReadable,
// recording the fields it zeroes in w; nil when the session reads
// everything.
func (x *session) readableView(w *nacm.Withheld) func(ygot.GoStruct) ygot.GoStruct {
	a := x.access()
	if a.Unrestricted() {
		return nil
	}
	return func(proj ygot.GoStruct) ygot.GoStruct {
		if proj == nil || a.ReadsAll(proj) {
			return proj
		}
		return a.PruneWithheld(proj, w).(ygot.GoStruct)
	}
}

// stateModules are the modules of the state the NETCONF server makes
// itself (/netconf-state, /yang-library, /modules-state): rendered as
// XML, not held in Go structs, and pruned by readableState.
var stateModules = []string{"ietf-netconf-monitoring", "ietf-yang-library"}

// readableState is the server's own state as the session may read it
// (RFC 8341 §3.4.5: its rules apply to every module's data, this state
// included; only the recovery session is exempt). The elements are
// shared: what is pruned is copied, what is kept whole is the same
// element.
func (s *Server) readableState(a *nacm.Access, tops []*element) []*element {
	if a.Unrestricted() {
		return tops
	}
	out := make([]*element, 0, len(tops))
	for _, top := range tops {
		n := s.nacmSchema.Top(s.notificationModules[top.Name.Space], top.Name.Local)
		if e := pruneElement(a, top, n, nil); e != nil {
			out = append(out, e)
		}
	}
	return out
}

// stateReadable tells whether the session reads all of the server's own
// state, so that it is written without a closer look.
func (s *Server) stateReadable(a *nacm.Access) bool {
	if a.Unrestricted() {
		return true
	}
	for _, top := range []string{"netconf-state", "yang-library", "modules-state"} {
		if ok, whole := a.Reads(s.nacmSchema.Top("", top), nil); !ok || !whole {
			return false
		}
	}
	return true
}

// pruneElement returns e without what the session may not read, nil when
// e itself is denied; a list entry kept keeps its keys. n is e's schema
// node (the zero Node for an element the schema does not know, which is
// kept as it is); keys are the key values of the entries above.
func pruneElement(a *nacm.Access, e *element, n nacm.Node, keys [][]string) *element {
	if !n.Valid() {
		return e
	}
	var kv []string
	keyNames := n.Keys()
	for _, k := range keyNames {
		v := ""
		for _, c := range e.Children {
			if c.Name.Local == k {
				v = n.KeyText(k, strings.TrimSpace(c.Text))
			}
		}
		kv = append(kv, v)
	}
	keys = append(keys[:len(keys):len(keys)], kv)
	permit, whole := a.Reads(n, keys)
	if !permit {
		return nil
	}
	if whole || len(e.Children) == 0 {
		return e
	}
	var out *element
	for i, c := range e.Children {
		pc := c
		if !slices.Contains(keyNames, c.Name.Local) {
			pc = pruneElement(a, c, n.Child(c.Name.Local), keys)
		}
		if out == nil && pc == c {
			continue
		}
		if out == nil {
			cp := *e
			cp.Children = slices.Clone(e.Children[:i])
			out = &cp
		}
		if pc != nil {
			out.Children = append(out.Children, pc)
		}
	}
	if out == nil {
		return e
	}
	return out
}
