package nacm

import (
	"fmt"
	"reflect"
	"strings"

	goyang "github.com/openconfig/goyang/pkg/yang"

	"github.com/ntpagent/ntpagent/internal/yanglist"
	"github.com/ntpagent/ntpagent/yang"
)

// Schema binds the rules to a YANG library and to the data trees the
// server reads and writes: the Go structs of one or more roots (ygot's,
// whose fields carry module and path tags: the native tree and each
// view's), and the modules whose data has no Go structs (the server's own
// state, walked node by node with Top and Child). RFC 8341 rules apply to
// the data of every module the server implements, so a rule naming a
// view's node is resolved and evaluated like one naming a native node.
// It is built once and read only.
type Schema struct {
	modules  map[string]*yang.Module // by name
	byPrefix map[string]string       // module prefix → name
	nodes    map[*goyang.Entry]*node
	types    map[reflect.Type]*structBinding
	// tops are the top-level nodes by name: several modules may have one
	// of the same name (ntpagent-ntp's ntp and ietf-ntp's).
	tops map[string][]*node
}

// SchemaOption adds a data tree to a Schema.
type SchemaOption func(*Schema) error

// WithRoot binds the Go structs of one more data tree: root is a pointer
// to a ygot fake root (a view's, for instance).
func WithRoot(root any) SchemaOption {
	return func(s *Schema) error { return s.bindRoot(root) }
}

// WithModules binds the data nodes of modules whose data has no Go
// structs (the NETCONF server's own state), for Top and Child.
func WithModules(names ...string) SchemaOption {
	return func(s *Schema) error {
		for _, name := range names {
			m, ok := s.modules[name]
			if !ok || m.Entry == nil {
				return fmt.Errorf("nacm: module %s is not implemented in the library", name)
			}
			s.bindChildren(m.Entry, nil)
		}
		return nil
	}
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
	// identities: for an identityref leaf, the prefixed name of each
	// value by its name ("uc-peer" → "ntp:uc-peer"), as instance paths
	// write a key of that type (RFC 7950 §9.10.3).
	identities map[string]string
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
	// list: for a list, its Go form (a map, or an ordered map for an
	// ordered-by user list).
	list yanglist.Type
}

// NewSchema binds the library's modules and the data tree whose root is
// of type root (a pointer to ygot's fake root, e.g. *gen.Device), and the
// trees the options add.
func NewSchema(lib []*yang.Module, root any, opts ...SchemaOption) (*Schema, error) {
	s := &Schema{modules: map[string]*yang.Module{}, byPrefix: map[string]string{},
		nodes: map[*goyang.Entry]*node{}, types: map[reflect.Type]*structBinding{}, tops: map[string][]*node{}}
	for _, m := range lib {
		s.modules[m.Name] = m
		s.byPrefix[m.Prefix] = m.Name
	}
	if err := s.bindRoot(root); err != nil {
		return nil, err
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Schema) bindRoot(root any) error {
	rt := reflect.TypeOf(root)
	if rt == nil || rt.Kind() != reflect.Pointer || rt.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("nacm: root %T is not a pointer to a struct", root)
	}
	t := rt.Elem()
	if _, done := s.types[t]; done {
		return nil
	}
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
		s.addTop(fb.n)
	}
	return nil
}

func (s *Schema) addTop(n *node) {
	for _, t := range s.tops[n.name] {
		if t == n {
			return
		}
	}
	s.tops[n.name] = append(s.tops[n.name], n)
}

// top is the top-level node name of module ("" for any: the first one
// bound, native before views).
func (s *Schema) top(module, name string) *node {
	for _, n := range s.tops[name] {
		if module == "" || n.module == module {
			return n
		}
	}
	return nil
}

// bindChildren records the data nodes below e and their descendants (a
// tree without Go structs), looking through choices and cases, which are
// not data nodes (RFC 7950 §7.9); operations and notifications are not
// data either.
func (s *Schema) bindChildren(e *goyang.Entry, parent *node) {
	for _, c := range e.Dir {
		switch {
		case c.IsChoice() || c.IsCase():
			s.bindChildren(c, parent)
		case c.RPC != nil || c.Kind == goyang.NotificationEntry:
		default:
			n := s.newNode(c, parent)
			if parent == nil {
				s.addTop(n)
			}
			s.bindChildren(c, n)
		}
	}
}

func (s *Schema) bindField(e *goyang.Entry, parent *node, f reflect.StructField) (fieldBinding, error) {
	n := s.newNode(e, parent)
	fb := fieldBinding{n: n}
	var st reflect.Type
	switch n.kind {
	case kContainer:
		st = f.Type.Elem()
	case kList:
		lt, err := yanglist.TypeOf(f.Type)
		if err != nil {
			return fb, fmt.Errorf("nacm: list %s is %s: %w", e.Path(), f.Type, err)
		}
		fb.list, st = lt, lt.Entry
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
		if t := e.Type; t != nil && t.Kind == goyang.Yidentityref && t.IdentityBase != nil {
			n.identities = map[string]string{}
			for _, v := range t.IdentityBase.Values {
				prefix := n.prefix
				if m := goyang.RootNode(v); m != nil && m.GetPrefix() != "" {
					prefix = m.GetPrefix()
				}
				n.identities[v.Name] = prefix + ":" + v.Name
			}
		}
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

// keyText is the canonical form of value for n's key leaf k, as the
// rules compare it: an identity without its prefix (a predicate may write
// it prefixed, an instance holds its name).
func (n *node) keyText(k, value string) string {
	if c := n.children[k]; c != nil && c.identities != nil {
		if _, local, ok := strings.Cut(value, ":"); ok {
			return local
		}
	}
	return value
}

// keyPath is value as an instance path writes n's key leaf k: an
// identity with its module's prefix.
func (n *node) keyPath(k, value string) string {
	if c := n.children[k]; c != nil && c.identities != nil {
		if p, ok := c.identities[value]; ok {
			return p
		}
	}
	return value
}
