// Package yanglist reads and changes a keyed YANG list held in a field of a
// ygot-generated struct, whichever form the generator gave it: a Go map
// (an ordered-by system list, RFC 7950 §7.7.7, whose order the server
// chooses) or an ordered map (an ordered-by user list, ygot.GoOrderedMap
// with -generate_ordered_maps, whose order is the one the client entered).
// Code that walks generated trees by reflection (the XML codec, the
// datastore's RFC 7951 reader, access control) goes through it for ordered
// maps, so that no walk loses an operator's order.
//
// An ordered map is never changed in place: every change (Put, Insert,
// Delete) builds a new one and sets the field, so a tree that shares the
// old one with another tree leaves the other tree as it was.
package yanglist

import (
	"errors"
	"reflect"
	"sync"

	"github.com/openconfig/ygot/ygot"
)

// Type is the Go form of a list field.
type Type struct {
	// Field is the field's type: map[K]*E, or *X_OrderedMap.
	Field reflect.Type
	// Key is the list's key type (a struct of the key leaves for a list
	// with several keys); Entry is the struct type of one entry (E).
	Key, Entry reflect.Type
	// Ordered is true for an ordered map (an ordered-by user list).
	Ordered bool

	// The ordered map's methods, by index (Ordered only).
	keys, values, get, appendM int
}

var orderedMapType = reflect.TypeOf((*ygot.GoOrderedMap)(nil)).Elem()

// types caches TypeOf's answers; the set of generated types is fixed, so
// this grows to that set and never changes an entry.
var types sync.Map // reflect.Type → Type

// ErrNotList says a type is neither a map of entries nor an ordered map.
var ErrNotList = errors.New("yanglist: not a keyed list field")

// TypeOf describes a list field's type: a map from key to a pointer to the
// entry struct, or a pointer to a generated ordered map (Keys, Values, Get,
// Append).
func TypeOf(t reflect.Type) (Type, error) {
	if v, ok := types.Load(t); ok {
		return v.(Type), nil
	}
	lt := Type{Field: t}
	switch {
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Pointer && t.Elem().Elem().Kind() == reflect.Struct:
		lt.Key, lt.Entry = t.Key(), t.Elem().Elem()
	case t.Implements(orderedMapType) && t.Kind() == reflect.Pointer:
		lt.Ordered = true
		idx := map[string]*int{"Keys": &lt.keys, "Values": &lt.values, "Get": &lt.get, "Append": &lt.appendM}
		for name, p := range idx {
			m, ok := t.MethodByName(name)
			if !ok {
				return Type{}, ErrNotList
			}
			*p = m.Index
		}
		get := t.Method(lt.get).Type // receiver, key → *E
		if get.NumIn() != 2 || get.NumOut() != 1 || get.Out(0).Kind() != reflect.Pointer || get.Out(0).Elem().Kind() != reflect.Struct {
			return Type{}, ErrNotList
		}
		lt.Key, lt.Entry = get.In(1), get.Out(0).Elem()
	default:
		return Type{}, ErrNotList
	}
	types.Store(t, lt)
	return lt, nil
}

// IsList reports whether t is the type of a keyed list field.
func IsList(t reflect.Type) bool {
	_, err := TypeOf(t)
	return err == nil
}

func (lt Type) call(v reflect.Value, m int, args ...reflect.Value) reflect.Value {
	return v.Method(m).Call(args)[0]
}

// Len is the number of entries of the list v (a field of type lt.Field).
func (lt Type) Len(v reflect.Value) int {
	if v.IsNil() {
		return 0
	}
	if !lt.Ordered {
		return v.Len()
	}
	return lt.call(v, lt.keys).Len()
}

// Entries returns the keys and the entries (pointers to lt.Entry) of v: in
// the list's order for an ordered map, in the map's (random) order for a
// Go map.
func (lt Type) Entries(v reflect.Value) (keys, entries []reflect.Value) {
	if v.IsNil() {
		return nil, nil
	}
	if !lt.Ordered {
		it := v.MapRange()
		for it.Next() {
			keys = append(keys, it.Key())
			entries = append(entries, it.Value())
		}
		return keys, entries
	}
	ks, vs := lt.call(v, lt.keys), lt.call(v, lt.values)
	keys = make([]reflect.Value, ks.Len())
	entries = make([]reflect.Value, ks.Len())
	for i := range keys {
		keys[i], entries[i] = ks.Index(i), vs.Index(i)
	}
	return keys, entries
}

// Range calls fn with each key and entry of v, in the list's order for an
// ordered map and in the map's order for a Go map, until fn returns false.
// On a Go map it allocates nothing.
func (lt Type) Range(v reflect.Value, fn func(k, e reflect.Value) bool) {
	if v.IsNil() {
		return
	}
	if !lt.Ordered {
		for it := v.MapRange(); it.Next(); {
			if !fn(it.Key(), it.Value()) {
				return
			}
		}
		return
	}
	ks, vs := lt.call(v, lt.keys), lt.call(v, lt.values)
	for i := range ks.Len() {
		if !fn(ks.Index(i), vs.Index(i)) {
			return
		}
	}
}

// RangeEntries is Range without the keys, which a Go map with a struct
// key would otherwise copy for every entry.
func (lt Type) RangeEntries(v reflect.Value, fn func(e reflect.Value) bool) {
	if v.IsNil() {
		return
	}
	if !lt.Ordered {
		for it := v.MapRange(); it.Next(); {
			if !fn(it.Value()) {
				return
			}
		}
		return
	}
	vs := lt.call(v, lt.values)
	for i := range vs.Len() {
		if !fn(vs.Index(i)) {
			return
		}
	}
}

// Get returns the entry of key k, or the zero Value when v has none.
func (lt Type) Get(v, k reflect.Value) reflect.Value {
	if v.IsNil() {
		return reflect.Value{}
	}
	if !lt.Ordered {
		return v.MapIndex(k)
	}
	e := lt.call(v, lt.get, k)
	if e.IsNil() {
		return reflect.Value{}
	}
	return e
}

// Where is the place an entry takes in an ordered-by user list (RFC 7950
// §7.8.6, the insert attribute).
type Where uint8

// The places. Keep is no move: a new entry goes last, an existing one
// stays where it is.
const (
	Keep Where = iota
	First
	Last
	Before
	After
)

// ErrNoAnchor says the entry named by a Before or After insert is not in
// the list.
var ErrNoAnchor = errors.New("yanglist: the entry to insert next to does not exist")

// Put sets the entry e (a pointer to lt.Entry) for key k in the list field
// f, which must be settable: a new key is added last, an existing key's
// entry is replaced where it stands.
func (lt Type) Put(f, k, e reflect.Value) {
	if !lt.Ordered {
		if f.IsNil() {
			f.Set(reflect.MakeMap(lt.Field))
		}
		f.SetMapIndex(k, e)
		return
	}
	_ = lt.Insert(f, k, e, Keep, reflect.Value{}) // Keep has no anchor to miss
}

// Insert puts the entry e for key k in the ordered-by user list field f at
// the place where says (anchor: the key of the entry Before or After
// names), moving it there if k is already in the list. An anchor equal to
// k leaves the entry where it is. On a Go map the place is meaningless and
// Insert is Put. A missing anchor returns ErrNoAnchor and leaves f as it
// was.
func (lt Type) Insert(f, k, e reflect.Value, where Where, anchor reflect.Value) error {
	if !lt.Ordered {
		lt.Put(f, k, e)
		return nil
	}
	keys, entries := lt.Entries(f)
	at := -1
	for i, x := range keys {
		if x.Interface() == k.Interface() {
			at = i
		}
	}
	if (where == Before || where == After) && anchor.Interface() == k.Interface() {
		where = Keep
		if at < 0 {
			return ErrNoAnchor
		}
	}
	if at >= 0 {
		if where == Keep {
			entries[at] = e
			return lt.set(f, keys, entries)
		}
		keys = append(keys[:at:at], keys[at+1:]...)
		entries = append(entries[:at:at], entries[at+1:]...)
	}
	pos := len(keys)
	switch where {
	case First:
		pos = 0
	case Before, After:
		pos = -1
		for i, x := range keys {
			if x.Interface() == anchor.Interface() {
				pos = i
				if where == After {
					pos++
				}
			}
		}
		if pos < 0 {
			return ErrNoAnchor
		}
	}
	keys = append(keys[:pos:pos], append([]reflect.Value{k}, keys[pos:]...)...)
	entries = append(entries[:pos:pos], append([]reflect.Value{e}, entries[pos:]...)...)
	return lt.set(f, keys, entries)
}

// Delete removes the entry of key k from the list field f; a list left
// empty is unset (nil), as ygot leaves a list that was never configured.
func (lt Type) Delete(f, k reflect.Value) {
	if !lt.Ordered {
		f.SetMapIndex(k, reflect.Value{})
		if f.Len() == 0 {
			f.Set(reflect.Zero(lt.Field))
		}
		return
	}
	keys, entries := lt.Entries(f)
	for i, x := range keys {
		if x.Interface() == k.Interface() {
			_ = lt.set(f, append(keys[:i:i], keys[i+1:]...), append(entries[:i:i], entries[i+1:]...))
			return
		}
	}
}

// Make returns a new list value holding entries under keys, in that order
// (a Go map keeps no order); nil when there are none.
func (lt Type) Make(keys, entries []reflect.Value) (reflect.Value, error) {
	if len(keys) == 0 {
		return reflect.Zero(lt.Field), nil
	}
	if !lt.Ordered {
		m := reflect.MakeMapWithSize(lt.Field, len(keys))
		for i, k := range keys {
			m.SetMapIndex(k, entries[i])
		}
		return m, nil
	}
	m := reflect.New(lt.Field.Elem())
	for _, e := range entries {
		if err := lt.call(m, lt.appendM, e); !err.IsNil() {
			return reflect.Value{}, err.Interface().(error)
		}
	}
	return m, nil
}

// set replaces the field f by a new ordered map of the entries.
func (lt Type) set(f reflect.Value, keys, entries []reflect.Value) error {
	m, err := lt.Make(keys, entries)
	if err != nil {
		return err
	}
	f.Set(m)
	return nil
}
