package xmlcodec

import (
	"reflect"
	"strings"

	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// dnode is the generic data tree that filters work on: one node per
// element that the unfiltered output could hold, in output order. It is
// built lazily, one level at a time, from the ygot tree, so that a filter
// that names one list entry by its keys does not build the whole list.
type dnode struct {
	s      *snode
	parent *dnode
	// sv is, for a container or list entry, its struct (invalid for a
	// container shown only for its defaults); for a leaf, its value
	// (invalid for a default that is not set).
	sv     reflect.Value
	kids   []*dnode
	looked map[uintptr]lookedEntry // list entries found by key before the level was built, by entry pointer
	text   string                  // leaf, leaf-list entry
	idx    int32                   // position among the parent's kids
	built  bool
	dflt   bool // tagged as a default (report-all-tagged)
	sel    selMark
}

type lookedEntry struct {
	n   *dnode
	key any // the map key
}

type selMark uint8

const (
	selNone    selMark = iota
	selPartial         // the node and its selected children (and, for a list entry, its keys)
	selFull            // the node and everything below it
)

// lazyTree builds dnodes on demand with the walker's with-defaults and
// config-only settings.
type lazyTree struct {
	w walker
	// keys keeps indexes of lists by some of their keys; nil unless the
	// tree is frozen (EncodeOptions.Frozen).
	keys *keyIndexes
}

// levelBuilder is the sink that turns the leaves of one level into dnodes.
// The dnodes of a level share one allocation, and the leaves' texts one
// string.
type levelBuilder struct {
	d     *dnode
	slab  []dnode
	text  []byte
	spans []textSpan
}

type textSpan struct {
	n          *dnode
	start, end int
}

func (l *levelBuilder) add(n dnode) *dnode {
	if len(l.slab) == cap(l.slab) {
		l.slab = make([]dnode, 0, 8) // only when the count was short
	}
	l.slab = append(l.slab, n)
	p := &l.slab[len(l.slab)-1]
	l.d.add(p)
	return p
}

func (l *levelBuilder) open(*snode, reflect.Value, bool) {}
func (l *levelBuilder) close(*snode)                     {}
func (l *levelBuilder) leaf(s *snode, v reflect.Value, text []byte, dflt bool) {
	n := l.add(dnode{s: s, sv: v, dflt: dflt, built: true})
	start := len(l.text)
	l.text = append(l.text, text...)
	l.spans = append(l.spans, textSpan{n, start, len(l.text)})
}

func (d *dnode) add(c *dnode) {
	c.parent = d
	c.idx = int32(len(d.kids))
	d.kids = append(d.kids, c)
}

// kids returns the children of d, building them on first use.
func (t *lazyTree) kids(d *dnode) []*dnode {
	if d.built {
		return d.kids
	}
	d.built = true
	w := t.w
	size := 0
	for _, c := range d.s.children {
		size++
		switch {
		case c.kind == kList && d.sv.IsValid():
			size += c.listLen(d.sv.Field(c.field))
		case c.kind == kLeafList && d.sv.IsValid():
			size += d.sv.Field(c.field).Len()
		}
	}
	lb := &levelBuilder{d: d, slab: make([]dnode, 0, size)}
	d.kids = make([]*dnode, 0, size)
	w.sink = lb
	for _, c := range d.s.children {
		if w.configOnly && !c.config {
			continue
		}
		var f reflect.Value
		if d.sv.IsValid() {
			f = d.sv.Field(c.field)
			if w.isWithheld(d.sv, c.field) {
				continue
			}
		}
		switch c.kind {
		case kContainer:
			if f.IsValid() && !f.IsNil() {
				lb.add(dnode{s: c, sv: f.Elem()})
			} else if !c.presence && (w.mode == WDReportAll || w.mode == WDReportAllTagged) {
				lb.add(dnode{s: c})
			}
		case kList:
			if !f.IsValid() || c.listLen(f) == 0 {
				continue
			}
			es := w.sortedEntries(c, f, false)
			for _, i := range es.order {
				ev := es.ks[i].val
				if le, ok := d.looked[ev.Pointer()]; ok {
					d.add(le.n)
					continue
				}
				lb.add(dnode{s: c, sv: ev.Elem()})
			}
		case kLeaf:
			w.walkLeaf(c, f)
		case kLeafList:
			w.walkLeafList(c, f)
		}
	}
	if len(lb.spans) > 0 {
		all := string(lb.text)
		for _, sp := range lb.spans {
			sp.n.text = all[sp.start:sp.end]
		}
	}
	d.looked = nil
	return d.kids
}

// emitLooked writes the selected entries that lookup found under an unbuilt
// node, list by list in schema order, entries in key order.
func (t *lazyTree) emitLooked(x *xmlWriter, n *dnode) {
	for _, c := range n.s.children {
		if c.kind != kList {
			continue
		}
		var es []*dnode
		keys := map[*dnode]any{}
		for _, le := range n.looked {
			if le.n.s == c && le.n.sel != selNone {
				es = append(es, le.n)
				keys[le.n] = le.key
			}
		}
		if len(es) > 1 && c.list.Ordered {
			es = inListOrder(c, n.sv.Field(c.field), es)
		} else if len(es) > 1 {
			m := reflect.MakeMapWithSize(n.sv.Field(c.field).Type(), len(es))
			byPtr := map[uintptr]*dnode{}
			for _, e := range es {
				m.SetMapIndex(reflect.ValueOf(keys[e]), e.sv.Addr())
				byPtr[e.sv.Addr().Pointer()] = e
			}
			es = es[:0]
			sorted := t.w.sortedEntries(c, m, false)
			for _, i := range sorted.order {
				es = append(es, byPtr[sorted.ks[i].val.Pointer()])
			}
		}
		for _, e := range es {
			t.emitNode(x, e, false)
		}
	}
}

// inListOrder is the entries es of the ordered-by user list f (of node
// c) in the list's order.
func inListOrder(c *snode, f reflect.Value, es []*dnode) []*dnode {
	byPtr := map[uintptr]*dnode{}
	for _, e := range es {
		byPtr[e.sv.Addr().Pointer()] = e
	}
	out := make([]*dnode, 0, len(es))
	c.list.RangeEntries(f, func(v reflect.Value) bool {
		if e, ok := byPtr[v.Pointer()]; ok {
			out = append(out, e)
		}
		return true
	})
	return out
}

func (t *lazyTree) lookup(d *dnode, c *snode, keyVals []reflect.Value) *dnode {
	if !d.sv.IsValid() {
		return nil
	}
	f := d.sv.Field(c.field)
	if f.IsNil() {
		return nil
	}
	return t.lookupKey(d, c, c.mapKey(keyVals))
}

// lookupKey is lookup by the list's map key.
func (t *lazyTree) lookupKey(d *dnode, c *snode, mk reflect.Value) *dnode {
	f := d.sv.Field(c.field)
	e := c.listGet(f, mk)
	if !e.IsValid() {
		return nil
	}
	p := e.Pointer()
	if d.built {
		for _, n := range d.kids {
			if n.s == c && n.sv.Addr().Pointer() == p {
				return n
			}
		}
		return nil
	}
	if le, ok := d.looked[p]; ok {
		return le.n
	}
	if d.looked == nil {
		d.looked = map[uintptr]lookedEntry{}
	}
	n := &dnode{s: c, parent: d, sv: e.Elem()}
	d.looked[p] = lookedEntry{n, mk.Interface()}
	return n
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
// identified by them). Whole subtrees are written straight from the ygot
// tree.
func (t *lazyTree) emitSelected(x *xmlWriter, doc *dnode) {
	if doc.sel == selNone {
		return
	}
	for _, c := range t.kids(doc) {
		t.emitNode(x, c, false)
	}
}

func (t *lazyTree) emitNode(x *xmlWriter, n *dnode, all bool) {
	if !all && n.sel == selNone {
		return
	}
	if !all && n.sel == selFull && x.nmda != nil {
		// max-depth counts from each node the filter selects.
		defer x.nmda.selectedAt(len(x.pending))()
	}
	all = all || n.sel == selFull
	switch n.s.kind {
	case kLeaf, kLeafList:
		x.leaf(n.s, n.sv, []byte(n.text), n.dflt)
		return
	}
	force := n.s.kind == kList || n.s.presence
	x.open(n.s, n.sv, force)
	switch {
	case all:
		w := t.w
		w.sink = x
		w.walkKids(n.s, n.sv)
	case !n.built:
		// Only list entries found by key were selected below n: write
		// them without building the level.
		t.emitLooked(x, n)
	default:
		for _, c := range t.kids(n) {
			t.emitNode(x, c, c.s.isKey && n.s.kind == kList)
		}
	}
	x.close(n.s)
}

// felem is one node of a subtree filter (RFC 6241 §6.2).
type felem struct {
	ns, local string // ns "" is the namespace wildcard (RFC 6241 §6.2.1)
	attrMatch bool   // carries attribute match expressions (§6.2.2)
	text      string // content match value, trimmed
	kids      []*felem
	scope     *scope // namespaces in scope, for identityref values
}

func (f *felem) isContent() bool   { return len(f.kids) == 0 && f.text != "" }
func (f *felem) isSelection() bool { return len(f.kids) == 0 && f.text == "" }

func toFilter(x *xelem, annotations map[string]bool) *felem {
	f := &felem{ns: x.ns, local: x.local, scope: x.scope}
	for _, a := range x.attrs {
		if a.ns == nsBase || a.ns == nsWD || a.ns == "" && annotations[a.local] {
			continue
		}
		f.attrMatch = true
	}
	if len(x.kids) == 0 {
		f.text = strings.TrimSpace(x.text)
	}
	for _, k := range x.kids {
		f.kids = append(f.kids, toFilter(k, annotations))
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
	v, err := n.s.lt.parse(f.text, n.s.elemType, f.scope)
	if err != nil {
		return false
	}
	return string(n.s.lt.format(nil, v)) == n.text
}

// subtreeFilter marks the nodes of doc selected by the filter's top-level
// elements; annotations are the model's annotation attributes.
func (t *lazyTree) subtreeFilter(doc *dnode, roots []*xelem, annotations map[string]bool) {
	var fs []*felem
	for _, r := range roots {
		fs = append(fs, toFilter(r, annotations))
	}
	// RFC 6241 §6.4.2: an empty filter selects nothing.
	if len(fs) == 0 {
		return
	}
	t.evalSet(fs, doc)
}

// evalSet evaluates a sibling set of filter nodes against the children of
// d (RFC 6241 §6.2.3-§6.2.5) and marks what it selects. It reports
// whether anything was selected.
func (t *lazyTree) evalSet(fs []*felem, d *dnode) bool {
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
		for _, c := range t.kids(d) {
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
		for _, c := range t.kids(d) {
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
			for _, c := range t.kids(d) {
				if f.matches(c) {
					mark(c, selFull)
					any = true
				}
			}
		default:
			// §6.2.3: a containment node: its children are a sibling set
			// evaluated for each instance.
			for _, c := range t.candidates(f, d) {
				if t.evalSet(f.kids, c) {
					mark(c, selPartial)
					any = true
				}
			}
		}
	}
	return any
}

// candidates returns the containers and list entries under d that the
// containment node f names. When f holds content matches for every key of
// a list, the entry is found by its key instead of by building the list.
func (t *lazyTree) candidates(f *felem, d *dnode) []*dnode {
	if !d.built && !f.attrMatch {
		var list *snode
		for _, c := range d.s.byName[f.local] {
			if c.kind == kList && (f.ns == "" || f.ns == c.ns) {
				if list != nil {
					list = nil // the wildcard names lists of two namespaces
					break
				}
				list = c
			}
		}
		if list != nil && (!t.w.configOnly || list.config) {
			vals, all, some := keyMatches(f, list)
			switch {
			case all:
				if n := t.lookup(d, list, vals); n != nil {
					return []*dnode{n}
				}
				return nil
			case some:
				// Some keys given (an address without its vpn-instance):
				// compare them on the map's keys, and build only the
				// entries that match instead of the whole list; in a
				// frozen tree, through an index made once.
				if t.keys != nil {
					if out, ok := t.indexedKeys(d, list, vals); ok {
						return out
					}
				}
				return t.scanKeys(d, list, vals)
			}
		}
	}
	var out []*dnode
	for _, c := range t.kids(d) {
		if f.matches(c) && (c.s.kind == kContainer || c.s.kind == kList) {
			out = append(out, c)
		}
	}
	return out
}

// keyMatches returns the values of the key content match nodes of f, one
// per key of list in key order (invalid for a key f does not match on);
// all is true when every key has one, some when at least one has. A key
// matched twice, or a value that does not parse for its key, gives
// neither: the list is then built and matched node by node.
func keyMatches(f *felem, list *snode) (vals []reflect.Value, all, some bool) {
	vals = make([]reflect.Value, len(list.keys))
	for _, k := range f.kids {
		if !k.isContent() || k.attrMatch {
			continue
		}
		for i, ks := range list.keys {
			if k.local == ks.name && (k.ns == "" || k.ns == ks.ns) {
				if vals[i].IsValid() {
					return nil, false, false
				}
				v, err := ks.lt.parse(k.text, ks.elemType, k.scope)
				if err != nil {
					return nil, false, false
				}
				vals[i] = v
			}
		}
	}
	all = true
	for _, v := range vals {
		if v.IsValid() {
			some = true
		} else {
			all = false
		}
	}
	return vals, all, some
}

// scanKeys returns the entries of list under the unbuilt d whose keys
// equal every valid value of vals, comparing the values in the list's map
// keys, so that only the matching entries become nodes.
func (t *lazyTree) scanKeys(d *dnode, list *snode, vals []reflect.Value) []*dnode {
	if !d.sv.IsValid() {
		return nil
	}
	f := d.sv.Field(list.field)
	var out []*dnode
	if list.list.Ordered {
		list.list.Range(f, func(mk, _ reflect.Value) bool {
			if keysEqual(list, mk, vals) {
				if n := t.lookupKey(d, list, mk); n != nil {
					out = append(out, n)
				}
			}
			return true
		})
		return out
	}
	mk := reflect.New(list.keyType).Elem() // one key, reused: no copy per entry
	for it := f.MapRange(); it.Next(); {
		mk.SetIterKey(it)
		if keysEqual(list, mk, vals) {
			if n := t.lookupKey(d, list, mk); n != nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// keysEqual reports whether the map key mk of an entry of list has every
// valid value of vals.
func keysEqual(list *snode, mk reflect.Value, vals []reflect.Value) bool {
	for i, v := range vals {
		if !v.IsValid() {
			continue
		}
		kv := mk
		if len(list.keys) > 1 {
			kv = mk.Field(list.keyField[i])
		}
		if kv.Kind() == reflect.String { // most keys: a name or an address
			if kv.String() != v.String() {
				return false
			}
		} else if !kv.Equal(v) {
			return false
		}
	}
	return true
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
