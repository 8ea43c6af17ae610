package xmlcodec

import (
	"reflect"
	"testing"

	goyang "github.com/openconfig/goyang/pkg/yang"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

func TestParseFormatValues(t *testing.T) {
	dec := &ltype{kind: goyang.Ydecimal64, fd: 6}
	f64 := reflect.TypeOf(float64(0))
	u8 := reflect.TypeOf(uint8(0))
	i8 := reflect.TypeOf(int8(0))
	str := reflect.TypeOf("")
	cases := []struct {
		name string
		lt   *ltype
		t    reflect.Type
		in   string
		ok   bool
		out  string // canonical form when ok
	}{
		{"RFC7950 9.3.2 decimal64", dec, f64, "1.5", true, "1.5"},
		{"RFC7950 9.3.2 decimal64 canonical form keeps one fraction digit", dec, f64, "+2", true, "2.0"},
		{"RFC7950 9.3.2 decimal64 smallest step", dec, f64, "-0.000001", true, "-0.000001"},
		{"RFC7950 9.3.2 decimal64 more fraction digits than allowed", dec, f64, "1.1234567", false, ""},
		{"RFC7950 9.3.2 decimal64 needs a digit before the point", dec, f64, ".5", false, ""},
		{"RFC7950 9.3.2 decimal64 needs a digit after the point", dec, f64, "1.", false, ""},
		{"RFC7950 9.3.2 decimal64 has no exponent", dec, f64, "1e5", false, ""},
		{"RFC7950 9.3.2 decimal64 range with 6 fraction digits", dec, f64, "9999999999999.0", false, ""},
		{"RFC7950 9.3.2 decimal64 text around is trimmed", dec, f64, " 7.25\n", true, "7.25"},
		{"RFC7950 9.2.1 integer with a plus sign", &ltype{kind: goyang.Yuint8}, u8, "+5", true, "5"},
		{"RFC7950 9.2.1 unsigned integer refuses a minus sign", &ltype{kind: goyang.Yuint8}, u8, "-1", false, ""},
		{"RFC7950 9.2.1 integers are decimal", &ltype{kind: goyang.Yuint8}, u8, "0x10", false, ""},
		{"RFC7950 9.2 uint8 holds 0..255", &ltype{kind: goyang.Yuint8}, u8, "256", false, ""},
		{"RFC7950 9.2 int8 holds -128", &ltype{kind: goyang.Yint8}, i8, "-128", true, "-128"},
		{"RFC7950 9.2 int8 canonical form has no leading zeros", &ltype{kind: goyang.Yint8}, i8, "007", true, "7"},
		{"RFC7950 9.5.1 boolean true", &ltype{kind: goyang.Ybool}, reflect.TypeOf(false), "true", true, "true"},
		{"RFC7950 9.5.1 boolean is lower case", &ltype{kind: goyang.Ybool}, reflect.TypeOf(false), "True", false, ""},
		{"RFC7950 9.11 empty has no content", &ltype{kind: goyang.Yempty}, reflect.TypeOf(gen.YANGEmpty(false)), "", true, ""},
		{"RFC7950 9.11 empty with content", &ltype{kind: goyang.Yempty}, reflect.TypeOf(gen.YANGEmpty(false)), "x", false, ""},
		{"RFC7950 9.8 binary is base64", &ltype{kind: goyang.Ybinary}, reflect.TypeOf(gen.Binary(nil)), "aGVs\nbG8=", true, "aGVsbG8="},
		{"RFC7950 9.8 binary that is not base64", &ltype{kind: goyang.Ybinary}, reflect.TypeOf(gen.Binary(nil)), "!!", false, ""},
		{"RFC7950 9.4 string is kept as it is", &ltype{kind: goyang.Ystring}, str, " a b ", true, " a b "},
		{"RFC7950 9.12 union into one Go type: first member that fits", &ltype{kind: goyang.Yunion, members: []*ltype{{kind: goyang.Yuint8}, {kind: goyang.Ystring}}}, str, "07", true, "7"},
		{"RFC7950 9.12 union into one Go type: a later member", &ltype{kind: goyang.Yunion, members: []*ltype{{kind: goyang.Yuint8}, {kind: goyang.Ystring}}}, str, "x", true, "x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := c.lt.parse(c.in, c.t, nil)
			if (err == nil) != c.ok {
				t.Fatalf("parse(%q) error %v, want ok=%v", c.in, err, c.ok)
			}
			if c.ok {
				if got := string(c.lt.format(nil, v)); got != c.out {
					t.Errorf("format = %q, want %q", got, c.out)
				}
			}
		})
	}
	if got := string(dec.format(nil, reflect.ValueOf(-0.0000004))); got != "0.0" {
		t.Errorf("a negative value that rounds to zero formats as %q", got)
	}
}

// TestUnionInterface: a union that ygot keeps as an interface holds the
// wrapper type of the member that accepted the value.
func TestUnionInterface(t *testing.T) {
	lt := &ltype{kind: goyang.Yunion, members: []*ltype{
		{kind: goyang.Yuint8, wrap: reflect.TypeOf(gen.UnionUint8(0))},
		{kind: goyang.Ystring, wrap: reflect.TypeOf(gen.UnionString(""))}}}
	iface := reflect.TypeOf((*any)(nil)).Elem()
	v, err := lt.parse("5", iface, nil)
	if err != nil || v.Elem().Type() != reflect.TypeOf(gen.UnionUint8(0)) {
		t.Fatalf("parse 5: %v %v", v, err)
	}
	if got := string(lt.format(nil, v)); got != "5" {
		t.Errorf("format = %q", got)
	}
	v, err = lt.parse("ntp", iface, nil)
	if err != nil || v.Elem().Interface() != gen.UnionString("ntp") {
		t.Fatalf("parse ntp: %v %v", v, err)
	}
}

// TestIdentityref: prefixes resolve through the namespaces in scope
// (RFC 7950 §9.10.3), and output declares the prefix it uses.
func TestIdentityref(t *testing.T) {
	const ns = "urn:example:crypto"
	lt := &ltype{kind: goyang.Yidentityref, enum: &enumMaps{
		byQ:    map[qname]int64{{ns, "aes"}: 1, {ns, "md5"}: 2},
		qnames: map[int64]qname{1: {ns, "aes"}, 2: {ns, "md5"}},
		prefix: map[string]string{ns: "cr"},
	}}
	i64 := reflect.TypeOf(int64(0))
	sc := &scope{decl: map[string]string{"x": ns, "": ns}}
	for _, c := range []struct {
		in   string
		want int64
	}{{"x:aes", 1}, {"md5", 2}, {"y:aes", 0}, {"x:des", 0}} {
		v, err := lt.parse(c.in, i64, sc)
		if c.want == 0 {
			if err == nil {
				t.Errorf("%s accepted", c.in)
			}
			continue
		}
		if err != nil || v.Int() != c.want {
			t.Errorf("%s = %v, %v", c.in, v, err)
		}
	}
	v := reflect.ValueOf(int64(1))
	if got := string(lt.format(nil, v)); got != "cr:aes" {
		t.Errorf("format = %q", got)
	}
	if gotNS, p, ok := lt.identityNS(v); !ok || gotNS != ns || p != "cr" {
		t.Errorf("identityNS = %q %q %v", gotNS, p, ok)
	}
	if _, err := lt.parse("x:aes", i64, nil); err == nil {
		t.Error("a prefix without any namespaces in scope was accepted")
	}
}

// TestLeafListOperations: RFC 6241 §7.2 operations on leaf-list entries,
// on a leaf-list field of our own (the NTP model has none today).
func TestLeafListOperations(t *testing.T) {
	sn := &snode{name: "server", prefix: "x", kind: kLeafList, lt: &ltype{kind: goyang.Ystring}, elemType: reflect.TypeOf("")}
	type holder struct{ L []string }
	cases := []struct {
		name  string
		start []string
		op    Op
		val   string
		want  []string
		tag   rpcerror.Tag
	}{
		{"RFC6241 7.2 merge adds an entry", []string{"a"}, OpMerge, "b", []string{"a", "b"}, ""},
		{"RFC6241 7.2 merge of an existing entry changes nothing", []string{"a"}, OpMerge, "a", []string{"a"}, ""},
		{"RFC6241 7.2 create of an existing entry is data-exists", []string{"a"}, OpCreate, "a", []string{"a"}, rpcerror.TagDataExists},
		{"RFC6241 7.2 create adds a new entry", nil, OpCreate, "a", []string{"a"}, ""},
		{"RFC6241 7.2 delete removes the entry", []string{"a", "b", "c"}, OpDelete, "b", []string{"a", "c"}, ""},
		{"RFC6241 7.2 delete of the last entry leaves no empty list", []string{"a"}, OpDelete, "a", nil, ""},
		{"RFC6241 7.2 delete of a missing entry is data-missing", []string{"a"}, OpDelete, "b", []string{"a"}, rpcerror.TagDataMissing},
		{"RFC6241 7.2 remove of a missing entry is ignored", []string{"a"}, OpRemove, "b", []string{"a"}, ""},
		{"RFC6241 7.2 none on a missing entry is data-missing", []string{"a"}, OpNone, "b", []string{"a"}, rpcerror.TagDataMissing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := holder{L: append([]string(nil), c.start...)}
			a := &applier{}
			a.leafListEntry(reflect.ValueOf(&h).Elem().Field(0), &enode{s: sn, val: reflect.ValueOf(c.val), path: "/x:server"}, c.op)
			if !reflect.DeepEqual(h.L, c.want) {
				t.Errorf("leaf-list = %q, want %q", h.L, c.want)
			}
			if c.tag == "" && len(a.errs) > 0 || c.tag != "" && (len(a.errs) != 1 || a.errs[0].Tag != c.tag) {
				t.Errorf("errors %v, want %q", a.errs, c.tag)
			}
		})
	}
}

// TestSchemaTable checks the precomputed table against the YANG modules.
func TestSchemaTable(t *testing.T) {
	s, err := Native()
	if err != nil {
		t.Fatal(err)
	}
	ntpN := s.root.child(nsNTP, "ntp")
	if ntpN == nil || ntpN.prefix != "ntpa" || !ntpN.config {
		t.Fatalf("ntp = %+v", ntpN)
	}
	var names []string
	for _, c := range ntpN.children {
		names = append(names, c.name)
	}
	// Schema order (RFC 7950 §7.8.5 for the output), not map order.
	if want := []string{"unsync", "source-interface", "unicast-peer", "unicast-server", "allow-unauthenticated-passive-peers", "authentication", "status", "statistics", "sessions"}; !reflect.DeepEqual(names, want) {
		t.Errorf("ntp children %v, want %v", names, want)
	}
	p := ntpN.child(nsNTP, "unicast-peer")
	if p.children[0].name != "address" || p.children[1].name != "vpn-instance" || !p.children[1].isKey {
		t.Errorf("keys are not first: %v %v", p.children[0].name, p.children[1].name)
	}
	if ntpN.child(nsNTP, "status").config || ntpN.child(nsNTP, "sessions").child(nsNTP, "session").config {
		t.Error("state data marked config")
	}
	if d := p.child(nsNTP, "minpoll").defaults; len(d) != 1 || d[0] != "6" {
		t.Errorf("minpoll defaults %v", d)
	}
	if s.root.child(nsSys, "system").child(nsSys, "sysname").defaults[0] != "ntpagent" {
		t.Error("sysname default")
	}
	// Prefixes in a module's own values (identityref defaults) resolve
	// through the module's prefix and imports.
	r := moduleResolver{ntpN.entry.Node}
	if ns, ok := r.lookup("ntpa"); !ok || ns != nsNTP {
		t.Errorf("lookup(ntpa) = %q %v", ns, ok)
	}
	if ns, ok := r.lookup(""); !ok || ns != nsNTP {
		t.Errorf("lookup() = %q %v", ns, ok)
	}
	if _, ok := r.lookup("ntps"); ok {
		t.Error("a prefix the module does not import resolved")
	}
}

// TestLeafListEncode: leaf-list entries are written one element each, in
// their order; with report-all an empty leaf-list shows its defaults
// (RFC 7950 §7.7.2). The NTP model has no leaf-list today.
func TestLeafListEncode(t *testing.T) {
	sn := &snode{name: "server", ns: "urn:example:x", kind: kLeafList, lt: &ltype{kind: goyang.Ystring}, elemType: reflect.TypeOf(""),
		defaults: []string{"a&b", "c"}, defaultBytes: [][]byte{[]byte("a&b"), []byte("c")}}
	sn.initTags()
	x := &xmlWriter{}
	w := walker{sink: x}
	w.walkLeafList(sn, reflect.ValueOf([]string{"z", "y"}))
	if got := string(x.buf); got != `<server xmlns="urn:example:x">z</server><server xmlns="urn:example:x">y</server>` {
		t.Errorf("got %s", got)
	}
	x.buf = nil
	w.mode = WDReportAll
	w.walkLeafList(sn, reflect.ValueOf([]string(nil)))
	if got := string(x.buf); got != `<server xmlns="urn:example:x">a&amp;b</server><server xmlns="urn:example:x">c</server>` {
		t.Errorf("got %s", got)
	}
}

// TestSchemaTableCoversModules: every data node of the YANG modules has a
// generated field (a stale gen/ would otherwise drop nodes silently).
func TestSchemaTableCoversModules(t *testing.T) {
	s, err := Native()
	if err != nil {
		t.Fatal(err)
	}
	var countYANG func(e *goyang.Entry) int
	countYANG = func(e *goyang.Entry) int {
		n := 0
		for _, c := range e.Dir {
			if c.RPC != nil || c.Kind == goyang.NotificationEntry {
				continue
			}
			if c.IsChoice() || c.IsCase() { // schema nodes only (RFC 7950 §7.9)
				n += countYANG(c)
				continue
			}
			n += 1 + countYANG(c)
		}
		return n
	}
	var countTable func(n *snode) int
	countTable = func(n *snode) int {
		c := 0
		for _, k := range n.children {
			c += 1 + countTable(k)
		}
		return c
	}
	want := 0
	for _, m := range s.ys.Modules() {
		want += countYANG(m.Entry)
	}
	if got := countTable(s.root); got != want || want < 80 {
		t.Errorf("schema table has %d nodes, the modules %d", got, want)
	}
}
