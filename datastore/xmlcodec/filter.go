package xmlcodec

import (
	"reflect"
	"strings"

	"github.com/ntpagent/ntpagent/datastore/rpcerror"
)

// dnode is the generic data tree that filters work on: one node per
// element that the unfiltered output would hold, in output order.
type dnode struct {
	s      *snode
	parent *dnode
	kids   []*dnode
	idx    int    // position among the parent's kids
	text   string // leaf, leaf-list entry
	val    reflect.Value
	dflt   bool // tagged as a default (report-all-tagged)
	sel    selMark
}

type selMark uint8

const (
	selNone    selMark = iota
	selPartial         // the node and its selected children (and, for a list entry, its keys)
	selFull            // the node and everything below it
)

// treeBuilder is the sink that builds the dnode tree.
type treeBuilder struct {
	stack []*dnode
}

func (t *treeBuilder) open(s *snode, force bool) {
	p := t.stack[len(t.stack)-1]
	n := &dnode{s: s, parent: p, idx: len(p.kids)}
	p.kids = append(p.kids, n)
	t.stack = append(t.stack, n)
	if force {
		n.sel = selFull // marks "keep even when empty" until close
	}
}

func (t *treeBuilder) leaf(s *snode, v reflect.Value, text []byte, dflt bool) {
	p := t.stack[len(t.stack)-1]
	p.kids = append(p.kids, &dnode{s: s, parent: p, idx: len(p.kids), text: string(text), val: v, dflt: dflt})
}

func (t *treeBuilder) close(s *snode) {
	n := t.stack[len(t.stack)-1]
	t.stack = t.stack[:len(t.stack)-1]
	keep := n.sel == selFull || len(n.kids) > 0
	n.sel = selNone
	if !keep {
		p := n.parent
		p.kids = p.kids[:len(p.kids)-1]
	}
}

// mark selects n (with mode m) and makes its ancestors partial.
func mark(n *dnode, m selMark) {
	if n.sel < m {
		n.sel = m
	}
	for p := n.parent; p != nil && p.sel == selNone; p = p.parent {
		p.sel = selPartial
	}
}

// emitSelected writes the selected part of the tree. A partially selected
// list entry always carries its keys (RFC 7950 §7.8.5: an entry is
// identified by them).
func emitSelected(x *xmlWriter, doc *dnode) {
	for _, c := range doc.kids {
		emitNode(x, c, false)
	}
}

func emitNode(x *xmlWriter, n *dnode, all bool) {
	if !all && n.sel == selNone {
		return
	}
	all = all || n.sel == selFull
	switch n.s.kind {
	case kLeaf, kLeafList:
		x.leaf(n.s, n.val, []byte(n.text), n.dflt)
		return
	}
	x.open(n.s, true)
	for _, c := range n.kids {
		emitNode(x, c, all || (c.s.isKey && n.s.kind == kList))
	}
	x.close(n.s)
}

// felem is one node of a subtree filter (RFC 6241 §6.2).
type felem struct {
	ns, local string // ns "" is the namespace wildcard (RFC 6241 §6.2.1)
	attrMatch bool   // carries attribute match expressions (§6.2.2)
	text      string // content match value, trimmed
	kids      []*felem
}

func (f *felem) isContent() bool   { return len(f.kids) == 0 && f.text != "" }
func (f *felem) isSelection() bool { return len(f.kids) == 0 && f.text == "" }

func toFilter(x *xelem) *felem {
	f := &felem{ns: x.ns, local: x.local}
	for _, a := range x.attrs {
		if a.ns == nsBase || a.ns == nsWD {
			continue
		}
		f.attrMatch = true
	}
	if len(x.kids) == 0 {
		f.text = strings.TrimSpace(x.text)
	}
	for _, k := range x.kids {
		f.kids = append(f.kids, toFilter(k))
	}
	return f
}

func (f *felem) matches(n *dnode) bool {
	return n.s.name == f.local && (f.ns == "" || f.ns == n.s.ns) && !f.attrMatch
}

// contentEqual compares a content match value with a leaf's canonical text:
// the filter's value is put in canonical form first when it parses for the
// leaf's type (so <minpoll>06</minpoll> matches 6).
func contentEqual(f *felem, n *dnode) bool {
	if n.text == f.text {
		return true
	}
	v, err := n.s.lt.parse(f.text, n.s.elemType, nil)
	if err != nil {
		return false
	}
	return string(n.s.lt.format(nil, v)) == n.text
}

// subtreeFilter marks the nodes of doc selected by the filter.
func subtreeFilter(s *schema, doc *dnode, filter []byte, inScope map[string]string) error {
	roots, err := parseXML(filter, Limits{}, inScope)
	if err != nil {
		return err
	}
	var fs []*felem
	for _, r := range roots {
		fs = append(fs, toFilter(r))
	}
	// RFC 6241 §6.4.2: an empty filter selects nothing.
	if len(fs) == 0 {
		return nil
	}
	evalSet(fs, doc)
	return nil
}

// evalSet evaluates a sibling set of filter nodes against the children of
// d (RFC 6241 §6.2.3-§6.2.5) and marks what it selects. It reports
// whether anything was selected.
func evalSet(fs []*felem, d *dnode) bool {
	// §6.2.5: content match nodes are ANDed; if one fails, nothing of this
	// sibling set (and so of d) is selected.
	var matched []*dnode
	onlyContent := true
	for _, f := range fs {
		if !f.isContent() {
			onlyContent = false
			continue
		}
		found := false
		for _, c := range d.kids {
			if (c.s.kind == kLeaf || c.s.kind == kLeafList) && f.matches(c) && contentEqual(f, c) {
				matched = append(matched, c)
				found = true
			}
		}
		if !found {
			return false
		}
	}
	if onlyContent && len(matched) > 0 {
		// Only content match nodes: the whole of d is selected.
		for _, c := range d.kids {
			if c.s.kind == kLeafList && !containsNode(matched, c) && anyMatchesName(fs, c) {
				continue // of a matched leaf-list only the matching entries
			}
			mark(c, selFull)
		}
		return true
	}
	any := false
	for _, c := range matched {
		mark(c, selFull)
		any = true
	}
	for _, f := range fs {
		switch {
		case f.isContent():
		case f.isSelection():
			// §6.2.4: a selection node selects every instance, whole.
			for _, c := range d.kids {
				if f.matches(c) {
					mark(c, selFull)
					any = true
				}
			}
		default:
			// §6.2.3: a containment node: its children are a sibling set
			// evaluated for each instance.
			for _, c := range d.kids {
				if f.matches(c) && (c.s.kind == kContainer || c.s.kind == kList) && evalSet(f.kids, c) {
					mark(c, selPartial)
					any = true
				}
			}
		}
	}
	return any
}

func containsNode(ns []*dnode, n *dnode) bool {
	for _, x := range ns {
		if x == n {
			return true
		}
	}
	return false
}

func anyMatchesName(fs []*felem, n *dnode) bool {
	for _, f := range fs {
		if f.matches(n) {
			return true
		}
	}
	return false
}

func filterErr(format string, args ...any) *rpcerror.Error {
	e := rpcerror.New(rpcerror.TagInvalidValue, "", format, args...)
	e.Info = []rpcerror.InfoItem{{Name: "bad-element", Value: "filter"}}
	return e
}
