package datastore

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/yanglist"
)

// decodeRFC7951 reads a tree the store wrote (RFC 7951 JSON, module names
// on the top-level members) into the generated structs.
//
// The store reads every tree it keeps at start (the snapshot and the
// journal's records), so this is on the path of a start with a large
// running configuration. ytypes.Unmarshal, the generated Unmarshal,
// formats debug strings for every node it visits, whether or not they are
// printed, and costs most of a start with 1,000 peers. The trees here were
// written by emitRFC7951 from validated trees, and are validated again
// after they are loaded, so a direct walk driven by the generated
// structs' path and module tags reads them: containers, lists (their map
// key built from the entry's own key leaves), and leaves of the kinds the
// generator produces for this schema. What it does not know (a union, a
// member it cannot place) sends the whole tree to the generated
// Unmarshal, which either reads it or says precisely what is wrong;
// TestRFC7951DecoderReadsEveryField proves the direct walk covers every
// field of the schema today.
func decodeRFC7951(data []byte) (*gen.Device, error) {
	d := &gen.Device{}
	if len(data) == 0 {
		return d, nil
	}
	if err := decodeTree(data, d); err == nil {
		return d, nil
	}
	d = &gen.Device{}
	if err := gen.Unmarshal(data, d); err != nil {
		return nil, fmt.Errorf("decode RFC 7951 JSON: %w", err)
	}
	return d, nil
}

// errNotDirect says the direct walk cannot read a tree; the generated
// Unmarshal then does.
var errNotDirect = errors.New("not readable by the direct walk")

// decodeTree is the direct walk of decodeRFC7951 into root.
func decodeTree(data []byte, root ygot.GoStruct) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return errNotDirect
	}
	w := walker{fields: map[reflect.Type]map[string]int{}, enums: map[reflect.Type]map[string]int64{}}
	return w.container(reflect.ValueOf(root).Elem(), obj)
}

// walker holds the per-type indexes one decode builds as it goes.
type walker struct {
	fields map[reflect.Type]map[string]int   // member name → field index
	enums  map[reflect.Type]map[string]int64 // enum name → value
}

// index maps a generated struct's member names (the last element of each
// field's path tag: this schema is generated without path compression)
// to its fields.
func (w *walker) index(t reflect.Type) map[string]int {
	if m, ok := w.fields[t]; ok {
		return m
	}
	m := map[string]int{}
	for i := range t.NumField() {
		p := t.Field(i).Tag.Get("path")
		if p == "" || strings.ContainsAny(p, "|/") {
			continue
		}
		m[p] = i
	}
	w.fields[t] = m
	return m
}

// container fills the struct sv from obj. A member may carry its module
// name (RFC 7951 §4: "module:name"); the module must be the field's.
func (w *walker) container(sv reflect.Value, obj map[string]any) error {
	idx := w.index(sv.Type())
	for name, val := range obj {
		module, local, qualified := strings.Cut(name, ":")
		if !qualified {
			local, module = module, ""
		}
		i, ok := idx[local]
		if !ok {
			return errNotDirect
		}
		f := sv.Type().Field(i)
		if module != "" && module != f.Tag.Get("module") {
			return errNotDirect
		}
		if err := w.field(sv.Field(i), val); err != nil {
			return err
		}
	}
	return nil
}

// field sets one field from its JSON value.
func (w *walker) field(fv reflect.Value, val any) error {
	t := fv.Type()
	switch {
	case t.Kind() == reflect.Map || t.Kind() == reflect.Pointer && t.Implements(orderedMapType):
		return w.list(fv, val)
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		obj, ok := val.(map[string]any)
		if !ok {
			return errNotDirect
		}
		c := reflect.New(t.Elem())
		if err := w.container(c.Elem(), obj); err != nil {
			return err
		}
		fv.Set(c)
		return nil
	case t.Kind() == reflect.Pointer:
		x := reflect.New(t.Elem())
		if err := w.scalar(x.Elem(), val); err != nil {
			return err
		}
		fv.Set(x)
		return nil
	case t == reflect.TypeOf(gen.Binary(nil)):
		return w.scalar(fv, val)
	case t.Kind() == reflect.Slice:
		arr, ok := val.([]any)
		if !ok {
			return errNotDirect
		}
		s := reflect.MakeSlice(t, len(arr), len(arr))
		for i, e := range arr {
			if err := w.scalar(s.Index(i), e); err != nil {
				return err
			}
		}
		fv.Set(s)
		return nil
	default:
		// Enumerations are values, not pointers; so is the empty type.
		return w.scalar(fv, val)
	}
}

// orderedMapType is the interface of ygot's ordered maps (ordered-by user
// lists).
var orderedMapType = reflect.TypeOf((*ygot.GoOrderedMap)(nil)).Elem()

// list fills a keyed list from its JSON array, each entry's key taken from
// its own key leaves: a Go map from key to entry, or an ordered map
// (an ordered-by user list) in the array's order, which RFC 7951 §5.4
// keeps as the list's order.
func (w *walker) list(fv reflect.Value, val any) error {
	arr, ok := val.([]any)
	if !ok {
		return errNotDirect
	}
	lt, err := yanglist.TypeOf(fv.Type())
	if err != nil {
		return errNotDirect
	}
	var m reflect.Value // a Go map is filled as it goes
	var keys, entries []reflect.Value
	if lt.Ordered {
		keys, entries = make([]reflect.Value, 0, len(arr)), make([]reflect.Value, 0, len(arr))
	} else {
		m = reflect.MakeMapWithSize(lt.Field, len(arr))
	}
	for _, e := range arr {
		obj, ok := e.(map[string]any)
		if !ok {
			return errNotDirect
		}
		entry := reflect.New(lt.Entry)
		if err := w.container(entry.Elem(), obj); err != nil {
			return err
		}
		k, ok := entryKey(entry, lt.Key)
		if !ok {
			return errNotDirect
		}
		if !lt.Ordered {
			if m.MapIndex(k).IsValid() {
				return errNotDirect // a duplicate key: let the generated Unmarshal name it
			}
			m.SetMapIndex(k, entry)
			continue
		}
		keys, entries = append(keys, k), append(entries, entry)
	}
	if lt.Ordered {
		if m, err = lt.Make(keys, entries); err != nil {
			return errNotDirect // a duplicate key
		}
	}
	fv.Set(m)
	return nil
}

// entryKey is the list key (of type kt) of a decoded entry, from its key
// leaves.
func entryKey(entry reflect.Value, kt reflect.Type) (reflect.Value, bool) {
	keyed, ok := entry.Interface().(ygot.KeyHelperGoStruct)
	if !ok {
		return reflect.Value{}, false
	}
	keys, err := keyed.ΛListKeyMap()
	if err != nil {
		return reflect.Value{}, false
	}
	k := reflect.New(kt).Elem()
	if kt.Kind() == reflect.Struct {
		for i := range kt.NumField() {
			v, ok := keys[kt.Field(i).Tag.Get("path")]
			if !ok || !setKey(k.Field(i), v) {
				return reflect.Value{}, false
			}
		}
		return k, true
	}
	if len(keys) != 1 {
		return reflect.Value{}, false
	}
	for _, v := range keys {
		if !setKey(k, v) {
			return reflect.Value{}, false
		}
	}
	return k, true
}

func setKey(dst reflect.Value, v any) bool {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || !rv.Type().ConvertibleTo(dst.Type()) {
		return false
	}
	dst.Set(rv.Convert(dst.Type()))
	return true
}

// scalar sets a leaf value of a basic kind, an enumeration, binary or the
// empty type, with RFC 7951 §6's encodings: 64-bit integers and decimals
// as strings, the others as numbers; enumerations and identities as names
// (an identity with its module prefix); binary in base64; empty as [null].
func (w *walker) scalar(v reflect.Value, val any) error {
	t := v.Type()
	if _, isEnum := v.Interface().(ygot.GoEnum); isEnum {
		s, ok := val.(string)
		if !ok {
			return errNotDirect
		}
		if _, name, ok := strings.Cut(s, ":"); ok {
			s = name
		}
		n, ok := w.enum(v)[s]
		if !ok {
			return errNotDirect
		}
		v.SetInt(n)
		return nil
	}
	switch {
	case t == reflect.TypeOf(gen.YANGEmpty(false)):
		arr, ok := val.([]any)
		if !ok || len(arr) != 1 || arr[0] != nil {
			return errNotDirect
		}
		v.SetBool(true)
		return nil
	case t == reflect.TypeOf(gen.Binary(nil)):
		s, ok := val.(string)
		if !ok {
			return errNotDirect
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return errNotDirect
		}
		v.SetBytes(b)
		return nil
	}
	text, ok := numberText(val)
	switch t.Kind() {
	case reflect.String:
		s, isString := val.(string)
		if !isString {
			return errNotDirect
		}
		v.SetString(s)
	case reflect.Bool:
		b, isBool := val.(bool)
		if !isBool {
			return errNotDirect
		}
		v.SetBool(b)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(text, 10, t.Bits())
		if !ok || err != nil {
			return errNotDirect
		}
		v.SetInt(n)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(text, 10, t.Bits())
		if !ok || err != nil {
			return errNotDirect
		}
		v.SetUint(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(text, 64)
		if !ok || err != nil {
			return errNotDirect
		}
		v.SetFloat(f)
	default:
		return errNotDirect // a union, or a kind this schema does not generate
	}
	return nil
}

// numberText is a number's text: a JSON number, or a string holding one
// (RFC 7951 §6.1 writes int64, uint64 and decimal64 as strings).
func numberText(val any) (string, bool) {
	switch x := val.(type) {
	case json.Number:
		return string(x), true
	case string:
		return x, true
	}
	return "", false
}

// enum is the name → value table of an enumeration type, from the
// generator's own table (ΛMap).
func (w *walker) enum(v reflect.Value) map[string]int64 {
	if m, ok := w.enums[v.Type()]; ok {
		return m
	}
	m := map[string]int64{}
	for n, def := range v.Interface().(ygot.GoEnum).ΛMap()[v.Type().Name()] {
		m[def.Name] = n
	}
	w.enums[v.Type()] = m
	return m
}
