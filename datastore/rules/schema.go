package rules

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/openconfig/goyang/pkg/yang"
	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/internal/yanglist"
)

// modulePrefix maps our module names to the prefixes their YANG declares.
func modulePrefix(module string) string {
	switch module {
	case "ntpagent-ntp":
		return NtpPrefix
	case "ntpagent-system":
		return SystemPrefix
	}
	return module
}

// checkSchema walks the configuration nodes of root with their schema and
// validates each leaf's type, length, range and pattern on its own, so that
// an error carries the full instance path with list keys (ygot's whole-tree
// Validate loses the keys). Config-false nodes are skipped. Paths are built
// only for errors, and the errors are sorted by path.
func checkSchema(root *gen.Device) rpcerror.List {
	var errs rpcerror.List
	walkStruct(reflect.ValueOf(root).Elem(), gen.SchemaTree["Device"], func() string { return "" }, &errs)
	slices.SortStableFunc(errs, func(a, b *rpcerror.Error) int { return strings.Compare(a.Path, b.Path) })
	return errs
}

func walkStruct(v reflect.Value, entry *yang.Entry, path func() string, errs *rpcerror.List) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, ok := f.Tag.Lookup("path")
		if !ok {
			continue
		}
		child := entry.Dir[name]
		if child == nil || child.ReadOnly() {
			continue
		}
		fv := v.Field(i)
		if fv.IsZero() {
			continue
		}
		cpath := func() string { return path() + "/" + modulePrefix(f.Tag.Get("module")) + ":" + name }
		switch {
		case child.IsList():
			lt, err := yanglist.TypeOf(fv.Type())
			if err != nil {
				panic(fmt.Sprintf("rules: the generated field of list %s is %s: %v", name, fv.Type(), err))
			}
			if e := tooManyElements(child, lt.Len(fv), cpath); e != nil {
				*errs = append(*errs, e)
			}
			lt.RangeEntries(fv, func(e reflect.Value) bool {
				elem := e.Elem()
				walkStruct(elem, child, func() string { return cpath() + keyPredicates(elem, child) }, errs)
				return true
			})
		case child.IsContainer():
			walkStruct(fv.Elem(), child, cpath, errs)
		case child.IsLeaf() || child.IsLeafList():
			if child.IsLeafList() {
				if e := tooManyElements(child, fv.Len(), cpath); e != nil {
					*errs = append(*errs, e)
				}
			}
			if child.Type != nil && child.Type.Kind == yang.Yleafref {
				continue // checked with the whole tree by Check
			}
			if err := checkLeaf(child, fv); err != nil {
				msg := err.Error()
				if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "/") {
					msg = msg[i+2:]
				}
				*errs = append(*errs, &rpcerror.Error{
					Type: rpcerror.TypeApplication, Tag: rpcerror.TagInvalidValue, Path: cpath(),
					Message: fmt.Sprintf("The value %s of %s is not valid: %s.", leafText(fv), name, strings.TrimSuffix(msg, ".")),
				})
			}
		}
	}
}

// appTagTooMany is the error-app-tag of RFC 7950 §15.3.
const appTagTooMany = "too-many-elements"

// tooManyElements is the error of RFC 7950 §15.3 when a list or leaf-list
// with schema entry e has n entries, more than its max-elements (§7.7.6):
// operation-failed, too-many-elements, once, with the path of the list
// node. nil when n is within the bound or there is none.
func tooManyElements(e *yang.Entry, n int, path func() string) *rpcerror.Error {
	if e.ListAttr == nil || e.ListAttr.MaxElements == 0 || uint64(n) <= e.ListAttr.MaxElements {
		return nil
	}
	err := rpcerror.New(rpcerror.TagOperationFailed, path(), "At most %d %s entries can be configured; this configuration has %d.", e.ListAttr.MaxElements, e.Name, n)
	err.AppTag = appTagTooMany
	return err
}

// CheckLocalUsersBound returns the error of Validate when root has more
// local users than /system/local-user's max-elements, else nil. The
// datastore asks it before hashing the passwords of an edit, so that the
// work of one edit stays bounded whatever its test option.
func CheckLocalUsersBound(root *gen.Device) error {
	sys := root.GetSystem()
	if sys == nil {
		return nil
	}
	e := gen.SchemaTree["NtpagentSystem_System_LocalUser"]
	if err := tooManyElements(e, len(sys.LocalUser), func() string { return localUserListPath }); err != nil {
		return err
	}
	return nil
}

// keyPredicates renders [prefix:key='value'] for each key of a list entry,
// in the order of the YANG key statement.
func keyPredicates(elem reflect.Value, list *yang.Entry) string {
	var b strings.Builder
	prefix := ""
	if list.Prefix != nil {
		prefix = list.Prefix.Name
	}
	t := elem.Type()
	for _, k := range strings.Fields(list.Key) {
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).Tag.Get("path") == k {
				if prefix == "" {
					prefix = modulePrefix(t.Field(i).Tag.Get("module"))
				}
				fmt.Fprintf(&b, "[%s:%s=%s]", prefix, k, quoteKey(leafText(elem.Field(i))))
			}
		}
	}
	return b.String()
}

// leafText renders a leaf value as it appears in XML.
func leafText(v reflect.Value) string {
	if !v.IsValid() {
		return ""
	}
	if e, ok := v.Interface().(ygot.GoEnum); ok {
		if s, err := ygot.EnumName(e); err == nil {
			return s
		}
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	return fmt.Sprint(v.Interface())
}
