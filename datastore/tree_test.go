package datastore

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openconfig/goyang/pkg/yang"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/yanglist"
)

// configFields lists the configuration fields of a generated struct with
// their schema entries (config false nodes skipped).
func configFields(t reflect.Type, entry *yang.Entry) []struct {
	i     int
	entry *yang.Entry
} {
	var out []struct {
		i     int
		entry *yang.Entry
	}
	for i := 0; i < t.NumField(); i++ {
		name := t.Field(i).Tag.Get("path")
		child := entry.Dir[name]
		if child == nil || child.ReadOnly() {
			continue
		}
		out = append(out, struct {
			i     int
			entry *yang.Entry
		}{i, child})
	}
	return out
}

// fillAll sets every configuration leaf of v (a struct) to a value and
// creates one entry in every list, with list keys matching the entry.
func fillAll(v reflect.Value, entry *yang.Entry) {
	for _, f := range configFields(v.Type(), entry) {
		fv := v.Field(f.i)
		if lt, err := yanglist.TypeOf(fv.Type()); err == nil {
			fillList(fv, lt, f.entry)
			continue
		}
		switch fv.Kind() {
		case reflect.Pointer:
			e := reflect.New(fv.Type().Elem())
			if e.Elem().Kind() == reflect.Struct {
				fillAll(e.Elem(), f.entry)
			} else {
				setScalar(e.Elem(), 5)
			}
			fv.Set(e)
		case reflect.Int64: // enumeration
			fv.SetInt(1)
		case reflect.Slice: // leaf-list: two entries
			sl := reflect.MakeSlice(fv.Type(), 2, 2)
			setScalar(sl.Index(0), 5)
			setScalar(sl.Index(1), 7)
			fv.Set(sl)
		default:
			panic("unhandled field kind " + fv.Kind().String())
		}
	}
}

// fillList makes one entry of a list, filled; an ordered-by user list
// gets two, whose order is not their keys' order, so that a helper that
// sorts or loses the order is caught.
func fillList(fv reflect.Value, lt yanglist.Type, entry *yang.Entry) {
	var keys, entries []reflect.Value
	n := 1
	if lt.Ordered {
		n = 2
	}
	for i := range n {
		ev := reflect.New(lt.Entry)
		fillAll(ev.Elem(), entry)
		keyNames := strings.Fields(entry.Key)
		if i == 0 && lt.Ordered {
			for _, k := range keyNames {
				setScalar(leafValue(ev.Elem(), k), 9) // "sxxxxxxxxx" sorts after the second's "sxxxxx"
			}
		}
		key := reflect.New(lt.Key).Elem()
		if key.Kind() == reflect.Struct {
			for i := 0; i < key.NumField(); i++ {
				key.Field(i).Set(leafValue(ev.Elem(), key.Type().Field(i).Tag.Get("path")))
			}
		} else {
			key.Set(leafValue(ev.Elem(), keyNames[0]))
		}
		keys, entries = append(keys, key), append(entries, ev)
	}
	m, err := lt.Make(keys, entries)
	if err != nil {
		panic(err)
	}
	fv.Set(m)
}

func leafValue(v reflect.Value, path string) reflect.Value {
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).Tag.Get("path") == path {
			f := v.Field(i)
			if f.Kind() == reflect.Pointer {
				return f.Elem()
			}
			return f
		}
	}
	panic("no leaf " + path)
}

func setScalar(v reflect.Value, n int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + strings.Repeat("x", n))
	case reflect.Bool:
		v.SetBool(n%2 == 1)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(n))
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(n))
	default:
		panic("unhandled leaf kind " + v.Kind().String())
	}
}

// mutateNth changes the n-th configuration leaf of v (depth first) and
// reports whether there was one, and whether it is a list key.
func mutateNth(v reflect.Value, entry *yang.Entry, n *int, keyNames []string) (done, isKey bool) {
	for _, f := range configFields(v.Type(), entry) {
		fv := v.Field(f.i)
		name := v.Type().Field(f.i).Tag.Get("path")
		if lt, err := yanglist.TypeOf(fv.Type()); err == nil {
			_, entries := lt.Entries(fv)
			for _, e := range entries {
				if d, k := mutateNth(e.Elem(), f.entry, n, strings.Fields(f.entry.Key)); d {
					return true, k
				}
			}
			continue
		}
		switch fv.Kind() {
		case reflect.Pointer:
			if fv.IsNil() {
				continue
			}
			if fv.Elem().Kind() == reflect.Struct {
				if d, k := mutateNth(fv.Elem(), f.entry, n, nil); d {
					return true, k
				}
				continue
			}
			if *n == 0 {
				setScalar(fv.Elem(), 6)
				for _, k := range keyNames {
					if k == name {
						return true, true
					}
				}
				return true, false
			}
			*n--
		case reflect.Int64:
			if *n == 0 {
				fv.SetInt(2)
				for _, k := range keyNames {
					if k == name {
						return true, true
					}
				}
				return true, false
			}
			*n--
		case reflect.Slice:
			if fv.Len() == 0 {
				continue
			}
			if *n == 0 {
				setScalar(fv.Index(fv.Len()-1), 6)
				return true, false
			}
			*n--
		}
	}
	return false, false
}

func filledDevice() *gen.Device {
	d := &gen.Device{}
	fillAll(reflect.ValueOf(d).Elem(), gen.SchemaTree["Device"])
	if err := normalize(d); err != nil { // key values in cipher form
		panic(err)
	}
	return d
}

// TestTreeHelpersCoverEverySchemaField: the typed copy, comparison, diff and
// journal encoding handle every configuration leaf of the generated
// structs. A leaf added to the YANG modules and forgotten in tree.go fails
// here.
func TestTreeHelpersCoverEverySchemaField(t *testing.T) {
	d := filledDevice()
	if c := copyTree(d); !reflect.DeepEqual(c, d) {
		t.Fatalf("copyTree misses fields:\n%#v\n%#v", c, d)
	}
	// Whole-tree journal record round trip.
	rec, err := fullRecord(CommitInfo{ID: 1, Time: time.Unix(0, 0)}, d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := rec.apply(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, d) {
		t.Fatalf("full record round trip differs: %v", diffTrees(d, back))
	}
	leaves := 0
	for n := 0; ; n++ {
		m := copyTree(d)
		k := n
		done, isKey := mutateNth(reflect.ValueOf(m).Elem(), gen.SchemaTree["Device"], &k, nil)
		if !done {
			break
		}
		leaves++
		if equalTree(d, m) {
			t.Errorf("leaf %d: equalTree misses a change", n)
		}
		if isKey {
			if normalize(m) == nil { // the edited tree itself: copying an ordered list re-keys its entries by their names
				t.Errorf("leaf %d: a key leaf that disagrees with its list key is accepted", n)
			}
			continue
		}
		if err := normalize(m); err != nil {
			t.Fatal(err)
		}
		if len(diffTrees(d, m)) == 0 {
			t.Errorf("leaf %d: diffTrees misses a change", n)
		}
		rec, err := deltaRecord(CommitInfo{ID: 2}, d, m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rec.apply(d)
		if err != nil {
			t.Fatalf("leaf %d: %v", n, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("leaf %d: delta record round trip differs: %v", n, diffTrees(m, got))
		}
	}
	if leaves < 20 {
		t.Fatalf("only %d leaves found", leaves)
	}
	// Deleting each list entry and each top part also round-trips.
	for _, f := range []func(*gen.Device){
		func(x *gen.Device) { x.Ntp.UnicastPeer = nil },
		func(x *gen.Device) { x.Ntp.Authentication.Key = nil },
		func(x *gen.Device) { x.Ntp.SourceInterface = nil },
		func(x *gen.Device) { x.System.LocalUser = nil },
		func(x *gen.Device) {
			x.Ntp.Unsync = nil
			x.System = nil
			x.Ntp.Authentication.Enable = nil
			x.Ntp.AllowUnauthenticatedPassivePeers = nil
		},
		func(x *gen.Device) { *x = gen.Device{} },
	} {
		m := copyTree(d)
		f(m)
		if err := normalize(m); err != nil {
			t.Fatal(err)
		}
		rec, _ := deltaRecord(CommitInfo{ID: 2}, d, m)
		got, err := rec.apply(d)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("deletion round trip: %v %v", err, diffTrees(m, got))
		}
	}
}
