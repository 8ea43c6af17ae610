package yanglist

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
)

func ruleLists(names ...string) *gen.IETFNetconfAcm_Nacm {
	n := &gen.IETFNetconfAcm_Nacm{}
	for _, name := range names {
		if _, err := n.AppendNewRuleList(name); err != nil {
			panic(err)
		}
	}
	return n
}

func field(n *gen.IETFNetconfAcm_Nacm) (reflect.Value, Type) {
	f := reflect.ValueOf(n).Elem().FieldByName("RuleList")
	lt, err := TypeOf(f.Type())
	if err != nil {
		panic(err)
	}
	return f, lt
}

func entry(name string) reflect.Value {
	return reflect.ValueOf(&gen.IETFNetconfAcm_Nacm_RuleList{Name: &name})
}

// RFC 7950 §7.8.6: insert first, last, before and after place a new entry,
// and move an existing one; a list without an insert keeps its order.
func TestInsertPlacesEntriesRFC7950(t *testing.T) {
	key := reflect.ValueOf
	for _, tc := range []struct {
		name   string
		start  []string
		k      string
		where  Where
		anchor string
		want   []string
	}{
		{"§7.8.6 new entry without insert goes last", []string{"b", "a"}, "c", Keep, "", []string{"b", "a", "c"}},
		{"§7.8.6 insert first", []string{"b", "a"}, "c", First, "", []string{"c", "b", "a"}},
		{"§7.8.6 insert last", []string{"b", "a"}, "c", Last, "", []string{"b", "a", "c"}},
		{"§7.8.6 insert before", []string{"b", "a"}, "c", Before, "a", []string{"b", "c", "a"}},
		{"§7.8.6 insert after", []string{"b", "a"}, "c", After, "b", []string{"b", "c", "a"}},
		{"§7.8.6 move existing first", []string{"x", "y", "z"}, "z", First, "", []string{"z", "x", "y"}},
		{"§7.8.6 move existing last", []string{"x", "y", "z"}, "x", Last, "", []string{"y", "z", "x"}},
		{"§7.8.6 move existing after", []string{"x", "y", "z"}, "x", After, "z", []string{"y", "z", "x"}},
		{"§7.8.6 move existing before", []string{"x", "y", "z"}, "z", Before, "x", []string{"z", "x", "y"}},
		{"replace of an existing entry keeps its place", []string{"x", "y", "z"}, "y", Keep, "", []string{"x", "y", "z"}},
		{"before itself leaves it in place", []string{"x", "y", "z"}, "y", Before, "y", []string{"x", "y", "z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := ruleLists(tc.start...)
			old := n.RuleList
			f, lt := field(n)
			var anchor reflect.Value
			if tc.anchor != "" {
				anchor = key(tc.anchor)
			}
			e := entry(tc.k)
			if err := lt.Insert(f, key(tc.k), e, tc.where, anchor); err != nil {
				t.Fatal(err)
			}
			if got := n.RuleList.Keys(); !slices.Equal(got, tc.want) {
				t.Errorf("order %v, want %v", got, tc.want)
			}
			if n.RuleList.Get(tc.k) != e.Interface() {
				t.Errorf("the entry of %s is not the one inserted", tc.k)
			}
			if got := old.Keys(); !slices.Equal(got, tc.start) {
				t.Errorf("the list before the change became %v: ordered maps must not change in place", got)
			}
		})
	}
}

// RFC 7950 §15.8: a before/after whose entry does not exist changes nothing.
func TestInsertNextToMissingEntryChangesNothing(t *testing.T) {
	n := ruleLists("a", "b")
	f, lt := field(n)
	before := n.RuleList
	err := lt.Insert(f, reflect.ValueOf("c"), entry("c"), After, reflect.ValueOf("nosuch"))
	if !errors.Is(err, ErrNoAnchor) {
		t.Fatalf("err = %v, want ErrNoAnchor", err)
	}
	if n.RuleList != before || !slices.Equal(n.RuleList.Keys(), []string{"a", "b"}) {
		t.Errorf("list changed to %v", n.RuleList.Keys())
	}
}

// Reading an ordered map gives its order; Delete keeps the others' order
// and unsets a list left empty; Put on a Go map sets and deletes entries.
func TestReadAndDeleteKeepOrder(t *testing.T) {
	n := ruleLists("z", "a", "m")
	f, lt := field(n)
	if !lt.Ordered || lt.Len(f) != 3 || lt.Entry != reflect.TypeOf(gen.IETFNetconfAcm_Nacm_RuleList{}) || lt.Key.Kind() != reflect.String {
		t.Fatalf("TypeOf = %+v, Len %d", lt, lt.Len(f))
	}
	var seen []string
	lt.Range(f, func(k, e reflect.Value) bool {
		seen = append(seen, k.String())
		return true
	})
	if !slices.Equal(seen, []string{"z", "a", "m"}) {
		t.Errorf("Range order %v", seen)
	}
	seen = nil
	lt.RangeEntries(f, func(e reflect.Value) bool {
		seen = append(seen, *e.Interface().(*gen.IETFNetconfAcm_Nacm_RuleList).Name)
		return len(seen) < 2
	})
	if !slices.Equal(seen, []string{"z", "a"}) {
		t.Errorf("RangeEntries order (stopping after two) %v", seen)
	}
	if e := lt.Get(f, reflect.ValueOf("a")); !e.IsValid() || *e.Interface().(*gen.IETFNetconfAcm_Nacm_RuleList).Name != "a" {
		t.Errorf("Get(a) = %v", e)
	}
	if lt.Get(f, reflect.ValueOf("q")).IsValid() {
		t.Error("Get of a missing key found an entry")
	}
	lt.Delete(f, reflect.ValueOf("a"))
	if got := n.RuleList.Keys(); !slices.Equal(got, []string{"z", "m"}) {
		t.Errorf("after Delete: %v", got)
	}
	lt.Delete(f, reflect.ValueOf("z"))
	lt.Delete(f, reflect.ValueOf("m"))
	if n.RuleList != nil {
		t.Errorf("an emptied list is %v, want nil", n.RuleList)
	}

	g := &gen.IETFNetconfAcm_Nacm_Groups{}
	gf := reflect.ValueOf(g).Elem().FieldByName("Group")
	gt, err := TypeOf(gf.Type())
	if err != nil || gt.Ordered {
		t.Fatalf("groups: %+v %v", gt, err)
	}
	name := "ops"
	gt.Put(gf, reflect.ValueOf(name), reflect.ValueOf(&gen.IETFNetconfAcm_Nacm_Groups_Group{Name: &name}))
	if gt.Len(gf) != 1 || g.Group["ops"] == nil {
		t.Fatalf("Put on a map: %v", g.Group)
	}
	gt.Delete(gf, reflect.ValueOf(name))
	if g.Group != nil {
		t.Errorf("an emptied map is %v, want nil", g.Group)
	}
	if _, err := TypeOf(reflect.TypeOf("")); !errors.Is(err, ErrNotList) {
		t.Errorf("TypeOf(string) = %v", err)
	}
}
