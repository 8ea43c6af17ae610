package xmlcodec

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/internal/yanglist"
)

// Op is an edit operation (RFC 6241 §7.2): the value of the operation
// attribute or of default-operation.
type Op string

// The operations. None is valid only as a default-operation.
const (
	OpMerge   Op = "merge"
	OpReplace Op = "replace"
	OpCreate  Op = "create"
	OpDelete  Op = "delete"
	OpRemove  Op = "remove"
	OpNone    Op = "none"
)

// ErrorOption is the error-option of RFC 6241 §7.2: what a failing part of
// the edit does to the rest. The zero value is StopOnError.
type ErrorOption uint8

// The error options.
const (
	StopOnError ErrorOption = iota
	RollbackOnError
	ContinueOnError
)

// String is the option's name in RFC 6241.
func (o ErrorOption) String() string {
	switch o {
	case StopOnError:
		return "stop-on-error"
	case RollbackOnError:
		return "rollback-on-error"
	case ContinueOnError:
		return "continue-on-error"
	}
	return fmt.Sprintf("error-option(%d)", uint8(o))
}

// opBits records which explicit operations a subtree holds.
type opBits uint8

const (
	bitCreating opBits = 1 << iota // create, merge, replace
	bitDeleting                    // delete, remove
)

// Tree is a decoded <config>: the edit of <edit-config>, resolved against
// the schema but not yet applied. It is read-only and may be applied to
// several trees.
type Tree struct {
	schema *Schema
	roots  []*enode
	hasOps bool // some element carries an operation attribute
}

// enode is one element of the edit.
type enode struct {
	s         *snode
	op        Op // explicit operation, "" when inherited
	kids      []*enode
	val       reflect.Value   // leaf, leaf-list: the parsed value
	verr      *rpcerror.Error // leaf, leaf-list: the value does not parse
	keys      []reflect.Value // list entry: key values in key order
	keyErr    *rpcerror.Error // list entry: a key does not parse
	bits      opBits          // explicit operations in the subtree, this node included
	rawText   string
	wdDefault bool // tagged wd:default="true" (RFC 6243 §6)
	path      string
	line      int
	// insert, anchor: list entry of an ordered-by user list: where the
	// yang:insert attribute puts it, and the key values its yang:key
	// names for before and after (RFC 7950 §7.8.6).
	insert yanglist.Where
	anchor []reflect.Value
}

// ParseConfig decodes the content of a <config> element (RFC 6241 §7.2):
// top-level data elements carrying operation attributes in the base
// namespace. A document whose single root is <config> itself is accepted
// too. Problems with the shape of the document (XML syntax, limits, unknown
// elements or namespaces, state data, missing list keys, bad operation
// attributes) are returned here, and nothing is applied; a value that does
// not parse for its type is reported by Apply, following error-option.
func ParseConfig(content []byte, lim Limits) (*Tree, error) {
	return ParseConfigNS(content, lim, nil)
}

// ParseConfigNS is ParseConfig for content cut out of a larger document:
// inScope holds the namespace declarations in scope at the <config> element
// (prefix → namespace; "" is the default namespace).
func ParseConfigNS(content []byte, lim Limits, inScope map[string]string) (*Tree, error) {
	s, err := Native()
	if err != nil {
		return nil, err
	}
	return s.ParseConfigNS(content, lim, inScope)
}

// ParseConfigNS is the package's ParseConfigNS for the schema's model.
func (s *Schema) ParseConfigNS(content []byte, lim Limits, inScope map[string]string) (*Tree, error) {
	roots, err := parseXML(content, lim, inScope)
	if err != nil {
		return nil, err
	}
	return s.resolveRoots(unwrapConfig(roots))
}

// resolveRoots resolves the top-level elements of a <config> against the
// schema.
func (s *Schema) resolveRoots(roots []*xelem) (*Tree, error) {
	t := &Tree{schema: s}
	for _, x := range roots {
		n, err := t.resolve(s.root, x, "")
		if err != nil {
			return nil, err
		}
		t.roots = append(t.roots, n)
	}
	return t, nil
}

func badElement(tag rpcerror.Tag, path, name string, format string, args ...any) *rpcerror.Error {
	e := rpcerror.New(tag, path, format, args...)
	e.Info = append(e.Info, rpcerror.InfoItem{Name: "bad-element", Value: name})
	return e
}

func (t *Tree) resolve(parent *snode, x *xelem, ppath string) (*enode, error) {
	sn := parent.child(x.ns, x.local)
	if sn == nil {
		where := "at the top level"
		if parent.kind != kRoot {
			where = "in " + parent.path
		}
		others := parent.byName[x.local]
		switch {
		case x.ns == "" && len(others) > 0:
			return nil, badElement(rpcerror.TagUnknownElement, ppath, x.local, "Element %s has no namespace; it belongs in namespace %s.", x.local, others[0].ns)
		case x.ns == "":
			return nil, badElement(rpcerror.TagUnknownElement, ppath, x.local, "Element %s has no namespace; no such element is known %s.", x.local, where)
		case len(others) > 0:
			e := badElement(rpcerror.TagUnknownNamespace, ppath, x.local, "Element %s is not in namespace %s; it belongs in namespace %s.", x.local, x.ns, others[0].ns)
			e.Info = append(e.Info, rpcerror.InfoItem{Name: "bad-namespace", Value: x.ns})
			return nil, e
		}
		if _, known := t.schema.prefixByNS[x.ns]; !known || parent.kind == kRoot && !t.schema.HasNamespace(x.ns) {
			e := badElement(rpcerror.TagUnknownNamespace, ppath, x.local, "Namespace %s of element %s is not supported.", x.ns, x.local)
			e.Info = append(e.Info, rpcerror.InfoItem{Name: "bad-namespace", Value: x.ns})
			return nil, e
		}
		return nil, badElement(rpcerror.TagUnknownElement, ppath, x.local, "Element %s is not known %s.", x.local, where)
	}
	n := &enode{s: sn, path: ppath + "/" + sn.prefix + ":" + sn.name, line: x.line}
	if !sn.config {
		// RFC 7950 §7.21.1: config false nodes are state data; they are not
		// part of any configuration datastore, so an edit of them carries an
		// unacceptable value for the config parameter.
		return nil, badElement(rpcerror.TagInvalidValue, n.path, sn.name, "%s is state data (config false) and cannot be edited.", sn.path)
	}
	var insertAttr, keyAttr *xattr
	for i, a := range x.attrs {
		if a.ns == nsYANG {
			switch a.local {
			case "insert":
				insertAttr = &x.attrs[i]
			case "key", "value":
				keyAttr = &x.attrs[i]
			}
			continue
		}
		// The attribute is in the base namespace (RFC 6241 §7.2); an
		// unprefixed operation attribute, which many clients send, is taken
		// as the same (our schema has no attributes of its own).
		if a.ns == nsWD && a.local == "default" {
			// RFC 6243 §6: a value tagged as the default, as report-all-tagged
			// shows it. Setting it means "use the default": the leaf is not
			// stored as explicitly set, so a tagged <get-config> fed back as
			// an edit changes nothing.
			n.wdDefault = a.value == "true" || a.value == "1"
			continue
		}
		if a.ns != nsBase && (a.ns != "" || a.local != "operation") {
			continue // other attributes do not change the edit
		}
		if a.local != "operation" {
			e := rpcerror.New(rpcerror.TagUnknownAttribute, n.path, "Attribute %s is not known in the NETCONF base namespace.", a.local)
			e.Info = []rpcerror.InfoItem{{Name: "bad-attribute", Value: a.local}, {Name: "bad-element", Value: sn.name}}
			return nil, e
		}
		switch op := Op(a.value); op {
		case OpMerge, OpReplace, OpCreate, OpDelete, OpRemove:
			if op == OpDelete && t.schema.deleteAbsentIsRemove {
				op = OpRemove
			}
			n.op = op
			t.hasOps = true
		default:
			e := rpcerror.New(rpcerror.TagBadAttribute, n.path, "The operation attribute %q is not merge, replace, create, delete or remove.", a.value)
			e.Info = []rpcerror.InfoItem{{Name: "bad-attribute", Value: "operation"}, {Name: "bad-element", Value: sn.name}}
			return nil, e
		}
	}
	switch n.op {
	case OpCreate, OpMerge, OpReplace:
		n.bits |= bitCreating
	case OpDelete, OpRemove:
		n.bits |= bitDeleting
	}
	switch sn.kind {
	case kLeaf, kLeafList:
		if len(x.kids) > 0 {
			return nil, badElement(rpcerror.TagInvalidValue, n.path, sn.name, "Leaf %s has child elements.", sn.path)
		}
		n.rawText = x.text
		v, err := sn.lt.parse(x.text, sn.elemType, x.scope)
		if err == nil && n.wdDefault && sn.kind == kLeaf && (len(sn.defaults) != 1 || string(sn.lt.format(nil, v)) != sn.defaults[0]) {
			err = fmt.Errorf("%w: it is tagged wd:default but is not the default value of %s", errType, sn.name)
		}
		if err != nil {
			n.verr = badElement(rpcerror.TagInvalidValue, n.path, sn.name, "Invalid value for %s: %s.", sn.name, stripErr(err))
		} else {
			n.val = v
		}
		return n, nil
	}
	if x.hasText() {
		return nil, badElement(rpcerror.TagInvalidValue, n.path, sn.name, "%s holds text; it has child elements only.", sn.path)
	}
	if sn.kind == kList {
		// The keys identify the entry (RFC 7950 §7.8.5): find them first,
		// so that every error below names the entry.
		var preds strings.Builder
		for _, k := range sn.keys {
			var kx *xelem
			for _, c := range x.kids {
				if c.local == k.name && c.ns == k.ns {
					kx = c
					break
				}
			}
			if kx == nil {
				// RFC 6241 Appendix A missing-element, with bad-element.
				return nil, badElement(rpcerror.TagMissingElement, n.path, k.name, "The list entry %s lacks its key %s.", sn.path, k.name)
			}
			text := kx.text
			if v, err := k.lt.parse(kx.text, k.elemType, kx.scope); err == nil {
				text = string(k.lt.format(nil, v))
			}
			q := "'"
			if strings.Contains(text, "'") {
				q = `"`
			}
			fmt.Fprintf(&preds, "[%s:%s=%s%s%s]", k.prefix, k.name, q, text, q)
		}
		n.path += preds.String()
		n.keys = make([]reflect.Value, len(sn.keys))
	}
	if insertAttr != nil || keyAttr != nil {
		if err := t.resolveInsert(n, x, insertAttr, keyAttr); err != nil {
			return nil, err
		}
	}
	seen := map[*snode]bool{}
	for _, cx := range x.kids {
		c, err := t.resolve(sn, cx, n.path)
		if err != nil {
			return nil, err
		}
		if c.s.kind != kLeafList && c.s.kind != kList {
			if seen[c.s] {
				return nil, badElement(rpcerror.TagInvalidValue, c.path, c.s.name, "%s appears more than once.", c.s.path)
			}
			seen[c.s] = true
		}
		if c.s.isKey {
			if c.op != "" && c.op != n.op && c.op != OpMerge {
				e := rpcerror.New(rpcerror.TagBadAttribute, c.path, "The key leaf %s cannot carry its own operation %q; put it on the list entry.", c.s.name, c.op)
				e.Info = []rpcerror.InfoItem{{Name: "bad-attribute", Value: "operation"}, {Name: "bad-element", Value: c.s.name}}
				return nil, e
			}
			n.keys[sn.keyIndex[c.s]] = c.val
			if c.verr != nil && n.keyErr == nil {
				n.keyErr = c.verr
			}
		}
		n.bits |= c.bits
		n.kids = append(n.kids, c)
	}
	return n, nil
}

// resolveInsert reads the yang:insert and yang:key attributes of a list
// entry (RFC 7950 §7.8.6): where an entry of an ordered-by user list goes,
// and for "before" and "after" which existing entry it goes next to, named
// by the key predicates of its instance identifier ("[p:name='x']").
func (t *Tree) resolveInsert(n *enode, x *xelem, insert, key *xattr) error {
	sn := n.s
	bad := func(tag rpcerror.Tag, attr, format string, args ...any) error {
		e := rpcerror.New(tag, n.path, format, args...)
		e.Info = []rpcerror.InfoItem{{Name: "bad-attribute", Value: attr}, {Name: "bad-element", Value: sn.name}}
		return e
	}
	if sn.kind == kLeafList && sn.entry.ListAttr != nil && sn.entry.ListAttr.OrderedByUser {
		// No model the device serves has one; say so rather than ignore.
		return bad(rpcerror.TagOperationNotSupported, "insert", "Inserting into the ordered-by user leaf-list %s is not supported.", sn.path)
	}
	if sn.kind != kList || !sn.list.Ordered {
		attr := "insert"
		if insert == nil {
			attr = key.local
		}
		return bad(rpcerror.TagBadAttribute, attr, "%s is not an ordered-by user list: its entries cannot be placed with the %s attribute.", sn.path, attr)
	}
	if insert == nil {
		return bad(rpcerror.TagMissingAttribute, "insert", "The %s attribute of %s needs an insert attribute.", key.local, sn.path)
	}
	n.insert = yanglist.Keep
	for w, name := range insertNames {
		if name != "" && name == insert.value {
			n.insert = yanglist.Where(w)
		}
	}
	if n.insert == yanglist.Keep {
		return bad(rpcerror.TagBadAttribute, "insert", "The insert attribute %q is not first, last, before or after.", insert.value)
	}
	if n.insert != yanglist.Before && n.insert != yanglist.After {
		if key != nil {
			return bad(rpcerror.TagBadAttribute, key.local, "The %s attribute goes only with insert before or after.", key.local)
		}
		return nil
	}
	if key == nil || key.local != "key" {
		return bad(rpcerror.TagMissingAttribute, "key", "insert=%q on %s needs a key attribute naming the entry to insert next to.", insert.value, sn.path)
	}
	vals, err := keyPredicates(sn, key.value, x.scope)
	if err != nil {
		return bad(rpcerror.TagBadAttribute, "key", "The key attribute %q does not name an entry of %s: %s.", key.value, sn.path, err)
	}
	n.anchor = vals
	return nil
}

// keyPredicates parses the key predicates of a list entry's instance
// identifier (RFC 7950 §9.13: "[prefix:key='value']" for each key, in any
// order) into the key values in key order. A prefix is resolved in the
// element's scope and must be the list's namespace; none is taken as it.
func keyPredicates(sn *snode, text string, sc *scope) ([]reflect.Value, error) {
	vals := make([]reflect.Value, len(sn.keys))
	rest := strings.TrimSpace(text)
	for rest != "" {
		if rest[0] != '[' {
			return nil, fmt.Errorf("a predicate starts with [")
		}
		name, after, ok := strings.Cut(rest[1:], "=")
		if !ok {
			return nil, fmt.Errorf("a predicate has no =")
		}
		name = strings.TrimSpace(name)
		if prefix, local, qualified := strings.Cut(name, ":"); qualified {
			ns, ok := sc.lookup(prefix)
			if !ok || ns != sn.ns {
				return nil, fmt.Errorf("the prefix %s is not the list's", prefix)
			}
			name = local
		}
		after = strings.TrimSpace(after)
		if after == "" || after[0] != '\'' && after[0] != '"' {
			return nil, fmt.Errorf("a key value is quoted")
		}
		end := strings.IndexByte(after[1:], after[0])
		if end < 0 {
			return nil, fmt.Errorf("a quote is not closed")
		}
		value := after[1 : 1+end]
		rest = strings.TrimSpace(after[2+end:])
		if rest == "" || rest[0] != ']' {
			return nil, fmt.Errorf("a predicate ends with ]")
		}
		rest = strings.TrimSpace(rest[1:])
		i := -1
		for j, k := range sn.keys {
			if k.name == name {
				i = j
			}
		}
		if i < 0 || vals[i].IsValid() {
			return nil, fmt.Errorf("%s is not a key of the list, or appears twice", name)
		}
		v, err := sn.keys[i].lt.parse(value, sn.keys[i].elemType, sc)
		if err != nil {
			return nil, fmt.Errorf("%s: %s", name, stripErr(err))
		}
		vals[i] = v
	}
	for i, v := range vals {
		if !v.IsValid() {
			return nil, fmt.Errorf("the key %s is missing", sn.keys[i].name)
		}
	}
	return vals, nil
}

func stripErr(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, errType.Error()+": ")
	return strings.TrimSuffix(s, ".")
}

// Apply applies the edit to root (RFC 6241 §7.2). defaultOp is the
// default-operation (merge when empty); errorOption is stop-on-error (when
// empty), continue-on-error or rollback-on-error.
//
// Apply changes root in place. On error with stop-on-error or
// rollback-on-error root may hold part of the edit and the caller must
// discard it (the datastore applies edits to a copy, so an edit applies
// whole or not at all). With continue-on-error every valid part is applied
// and the error lists every failure (an rpcerror.List): the caller keeps
// root and reports the errors.
func (t *Tree) Apply(root ygot.GoStruct, defaultOp Op, errorOption ErrorOption) error {
	rv := reflect.ValueOf(root)
	if root == nil || rv.IsNil() {
		return rpcerror.New(rpcerror.TagOperationFailed, "", "No tree to apply the edit to.")
	}
	s := t.schema
	if rv.Type().Elem() != s.root.structType {
		return rpcerror.New(rpcerror.TagOperationFailed, "", "The edit is for %s, not %T.", s.root.structType, root)
	}
	switch defaultOp {
	case "":
		defaultOp = OpMerge
	case OpMerge, OpReplace, OpNone:
	default:
		return rpcerror.New(rpcerror.TagInvalidValue, "", "default-operation %q is not merge, replace or none.", defaultOp)
	}
	a := &applier{}
	switch errorOption {
	case StopOnError, RollbackOnError:
	case ContinueOnError:
		a.cont = true
	default:
		return rpcerror.New(rpcerror.TagInvalidValue, "", "The error option %d is not stop-on-error, continue-on-error or rollback-on-error.", uint8(errorOption))
	}
	if !a.cont {
		// A value that does not parse fails the edit before anything is
		// touched, so that the tree is left as it was.
		if e := firstValueError(t.roots, defaultOp); e != nil {
			return rpcerror.List{e}
		}
	}
	rv = rv.Elem()
	if defaultOp == OpReplace {
		// RFC 6241 §7.2 default-operation replace: "the new configuration
		// data in the <config> parameter completely replaces the
		// configuration in the target datastore" — top-level configuration
		// that the edit does not mention goes too.
		for _, c := range s.root.children {
			if c.config {
				f := rv.Field(c.field)
				f.Set(reflect.Zero(f.Type()))
			}
		}
	}
	a.applyKids(rv, s.root, t.roots, defaultOp)
	if len(a.errs) > 0 {
		return a.errs
	}
	return nil
}

// clearOtherCases removes the nodes of the other cases of the choices c is
// in: "if a node from a case is created, all nodes from all other cases
// are deleted" (RFC 7950 §7.9.2).
func clearOtherCases(sv reflect.Value, sn, c *snode) {
	for _, o := range sn.children {
		if o != c && o.inCase != nil && c.inCase.excludes(o.inCase) {
			f := sv.Field(o.field)
			f.Set(reflect.Zero(f.Type()))
		}
	}
}

// firstValueError finds, in document order, the first value that does not
// parse and that the edit would use: a list key, a leaf-list value, or a
// leaf that is created, merged or replaced.
func firstValueError(ns []*enode, inherited Op) *rpcerror.Error {
	for _, n := range ns {
		op := n.op
		if op == "" {
			op = inherited
		}
		switch {
		case n.keyErr != nil:
			return n.keyErr
		case n.verr != nil && !n.s.isKey && (n.s.kind == kLeafList || op == OpCreate || op == OpMerge || op == OpReplace):
			return n.verr
		}
		if op == OpDelete || op == OpRemove {
			continue // the subtree's values are not used
		}
		if e := firstValueError(n.kids, op); e != nil {
			return e
		}
	}
	return nil
}

type applier struct {
	cont bool
	stop bool
	errs rpcerror.List
}

func (a *applier) fail(e *rpcerror.Error) {
	a.errs = append(a.errs, e)
	if !a.cont {
		a.stop = true
	}
}

// applyKids applies the children of an edit node to the struct sv.
func (a *applier) applyKids(sv reflect.Value, sn *snode, kids []*enode, inherited Op) {
	for _, k := range kids {
		if a.stop {
			return
		}
		op := k.op
		if op == "" {
			op = inherited
		}
		f := sv.Field(k.s.field)
		if k.s.inCase != nil && (op == OpCreate || op == OpMerge || op == OpReplace) {
			clearOtherCases(sv, sn, k.s)
		}
		switch k.s.kind {
		case kContainer:
			a.container(f, k, op)
		case kList:
			a.listEntry(f, k, op)
		case kLeaf:
			if k.s.isKey {
				continue // identifies the entry; set when it is created
			}
			a.leaf(f, k, op)
		case kLeafList:
			a.leafListEntry(f, k, op)
		}
	}
}

func (a *applier) container(f reflect.Value, k *enode, op Op) {
	exists := !f.IsNil() && (k.s.presence || hasData(f.Elem(), k.s))
	switch op {
	case OpCreate:
		if exists {
			a.fail(rpcerror.New(rpcerror.TagDataExists, k.path, "%s already exists.", k.path))
			return
		}
		f.Set(reflect.New(k.s.structType))
	case OpDelete, OpRemove:
		if !exists {
			if op == OpDelete {
				a.fail(rpcerror.New(rpcerror.TagDataMissing, k.path, "%s does not exist, so it cannot be deleted.", k.path))
			}
			return
		}
		f.Set(reflect.Zero(f.Type()))
		return
	case OpReplace:
		f.Set(reflect.New(k.s.structType))
	case OpMerge:
		if f.IsNil() {
			f.Set(reflect.New(k.s.structType))
		}
	case OpNone:
		if !exists && (k.s.presence || k.bits == 0) {
			// RFC 6241 §7.2 none: the request names data that has no
			// corresponding level in the datastore.
			a.fail(rpcerror.New(rpcerror.TagDataMissing, k.path, "%s does not exist.", k.path))
			return
		}
		if f.IsNil() {
			f.Set(reflect.New(k.s.structType))
		}
	}
	a.applyKids(f.Elem(), k.s, k.kids, op)
	if !k.s.presence && !hasData(f.Elem(), k.s) {
		f.Set(reflect.Zero(f.Type())) // a non-presence container exists only through its children
	}
}

func (a *applier) listEntry(f reflect.Value, k *enode, op Op) {
	if k.keyErr != nil {
		a.fail(k.keyErr)
		return
	}
	lt := k.s.list
	key := k.s.mapKey(k.keys)
	var cur reflect.Value
	if !f.IsNil() {
		cur = k.s.listGet(f, key)
	}
	exists := cur.IsValid()
	var anchor reflect.Value
	if k.anchor != nil {
		anchor = k.s.mapKey(k.anchor)
		if (op == OpCreate || op == OpMerge || op == OpReplace) && (f.IsNil() || !k.s.listGet(f, anchor).IsValid()) {
			// RFC 7950 §15.8: the entry "key" names does not exist.
			e := rpcerror.New(rpcerror.TagBadAttribute, k.path, "%s cannot be inserted %s %s%s: no such entry exists.", k.path, insertNames[k.insert], k.s.path, predicateText(k.s, k.anchor))
			e.AppTag = "missing-instance"
			e.Info = []rpcerror.InfoItem{{Name: "bad-attribute", Value: "key"}, {Name: "bad-element", Value: k.s.name}}
			a.fail(e)
			return
		}
	}
	newEntry := func() reflect.Value {
		e := reflect.New(k.s.structType)
		for i, kn := range k.s.keys {
			kf := e.Elem().Field(kn.field)
			if kf.Kind() == reflect.Ptr {
				p := reflect.New(kn.elemType)
				p.Elem().Set(k.keys[i])
				kf.Set(p)
			} else {
				kf.Set(k.keys[i])
			}
		}
		// RFC 7950 §7.8.6: a new entry goes where insert says, last by
		// default; a replaced one stays in its place unless insert moves it.
		if err := lt.Insert(f, key, e, k.insert, anchor); err != nil {
			panic("xmlcodec: " + err.Error()) // the anchor was found above
		}
		return e
	}
	transient := false
	switch op {
	case OpCreate:
		if exists {
			a.fail(rpcerror.New(rpcerror.TagDataExists, k.path, "%s already exists.", k.path))
			return
		}
		cur = newEntry()
	case OpDelete, OpRemove:
		if !exists {
			if op == OpDelete {
				a.fail(rpcerror.New(rpcerror.TagDataMissing, k.path, "%s does not exist, so it cannot be deleted.", k.path))
			}
			return
		}
		lt.Delete(f, key)
		return
	case OpReplace:
		cur = newEntry()
	case OpMerge:
		if !exists {
			cur = newEntry()
		} else if k.insert != yanglist.Keep {
			// Moving an existing entry (RFC 7950 §7.8.6, merge).
			if err := lt.Insert(f, key, cur, k.insert, anchor); err != nil {
				panic("xmlcodec: " + err.Error())
			}
		}
	case OpNone:
		if !exists {
			if k.bits == 0 {
				a.fail(rpcerror.New(rpcerror.TagDataMissing, k.path, "%s does not exist.", k.path))
				return
			}
			// Only a path to operations further down: it stays only if
			// one of them creates something (RFC 6241 §7.2, none).
			cur = newEntry()
			transient = true
		}
	}
	a.applyKids(cur.Elem(), k.s, k.kids, op)
	if transient && !hasData(cur.Elem(), k.s) {
		lt.Delete(f, key)
	}
}

// insertNames are the values of the insert attribute (RFC 7950 §7.8.6),
// by the place they stand for.
var insertNames = [...]string{yanglist.First: "first", yanglist.Last: "last", yanglist.Before: "before", yanglist.After: "after"}

// predicateText writes key values as an instance identifier's predicates.
func predicateText(sn *snode, vals []reflect.Value) string {
	var b strings.Builder
	for i, k := range sn.keys {
		fmt.Fprintf(&b, "[%s:%s='%s']", k.prefix, k.name, k.lt.format(nil, vals[i]))
	}
	return b.String()
}

func (a *applier) leaf(f reflect.Value, k *enode, op Op) {
	exists := leafSet(f)
	switch op {
	case OpCreate, OpMerge, OpReplace:
		if op == OpCreate && exists {
			a.fail(rpcerror.New(rpcerror.TagDataExists, k.path, "%s already exists.", k.path))
			return
		}
		if k.verr != nil {
			a.fail(k.verr)
			return
		}
		if k.wdDefault && !k.s.isKey {
			f.Set(reflect.Zero(f.Type())) // back to the default
			return
		}
		setLeaf(f, k.val)
	case OpDelete, OpRemove:
		if !exists {
			if op == OpDelete {
				a.fail(rpcerror.New(rpcerror.TagDataMissing, k.path, "%s does not exist, so it cannot be deleted.", k.path))
			}
			return
		}
		f.Set(reflect.Zero(f.Type()))
	case OpNone:
		if !exists {
			a.fail(rpcerror.New(rpcerror.TagDataMissing, k.path, "%s does not exist.", k.path))
		}
	}
}

func (a *applier) leafListEntry(f reflect.Value, k *enode, op Op) {
	if k.verr != nil {
		a.fail(k.verr)
		return
	}
	idx := -1
	for i := 0; i < f.Len(); i++ {
		if reflect.DeepEqual(f.Index(i).Interface(), k.val.Interface()) {
			idx = i
			break
		}
	}
	switch op {
	case OpCreate, OpMerge, OpReplace:
		if idx >= 0 {
			if op == OpCreate {
				a.fail(rpcerror.New(rpcerror.TagDataExists, k.path, "%s already holds %v.", k.path, k.val.Interface()))
			}
			return
		}
		f.Set(reflect.Append(f, k.val))
	case OpDelete, OpRemove:
		if idx < 0 {
			if op == OpDelete {
				a.fail(rpcerror.New(rpcerror.TagDataMissing, k.path, "%s does not hold %v, so it cannot be deleted.", k.path, k.val.Interface()))
			}
			return
		}
		n := reflect.AppendSlice(reflect.MakeSlice(f.Type(), 0, f.Len()-1), f.Slice(0, idx))
		n = reflect.AppendSlice(n, f.Slice(idx+1, f.Len()))
		if n.Len() == 0 {
			n = reflect.Zero(f.Type())
		}
		f.Set(n)
	case OpNone:
		if idx < 0 {
			a.fail(rpcerror.New(rpcerror.TagDataMissing, k.path, "%s does not hold %v.", k.path, k.val.Interface()))
		}
	}
}

// leafSet reports whether a leaf field holds a value (ygot: nil pointer,
// zero enum, false empty, nil slice or interface mean unset).
func leafSet(f reflect.Value) bool {
	switch f.Kind() {
	case reflect.Ptr, reflect.Interface, reflect.Slice, reflect.Map:
		return !f.IsNil()
	case reflect.Int64:
		return f.Int() != 0 // enumerations: 0 is UNSET
	case reflect.Bool:
		return f.Bool() // empty
	}
	return !f.IsZero()
}

func setLeaf(f reflect.Value, v reflect.Value) {
	if f.Kind() == reflect.Ptr {
		p := reflect.New(f.Type().Elem())
		p.Elem().Set(v)
		f.Set(p)
		return
	}
	f.Set(v)
}

// hasData reports whether a container or list entry struct holds any data
// beyond its keys.
func hasData(sv reflect.Value, sn *snode) bool {
	for _, c := range sn.children {
		if c.isKey {
			continue
		}
		f := sv.Field(c.field)
		switch c.kind {
		case kContainer:
			if !f.IsNil() && (c.presence || hasData(f.Elem(), c)) {
				return true
			}
		case kList:
			if c.listLen(f) > 0 {
				return true
			}
		default:
			if leafSet(f) {
				return true
			}
		}
	}
	return false
}

// DecodeConfig decodes the inline <config> of <copy-config> (RFC 6241 §7.3)
// into a new tree: the whole configuration, so operation attributes are
// refused. Value errors are reported all together.
func DecodeConfig(content []byte) (*gen.Device, error) {
	t, err := ParseConfig(content, Limits{})
	if err != nil {
		return nil, err
	}
	return t.decodeConfig()
}

func (t *Tree) decodeConfig() (*gen.Device, error) {
	d := &gen.Device{}
	if err := t.DecodeInto(d); err != nil {
		return nil, err
	}
	return d, nil
}

// DecodeInto applies a whole configuration (the inline <config> of
// <copy-config>, RFC 6241 §7.3) to root, an empty root of the tree's
// model: operation attributes are refused, value errors are reported all
// together.
func (t *Tree) DecodeInto(root ygot.GoStruct) error {
	if t.hasOps {
		e := rpcerror.New(rpcerror.TagBadAttribute, "", "copy-config takes a whole configuration; operation attributes are not allowed in it.")
		e.Info = []rpcerror.InfoItem{{Name: "bad-attribute", Value: "operation"}}
		return e
	}
	return t.Apply(root, OpMerge, ContinueOnError)
}

// Schema is the model the tree was decoded for.
func (t *Tree) Schema() *Schema { return t.schema }
