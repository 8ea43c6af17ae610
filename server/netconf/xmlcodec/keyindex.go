package xmlcodec

import (
	"reflect"
	"sync"
	"weak"
)

// A filter that names list entries by some of their keys, not all (an
// address without its vpn-instance), cannot find them by the list's map
// key: scanKeys compares the given keys with every entry's. In a tree that
// never changes (EncodeOptions.Frozen: a stored tree of the datastore) that
// comparison is made once: an index of the list by the one key, kept with
// the schema for the next filters on the same tree, which then find the
// entries as a full key would.

// keyIndexes are the last indexes made; a few, as each serves one tree.
type keyIndexes struct {
	mu      sync.Mutex
	entries [4]*keyIndex
	next    int
}

// keyIndex is the map keys of a list's entries by the value of one key.
type keyIndex struct {
	// owner is the struct holding the list: a weak pointer, so that the
	// index keeps no tree alive, and one made from a new tree never equals
	// one made from an old tree, even at the old tree's address.
	owner   weak.Pointer[byte]
	list    *snode
	key     int // the indexed key's position in list.keys
	byValue map[string][]reflect.Value
}

// lookup returns the map keys of the entries of list, a field of the
// struct sv, whose key i is the string value, making the index on first
// use.
func (ki *keyIndexes) lookup(sv reflect.Value, list *snode, i int, value string) []reflect.Value {
	owner := weak.Make((*byte)(sv.Addr().UnsafePointer()))
	ki.mu.Lock()
	for _, e := range ki.entries {
		if e != nil && e.owner == owner && e.list == list && e.key == i {
			ki.mu.Unlock()
			return e.byValue[value]
		}
	}
	ki.mu.Unlock()
	m := sv.Field(list.field)
	idx := &keyIndex{owner: owner, list: list, key: i, byValue: make(map[string][]reflect.Value, list.listLen(m))}
	add := func(k reflect.Value) {
		kv := k
		if len(list.keys) > 1 {
			kv = k.Field(list.keyField[i])
		}
		idx.byValue[kv.String()] = append(idx.byValue[kv.String()], k)
	}
	if list.list.Ordered {
		keys, _ := list.list.Entries(m)
		for _, k := range keys {
			add(k)
		}
	} else {
		for it := m.MapRange(); it.Next(); {
			add(it.Key())
		}
	}
	ki.mu.Lock()
	ki.entries[ki.next] = idx
	ki.next = (ki.next + 1) % len(ki.entries)
	ki.mu.Unlock()
	return idx.byValue[value]
}

// indexedKeys is scanKeys through an index of the list by the first given
// key whose values are strings (most keys: a name or an address); ok is
// false when no given key is one.
func (t *lazyTree) indexedKeys(d *dnode, list *snode, vals []reflect.Value) (out []*dnode, ok bool) {
	if !d.sv.IsValid() {
		return nil, true
	}
	kt := list.keyType
	for i, v := range vals {
		ft := kt
		if len(list.keys) > 1 {
			ft = kt.Field(list.keyField[i]).Type
		}
		if !v.IsValid() || v.Kind() != reflect.String || ft.Kind() != reflect.String {
			continue
		}
		for _, mk := range t.keys.lookup(d.sv, list, i, v.String()) {
			if keysEqual(list, mk, vals) {
				if n := t.lookupKey(d, list, mk); n != nil {
					out = append(out, n)
				}
			}
		}
		return out, true
	}
	return nil, false
}
