package rules

import (
	"fmt"
	"reflect"
	"regexp"
	"sync"
	"unicode/utf8"

	"github.com/openconfig/goyang/pkg/yang"
	"github.com/openconfig/ygot/util"
	"github.com/openconfig/ygot/ytypes"

	"github.com/ntpagent/ntpagent/gen"
)

// leafCheck validates one leaf's value against its YANG type: length and
// pattern of strings, range of integers, and for a union that at least one
// member type accepts it. Built once per schema leaf with its regular
// expressions compiled (ygot's own per-value validation re-sanitizes its
// patterns on every call, which made a 1,000-peer validation take ~100 ms).
type leafCheck struct {
	t        *yang.YangType
	patterns []*regexp.Regexp
	members  []*leafCheck
}

// leafChecks maps each configuration leaf of the generated schema to its
// check. It is built on first use and never changed afterwards.
var leafChecks = sync.OnceValue(func() map[*yang.Entry]*leafCheck {
	m := map[*yang.Entry]*leafCheck{}
	var walk func(e *yang.Entry)
	walk = func(e *yang.Entry) {
		for _, c := range e.Dir {
			if c.ReadOnly() {
				continue
			}
			if (c.IsLeaf() || c.IsLeafList()) && c.Type != nil {
				m[c] = newLeafCheck(c.Type)
			}
			walk(c)
		}
	}
	walk(gen.SchemaTree["Device"])
	return m
})

func newLeafCheck(t *yang.YangType) *leafCheck {
	c := &leafCheck{t: t}
	switch t.Kind {
	case yang.Ystring:
		pats, posix := util.SanitizedPattern(t)
		for _, p := range pats {
			var re *regexp.Regexp
			var err error
			if posix {
				re, err = regexp.CompilePOSIX(p)
			} else {
				re, err = regexp.Compile(p)
			}
			if err != nil {
				// A pattern Go cannot compile: leave this leaf to ygot.
				return nil
			}
			c.patterns = append(c.patterns, re)
		}
	case yang.Yunion:
		for _, mt := range t.Type {
			mc := newLeafCheck(mt)
			if mc == nil {
				return nil
			}
			c.members = append(c.members, mc)
		}
	case yang.Yint8, yang.Yint16, yang.Yint32, yang.Yint64,
		yang.Yuint8, yang.Yuint16, yang.Yuint32, yang.Yuint64,
		yang.Ybool, yang.Yenum, yang.Yempty, yang.Yleafref:
	default:
		return nil
	}
	return c
}

// checkLeaf validates the value v of a leaf field with schema entry e.
// It returns a short reason, or nil.
func checkLeaf(e *yang.Entry, v reflect.Value) error {
	c := leafChecks()[e]
	if c == nil {
		// Types without a compiled check (none in our model today): ygot.
		if errs := ytypes.Validate(e, v.Interface()); len(errs) > 0 {
			return errs[0]
		}
		return nil
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8 {
		for i := 0; i < v.Len(); i++ {
			if err := c.check(v.Index(i)); err != nil {
				return err
			}
		}
		return nil
	}
	return c.check(v)
}

func (c *leafCheck) check(v reflect.Value) error {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch c.t.Kind {
	case yang.Yunion:
		var first error
		for _, m := range c.members {
			err := m.check(v)
			if err == nil {
				return nil
			}
			if first == nil {
				first = err
			}
		}
		if first == nil {
			first = fmt.Errorf("no member type of the union accepts it")
		}
		return first
	case yang.Ystring:
		if v.Kind() != reflect.String {
			return fmt.Errorf("not a string")
		}
		s := v.String()
		if len(c.t.Length) > 0 {
			n := uint64(utf8.RuneCountInString(s))
			if !c.t.Length.Contains(yang.YangRange{{Min: yang.FromUint(n), Max: yang.FromUint(n)}}) {
				return fmt.Errorf("length %d is outside %v", n, c.t.Length)
			}
		}
		for _, re := range c.patterns {
			if !re.MatchString(s) {
				return fmt.Errorf("%q does not match the pattern %s", s, re)
			}
		}
	case yang.Yint8, yang.Yint16, yang.Yint32, yang.Yint64:
		if len(c.t.Range) > 0 && v.CanInt() {
			n := yang.FromInt(v.Int())
			if !c.t.Range.Contains(yang.YangRange{{Min: n, Max: n}}) {
				return fmt.Errorf("value %d is outside the range %v", v.Int(), c.t.Range)
			}
		}
	case yang.Yuint8, yang.Yuint16, yang.Yuint32, yang.Yuint64:
		if len(c.t.Range) > 0 && v.CanUint() {
			n := yang.FromUint(v.Uint())
			if !c.t.Range.Contains(yang.YangRange{{Min: n, Max: n}}) {
				return fmt.Errorf("value %d is outside the range %v", v.Uint(), c.t.Range)
			}
		}
	}
	return nil
}
