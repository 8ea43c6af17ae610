package nacm

import (
	"fmt"
	"reflect"
	"strings"

	goyang "github.com/openconfig/goyang/pkg/yang"

	"github.com/ntpagent/ntpagent/yang"
)

// Schema binds the rules to a YANG library and to the Go structs of one
// data tree (ygot's, whose fields carry module and path tags). It is built
// once and read only.
type Schema struct {
	modules  map[string]*yang.Module // by name
	byPrefix map[string]string       // module prefix → name
	nodes    map[*goyang.Entry]*node
	types    map[reflect.Type]*structBinding
	root     reflect.Type
	tops     map[string]*node // top-level nodes by name
}

// node is what the rules need of one schema node.
type node struct {
	entry  *goyang.Entry
	module string // the module that defines it (RFC 8341 module-name)
	prefix string
	name   string
	depth  int // 1 for a top-level node
	parent *node
	kind   nodeKind
	keys   []string // a list's key leaves, in key order
	// presence: a presence container (RFC 7950 §7.5.1); a non-presence
	// container has no meaning of its own, only its descendants are
	// written.
	presence bool
	// denyAll and denyWrite: nacm:default-deny-all / default-deny-write on
	// the node or an ancestor (RFC 8341 §3.4.5: the node and all its
	// descendants).
	denyAll, denyWrite bool
	// below: some descendant is marked, or defined in another module; the
	// subtree's decisions may then differ from the node's.
	markedBelow  bool
	modulesBelow map[string]bool
	children     map[string]*node // by name
}

type nodeKind uint8

const (
	kContainer nodeKind = iota
	kList
	kLeaf
	kLeafList
)

// structBinding maps the fields of a generated struct to schema nodes.
type structBinding struct {
	fields []fieldBinding
}

type fieldBinding struct {
	index int
	n     *node
	// keyFields: for a list, the field index of each key leaf in the
	// entry struct, in key order.
	keyFields []int
}

// NewSchema binds the library's modules and the data tree whose root is
// of type root (a pointer to ygot's fake root, e.g. *gen.Device).
func NewSchema(lib []*yang.Module, root any) (*Schema, error) {
	s := &Schema{modules: map[string]*yang.Module{}, byPrefix: map[string]string{},
		nodes: map[*goyang.Entry]*node{}, types: map[reflect.Type]*structBinding{}, tops: map[string]*node{}}
	for _, m := range lib {
		s.modules[m.Name] = m
		s.byPrefix[m.Prefix] = m.Name
	}
	rt := reflect.TypeOf(root)
	if rt.Kind() != reflect.Pointer || rt.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("nacm: root %T is not a pointer to a struct", root)
	}
	s.root = rt.Elem()
	if err := s.bindRoot(s.root); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Schema) bindRoot(t reflect.Type) error {
	b := &structBinding{}
	s.types[t] = b
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		path, mod := f.Tag.Get("path"), f.Tag.Get("module")
		if path == "" {
			continue
		}
		m, ok := s.modules[mod]
		if !ok {
			return fmt.Errorf("nacm: field %s of %s: module %q is not in the library", f.Name, t, mod)
		}
		e := dataChild(m.Entry, path)
		if e == nil {
			return fmt.Errorf("nacm: field %s of %s: no node %s in %s", f.Name, t, path, mod)
		}
		fb, err := s.bindField(e, nil, f)
		if err != nil {
			return err
		}
		fb.index = i
		b.fields = append(b.fields, fb)
		s.tops[fb.n.name] = fb.n
	}
	return nil
}

func (s *Schema) bindField(e *goyang.Entry, parent *node, f reflect.StructField) (fieldBinding, error) {
	n := s.newNode(e, parent)
	fb := fieldBinding{n: n}
	var st reflect.Type
	switch n.kind {
	case kContainer:
		st = f.Type.Elem()
	case kList:
		if f.Type.Kind() != reflect.Map {
			return fb, fmt.Errorf("nacm: list %s is %s, not a map", e.Path(), f.Type)
		}
		st = f.Type.Elem().Elem()
	default:
		return fb, nil
	}
	b := &structBinding{}
	if _, done := s.types[st]; !done {
		s.types[st] = b
		for i := 0; i < st.NumField(); i++ {
			cf := st.Field(i)
			path := cf.Tag.Get("path")
			if path == "" {
				continue
			}
			ce := dataChild(e, path)
			if ce == nil {
				return fb, fmt.Errorf("nacm: field %s of %s: no node %s", cf.Name, st, path)
			}
			cb, err := s.bindField(ce, n, cf)
			if err != nil {
				return fb, err
			}
			cb.index = i
			b.fields = append(b.fields, cb)
		}
	} else {
		b = s.types[st]
	}
	if n.kind == kList {
		for _, k := range n.keys {
			found := -1
			for _, cf := range b.fields {
				if cf.n.name == k {
					found = cf.index
				}
			}
			if found < 0 {
				return fb, fmt.Errorf("nacm: list %s: no field for key %s", e.Path(), k)
			}
			fb.keyFields = append(fb.keyFields, found)
		}
	}
	return fb, nil
}

// newNode records the schema node e (once) with what the rules need.
func (s *Schema) newNode(e *goyang.Entry, parent *node) *node {
	if n, ok := s.nodes[e]; ok {
		return n
	}
	n := &node{entry: e, name: e.Name, parent: parent, depth: 1}
	if mod, err := e.InstantiatingModule(); err == nil {
		n.module = mod
	}
	if m, ok := s.modules[n.module]; ok {
		n.prefix = m.Prefix
	}
	switch {
	case e.IsList():
		n.kind = kList
		n.keys = strings.Fields(e.Key)
	case e.IsLeafList():
		n.kind = kLeafList
	case e.IsContainer():
		if c, ok := e.Node.(*goyang.Container); ok && c.Presence != nil {
			n.presence = true
		}
	case e.IsLeaf():
		n.kind = kLeaf
	}
	n.denyAll, n.denyWrite = hasExt(e, "default-deny-all"), hasExt(e, "default-deny-write")
	if parent != nil {
		if parent.children == nil {
			parent.children = map[string]*node{}
		}
		parent.children[n.name] = n
		n.depth = parent.depth + 1
		n.denyAll = n.denyAll || parent.denyAll
		n.denyWrite = n.denyWrite || parent.denyWrite
		for p := parent; p != nil; p = p.parent {
			if hasExt(e, "default-deny-all") || hasExt(e, "default-deny-write") {
				p.markedBelow = true
			}
			if n.module != p.module {
				if p.modulesBelow == nil {
					p.modulesBelow = map[string]bool{}
				}
				p.modulesBelow[n.module] = true
			}
		}
	}
	s.nodes[e] = n
	return n
}

// hasExt tells whether the statement of e carries the ietf-netconf-acm
// extension name (whatever prefix the module gave the import).
func hasExt(e *goyang.Entry, name string) bool {
	for _, x := range e.Exts {
		if x.Keyword == name || strings.HasSuffix(x.Keyword, ":"+name) {
			return true
		}
	}
	return false
}

// dataChild finds the data node called name below e, looking through
// choices and cases, which are not data nodes (RFC 7950 §7.9).
func dataChild(e *goyang.Entry, name string) *goyang.Entry {
	if c, ok := e.Dir[name]; ok && !c.IsChoice() && !c.IsCase() {
		return c
	}
	for _, c := range e.Dir {
		if c.IsChoice() || c.IsCase() {
			if d := dataChild(c, name); d != nil {
				return d
			}
		}
	}
	return nil
}

// operationDenyAll tells whether the rpc or notification name of module
// carries nacm:default-deny-all.
func (s *Schema) operationDenyAll(module, name string) bool {
	m, ok := s.modules[module]
	if !ok || m.Entry == nil {
		return false
	}
	e, ok := m.Entry.Dir[name]
	return ok && hasExt(e, "default-deny-all")
}
