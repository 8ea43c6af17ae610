package yang

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/openconfig/goyang/pkg/yang"
)

// dumpTree writes what the codecs read of a schema tree: every node's
// path, kind, config, key, defaults, list bounds, presence and type,
// leafref targets resolved by resolve.
func dumpTree(b *strings.Builder, e *yang.Entry, resolve func(*yang.Entry, string) *yang.Entry) {
	var typ func(e *yang.Entry, t *yang.YangType, depth int)
	typ = func(e *yang.Entry, t *yang.YangType, depth int) {
		if t == nil || depth > 16 {
			return
		}
		fmt.Fprintf(b, " %s/%v/%d/%v/%v", t.Name, t.Kind, t.FractionDigits, t.Range, t.Length)
		switch t.Kind {
		case yang.Yleafref:
			target := resolve(e, t.Path)
			if target == nil {
				fmt.Fprintf(b, " ->(%s unresolved)", t.Path)
				return
			}
			fmt.Fprintf(b, " ->%s", target.Path())
			typ(target, target.Type, depth+1)
		case yang.Yunion:
			for _, m := range t.Type {
				typ(e, m, depth+1)
			}
		}
	}
	fmt.Fprintf(b, "%s %v %v key=%q def=%v ro=%v", e.Path(), e.Kind, e.Config, e.Key, e.Default, e.ReadOnly())
	if e.ListAttr != nil {
		fmt.Fprintf(b, " list=%d..%d", e.ListAttr.MinElements, e.ListAttr.MaxElements)
	}
	if e.Node != nil {
		fmt.Fprintf(b, " node=%s", e.Node.Kind())
	}
	typ(e, e.Type, 0)
	b.WriteString("\n")
	names := make([]string, 0, len(e.Dir))
	for n := range e.Dir {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		dumpTree(b, e.Dir[n], resolve)
	}
}

// Releasing goyang's cache and the import-only trees after the load
// changes nothing the schema's users read: the library, every implemented
// module's tree (deviations applied), and every leafref's target, which
// goyang's Find resolves across modules from its cache on an uncut load.
func TestReleaseKeepsLibraryTreesAndLeafrefTargets(t *testing.T) {
	full, err := loadFS(files, false)
	if err != nil {
		t.Fatal(err)
	}
	cut, err := loadFS(files, true)
	if err != nil {
		t.Fatal(err)
	}
	if full.ContentID() != cut.ContentID() {
		t.Errorf("content-id %s after the cut, %s before", cut.ContentID(), full.ContentID())
	}
	fl, cl := full.Library(), cut.Library()
	if len(fl) != len(cl) {
		t.Fatalf("%d modules after the cut, %d before", len(cl), len(fl))
	}
	leafrefs := 0
	for i, fm := range fl {
		cm := cl[i]
		a, b := *fm, *cm
		a.Entry, b.Entry = nil, nil
		if !reflect.DeepEqual(a, b) {
			t.Errorf("library entry of %s differs after the cut:\n%+v\n%+v", fm.Name, b, a)
		}
		if !fm.Implemented {
			if cm.Entry != nil {
				t.Errorf("import-only %s keeps its tree", cm.Name)
			}
			continue
		}
		var before, after strings.Builder
		dumpTree(&before, fm.Entry, func(e *yang.Entry, p string) *yang.Entry {
			leafrefs++
			return e.Find(p)
		})
		dumpTree(&after, cm.Entry, func(e *yang.Entry, p string) *yang.Entry {
			target, ok := cut.LeafrefTarget(e, p)
			if !ok {
				return nil
			}
			return target
		})
		if before.String() != after.String() {
			t.Errorf("tree of %s differs after the cut:\n%s\nbefore:\n%s", fm.Name, after.String(), before.String())
		}
		if strings.Contains(after.String(), "unresolved") {
			t.Errorf("%s has a leafref that does not resolve:\n%s", fm.Name, after.String())
		}
	}
	if leafrefs == 0 {
		t.Error("no leafref compared")
	}
}

// A leafref into another module resolves to that module's tree as
// deviated (RFC 7950 §7.20.3), also after the cut has dropped the target
// module's tree (it is import-only) and goyang's cache.
func TestLeafrefIntoAnotherModuleSeesItsDeviations(t *testing.T) {
	fsys := fstest.MapFS{
		"a.yang": {Data: []byte(`module a { namespace "urn:a"; prefix a; import b { prefix b; }
  container c { leaf r { type leafref { path "/b:top/b:x"; } } } }`)},
		"ietf/b@2020-01-01.yang": {Data: []byte(`module b { namespace "urn:b"; prefix b; revision 2020-01-01;
  container top { leaf x { type string; } } }`)},
		"views/d.yang": {Data: []byte(`module d { namespace "urn:d"; prefix d; import b { prefix b; }
  deviation "/b:top/b:x" { deviate replace { type uint8; } } }`)},
	}
	s, err := LoadFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.ByName("a")
	r := a.Entry.Dir["c"].Dir["r"]
	target, ok := s.LeafrefTarget(r, r.Type.Path)
	if !ok || target.Path() != "/b/top/x" || target.Type.Kind != yang.Yuint8 {
		t.Fatalf("LeafrefTarget = %v, %v; want /b/top/x of type uint8 (deviate replace)", target.Path(), ok)
	}
	if b, _ := s.ByName("b"); b.Entry != nil {
		t.Error("import-only module b keeps its tree")
	}
}

// The trees kept after the cut are the deviated ones (RFC 7950 §7.20.3):
// not-supported nodes are absent, deviate replace is visible, and a
// leafref into another module reaches that module's tree.
func TestReleasedTreesKeepDeviations(t *testing.T) {
	s, err := loadFS(files, true)
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := s.ByName("openconfig-system")
	sys := oc.Entry.Dir["system"]
	for _, gone := range []string{"aaa", "logging", "clock", "dns", "memory"} {
		if sys.Dir[gone] != nil {
			t.Errorf("/oc-sys:system/%s is deviated not-supported but present", gone)
		}
	}
	port := sys.Find("ntp/servers/server/config/port")
	if port == nil || port.Type.Kind != yang.Yuint16 || port.Type.Range.String() != "123|1025..65535" {
		t.Errorf("server port after deviate replace = %+v", port)
	}
	if d, _ := sys.Find("ntp/config/enabled").SingleDefaultValue(); d != "true" {
		t.Errorf("ntp enabled default = %q, want true (deviate replace)", d)
	}
	ntp, _ := s.ByName("ietf-ntp")
	for _, gone := range []string{"port", "refclock-master", "access-rules", "interfaces"} {
		if ntp.Entry.Dir["ntp"].Dir[gone] != nil {
			t.Errorf("/ntp:ntp/%s is deviated not-supported but present", gone)
		}
	}
}
