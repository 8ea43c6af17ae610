package netconf

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/server/netconf/xmlcodec"
)

// The NMDA datastores (RFC 8342 §5) as the server maps them onto the
// Store:
//   - running, candidate and startup are the Store's;
//   - intended is running: the device has no configuration templates and
//     no inactive configuration to remove (RFC 8342 §5.1.4), so the two
//     are the same tree;
//   - operational is running as applied (the agent applies each commit)
//     plus the state the device makes: the same tree <get> shows.

// nmda dispatches the operations of ietf-netconf-nmda (RFC 8526 §3).
func (x *session) nmda(op *element) ([]byte, error) {
	switch op.Name.Local {
	case "get-data":
		return x.getData(op)
	case "edit-data":
		return nil, x.editData(op)
	}
	return nil, opNotSupported(op)
}

// nmdaDatastore resolves a datastore-ref (an identity of ietf-datastores,
// RFC 8342 §6) to one of nmdaDatastores.
func nmdaDatastore(d *element) (string, error) {
	v := strings.TrimSpace(d.Text)
	prefix, local, ok := strings.Cut(v, ":")
	if !ok {
		prefix, local = "", v
	}
	if d.scope()[prefix] != NSDatastores {
		return "", invalidValue("datastore", "%q is not a datastore identity of ietf-datastores (RFC 8342 §6).", v)
	}
	if !slices.Contains(nmdaDatastores(), local) {
		return "", invalidValue("datastore", "The %s datastore is not supported by this device.", local)
	}
	return local, nil
}

// nmdaParams checks that op holds only the parameters named (RFC 8526
// §3.1, §3.2), each once unless it is a leaf-list.
func nmdaParams(op *element, leafLists []string, names ...string) error {
	seen := map[string]bool{}
	for _, c := range op.Children {
		ok := c.Name.Space == NSNMDA || c.Name.Space == "" ||
			(c.Name.Local == "with-defaults" && c.Name.Space == NSWithDefaults)
		if !ok || !(slices.Contains(names, c.Name.Local) || slices.Contains(leafLists, c.Name.Local)) {
			return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagUnknownElement,
				Message: fmt.Sprintf("%s has no parameter %s.", op.Name.Local, c.Name.Local),
				Info:    []rpcerror.InfoItem{{Name: "bad-element", Value: c.Name.Local}}}
		}
		if seen[c.Name.Local] && !slices.Contains(leafLists, c.Name.Local) {
			return badElement(c.Name.Local, "%s is given twice.", c.Name.Local)
		}
		seen[c.Name.Local] = true
	}
	return nil
}

// getDataRequest is a parsed <get-data> (RFC 8526 §3.1.1).
type getDataRequest struct {
	datastore    string
	filter       filterSpec
	configFilter string // "", "true" or "false"
	maxDepth     int    // 0: unbounded
	withOrigin   bool
	originFilter []string // origin identities (local names)
	negated      bool     // the filter is negated-origin-filter
	withDefaults xmlcodec.WithDefaults
}

// originIdentities are the identities of ietf-origin (RFC 8342 §7.4); all
// derive from origin.
func originIdentities() []string {
	return []string{"origin", "intended", "dynamic", "system", "learned", "default", "unknown"}
}

func parseGetData(op *element) (getDataRequest, error) {
	var r getDataRequest
	if err := nmdaParams(op, []string{"origin-filter", "negated-origin-filter"},
		"datastore", "subtree-filter", "xpath-filter", "config-filter", "max-depth", "with-origin", "with-defaults"); err != nil {
		return r, err
	}
	d := op.child(NSNMDA, "datastore")
	if d == nil {
		return r, missingElement("get-data", "datastore")
	}
	var err error
	if r.datastore, err = nmdaDatastore(d); err != nil {
		return r, err
	}
	sub, xp := op.child(NSNMDA, "subtree-filter"), op.child(NSNMDA, "xpath-filter")
	switch {
	case sub != nil && xp != nil:
		return r, badElement("xpath-filter", "get-data takes a subtree-filter or an xpath-filter, not both.")
	case sub != nil:
		r.filter = filterSpec{present: true, subtree: sub.Children}
	case xp != nil:
		sel := strings.TrimSpace(xp.Text)
		if sel == "" {
			return r, invalidValue("xpath-filter", "The xpath-filter is empty.")
		}
		ns := xp.scope()
		delete(ns, "xml")
		r.filter = filterSpec{present: true, xpath: sel, nsmap: ns}
	}
	if c := op.child(NSNMDA, "config-filter"); c != nil {
		r.configFilter = strings.TrimSpace(c.Text)
		if r.configFilter != "true" && r.configFilter != "false" {
			return r, invalidValue("config-filter", "config-filter is true or false, not %q.", r.configFilter)
		}
	}
	if m := op.child(NSNMDA, "max-depth"); m != nil {
		v := strings.TrimSpace(m.Text)
		if v != "unbounded" {
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil || n == 0 {
				return r, invalidValue("max-depth", "max-depth is unbounded or a number from 1 to 65535, not %q.", v)
			}
			r.maxDepth = int(n)
		}
	}
	r.withOrigin = op.child(NSNMDA, "with-origin") != nil
	operational := r.datastore == "operational"
	if r.withOrigin && !operational {
		// RFC 8526 §3.1.1: with-origin is only valid for <operational>.
		return r, invalidValue("with-origin", "with-origin is only valid for the operational datastore, not %s.", r.datastore)
	}
	for _, c := range op.Children {
		if c.Name.Local != "origin-filter" && c.Name.Local != "negated-origin-filter" {
			continue
		}
		if !operational {
			return r, invalidValue(c.Name.Local, "%s is only valid for the operational datastore, not %s.", c.Name.Local, r.datastore)
		}
		neg := c.Name.Local == "negated-origin-filter"
		if len(r.originFilter) > 0 && neg != r.negated {
			return r, badElement(c.Name.Local, "get-data takes origin-filter or negated-origin-filter, not both.")
		}
		r.negated = neg
		o, err := originRef(c)
		if err != nil {
			return r, err
		}
		r.originFilter = append(r.originFilter, o)
	}
	w := op.child(NSNMDA, "with-defaults")
	if w == nil {
		w = op.child(NSWithDefaults, "with-defaults")
	}
	if w != nil {
		// :with-defaults and :with-operational-defaults are both announced
		// (RFC 8526 §3.1.1.1): every datastore takes the parameter.
		v := strings.TrimSpace(w.Text)
		m, ok := xmlcodec.ParseWithDefaults(v)
		if !ok {
			return r, invalidValue("with-defaults", "Unknown with-defaults mode %q.", v)
		}
		r.withDefaults = m
	}
	return r, nil
}

// originRef resolves an origin-ref (an identity of ietf-origin).
func originRef(c *element) (string, error) {
	v := strings.TrimSpace(c.Text)
	prefix, local, ok := strings.Cut(v, ":")
	if !ok {
		prefix, local = "", v
	}
	if c.scope()[prefix] != NSOrigin || !slices.Contains(originIdentities(), local) {
		return "", invalidValue(c.Name.Local, "%q is not an origin identity of ietf-origin (RFC 8342 §7.4).", v)
	}
	return local, nil
}

// keeps is the origin filter as a predicate: an origin matches a filter
// value equal to it or to the base identity "origin" (RFC 8526 §3.1.1:
// derived from or equal to).
func (r getDataRequest) keeps() func(string) bool {
	if len(r.originFilter) == 0 {
		return nil
	}
	return func(o string) bool {
		match := slices.Contains(r.originFilter, o) || slices.Contains(r.originFilter, "origin")
		return match != r.negated
	}
}

// operationalOrigins are the origins of <operational> (RFC 8342 §5.3.4):
// configuration in use is intended (running is applied as it is
// committed), a default in use that nobody set is default, state the
// device makes is system, and an ephemeral symmetric-passive association
// (a session nobody configured, RFC 5905 §9.1) is learned from its peer.
func operationalOrigins(r getDataRequest) *xmlcodec.Origins {
	if !r.withOrigin && len(r.originFilter) == 0 {
		return nil
	}
	return &xmlcodec.Origins{
		Config: "intended", Default: "default", State: "system",
		Entry: func(e any) string {
			if s, ok := e.(*gen.NtpagentNtp_Ntp_Sessions_Session); ok && s.Configured != nil && !*s.Configured {
				return "learned"
			}
			return ""
		},
		Keep:     r.keeps(),
		Annotate: r.withOrigin,
	}
}

func (x *session) getData(op *element) ([]byte, error) {
	r, err := parseGetData(op)
	if err != nil {
		return nil, err
	}
	opt := xmlcodec.EncodeOptions{
		WithDefaults: r.withDefaults,
		MaxDepth:     r.maxDepth,
		ConfigOnly:   r.configFilter == "true",
		StateOnly:    r.configFilter == "false",
	}
	var root *gen.Device
	switch r.datastore {
	case "running", "intended", "candidate", "startup":
		ds := datastore.Running
		switch r.datastore {
		case "candidate":
			ds = datastore.Candidate
		case "startup":
			ds = datastore.Startup
		}
		root = x.shared(ds)
		if opt.StateOnly {
			root = nil // a configuration datastore holds no state
		}
	case "operational":
		if opt.ConfigOnly {
			// The configuration in use is running: no state to fill in.
			root = x.shared(datastore.Running)
		} else {
			root = x.operational()
		}
		opt.Origins = operationalOrigins(r)
	}
	var b bytes.Buffer
	b.WriteString(`<data xmlns="` + NSNMDA + `">`)
	if root != nil {
		if err := x.encode(&b, root, r.filter, opt); err != nil {
			return nil, err
		}
	}
	if r.datastore == "operational" && r.configFilter != "true" {
		if err := x.srv.writeServerState(&b, r.filter, r.maxDepth, r.withOrigin, x.access()); err != nil {
			return nil, err
		}
	}
	b.WriteString("</data>")
	return b.Bytes(), nil
}

// shared is the stored tree of ds as the session may read it (RFC 8341
// §3.4.5): the tree itself (read only, never changed), or a pruned copy.
func (x *session) shared(ds datastore.Name) *gen.Device {
	root, _ := x.srv.cfg.Store.Shared(ds)
	return x.readableStored(root)
}

// editData runs <edit-data> (RFC 8526 §3.2) on running (the device
// announces :writable-running, so running is writable here too) or the
// candidate. As the operation requires, an error leaves the datastore as
// it was (rollback-on-error); an edit of running is committed as
// <edit-config> on running is.
func (x *session) editData(op *element) error {
	if err := nmdaParams(op, nil, "datastore", "default-operation", "config", "url"); err != nil {
		return err
	}
	d := op.child(NSNMDA, "datastore")
	if d == nil {
		return missingElement("edit-data", "datastore")
	}
	ds, err := nmdaDatastore(d)
	if err != nil {
		return err
	}
	target, err := writableDatastore(ds)
	if err != nil {
		return err
	}
	defOp, err := defaultOperation(op.child(NSNMDA, "default-operation"))
	if err != nil {
		return err
	}
	cfg := op.child(NSNMDA, "config")
	if cfg == nil {
		if op.child(NSNMDA, "url") != nil {
			return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagOperationNotSupported,
				Message: "The :url capability is not supported."}
		}
		return missingElement("edit-data", "config")
	}
	return x.applyConfig(target, cfg, defOp, datastore.EditOptions{ErrorOption: datastore.RollbackOnError})
}

// writableDatastore maps an NMDA datastore that <edit-data>, <lock>,
// <unlock> and <validate> accept to the Store's name; the others are
// refused with invalid-value (RFC 8526 §3.2, §3.3).
func writableDatastore(ds string) (datastore.Name, error) {
	switch ds {
	case "running":
		return datastore.Running, nil
	case "candidate":
		return datastore.Candidate, nil
	case "startup":
		return datastore.Startup, nil
	}
	return "", invalidValue("datastore", "The %s datastore cannot be written or locked; running, candidate and startup can.", ds)
}

// nmdaAugmented tells whether ietf-netconf-nmda adds a datastore choice
// to the target or source of the base operation (RFC 8526 §3.3).
func nmdaAugmented(op string) bool { return op == "lock" || op == "unlock" || op == "validate" }
