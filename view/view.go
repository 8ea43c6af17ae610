package view

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/server/netconf/xmlcodec"
)

// A View is one more model of the device's configuration and state.
type View interface {
	// Name is a short name for logs and benchmarks, e.g. "ietf-ntp".
	Name() string
	// Schema maps the view's modules onto its generated root
	// (xmlcodec.NewSchema); its namespaces are the view's.
	Schema() *xmlcodec.Schema
	// Project returns the view's tree for a native tree: its
	// configuration, and its state when native holds state (the tree
	// <get> shows). It never changes native and never fails for a valid
	// native tree; what has no place in the view is left out. A nil
	// native is the empty configuration.
	Project(native *gen.Device) ygot.GoStruct
	// Apply puts a tree of the view (Project's result, edited) back into
	// native: the parts of native the view covers take v's content,
	// everything else is kept. Content native cannot hold is an
	// *rpcerror.Error whose path is in the view.
	Apply(native *gen.Device, v ygot.GoStruct) error
	// Path names in the view the node at a native data path (an
	// error-path as the datastore reports it, with prefixes); "" when the
	// node has no place in the view.
	Path(native string) string
}

// Set is the native model and the views a server speaks. It is built once
// and read only.
type Set struct {
	native  *xmlcodec.Schema
	views   []View
	schemas []*xmlcodec.Schema // native first, then the views' in order

	// projections keeps the views' projections of the last tree encoded:
	// a stored tree is never changed (the datastore replaces it), so
	// replies of the same tree through a view project it once.
	projections struct {
		sync.Mutex
		native *gen.Device
		roots  []ygot.GoStruct
	}
}

// NewSet returns the set of the native model and views. Two models may not
// share a namespace: the namespace of a top-level element says which model
// it is in.
func NewSet(views ...View) (*Set, error) {
	native, err := xmlcodec.Native()
	if err != nil {
		return nil, err
	}
	s := &Set{native: native, views: views, schemas: []*xmlcodec.Schema{native}}
	owner := map[string]string{}
	for _, ns := range native.Namespaces() {
		owner[ns] = "ntpagent"
	}
	for _, v := range views {
		for _, ns := range v.Schema().Namespaces() {
			if o, dup := owner[ns]; dup {
				return nil, fmt.Errorf("view: %s and %s both claim namespace %s", o, v.Name(), ns)
			}
			owner[ns] = v.Name()
		}
		s.schemas = append(s.schemas, v.Schema())
	}
	return s, nil
}

// Views returns the views of the set, in the order given to NewSet.
func (s *Set) Views() []View { return slices.Clone(s.views) }

// Native is the schema of the native model.
func (s *Set) Native() *xmlcodec.Schema { return s.native }

// Namespaces returns every namespace of the set's models (native first).
func (s *Set) Namespaces() []string {
	var out []string
	for _, sc := range s.schemas {
		out = append(out, sc.Namespaces()...)
	}
	return out
}

// ByNamespace returns the view whose namespace ns is; nil for the native
// model's namespaces and unknown ones.
func (s *Set) ByNamespace(ns string) View {
	for _, v := range s.views {
		if v.Schema().HasNamespace(ns) {
			return v
		}
	}
	return nil
}

// Edit is a decoded <config> whose top-level elements may belong to the
// native model and to any views: one codec tree per model it touches.
type Edit struct {
	set    *Set
	native *xmlcodec.Tree
	views  []viewEdit
}

type viewEdit struct {
	view View
	tree *xmlcodec.Tree
}

// ParseConfig decodes the children of <config> (xmlcodec.ParseConfigNodes
// for every model of the set): each top-level element goes to the model of
// its namespace.
func (s *Set) ParseConfig(nodes []xmlcodec.Node, lim xmlcodec.Limits, inScope map[string]string) (*Edit, error) {
	trees, err := xmlcodec.ParseConfigModels(nodes, lim, inScope, s.schemas)
	if err != nil {
		return nil, err
	}
	e := &Edit{set: s, native: trees[0]}
	for i, v := range s.views {
		if t := trees[i+1]; t != nil {
			e.views = append(e.views, viewEdit{v, t})
		}
	}
	return e, nil
}

// Views returns the views the edit touches, in the set's order.
func (e *Edit) Views() []View {
	var out []View
	for _, ve := range e.views {
		out = append(out, ve.view)
	}
	return out
}

// Apply applies the edit to a native tree (the datastore's copy of the
// target, inside its edit): the native part first, then each view's part
// through its projection (project, apply with the codec's semantics, put
// back). Errors are as Tree.Apply's; with continue-on-error every valid
// part is applied and every error returned, and the caller keeps root.
func (e *Edit) Apply(root *gen.Device, defaultOp xmlcodec.Op, eo xmlcodec.ErrorOption) error {
	var errs rpcerror.List
	collect := func(err error) error {
		var l rpcerror.List
		if eo == xmlcodec.ContinueOnError && errors.As(err, &l) {
			errs = append(errs, l...)
			return nil
		}
		return err
	}
	if e.native != nil {
		if err := collect(e.native.Apply(root, defaultOp, eo)); err != nil {
			return err
		}
	}
	for _, ve := range e.views {
		proj := ve.view.Project(root)
		if err := collect(ve.tree.Apply(proj, defaultOp, eo)); err != nil {
			return err
		}
		if err := ve.view.Apply(root, proj); err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Decode decodes a whole configuration (the inline <config> of
// <copy-config> or <validate>, RFC 6241 §7.3): the native part, then each
// view's part put into it.
func (e *Edit) Decode() (*gen.Device, error) {
	root := &gen.Device{}
	if e.native != nil {
		if err := e.native.DecodeInto(root); err != nil {
			return nil, err
		}
	}
	for _, ve := range e.views {
		proj := ve.view.Project(root)
		if err := ve.tree.DecodeInto(proj); err != nil {
			return nil, err
		}
		if err := ve.view.Apply(root, proj); err != nil {
			return nil, err
		}
	}
	return root, nil
}

// MapError rewrites the error-paths of err, as the datastore reports them
// on the native tree, into the model the client used: when the edit is
// made through views only, each path names its node in the first of them
// that has it. An edit holding native content keeps native paths (its
// client speaks the native model). Errors without a place in any view keep
// their native path.
func (e *Edit) MapError(err error) error {
	if err == nil || e.native != nil || len(e.views) == 0 {
		return err
	}
	mapOne := func(x *rpcerror.Error) *rpcerror.Error {
		if x.Path == "" {
			return x
		}
		for _, ve := range e.views {
			if p := ve.view.Path(x.Path); p != "" {
				c := *x
				c.Path = p
				return &c
			}
		}
		return x
	}
	var l rpcerror.List
	if errors.As(err, &l) {
		out := make(rpcerror.List, len(l))
		for i, x := range l {
			out[i] = mapOne(x)
		}
		return out
	}
	var x *rpcerror.Error
	if errors.As(err, &x) {
		return mapOne(x)
	}
	return err
}

// Selects reports which models a retrieval writes (RFC 6241 §7.1, §7.7):
//   - without a filter, ntpagent's own model only: the views are other
//     schemas of the same data, and writing the configuration once per
//     model would multiply every unfiltered reply (a client of a view names
//     its namespace);
//   - with a subtree filter, the models whose namespaces its top-level
//     elements name (an unqualified element names every model, §6.2.1);
//   - with an XPath filter, every model (an expression selects nothing in a
//     model it does not name).
func (s *Set) Selects(f Filter) []bool {
	sel := make([]bool, len(s.schemas))
	for i, sc := range s.schemas {
		switch {
		case f.XPath:
			sel[i] = true
		case !f.Subtree:
			sel[i] = i == 0
		default:
			for _, ns := range f.Namespaces {
				if ns == "" || sc.HasNamespace(ns) {
					sel[i] = true
				}
			}
		}
	}
	return sel
}

// Filter describes the filter of a retrieval for Selects.
type Filter struct {
	// Subtree is a subtree filter whose top-level elements are in
	// Namespaces ("" for an unqualified element).
	Subtree    bool
	Namespaces []string
	// XPath is an XPath filter.
	XPath bool
}

// AppendEncode writes the selected models (Selects; nil selects every
// model) as the children of <data>: native first, then the views in the
// set's order, each encoded by the codec from the view's projection of
// native with the same options.
func (s *Set) AppendEncode(b []byte, native *gen.Device, sel []bool, opt xmlcodec.EncodeOptions) ([]byte, error) {
	return s.AppendEncodeReadable(b, native, sel, opt, nil)
}

// AppendEncodeReadable is AppendEncode with each view's projection passed
// through readable before it is encoded (nil: encoded as projected).
// Access control prunes there what the reader may not read of the view's
// own nodes (RFC 8341 rules naming them); native has been pruned by the
// caller, so a projection never shows what the native tree hides. The
// projection is shared: readable must not change it (a pruned copy).
func (s *Set) AppendEncodeReadable(b []byte, native *gen.Device, sel []bool, opt xmlcodec.EncodeOptions, readable func(ygot.GoStruct) ygot.GoStruct) ([]byte, error) {
	var err error
	if sel == nil || sel[0] {
		if b, err = s.native.AppendEncode(b, native, opt); err != nil {
			return b, err
		}
	}
	for i, v := range s.views {
		if sel != nil && !sel[i+1] {
			continue
		}
		proj := s.project(i, native)
		if readable != nil {
			proj = readable(proj)
		}
		if b, err = v.Schema().AppendEncode(b, proj, opt); err != nil {
			return b, err
		}
	}
	return b, nil
}

// project is view i's projection of native, made once per tree: the
// trees AppendEncode is given are read only (a stored tree, or a copy
// made for one reply).
func (s *Set) project(i int, native *gen.Device) ygot.GoStruct {
	s.projections.Lock()
	if s.projections.native == native && s.projections.roots[i] != nil {
		r := s.projections.roots[i]
		s.projections.Unlock()
		return r
	}
	s.projections.Unlock()
	r := s.views[i].Project(native)
	s.projections.Lock()
	defer s.projections.Unlock()
	if s.projections.native != native {
		s.projections.native, s.projections.roots = native, make([]ygot.GoStruct, len(s.views))
	}
	s.projections.roots[i] = r
	return r
}
