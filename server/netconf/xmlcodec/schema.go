package xmlcodec

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	goyang "github.com/openconfig/goyang/pkg/yang"
	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/yanglist"
	"github.com/ntpagent/ntpagent/yang"
)

// kind is the kind of a schema node as the codec sees it.
type kind uint8

const (
	kRoot kind = iota
	kContainer
	kList
	kLeaf
	kLeafList
)

// snode is one schema node mapped onto the generated Go structs. The table
// of snodes is built once (schemaTable) so that encoding and decoding never
// look names or tags up by reflection per call.
type snode struct {
	name   string
	ns     string
	prefix string
	kind   kind
	config bool // false for config false nodes and their descendants
	// presence is true for presence containers (RFC 7950 §7.5.1); they
	// exist on their own, non-presence containers only through children.
	presence bool
	// inCase is the case of a choice the node belongs to, nil outside
	// any choice (RFC 7950 §7.9).
	inCase *caseRef
	entry  *goyang.Entry
	parent *snode

	// children in XML order: for a list, the keys in key order first, then
	// the other children in schema order (RFC 7950 §7.8.5).
	children []*snode
	byName   map[string][]*snode // local name → nodes (one per namespace)

	field      int          // index of the field in the parent's struct
	goType     reflect.Type // the field's type
	structType reflect.Type // container, list: the struct type

	// list
	keys     []*snode
	keyIndex map[*snode]int
	keyType  reflect.Type  // the map's key type
	list     yanglist.Type // the field's Go form: a map, or an ordered map (ordered-by user)
	keyField []int         // for a key struct: field index of each key

	// leaf, leaf-list
	lt           *ltype
	elemType     reflect.Type // leaf: goType without pointer; leaf-list: slice element
	defaults     []string     // canonical default values
	defaultBytes [][]byte     // the same as bytes
	isKey        bool

	path string // schema path with prefixes, for messages

	// XML output, precomputed
	startTag  string // "<name"
	endTag    string // "</name>"
	nsAttr    string // ` xmlns="ns"`
	nsChanges bool   // the namespace differs from the parent's (augments)
}

// Schema is the codec's read-only table for one model: a set of YANG
// modules whose top-level data nodes are the fields of one ygot-generated
// root struct. Native is ntpagent's own model (gen.Device); each view of
// the device (another model of the same configuration) has its own. A
// Schema is built once and never changed, so it is safe for concurrent use.
type Schema struct {
	root *snode
	ys   *yang.Schema
	// modules are the modules whose data the root holds, in name order.
	modules []*yang.Module
	// prefixByNS lists the library's prefixes by namespace; nsByPrefix
	// the namespaces by prefix and by module name (for XPath values).
	prefixByNS, nsByPrefix map[string]string
	// unions maps a YANG base type to the generated package's wrapper
	// type for it in a simple union (ygot -generate_simple_unions).
	unions     map[goyang.TypeKind]reflect.Type
	namespaces []string
	// annotations and deleteAbsentIsRemove: Model's options.
	annotations          map[string]bool
	deleteAbsentIsRemove bool
	// xpathPrefixes are the prefixes an XPath filter may use undeclared
	// (Schema.undeclaredPrefixes), made at the first XPath filter.
	xpathPrefixes func() map[string]string
	// keyIndexes are the indexes of lists by one key of several, of trees
	// encoded with EncodeOptions.Frozen.
	keyIndexes keyIndexes
}

// Model says what a Schema maps: which modules, onto which generated root.
type Model struct {
	// Root is a pointer to the generated fake root (ygot
	// -generate_fakeroot), e.g. &gen.Device{}; its fields are the
	// top-level data nodes of Modules.
	Root ygot.GoStruct
	// Modules are the names of the modules of the YANG library (package
	// yang) whose top-level data nodes Root holds. Augments and deviations
	// from other modules of the library are already part of their entries.
	Modules []string
	// Unions are zero values of the generated package's wrapper types
	// for members of simple unions (UnionString(""), UnionUint32(0), ...,
	// Binary(nil), YANGEmpty(false)): every package generates its own.
	// Only the types the modules' unions use are needed; a union member
	// without its wrapper is an error of NewSchema.
	Unions []any
	// AnnotationAttributes are unqualified attributes that the model's
	// clients put on its elements as annotations, not as data (VRP's
	// legacy schema: content-version and format-version). In a subtree
	// filter they are ignored instead of being attribute match expressions
	// (RFC 6241 §6.2.2), which no node of ours would match; in an edit,
	// attributes outside the base namespace are ignored anyway.
	AnnotationAttributes []string
	// DeleteAbsentIsRemove makes operation="delete" of a node that does
	// not exist no error: delete acts as remove (RFC 6241 §7.2), as the
	// devices whose model this is behave.
	DeleteAbsentIsRemove bool
}

// wrapperKinds names ygot's wrapper types by the YANG type they carry;
// every generated package has the same names.
var wrapperKinds = map[string]goyang.TypeKind{
	"UnionInt8": goyang.Yint8, "UnionInt16": goyang.Yint16, "UnionInt32": goyang.Yint32, "UnionInt64": goyang.Yint64,
	"UnionUint8": goyang.Yuint8, "UnionUint16": goyang.Yuint16, "UnionUint32": goyang.Yuint32, "UnionUint64": goyang.Yuint64,
	"UnionFloat64": goyang.Ydecimal64, "UnionString": goyang.Ystring, "UnionBool": goyang.Ybool,
	"YANGEmpty": goyang.Yempty, "Binary": goyang.Ybinary,
}

// Native is the schema of ntpagent's own modules (yang.Schema.Modules)
// on gen.Device, built at the first call.
func Native() (*Schema, error) { return loadNative() }

var loadNative = sync.OnceValues(func() (*Schema, error) { // computed once, never mutated after
	ys, err := yang.Load()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range ys.Modules() {
		names = append(names, m.Name)
	}
	return NewSchema(Model{
		Root:    &gen.Device{},
		Modules: names,
		Unions: []any{gen.UnionInt8(0), gen.UnionInt16(0), gen.UnionInt32(0), gen.UnionInt64(0),
			gen.UnionUint8(0), gen.UnionUint16(0), gen.UnionUint32(0), gen.UnionUint64(0),
			gen.UnionFloat64(0), gen.UnionString(""), gen.UnionBool(false), gen.YANGEmpty(false), gen.Binary(nil)},
	})
})

// NewSchema maps a model's modules onto its generated root struct. It
// fails when a data node has no field, or a field's type does not fit the
// node (the generated code is stale or was generated with other options).
func NewSchema(m Model) (*Schema, error) {
	ys, err := yang.Load()
	if err != nil {
		return nil, err
	}
	rt := reflect.TypeOf(m.Root)
	if m.Root == nil || rt.Kind() != reflect.Ptr || rt.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("xmlcodec: the root of a model is a pointer to a generated struct, not %T", m.Root)
	}
	s := &Schema{ys: ys, prefixByNS: map[string]string{}, nsByPrefix: map[string]string{}, unions: map[goyang.TypeKind]reflect.Type{},
		deleteAbsentIsRemove: m.DeleteAbsentIsRemove}
	s.xpathPrefixes = sync.OnceValue(s.undeclaredPrefixes)
	for _, a := range m.AnnotationAttributes {
		if s.annotations == nil {
			s.annotations = map[string]bool{}
		}
		s.annotations[a] = true
	}
	for _, u := range m.Unions {
		t := reflect.TypeOf(u)
		k, ok := wrapperKinds[t.Name()]
		if !ok {
			return nil, fmt.Errorf("xmlcodec: %s is not a ygot union wrapper type", t)
		}
		s.unions[k] = t
	}
	root := &snode{kind: kRoot, config: true, byName: map[string][]*snode{}, structType: rt.Elem()}
	s.root = root
	for _, lm := range ys.Library() {
		s.prefixByNS[lm.Namespace] = lm.Prefix
		s.nsByPrefix[lm.Prefix], s.nsByPrefix[lm.Name] = lm.Namespace, lm.Namespace
	}
	names := append([]string(nil), m.Modules...)
	sort.Strings(names)
	fields := fieldsByPath(root.structType)
	for _, name := range names {
		mod, ok := ys.ByName(name)
		if !ok {
			return nil, fmt.Errorf("xmlcodec: module %s is not in the YANG library", name)
		}
		s.modules = append(s.modules, mod)
		s.namespaces = append(s.namespaces, mod.Namespace)
		for _, cname := range orderedChildren(mod.Entry) {
			e := mod.Entry.Dir[cname]
			if e.RPC != nil || e.Kind == goyang.NotificationEntry {
				continue
			}
			f, ok := fields[mod.Name+"\x00"+e.Name]
			if !ok {
				return nil, fmt.Errorf("xmlcodec: no field of %s for /%s:%s", root.structType, mod.Prefix, e.Name)
			}
			c, err := s.build(e, root, f)
			if err != nil {
				return nil, err
			}
			root.add(c)
		}
	}
	return s, nil
}

// Namespaces are the namespaces of the schema's modules: the top-level
// elements of its data are in these.
func (s *Schema) Namespaces() []string { return append([]string(nil), s.namespaces...) }

// HasNamespace reports whether ns is the namespace of one of the schema's
// modules.
func (s *Schema) HasNamespace(ns string) bool {
	for _, n := range s.namespaces {
		if n == ns {
			return true
		}
	}
	return false
}

// initTags precomputes the XML text of the node's tags.
func (n *snode) initTags() {
	n.startTag = "<" + n.name
	n.endTag = "</" + n.name + ">"
	n.nsAttr = ` xmlns="` + string(appendEscaped(nil, n.ns, true)) + `"`
	n.nsChanges = n.parent == nil || n.parent.kind == kRoot || n.parent.ns != n.ns
}

func (p *snode) add(c *snode) {
	p.children = append(p.children, c)
	p.byName[c.name] = append(p.byName[c.name], c)
}

// child finds the child with the given namespace and local name. An empty
// ns matches any namespace when exactly one child has the name.
func (p *snode) child(ns, name string) *snode {
	for _, c := range p.byName[name] {
		if c.ns == ns {
			return c
		}
	}
	return nil
}

type fieldRef struct {
	index int
	typ   reflect.Type
}

// fieldsByPath maps "module\x00path" of a generated struct's fields to the
// field; ygot tags each field with path and module.
func fieldsByPath(t reflect.Type) map[string]fieldRef {
	m := map[string]fieldRef{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		p, ok := f.Tag.Lookup("path")
		if !ok {
			continue
		}
		m[f.Tag.Get("module")+"\x00"+p] = fieldRef{i, f.Type}
	}
	return m
}

// orderedChildren returns the names of e's children in the order of the
// module text (goyang's Dir is a map): statement order first, a grouping's
// nodes where it is used (RFC 7950 §7.13), then any children that came from
// elsewhere (augments), by name.
func orderedChildren(e *goyang.Entry) []string {
	seen := map[string]bool{}
	var out []string
	var walk func(n goyang.Node, st *goyang.Statement, depth int)
	walk = func(n goyang.Node, st *goyang.Statement, depth int) {
		for _, sub := range st.SubStatements() {
			switch sub.Keyword {
			case "container", "list", "leaf", "leaf-list", "choice", "case":
				if _, ok := e.Dir[sub.Argument]; ok && !seen[sub.Argument] {
					seen[sub.Argument] = true
					out = append(out, sub.Argument)
				}
			case "uses":
				// Groupings nest; a module is finite, but a bound keeps
				// a malformed one (a grouping using itself) from looping.
				if g := goyang.FindGrouping(n, sub.Argument, map[string]bool{}); g != nil && depth < 16 {
					if gst := g.Statement(); gst != nil {
						walk(g, gst, depth+1)
					}
				}
			}
		}
	}
	if e.Node != nil {
		if st := e.Node.Statement(); st != nil {
			walk(e.Node, st, 0)
		}
	}
	var rest []string
	for n := range e.Dir {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func (s *Schema) build(e *goyang.Entry, parent *snode, f fieldRef) (*snode, error) {
	n := &snode{
		name:   e.Name,
		ns:     e.Namespace().Name,
		entry:  e,
		parent: parent,
		config: parent.config && !e.ReadOnly(),
		field:  f.index,
		goType: f.typ,
		byName: map[string][]*snode{},
	}
	n.prefix = s.prefixByNS[n.ns]
	n.initTags()
	n.path = parent.path + "/" + n.prefix + ":" + n.name
	switch {
	case e.IsList():
		n.kind = kList
		lt, err := yanglist.TypeOf(f.typ)
		if err != nil {
			return nil, fmt.Errorf("xmlcodec: %s: list field is %s, want a map or an ordered map (keyless lists are not supported)", n.path, f.typ)
		}
		if userOrdered(e) != lt.Ordered {
			return nil, fmt.Errorf("xmlcodec: %s: list field is %s, which does not keep the list's order (generate with -generate_ordered_maps)", n.path, f.typ)
		}
		n.list, n.keyType, n.structType = lt, lt.Key, lt.Entry
	case e.IsContainer():
		n.kind = kContainer
		if c, ok := e.Node.(*goyang.Container); ok && c.Presence != nil {
			n.presence = true
		}
		if f.typ.Kind() != reflect.Ptr || f.typ.Elem().Kind() != reflect.Struct {
			return nil, fmt.Errorf("xmlcodec: %s: container field is %s", n.path, f.typ)
		}
		n.structType = f.typ.Elem()
	case e.IsLeafList():
		n.kind = kLeafList
		if f.typ.Kind() != reflect.Slice {
			return nil, fmt.Errorf("xmlcodec: %s: leaf-list field is %s", n.path, f.typ)
		}
		n.elemType = f.typ.Elem()
	case e.IsLeaf():
		n.kind = kLeaf
		n.elemType = f.typ
		if f.typ.Kind() == reflect.Ptr {
			n.elemType = f.typ.Elem()
		}
	default:
		return nil, fmt.Errorf("xmlcodec: %s: unsupported schema node kind", n.path)
	}
	if n.kind == kLeaf || n.kind == kLeafList {
		lt, err := s.leafType(e, e.Type, n.elemType, 0)
		if err != nil {
			return nil, fmt.Errorf("xmlcodec: %s: %w", n.path, err)
		}
		n.lt = lt
		for _, d := range e.DefaultValues() {
			v, err := lt.parse(d, n.elemType, moduleResolver{e.Node})
			if err != nil {
				return nil, fmt.Errorf("xmlcodec: %s: default %q: %w", n.path, d, err)
			}
			n.defaults = append(n.defaults, string(lt.format(nil, v)))
			n.defaultBytes = append(n.defaultBytes, lt.format(nil, v))
		}
		return n, nil
	}
	if err := s.buildChildren(n, e, fieldsByPath(n.structType), nil); err != nil {
		return nil, err
	}
	if n.kind == kList {
		if err := n.setupKeys(); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// buildChildren adds the data nodes below e to n. A choice and its cases
// are not data nodes (RFC 7950 §7.9): ygot puts the nodes of every case in
// the parent's struct, and so does the codec, remembering each node's case
// so that an edit can remove the other cases' nodes (§7.9.2).
func (s *Schema) buildChildren(n *snode, e *goyang.Entry, fields map[string]fieldRef, in *caseRef) error {
	for _, name := range orderedChildren(e) {
		ce := e.Dir[name]
		switch {
		case ce.IsChoice():
			for _, cname := range orderedChildren(ce) {
				cs := ce.Dir[cname]
				ref := &caseRef{choice: ce, name: cs.Name, outer: in}
				if !cs.IsCase() {
					// A shorthand case (§7.9.2): the node is its own case.
					ref.name = cs.Name
					tmp := &goyang.Entry{Name: ce.Name, Dir: map[string]*goyang.Entry{cs.Name: cs}, Node: ce.Node}
					if err := s.buildChildren(n, tmp, fields, ref); err != nil {
						return err
					}
					continue
				}
				if err := s.buildChildren(n, cs, fields, ref); err != nil {
					return err
				}
			}
			continue
		case ce.IsCase():
			continue // cases are reached through their choice
		}
		cm, err := ce.InstantiatingModule()
		if err != nil {
			return err
		}
		cf, ok := fields[cm+"\x00"+ce.Name]
		if !ok {
			// -ignore_unsupported leaves out anydata and the like.
			continue
		}
		c, err := s.build(ce, n, cf)
		if err != nil {
			return err
		}
		c.inCase = in
		n.add(c)
	}
	return nil
}

// caseRef names the case of a choice a node belongs to (outer: the case
// the choice itself sits in, for nested choices).
type caseRef struct {
	choice *goyang.Entry
	name   string
	outer  *caseRef
}

// excludes reports whether a node of case a and a node of case b cannot
// both exist: they are in different cases of the same choice, at any
// level of nesting (RFC 7950 §7.9.2).
func (a *caseRef) excludes(b *caseRef) bool {
	for x := a; x != nil; x = x.outer {
		for y := b; y != nil; y = y.outer {
			if x.choice == y.choice && x.name != y.name {
				return true
			}
		}
	}
	return false
}

// setupKeys orders a list's children keys first and records how the map
// key is made from the key leaves.
func (n *snode) setupKeys() error {
	names := strings.Fields(n.entry.Key)
	if len(names) == 0 {
		return fmt.Errorf("xmlcodec: %s: keyless lists are not supported", n.path)
	}
	n.keyIndex = map[*snode]int{}
	for i, k := range names {
		var c *snode
		for _, cc := range n.children {
			if cc.name == k {
				c = cc
			}
		}
		if c == nil || c.kind != kLeaf {
			return fmt.Errorf("xmlcodec: %s: key %s is not a leaf", n.path, k)
		}
		c.isKey = true
		n.keys = append(n.keys, c)
		n.keyIndex[c] = i
	}
	ordered := append([]*snode(nil), n.keys...)
	for _, c := range n.children {
		if !c.isKey {
			ordered = append(ordered, c)
		}
	}
	n.children = ordered
	if len(n.keys) == 1 {
		if n.keyType != n.keys[0].elemType {
			return fmt.Errorf("xmlcodec: %s: key type %s, leaf type %s", n.path, n.keyType, n.keys[0].elemType)
		}
		return nil
	}
	if n.keyType.Kind() != reflect.Struct {
		return fmt.Errorf("xmlcodec: %s: key type %s is not a struct", n.path, n.keyType)
	}
	for _, k := range n.keys {
		found := -1
		for i := 0; i < n.keyType.NumField(); i++ {
			if n.keyType.Field(i).Tag.Get("path") == k.name {
				found = i
			}
		}
		if found < 0 || n.keyType.Field(found).Type != k.elemType {
			return fmt.Errorf("xmlcodec: %s: no key field for %s", n.path, k.name)
		}
		n.keyField = append(n.keyField, found)
	}
	return nil
}

// userOrdered reports whether e is an ordered-by user list or leaf-list
// (RFC 7950 §7.7.7).
func userOrdered(e *goyang.Entry) bool {
	return e.ListAttr != nil && e.ListAttr.OrderedByUser
}

// listLen is the number of entries of n's list field f.
func (n *snode) listLen(f reflect.Value) int {
	if !n.list.Ordered {
		return f.Len()
	}
	return n.list.Len(f)
}

// listGet is the entry of key k in n's list field f, or the zero Value.
func (n *snode) listGet(f, k reflect.Value) reflect.Value {
	if !n.list.Ordered {
		return f.MapIndex(k)
	}
	return n.list.Get(f, k)
}

// mapKey builds the Go map key of a list entry from its key values (one
// reflect.Value of each key leaf's elemType, in key order).
func (n *snode) mapKey(vals []reflect.Value) reflect.Value {
	if len(n.keys) == 1 {
		return vals[0]
	}
	k := reflect.New(n.keyType).Elem()
	for i, fi := range n.keyField {
		k.Field(fi).Set(vals[i])
	}
	return k
}

// moduleResolver resolves the prefixes of a value written in a module
// (an identityref default) through the module's own prefix and imports.
type moduleResolver struct{ node goyang.Node }

func (m moduleResolver) lookup(prefix string) (string, bool) {
	if m.node == nil {
		return "", false
	}
	mod := goyang.FindModuleByPrefix(m.node, prefix)
	if mod == nil || mod.Namespace == nil {
		return "", false
	}
	if mod.Kind() == "submodule" && mod.BelongsTo != nil {
		if p := mod.Modules.Modules[mod.BelongsTo.Name]; p != nil && p.Namespace != nil {
			return p.Namespace.Name, true
		}
		return "", false
	}
	return mod.Namespace.Name, true
}

// enumInfo returns name↔value maps of a generated enum type.
func enumInfo(t reflect.Type) (map[int64]ygot.EnumDefinition, bool) {
	v, ok := reflect.Zero(t).Interface().(ygot.GoEnum)
	if !ok {
		return nil, false
	}
	m, ok := v.ΛMap()[t.Name()]
	return m, ok
}
