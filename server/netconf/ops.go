package netconf

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/server/nacm"
	"github.com/ntpagent/ntpagent/server/netconf/xmlcodec"
	"github.com/ntpagent/ntpagent/view"
)

func opNotSupported(op *element) *rpcerror.Error {
	return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagOperationNotSupported,
		Message: fmt.Sprintf("The operation %s is not supported.", op.Name.Local),
		Info:    []rpcerror.InfoItem{{Name: "bad-element", Value: op.Name.Local}}}
}

func missingElement(parent, name string) *rpcerror.Error {
	return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagMissingElement,
		Message: fmt.Sprintf("The %s operation needs a <%s> element.", parent, name),
		Info:    []rpcerror.InfoItem{{Name: "bad-element", Value: name}}}
}

func badElement(name, format string, args ...any) *rpcerror.Error {
	return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagBadElement,
		Message: fmt.Sprintf(format, args...),
		Info:    []rpcerror.InfoItem{{Name: "bad-element", Value: name}}}
}

func invalidValue(name, format string, args ...any) *rpcerror.Error {
	return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagInvalidValue,
		Message: fmt.Sprintf(format, args...),
		Info:    []rpcerror.InfoItem{{Name: "bad-element", Value: name}}}
}

// dispatch runs one operation; it returns the reply body (nil for <ok/>).
func (x *session) dispatch(op *element) ([]byte, error) {
	if err := x.checkExec(op); err != nil {
		return nil, err
	}
	switch op.Name.Space {
	case NSBase, "":
		// An unqualified operation inside the base-namespace <rpc> is a base
		// operation: Ansible's netconf_rpc sends <commit> without xmlns.
	case NSMonitoring:
		if op.Name.Local == "get-schema" {
			return x.getSchema(op)
		}
		return nil, opNotSupported(op)
	case NSNotification:
		if op.Name.Local == "create-subscription" {
			return nil, x.createSubscription(op)
		}
		return nil, opNotSupported(op)
	case NSNMDA:
		return x.nmda(op)
	case NSSystem:
		if op.Name.Local == "rollback-to-commit" {
			return x.rollback(op)
		}
		return nil, opNotSupported(op)
	default:
		return nil, opNotSupported(op)
	}
	st := x.srv.cfg.Store
	ss := x.storeSession()
	switch op.Name.Local {
	case "get":
		return x.get(op)
	case "get-config":
		return x.getConfig(op)
	case "edit-config":
		return nil, x.editConfig(op)
	case "copy-config":
		return nil, x.copyConfig(op)
	case "delete-config":
		ds, err := datastoreArg(op, "target", false)
		if err != nil {
			return nil, err
		}
		// RFC 8341 §3.2.7: beyond the exec rule, every node of the target
		// is deleted, judged as any delete (§3.4.5).
		return nil, st.DeleteChecked(ss, ds, x.writeCheck())
	case "lock", "unlock":
		ds, err := datastoreArg(op, "target", false)
		if err != nil {
			return nil, err
		}
		if op.Name.Local == "lock" {
			return nil, st.Lock(ss, ds)
		}
		return nil, st.Unlock(ss, ds)
	case "close-session":
		return nil, errClose
	case "kill-session":
		return nil, x.killSession(op)
	case "commit":
		return nil, x.commit(op)
	case "cancel-commit":
		id := ""
		if p := op.child(NSBase, "persist-id"); p != nil {
			id = strings.TrimSpace(p.Text) // as commit does: clients pretty-print
		}
		if err := st.CancelCommit(ss, id); err != nil {
			return nil, err
		}
		x.srv.publish(confirmedCommitEvent(x.info, "cancel", 0))
		return nil, nil
	case "discard-changes":
		return nil, st.Discard(ss)
	case "validate":
		return nil, x.validate(op)
	}
	return nil, opNotSupported(op)
}

// datastoreArg reads <target>/<source> holding <running/>, <candidate/> or
// <startup/> (RFC 6241 §7.1, §8.7). With allowConfig, an inline <config> is returned as nil
// name and ok.
func datastoreArg(op *element, which string, allowConfig bool) (datastore.Name, error) {
	w := op.child(NSBase, which)
	if w == nil {
		return "", missingElement(op.Name.Local, which)
	}
	if len(w.Children) != 1 {
		return "", badElement(which, "<%s> must hold exactly one datastore.", which)
	}
	c := w.Children[0]
	if c.Name.Space == NSNMDA && c.Name.Local == "datastore" && nmdaAugmented(op.Name.Local) {
		ds, err := nmdaDatastore(c)
		if err != nil {
			return "", err
		}
		return writableDatastore(ds)
	}
	if c.Name.Space != NSBase && c.Name.Space != "" {
		return "", badElement(c.Name.Local, "Unknown datastore %s.", c.Name.Local)
	}
	switch c.Name.Local {
	case "running":
		return datastore.Running, nil
	case "candidate":
		return datastore.Candidate, nil
	case "config":
		if allowConfig {
			return "", nil
		}
	case "url":
		return "", &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagOperationNotSupported,
			Message: "The :url capability is not supported."}
	case "startup":
		return datastore.Startup, nil
	}
	return "", badElement(c.Name.Local, "Unknown datastore %s.", c.Name.Local)
}

// withDefaults reads the RFC 6243 §4.5.1 parameter; without it, the basic
// mode (explicit).
func withDefaults(op *element) (xmlcodec.WithDefaults, error) {
	w := op.child(NSWithDefaults, "with-defaults")
	if w == nil {
		return xmlcodec.WDExplicit, nil
	}
	v := strings.TrimSpace(w.Text)
	if m, ok := xmlcodec.ParseWithDefaults(v); ok {
		return m, nil
	}
	return 0, invalidValue("with-defaults", "Unknown with-defaults mode %q.", v)
}

// filterSpec is a parsed <filter> (RFC 6241 §6, §8.9).
type filterSpec struct {
	present bool
	subtree []*element // top-level selection elements, subtree filter
	xpath   string
	nsmap   map[string]string
	el      *element // the <filter> element
}

// maxFilterKey bounds the filters whose replies are kept (replyCache): a
// larger one is evaluated each time rather than held as a key.
const maxFilterKey = 4 << 10

// cacheKey identifies what the filter selects, exactly: the <filter>
// element as the client wrote it and the namespace declarations in scope
// there (its prefixes' meaning). Two filters with the same key select the
// same nodes of the same tree. "" for no filter; ok is false for a filter
// over maxFilterKey bytes.
func (f filterSpec) cacheKey() (key string, ok bool) {
	if !f.present {
		return "", true
	}
	text := f.el.text()
	if len(text) > maxFilterKey {
		return "", false
	}
	var b strings.Builder
	for p := f.el.parent; p != nil; p = p.parent {
		for _, d := range p.Decl {
			// Declarations nearer the filter come first: they hide the
			// same prefix's declarations further out.
			b.WriteString(declPrefix(d))
			b.WriteByte('=')
			b.WriteString(d.Value)
			b.WriteByte(0)
		}
		b.WriteByte(1)
	}
	if b.Len() > maxFilterKey {
		return "", false
	}
	b.Write(text)
	return b.String(), true
}

func parseFilter(op *element) (filterSpec, error) {
	f := op.child(NSBase, "filter")
	if f == nil {
		return filterSpec{}, nil
	}
	typ := "subtree"
	for _, a := range f.Attr {
		if a.Name.Local == "type" {
			typ = a.Value
		}
	}
	switch typ {
	case "subtree":
		return filterSpec{present: true, subtree: f.Children, el: f}, nil
	case "xpath":
		sel := ""
		for _, a := range f.Attr {
			if a.Name.Local == "select" {
				sel = a.Value
			}
		}
		if sel == "" {
			return filterSpec{}, &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagMissingAttribute,
				Message: "An xpath filter needs a select attribute.",
				Info:    []rpcerror.InfoItem{{Name: "bad-attribute", Value: "select"}, {Name: "bad-element", Value: "filter"}}}
		}
		ns := f.scope()
		delete(ns, "xml")
		return filterSpec{present: true, xpath: sel, nsmap: ns, el: f}, nil
	}
	return filterSpec{}, &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagBadAttribute,
		Message: fmt.Sprintf("Unknown filter type %q.", typ),
		Info:    []rpcerror.InfoItem{{Name: "bad-attribute", Value: "type"}, {Name: "bad-element", Value: "filter"}}}
}

// encode writes root's data under the filter, with the other options of
// opt. A subtree filter that names nothing of our modules selects nothing.
// Each model of the server's view set (package view) that the filter
// names writes its own elements: ntpagent's from root, a view's from its
// projection of root.
func (x *session) encode(b *bytes.Buffer, root *gen.Device, f filterSpec, opt xmlcodec.EncodeOptions) error {
	set := x.srv.cfg.Views
	sel := set.Selects(view.Filter{})
	if f.present {
		if f.xpath != "" {
			opt.XPath = f.xpath
			opt.Namespaces = x.srv.xpathPrefixes(f.nsmap)
			sel = set.Selects(view.Filter{XPath: true})
		} else {
			var mine []*element
			var spaces []string
			for _, e := range f.subtree {
				if slices.Contains(set.Namespaces(), e.Name.Space) {
					mine = append(mine, e)
					spaces = append(spaces, e.Name.Space)
				}
			}
			if len(mine) == 0 {
				return nil // an empty or foreign-only subtree filter selects nothing here
			}
			if err := textBesideElements(mine[0].parent); err != nil {
				return err
			}
			opt.SubtreeNodes = nodes(mine)
			opt.Namespaces = mine[0].parent.scope()
			sel = set.Selects(view.Filter{Subtree: true, Namespaces: spaces})
		}
	}
	var views *nacm.Withheld
	if (opt.WithDefaults == xmlcodec.WDReportAll || opt.WithDefaults == xmlcodec.WDReportAllTagged) && !x.access().Unrestricted() {
		// RFC 6243 report-all fills in absent nodes' defaults: not those
		// access control left out (RFC 8341 §3.4.5).
		views = &nacm.Withheld{}
		opt.Withheld = x.withheldFields(root, views)
	}
	out, err := set.AppendEncodeReadable(b.AvailableBuffer(), root, sel, opt, x.readableView(views))
	if err != nil {
		return err
	}
	b.Write(out)
	return nil
}

func (x *session) getConfig(op *element) ([]byte, error) {
	ds, err := datastoreArg(op, "source", false)
	if err != nil {
		return nil, err
	}
	f, err := parseFilter(op)
	if err != nil {
		return nil, err
	}
	wd, err := withDefaults(op)
	if err != nil {
		return nil, err
	}
	// The stored tree itself: the encoder only reads it (no copy per request).
	root, g := x.srv.cfg.Store.Shared(ds)
	fk, keep := f.cacheKey()
	key := replyKey{gen: g, wd: wd, reader: x.readKey(), filter: fk}
	if keep {
		if body, ok := x.srv.replies.get(key); ok {
			return body, nil
		}
	}
	shown := x.readableStored(root)
	var b bytes.Buffer
	b.WriteString("<data>")
	// Stored trees never change (one generation, one tree): the codec may
	// keep indexes of their lists for the next filters.
	if err := x.encode(&b, shown, f, xmlcodec.EncodeOptions{WithDefaults: wd, ConfigOnly: true, Frozen: true}); err != nil {
		return nil, err
	}
	b.WriteString("</data>")
	if keep {
		x.srv.replies.put(key, b.Bytes())
	}
	return b.Bytes(), nil
}

// replyCache keeps the encoded <data> of get-config replies of one Store.
// A datastore generation (datastore.Generation: one generation, one tree),
// a with-defaults mode, what of the tree the session may read and the
// filter (filterSpec.cacheKey) identify the bytes exactly: a filter is a
// function of the tree, so the same filter on the same tree selects the
// same data.
type replyCache struct {
	mu      sync.Mutex
	entries [4]replyEntry
	next    int
}

type replyKey struct {
	gen    datastore.Generation
	wd     xmlcodec.WithDefaults
	reader string // what of the tree the session reads (session.readKey)
	filter string // filterSpec.cacheKey
}

type replyEntry struct {
	key  replyKey
	body []byte
}

func (c *replyCache) get(k replyKey) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if e.key == k && e.body != nil {
			return e.body, true
		}
	}
	return nil, false
}

func (c *replyCache) put(k replyKey, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[c.next] = replyEntry{key: k, body: body}
	c.next = (c.next + 1) % len(c.entries)
}

func (x *session) get(op *element) ([]byte, error) {
	f, err := parseFilter(op)
	if err != nil {
		return nil, err
	}
	wd, err := withDefaults(op)
	if err != nil {
		return nil, err
	}
	root := x.operational()
	var b bytes.Buffer
	b.WriteString("<data>")
	if err := x.encode(&b, root, f, xmlcodec.EncodeOptions{WithDefaults: wd}); err != nil {
		return nil, err
	}
	if err := x.srv.writeServerState(&b, f, 0, false, x.access()); err != nil {
		return nil, err
	}
	b.WriteString("</data>")
	return b.Bytes(), nil
}

// operational is a copy of running with the state the device makes filled
// in: what <get> and <get-data> of <operational> show of our modules.
func (x *session) operational() *gen.Device {
	root := x.srv.cfg.Store.Snapshot(datastore.Running)
	if x.srv.cfg.State != nil {
		x.srv.cfg.State(root)
	}
	fillHistory(root, x.srv.cfg.Store.History())
	x.srv.fillAccessCounters(root)
	return x.readable(root)
}

// fillAccessCounters writes the RFC 8341 §3.5.2 counters, state nodes
// of /nacm that exist whether or not /nacm is configured (mandatory).
// They are zero-based-counter32: they wrap at 2^32.
func (s *Server) fillAccessCounters(root *gen.Device) {
	n := root.GetOrCreateNacm()
	n.DeniedOperations = ptr(uint32(s.stats.deniedOperations.Load()))
	n.DeniedDataWrites = ptr(uint32(s.stats.deniedDataWrites.Load()))
	n.DeniedNotifications = ptr(uint32(s.stats.deniedNotifications.Load()))
}

// fillHistory renders the Store's commit history as /ntps:commit-history.
func fillHistory(root *gen.Device, hist []datastore.CommitInfo) {
	if len(hist) == 0 {
		return
	}
	ch := root.GetOrCreateCommitHistory()
	for _, h := range hist {
		c := ch.GetOrCreateCommit(h.ID)
		if h.User != "" {
			c.User = ptr(h.User)
		}
		c.Timestamp = ptr(h.Time.UTC().Format(time.RFC3339))
		if h.Label != "" {
			c.Label = ptr(h.Label)
		}
		switch h.Origin {
		case datastore.OriginNETCONF:
			c.Origin = gen.NtpagentSystem_CommitHistory_Commit_Origin_netconf
		case datastore.OriginCLI:
			c.Origin = gen.NtpagentSystem_CommitHistory_Commit_Origin_cli
		case datastore.OriginRollback:
			c.Origin = gen.NtpagentSystem_CommitHistory_Commit_Origin_rollback
		case datastore.OriginConfirmedCommitRollback:
			c.Origin = gen.NtpagentSystem_CommitHistory_Commit_Origin_confirmed_commit_rollback
		case datastore.OriginSystem:
			c.Origin = gen.NtpagentSystem_CommitHistory_Commit_Origin_system
		}
	}
}

func ptr[T any](v T) *T { return &v }

func (x *session) editConfig(op *element) error {
	target, err := datastoreArg(op, "target", false)
	if err != nil {
		return err
	}
	defOp, err := defaultOperation(op.child(NSBase, "default-operation"))
	if err != nil {
		return err
	}
	opt := datastore.EditOptions{}
	if t := op.child(NSBase, "test-option"); t != nil {
		switch v := strings.TrimSpace(t.Text); v {
		case "test-then-set":
			opt.TestOption = datastore.TestThenSet
		case "set":
			opt.TestOption = datastore.SetOnly
		case "test-only":
			opt.TestOption = datastore.TestOnly
		default:
			return invalidValue("test-option", "Unknown test-option %q.", v)
		}
	}
	if e := op.child(NSBase, "error-option"); e != nil {
		switch v := strings.TrimSpace(e.Text); v {
		case "stop-on-error":
			opt.ErrorOption = datastore.StopOnError
		case "rollback-on-error":
			opt.ErrorOption = datastore.RollbackOnError
		case "continue-on-error":
			opt.ErrorOption = datastore.ContinueOnError
		default:
			return invalidValue("error-option", "Unknown error-option %q.", v)
		}
	}
	cfg := op.child(NSBase, "config")
	if cfg == nil {
		if op.child(NSBase, "url") != nil {
			return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagOperationNotSupported,
				Message: "The :url capability is not supported."}
		}
		return missingElement("edit-config", "config")
	}
	return x.applyConfig(target, cfg, defOp, opt)
}

// defaultOperation reads a default-operation parameter (RFC 6241 §7.2,
// RFC 8526 §3.1.2); merge when absent.
func defaultOperation(d *element) (xmlcodec.Op, error) {
	if d == nil {
		return xmlcodec.Op("merge"), nil
	}
	switch v := strings.TrimSpace(d.Text); v {
	case "merge", "replace", "none":
		return xmlcodec.Op(v), nil
	default:
		return "", invalidValue("default-operation", "Unknown default-operation %q.", v)
	}
}

// applyConfig edits target with the content of cfg (a <config> element).
func (x *session) applyConfig(target datastore.Name, cfg *element, defOp xmlcodec.Op, opt datastore.EditOptions) error {
	content, err := x.configContent(cfg)
	if err != nil {
		return err
	}
	edit, err := x.srv.cfg.Views.ParseConfig(content, xmlcodec.Limits{}, cfg.scope())
	if err != nil {
		return err
	}
	codecOpt := xmlcodec.StopOnError
	switch opt.ErrorOption {
	case datastore.RollbackOnError:
		codecOpt = xmlcodec.RollbackOnError
	case datastore.ContinueOnError:
		codecOpt = xmlcodec.ContinueOnError
	}
	// The datastore validates the native tree; its errors name the nodes
	// in the model the client used.
	opt.Check = x.writeCheck(edit.Views()...)
	return edit.MapError(x.srv.cfg.Store.Edit(x.storeSession(), target, opt,
		func(root *gen.Device) error { return edit.Apply(root, defOp, codecOpt) }))
}

// configContent returns the children of a <config> element for the codec,
// which decodes them as they were read (the message is parsed once). It
// refuses top-level elements outside our modules with unknown-namespace
// (RFC 6241 Appendix A) and text beside the elements.
func (x *session) configContent(cfg *element) ([]xmlcodec.Node, error) {
	spaces := x.srv.cfg.Views.Namespaces()
	for _, c := range cfg.Children {
		if !slices.Contains(spaces, c.Name.Space) {
			return nil, &rpcerror.Error{Type: rpcerror.TypeApplication, Tag: rpcerror.TagUnknownNamespace,
				Message: fmt.Sprintf("No module of this device has namespace %q.", c.Name.Space),
				Info:    []rpcerror.InfoItem{{Name: "bad-element", Value: c.Name.Local}, {Name: "bad-namespace", Value: c.Name.Space}}}
		}
	}
	if err := textBesideElements(cfg); err != nil {
		return nil, err
	}
	return nodes(cfg.Children), nil
}

func (x *session) copyConfig(op *element) error {
	target, err := datastoreArg(op, "target", false)
	if err != nil {
		return err
	}
	src, err := datastoreArg(op, "source", true)
	if err != nil {
		return err
	}
	var inline *gen.Device
	var views []view.View
	mapErr := func(err error) error { return err }
	if src == "" {
		cfg := op.child(NSBase, "source").child(NSBase, "config")
		content, err := x.configContent(cfg)
		if err != nil {
			return err
		}
		var edit *view.Edit
		if inline, edit, err = x.decodeConfig(content, cfg); err != nil {
			return err
		}
		mapErr, views = edit.MapError, edit.Views()
	}
	return mapErr(x.srv.cfg.Store.CopyChecked(x.storeSession(), target, src, inline, x.copyCheck(views...)))
}

func (x *session) validate(op *element) error {
	src, err := datastoreArg(op, "source", true)
	if err != nil {
		return err
	}
	if src != "" {
		return x.srv.cfg.Store.Validate(x.storeSession(), src)
	}
	cfg := op.child(NSBase, "source").child(NSBase, "config")
	content, err := x.configContent(cfg)
	if err != nil {
		return err
	}
	root, edit, err := x.decodeConfig(content, cfg)
	if err != nil {
		return err
	}
	return edit.MapError(x.srv.cfg.Store.ValidateTree(root))
}

// decodeConfig decodes an inline whole configuration (copy-config,
// validate) in any models of the view set into a native tree; the edit
// maps the datastore's errors on that tree into the models it used.
func (x *session) decodeConfig(content []xmlcodec.Node, cfg *element) (*gen.Device, *view.Edit, error) {
	edit, err := x.srv.cfg.Views.ParseConfig(content, xmlcodec.Limits{}, cfg.scope())
	if err != nil {
		return nil, nil, err
	}
	root, err := edit.Decode()
	return root, edit, edit.MapError(err)
}

// commit runs <commit> with the :confirmed-commit:1.1 parameters (RFC 6241 §8.4.5).
func (x *session) commit(op *element) error {
	opt := datastore.CommitOptions{}
	if op.child(NSBase, "confirmed") != nil {
		opt.Confirmed = true
		opt.Timeout = 600 * time.Second
	}
	if t := op.child(NSBase, "confirm-timeout"); t != nil {
		v, err := parseUint32(t.Text)
		if err != nil || v == 0 {
			return invalidValue("confirm-timeout", "confirm-timeout must be a number of seconds from 1 to 4294967295.")
		}
		opt.Timeout = time.Duration(v) * time.Second
	}
	if p := op.child(NSBase, "persist"); p != nil {
		opt.Persist = strings.TrimSpace(p.Text)
	}
	if p := op.child(NSBase, "persist-id"); p != nil {
		opt.PersistID = strings.TrimSpace(p.Text)
	}
	// RFC 8341 §3.2.8: the nodes of running the commit creates, updates
	// or deletes are judged with the committing user's write access,
	// whoever edited the candidate (the edits were judged too, with their
	// own users' access).
	opt.Check = x.writeCheck()
	_, wasPending := x.srv.cfg.Store.ConfirmedCommitPending()
	if _, err := x.srv.cfg.Store.Commit(x.storeSession(), opt); err != nil {
		return err
	}
	switch {
	case opt.Confirmed && wasPending:
		x.srv.publish(confirmedCommitEvent(x.info, "extend", opt.Timeout))
	case opt.Confirmed:
		x.srv.publish(confirmedCommitEvent(x.info, "start", opt.Timeout))
	case wasPending:
		x.srv.publish(confirmedCommitEvent(x.info, "complete", 0))
	}
	return nil
}

func (x *session) killSession(op *element) error {
	e := op.child(NSBase, "session-id")
	if e == nil {
		return missingElement("kill-session", "session-id")
	}
	id, err := parseUint32(e.Text)
	if err != nil || id == 0 {
		return invalidValue("session-id", "%q is not a session id.", e.Text)
	}
	if id == x.info.ID {
		return invalidValue("session-id", "A session cannot kill itself; use close-session.")
	}
	x.srv.mu.Lock()
	target, ok := x.srv.sessions[id]
	x.srv.mu.Unlock()
	if !ok {
		return invalidValue("session-id", "No NETCONF session %d.", id)
	}
	target.kill(x.info.ID)
	// RFC 6241 §7.9: locks are released and the session's pending
	// confirmed commit is rolled back before the reply.
	x.srv.cfg.Store.CloseSession(target.storeSession())
	return nil
}

func (x *session) rollback(op *element) ([]byte, error) {
	e := op.child(NSSystem, "commit-id")
	if e == nil {
		return nil, &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagMissingElement,
			Message: "rollback-to-commit needs a commit-id.", Info: []rpcerror.InfoItem{{Name: "bad-element", Value: "commit-id"}}}
	}
	id, err := parseUint32(e.Text)
	if err != nil || id == 0 {
		return nil, invalidValue("commit-id", "%q is not a commit id.", e.Text)
	}
	label := ""
	if l := op.child(NSSystem, "label"); l != nil {
		label = l.Text
	}
	// A rollback writes running as a commit does: its effect is judged
	// with the user's write access (RFC 8341 §3.4.5).
	info, err := x.srv.cfg.Store.RollbackChecked(x.storeSession(), id, label, x.writeCheck())
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, `<commit-id xmlns="%s">%d</commit-id>`, NSSystem, info.ID), nil
}

func (x *session) getSchema(op *element) ([]byte, error) {
	id := op.child(NSMonitoring, "identifier")
	if id == nil {
		return nil, missingElement("get-schema", "identifier")
	}
	version := ""
	if v := op.child(NSMonitoring, "version"); v != nil {
		version = strings.TrimSpace(v.Text)
	}
	if f := op.child(NSMonitoring, "format"); f != nil {
		v := strings.TrimSpace(f.Text)
		if i := strings.LastIndexByte(v, ':'); i >= 0 {
			v = v[i+1:]
		}
		if v != "yang" {
			return nil, invalidValue("format", "Only the yang format is served.")
		}
	}
	text, err := x.srv.cfg.Schema.Text(strings.TrimSpace(id.Text), version)
	if err != nil {
		// RFC 6022 §3.1: invalid-value when the schema does not exist.
		return nil, &rpcerror.Error{Type: rpcerror.TypeApplication, Tag: rpcerror.TagInvalidValue,
			Message: fmt.Sprintf("No schema %q (version %q) is served here.", id.Text, version), Err: errors.Unwrap(err)}
	}
	var b bytes.Buffer
	b.WriteString(`<data xmlns="` + NSMonitoring + `">`)
	xmlEscape(&b, text)
	b.WriteString("</data>")
	return b.Bytes(), nil
}
