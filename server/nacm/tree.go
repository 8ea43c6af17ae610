package nacm

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/internal/yanglist"
)

// Prune returns root without the nodes the session may not read (RFC 8341
// §3.4.5: a node denied is left out with all its descendants). root is
// not changed: what is pruned is copied, what is kept whole is shared, so
// a tree the session reads entirely costs one decision per schema node.
// A list entry the session may read is kept with its keys, whatever the
// rules say of the key leaves: an entry without them is no instance.
func (a *Access) Prune(root any) any { return a.PruneWithheld(root, nil) }

// Withheld records the fields Prune zeroed (by their struct's address
// and index), for an encoder that would otherwise fill in their defaults
// (RFC 6243 report-all): a node the reader may not read is not shown
// with any value. The zero value is ready; not safe for concurrent use.
type Withheld struct {
	fields map[withheldField]struct{}
}

type withheldField struct {
	parent uintptr
	field  int
}

// Has tells whether Prune zeroed field of the struct at parent.
func (w *Withheld) Has(parent uintptr, field int) bool {
	if w == nil {
		return false
	}
	_, ok := w.fields[withheldField{parent, field}]
	return ok
}

// Empty tells whether nothing was withheld.
func (w *Withheld) Empty() bool { return w == nil || len(w.fields) == 0 }

func (w *Withheld) add(parent reflect.Value, field int) {
	if w == nil {
		return
	}
	if w.fields == nil {
		w.fields = map[withheldField]struct{}{}
	}
	w.fields[withheldField{parent.Pointer(), field}] = struct{}{}
}

// PruneWithheld is Prune recording in w (when not nil) the fields it
// zeroed. The copies it makes are the ones recorded: the returned tree
// must not be copied again before it is encoded.
func (a *Access) PruneWithheld(root any, w *Withheld) any {
	if a.open || root == nil {
		return root
	}
	rv := reflect.ValueOf(root)
	if rv.IsNil() {
		return root
	}
	b := a.p.schema.types[rv.Type().Elem()]
	if b == nil {
		return root
	}
	out, _ := a.pruneStruct(rv, b, nil, w)
	return out.Interface()
}

// pruneStruct prunes the struct sv points to; keys holds the key values of
// the list entries above; w records the fields zeroed.
func (a *Access) pruneStruct(sv reflect.Value, b *structBinding, keys [][]string, w *Withheld) (reflect.Value, bool) {
	var cp reflect.Value // the copy, made at the first change
	set := func(i int, v reflect.Value) {
		if !cp.IsValid() {
			cp = reflect.New(sv.Elem().Type())
			cp.Elem().Set(sv.Elem())
		}
		cp.Elem().Field(i).Set(v)
		if v.IsZero() {
			w.add(cp, i)
		}
	}
	elem := sv.Elem()
	for _, fb := range b.fields {
		f := elem.Field(fb.index)
		if f.IsZero() {
			continue
		}
		n := fb.n
		d := a.staticFor(n, Read)
		if d.uniform {
			if !d.permit {
				set(fb.index, reflect.Zero(f.Type()))
			}
			continue
		}
		switch n.kind {
		case kLeaf, kLeafList:
			if !a.decide(n, keys, Read) {
				set(fb.index, reflect.Zero(f.Type()))
			}
		case kContainer:
			if !a.decide(n, keys, Read) {
				set(fb.index, reflect.Zero(f.Type()))
				continue
			}
			if out, changed := a.pruneStruct(f, a.p.schema.types[f.Type().Elem()], append(keys, nil), w); changed {
				set(fb.index, out)
			}
		case kList:
			if m, changed := a.pruneList(f, fb, keys, w); changed {
				set(fb.index, m)
			}
		}
	}
	if cp.IsValid() {
		return cp, true
	}
	return sv, false
}

func (a *Access) pruneList(m reflect.Value, fb fieldBinding, keys [][]string, w *Withheld) (reflect.Value, bool) {
	eb := a.p.schema.types[fb.list.Entry]
	var dropped []reflect.Value
	kept := map[reflect.Value]reflect.Value{}
	d := a.staticFor(fb.n, Read)
	// entry decides one entry: dropped, or kept with a pruned copy (pe
	// valid), or kept whole. key is called only when the entry's key is
	// needed (a Go map's struct key is copied by each call).
	entry := func(key func() reflect.Value, ev reflect.Value) {
		if d.instance && !d.complex && d.below {
			// The common case, fast: rules with predicates on this
			// list's keys only, compared with the entry's key leaves.
			if !a.entryDecision(d, fb, ev) {
				dropped = append(dropped, key())
			}
			return
		}
		kv := entryKeys(ev, fb.keyFields)
		ks := append(keys, kv)
		if !a.decide(fb.n, ks, Read) {
			dropped = append(dropped, key())
			return
		}
		if d.below {
			return // the entry's subtree shares its answer
		}
		if pe, changed := a.pruneStruct(ev, eb, ks, w); changed {
			kept[key()] = pe
		}
	}
	if fb.list.Ordered {
		fb.list.Range(m, func(k, ev reflect.Value) bool {
			entry(func() reflect.Value { return k }, ev)
			return true
		})
	} else {
		for iter := m.MapRange(); iter.Next(); {
			entry(iter.Key, iter.Value())
		}
	}
	if len(dropped) == 0 && len(kept) == 0 {
		return m, false
	}
	if fb.list.Ordered {
		return prunedOrdered(m, fb.list, dropped, kept), true
	}
	out := reflect.MakeMapWithSize(m.Type(), m.Len())
	iter := m.MapRange()
	for iter.Next() {
		out.SetMapIndex(iter.Key(), iter.Value())
	}
	for _, k := range dropped {
		out.SetMapIndex(k, reflect.Value{})
	}
	for k, v := range kept {
		out.SetMapIndex(k, v)
	}
	return out, true
}

// prunedOrdered is an ordered-by user list m without the dropped entries
// and with the kept ones' pruned copies, in m's order.
func prunedOrdered(m reflect.Value, lt yanglist.Type, dropped []reflect.Value, kept map[reflect.Value]reflect.Value) reflect.Value {
	gone := map[any]bool{}
	for _, k := range dropped {
		gone[k.Interface()] = true
	}
	pruned := map[any]reflect.Value{}
	for k, v := range kept {
		pruned[k.Interface()] = v
	}
	var ks, es []reflect.Value
	lt.Range(m, func(k, e reflect.Value) bool {
		if gone[k.Interface()] {
			return true
		}
		if p, ok := pruned[k.Interface()]; ok {
			e = p
		}
		ks, es = append(ks, k), append(es, e)
		return true
	})
	out, err := lt.Make(ks, es)
	if err != nil {
		panic("nacm: pruning an ordered list: " + err.Error()) // the keys came from one list
	}
	return out
}

// entryDecision is the answer for a list entry ev when d's conditional
// rules have predicates on the list's own keys only: the first of them
// whose predicates the entry's keys satisfy, else d's answer.
func (a *Access) entryDecision(d staticDecision, fb fieldBinding, ev reflect.Value) bool {
	if d.byKey != nil {
		if permit, ok := d.byKey[keyString(ev.Elem().Field(fb.keyFields[d.keyIndex]))]; ok {
			return permit
		}
		return d.permit
	}
	for _, i := range d.cond {
		r := &a.rules[i]
		match := true
		for _, p := range r.path[len(r.path)-1].keyPreds {
			if p.index < 0 || !keyEquals(ev.Elem().Field(fb.keyFields[p.index]), p.value) {
				match = false
				break
			}
		}
		if match {
			return r.Action == Permit
		}
	}
	return d.permit
}

// keyEquals compares a key leaf with a predicate's value.
func keyEquals(v reflect.Value, want string) bool { return keyString(v) == want }

// keyString is leafText, without allocating for a string leaf.
func keyString(v reflect.Value) string {
	if v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.String {
		return v.Elem().String()
	}
	return leafText(v)
}

// entryKeys returns the key values of a list entry in canonical text.
func entryKeys(ev reflect.Value, fields []int) []string {
	out := make([]string, len(fields))
	for i, fi := range fields {
		out[i] = leafText(ev.Elem().Field(fi))
	}
	return out
}

// leafText is a leaf's value as the rules compare it with a predicate
// (strings and numbers without going through an interface: list keys are
// read for every entry of a pruned list).
func leafText(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return strconv.FormatInt(v.Int(), 10)
	}
	if e, ok := v.Interface().(ygot.GoEnum); ok {
		if name, err := ygot.EnumName(e); err == nil {
			return name
		}
	}
	return fmt.Sprint(v.Interface())
}

// Denial names the first node of an edit the session may not write.
type Denial struct {
	Op   Ops    // Create, Update or Delete
	Path string // the node's instance path, module prefixes and keys
}

func (d *Denial) Error() string {
	return fmt.Sprintf("access denied: %s of %s", d.Op, d.Path)
}

// CheckWrite compares two trees of the schema's root type, before and
// after an edit, and returns the first node created, updated or deleted
// that the session may not write (RFC 8341 §3.4.5), or nil. The nodes
// come from the edit's effect rather than the edit request: a merge that
// sets a leaf to its value writes nothing, a replace that deletes siblings
// deletes them; what changes is what access control guards.
func (a *Access) CheckWrite(before, after any) *Denial {
	if a.open {
		return nil
	}
	bv, av := reflect.ValueOf(before), reflect.ValueOf(after)
	t := bv.Type()
	if !bv.IsValid() || bv.IsNil() {
		t = av.Type()
	}
	b := a.p.schema.types[t.Elem()]
	if b == nil {
		return &Denial{Op: Update, Path: "/"}
	}
	return a.diffStruct(bv, av, b, nil)
}

// WritesAll tells whether the session may create, update and delete
// every node of the tree whose root has root's type (a bound root), so
// that no edit of it needs a closer look.
func (a *Access) WritesAll(root any) bool {
	return a.allTops(root, a.staticUniformPermit)
}

// ReadsAll tells whether the session may read every node of the tree
// whose root has root's type (a bound root): Prune would return it whole.
func (a *Access) ReadsAll(root any) bool {
	return a.allTops(root, func(n *node) bool {
		d := a.staticFor(n, Read)
		return d.uniform && d.permit
	})
}

// allTops tells whether ok holds for every top-level node of root's tree.
func (a *Access) allTops(root any, ok func(*node) bool) bool {
	if a.open {
		return true
	}
	b := a.p.schema.types[reflect.TypeOf(root).Elem()]
	if b == nil {
		return false
	}
	for _, fb := range b.fields {
		if !ok(fb.n) {
			return false
		}
	}
	return true
}

func isNil(v reflect.Value) bool {
	return !v.IsValid() || ((v.Kind() == reflect.Pointer || v.Kind() == reflect.Map || v.Kind() == reflect.Slice || v.Kind() == reflect.Interface) && v.IsNil())
}

func (a *Access) diffStruct(bv, av reflect.Value, b *structBinding, keys [][]string) *Denial {
	if !isNil(bv) && !isNil(av) && bv.Pointer() == av.Pointer() {
		return nil
	}
	for _, fb := range b.fields {
		var bf, af reflect.Value
		if !isNil(bv) {
			bf = bv.Elem().Field(fb.index)
		}
		if !isNil(av) {
			af = av.Elem().Field(fb.index)
		}
		bz, az := !bf.IsValid() || bf.IsZero(), !af.IsValid() || af.IsZero()
		if bz && az {
			continue
		}
		if d := a.diffField(fb, bf, af, bz, az, keys); d != nil {
			return d
		}
	}
	return nil
}

func (a *Access) diffField(fb fieldBinding, bf, af reflect.Value, bz, az bool, keys [][]string) *Denial {
	n := fb.n
	op := Update
	switch {
	case bz:
		op = Create
	case az:
		op = Delete
	}
	// A subtree every instance of which the session may write needs no
	// closer look.
	if d := a.staticFor(n, op); d.uniform && d.permit && (op != Update || a.staticUniformPermit(n)) {
		return nil
	}
	switch n.kind {
	case kLeaf:
		if op == Update && reflect.DeepEqual(bf.Interface(), af.Interface()) {
			return nil
		}
		return a.check(n, keys, op)
	case kLeafList:
		if op == Update {
			if reflect.DeepEqual(bf.Interface(), af.Interface()) {
				return nil
			}
		}
		return a.check(n, keys, op)
	case kContainer:
		if op != Update && n.presence {
			if d := a.check(n, keys, op); d != nil {
				return d
			}
		}
		return a.diffStruct(ptrOrInvalid(bf, bz), ptrOrInvalid(af, az), a.p.schema.types[n.typeOf(bf, af).Elem()], append(keys, nil))
	case kList:
		eb := a.p.schema.types[fb.list.Entry]
		return a.diffList(fb, bf, af, bz, az, eb, keys)
	}
	return nil
}

// staticUniformPermit: creating, updating and deleting are all permitted
// in n's whole subtree (an update of a container may create and delete
// below it).
func (a *Access) staticUniformPermit(n *node) bool {
	for _, op := range []Ops{Create, Update, Delete} {
		if d := a.staticFor(n, op); !d.uniform || !d.permit {
			return false
		}
	}
	return true
}

func (n *node) typeOf(bf, af reflect.Value) reflect.Type {
	if bf.IsValid() {
		return bf.Type()
	}
	return af.Type()
}

func ptrOrInvalid(v reflect.Value, zero bool) reflect.Value {
	if zero {
		return reflect.Value{}
	}
	return v
}

func (a *Access) diffList(fb fieldBinding, bf, af reflect.Value, bz, az bool, eb *structBinding, keys [][]string) *Denial {
	n, lt := fb.n, fb.list
	var denied *Denial
	if !bz {
		lt.Range(bf, func(k, ev reflect.Value) bool {
			var other reflect.Value
			if !az {
				other = lt.Get(af, k)
			}
			ks := append(keys, entryKeys(ev, fb.keyFields))
			if !other.IsValid() {
				if denied = a.check(n, ks, Delete); denied != nil {
					return false
				}
				denied = a.diffStruct(ev, reflect.Value{}, eb, ks)
				return denied == nil
			}
			denied = a.diffStruct(ev, other, eb, ks)
			return denied == nil
		})
		if denied != nil {
			return denied
		}
	}
	if !az {
		lt.Range(af, func(k, ev reflect.Value) bool {
			if !bz && lt.Get(bf, k).IsValid() {
				return true
			}
			ks := append(keys, entryKeys(ev, fb.keyFields))
			if denied = a.check(n, ks, Create); denied != nil {
				return false
			}
			denied = a.diffStruct(reflect.Value{}, ev, eb, ks)
			return denied == nil
		})
		if denied != nil {
			return denied
		}
	}
	if lt.Ordered && !bz && !az {
		// Moving an entry of an ordered-by user list alters it: the
		// entries kept whose place among the others changed are updated
		// (RFC 8341 §3.2, update).
		for _, ev := range movedEntries(lt, bf, af) {
			if d := a.check(n, append(keys, entryKeys(ev, fb.keyFields)), Update); d != nil {
				return d
			}
		}
	}
	return nil
}

// movedEntries are the entries (of af) that b and a both hold but in
// another relative order: those outside a longest run kept in order.
func movedEntries(lt yanglist.Type, bf, af reflect.Value) []reflect.Value {
	pos := map[any]int{}
	i := 0
	lt.Range(bf, func(k, _ reflect.Value) bool {
		pos[k.Interface()] = i
		i++
		return true
	})
	var seq []int // b's positions of the common entries, in a's order
	var entries []reflect.Value
	lt.Range(af, func(k, e reflect.Value) bool {
		if p, ok := pos[k.Interface()]; ok {
			seq, entries = append(seq, p), append(entries, e)
		}
		return true
	})
	// The entries that stay are a longest increasing subsequence of seq
	// (lists are short: quadratic is fine).
	best, prev := make([]int, len(seq)), make([]int, len(seq))
	end := -1
	for j := range seq {
		best[j], prev[j] = 1, -1
		for i := 0; i < j; i++ {
			if seq[i] < seq[j] && best[i]+1 > best[j] {
				best[j], prev[j] = best[i]+1, i
			}
		}
		if end < 0 || best[j] > best[end] {
			end = j
		}
	}
	stays := make([]bool, len(seq))
	for j := end; j >= 0; j = prev[j] {
		stays[j] = true
	}
	var moved []reflect.Value
	for j, s := range stays {
		if !s {
			moved = append(moved, entries[j])
		}
	}
	return moved
}

func (a *Access) check(n *node, keys [][]string, op Ops) *Denial {
	if a.decide(n, keys, op) {
		return nil
	}
	return &Denial{Op: op, Path: instancePath(n, keys)}
}

// instancePath renders a node's instance path with module prefixes and
// key predicates, as error-paths are written.
func instancePath(n *node, keys [][]string) string {
	var chain []*node
	for x := n; x != nil; x = x.parent {
		chain = append(chain, x)
	}
	var b strings.Builder
	for i := len(chain) - 1; i >= 0; i-- {
		x := chain[i]
		b.WriteString("/" + x.prefix + ":" + x.name)
		d := x.depth - 1
		if x.kind == kList && d < len(keys) && keys[d] != nil {
			for j, k := range x.keys {
				if j < len(keys[d]) {
					fmt.Fprintf(&b, "[%s:%s='%s']", x.prefix, k, x.keyPath(k, keys[d][j]))
				}
			}
		}
	}
	return b.String()
}

// ReadsPath tells whether the session may read the data node an instance
// path names (module prefixes, key predicates, as error-paths and
// netconf-config-change targets are written): the node and every
// ancestor must be readable (RFC 8341 §3.4.5). A path this schema does
// not know is not data access control guards here.
func (a *Access) ReadsPath(path string) bool {
	if a.open {
		return true
	}
	steps, err := a.p.schema.parsePath(path)
	if err != nil || len(steps) == 0 {
		return true
	}
	var keys [][]string
	var n *node
	for i, st := range steps {
		var next *node
		if i == 0 {
			next = a.p.schema.top(st.module, st.name)
		} else {
			next = n.children[st.name]
		}
		if next == nil || (st.module != "" && st.module != next.module) {
			return true
		}
		n = next
		var kv []string
		if n.kind == kList {
			for _, k := range n.keys {
				kv = append(kv, n.keyText(k, st.preds[k]))
			}
		}
		keys = append(keys, kv)
		if !a.decide(n, keys, Read) {
			return false
		}
	}
	return true
}
