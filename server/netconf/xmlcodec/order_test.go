package xmlcodec

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

const (
	nsNACM = "urn:ietf:params:xml:ns:yang:ietf-netconf-acm"
	nsYang = "urn:ietf:params:xml:ns:yang:1"
)

// nacm is a /nacm document; its elements may carry yang:insert and
// yang:key (the yang and nacm prefixes are bound).
func nacm(inner string) string {
	return `<nacm xmlns="` + nsNACM + `" xmlns:nacm="` + nsNACM + `" xmlns:yang="` + nsYang + `">` + inner + `</nacm>`
}

// rl is a rule-list entry named name with attributes attrs and rules.
func rl(name, attrs string, rules ...string) string {
	return `<rule-list` + attrs + `><name>` + name + `</name>` + strings.Join(rules, "") + `</rule-list>`
}

// rule is a rule named name that permits everything, with attributes attrs.
func rule(name, attrs string) string {
	return `<rule` + attrs + `><name>` + name + `</name><action>permit</action></rule>`
}

var nameRe = regexp.MustCompile(`<(rule-list|rule)><name>([^<]*)</name>`)

// order is the sequence of rule-list and rule names in XML text, as
// "list" and "list/rule" (the order the encoder wrote them in).
func order(x string) []string {
	var out []string
	list := ""
	for _, m := range nameRe.FindAllStringSubmatch(x, -1) {
		if m[1] == "rule-list" {
			list = m[2]
			out = append(out, list)
			continue
		}
		out = append(out, list+"/"+m[2])
	}
	return out
}

// RFC 7950 §7.7.7 and §7.8.6: an ordered-by user list keeps the order
// the client gave; edit-config's insert attribute places a new entry or
// moves an existing one; "key" names the entry for before and after.
func TestOrderedByUserEditRFC7950(t *testing.T) {
	start := nacm(rl("z-deny", "", rule("r2", ""), rule("r1", "")) + rl("m-noc", "") + rl("a-permit", ""))
	startOrder := []string{"z-deny", "z-deny/r2", "z-deny/r1", "m-noc", "a-permit"}
	cases := []struct {
		name     string
		start    string
		edit     string
		defOp    Op
		errOpt   ErrorOption
		want     []string // rule-lists and rules in order after the edit
		wantTags []rpcerror.Tag
		wantPath string
		wantInfo string
		wantApp  string
	}{
		{name: "RFC7950 7.7.7 entries are kept in the order of the request, not sorted by key",
			start: "", edit: start, want: startOrder},
		{name: "RFC7950 7.8.6 create without insert goes last",
			start: start, edit: nacm(rl("b-new", ` operation="create"`)), want: append(slices.Clone(startOrder), "b-new")},
		{name: "RFC7950 7.8.6 merge of a new entry without insert goes last",
			start: start, edit: nacm(rl("b-new", ``)), want: append(slices.Clone(startOrder), "b-new")},
		{name: "RFC7950 7.8.6 insert first",
			start: start, edit: nacm(rl("b-new", ` yang:insert="first"`)), want: append([]string{"b-new"}, startOrder...)},
		{name: "RFC7950 7.8.6 insert last",
			start: start, edit: nacm(rl("b-new", ` operation="create" yang:insert="last"`)), want: append(slices.Clone(startOrder), "b-new")},
		{name: "RFC7950 7.8.6 insert before the entry key names",
			start: start, edit: nacm(rl("b-new", ` yang:insert="before" yang:key="[nacm:name='m-noc']"`)),
			want: []string{"z-deny", "z-deny/r2", "z-deny/r1", "b-new", "m-noc", "a-permit"}},
		{name: "RFC7950 7.8.6 insert after the entry key names",
			start: start, edit: nacm(rl("b-new", ` yang:insert="after" yang:key="[nacm:name='m-noc']"`)),
			want: []string{"z-deny", "z-deny/r2", "z-deny/r1", "m-noc", "b-new", "a-permit"}},
		{name: "RFC7950 9.13 a key predicate may use double quotes and no prefix",
			start: start, edit: nacm(rl("b-new", ` yang:insert="after" yang:key='[ name = "a-permit" ]'`)),
			want: append(slices.Clone(startOrder), "b-new")},
		{name: "RFC7950 7.8.6 merge moves an existing entry first, keeping its content",
			start: start, edit: nacm(rl("a-permit", ` yang:insert="first"`)),
			want: []string{"a-permit", "z-deny", "z-deny/r2", "z-deny/r1", "m-noc"}},
		{name: "RFC7950 7.8.6 merge moves an existing entry after another",
			start: start, edit: nacm(rl("z-deny", ` yang:insert="after" yang:key="[nacm:name='a-permit']"`)),
			want: []string{"m-noc", "a-permit", "z-deny", "z-deny/r2", "z-deny/r1"}},
		{name: "RFC7950 7.8.6 replace moves an existing entry and replaces its content",
			start: start, edit: nacm(rl("z-deny", ` operation="replace" yang:insert="last"`, rule("r9", ""))),
			want: []string{"m-noc", "a-permit", "z-deny", "z-deny/r9"}},
		{name: "RFC7950 7.8.6 replace without insert keeps the entry in its place",
			start: start, edit: nacm(rl("m-noc", ` operation="replace"`, rule("r7", ""))),
			want: []string{"z-deny", "z-deny/r2", "z-deny/r1", "m-noc", "m-noc/r7", "a-permit"}},
		{name: "RFC7950 7.8.6 merge without insert leaves an existing entry in its place",
			start: start, edit: nacm(rl("z-deny", ``, rule("r0", ""))),
			want: []string{"z-deny", "z-deny/r2", "z-deny/r1", "z-deny/r0", "m-noc", "a-permit"}},
		{name: "RFC7950 7.8.6 rules of a rule-list are placed the same way",
			start: start, edit: nacm(rl("z-deny", ``, rule("r0", ` yang:insert="before" yang:key="[nacm:name='r1']"`), rule("r2", ` yang:insert="last"`))),
			want: []string{"z-deny", "z-deny/r0", "z-deny/r1", "z-deny/r2", "m-noc", "a-permit"}},
		{name: "RFC7950 7.8.6 several entries of one request are placed one at a time in document order",
			start: start, edit: nacm(rl("c", ` yang:insert="first"`) + rl("d", ` yang:insert="first"`) + rl("e", ` yang:insert="after" yang:key="[nacm:name='d']"`)),
			want: append([]string{"d", "e", "c"}, startOrder...)},
		{name: "RFC7950 7.8.6 a replace covering the whole list takes the request's order",
			start: start, edit: `<nacm xmlns="` + nsNACM + `" operation="replace">` + rl("a-permit", "") + rl("z-deny", "") + `</nacm>`,
			want: []string{"a-permit", "z-deny"}},
		{name: "RFC7950 7.8.6 delete keeps the order of the others",
			start: start, edit: nacm(rl("m-noc", ` operation="delete"`)),
			want: []string{"z-deny", "z-deny/r2", "z-deny/r1", "a-permit"}},
		{name: "RFC7950 15.8 before an entry that does not exist is bad-attribute missing-instance",
			start: start, edit: nacm(rl("b-new", ` yang:insert="before" yang:key="[nacm:name='nosuch']"`)),
			wantTags: []rpcerror.Tag{rpcerror.TagBadAttribute}, wantPath: "/nacm:nacm/nacm:rule-list[nacm:name='b-new']",
			wantInfo: "bad-attribute=key", wantApp: "missing-instance"},
		{name: "RFC7950 15.8 moving an entry after one that does not exist is bad-attribute",
			start: start, edit: nacm(rl("z-deny", ` yang:insert="after" yang:key="[nacm:name='nosuch']"`)),
			wantTags: []rpcerror.Tag{rpcerror.TagBadAttribute}, wantApp: "missing-instance"},
		{name: "RFC6241 7.2 continue-on-error: the entry with a missing anchor is skipped, the rest applied",
			start: start, errOpt: ContinueOnError,
			edit:     nacm(rl("b-new", ` yang:insert="after" yang:key="[nacm:name='nosuch']"`) + rl("c-new", ` yang:insert="first"`)),
			wantTags: []rpcerror.Tag{rpcerror.TagBadAttribute}, want: append([]string{"c-new"}, startOrder...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &gen.Device{}
			if c.start != "" {
				d = mustDecode(t, c.start)
			}
			before := encodeString(t, d, EncodeOptions{})
			tree, err := ParseConfig([]byte(c.edit), Limits{})
			if err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			err = tree.Apply(d, c.defOp, c.errOpt)
			checkErrs(t, err, c.wantTags, c.wantPath, c.wantInfo)
			if c.wantApp != "" {
				if es := rpcerror.All(err); es[0].AppTag != c.wantApp {
					t.Errorf("error-app-tag %q, want %q", es[0].AppTag, c.wantApp)
				}
			}
			got := encodeString(t, d, EncodeOptions{})
			if len(c.wantTags) > 0 && c.errOpt != ContinueOnError {
				// The insert is judged before its entry is touched.
				if got != before {
					t.Errorf("a refused insert changed the tree:\n got %s\nwas %s", got, before)
				}
				return
			}
			if o := order(got); !slices.Equal(o, c.want) {
				t.Errorf("order after the edit %v, want %v\n%s", o, c.want, got)
			}
		})
	}
}

// RFC 7950 §7.8.6 and RFC 6241 Appendix A: an insert attribute that is not
// first/last/before/after, before or after without key, key without
// insert, a key that does not name an entry of the list, and insert on a
// list the server orders, are refused before anything is applied.
func TestInsertAttributeErrorsRFC7950(t *testing.T) {
	p := `/nacm:nacm/nacm:rule-list[nacm:name='b']`
	for _, c := range []struct {
		name, edit string
		tag        rpcerror.Tag
		info       string
	}{
		{"RFC7950 7.8.6 insert takes first, last, before or after", nacm(rl("b", ` yang:insert="middle"`)), rpcerror.TagBadAttribute, "bad-attribute=insert"},
		{"RFC7950 7.8.6 before needs key", nacm(rl("b", ` yang:insert="before"`)), rpcerror.TagMissingAttribute, "bad-attribute=key"},
		{"RFC7950 7.8.6 after needs key", nacm(rl("b", ` yang:insert="after"`)), rpcerror.TagMissingAttribute, "bad-attribute=key"},
		{"RFC7950 7.8.6 key needs insert", nacm(rl("b", ` yang:key="[nacm:name='a']"`)), rpcerror.TagMissingAttribute, "bad-attribute=insert"},
		{"RFC7950 7.8.6 key goes with before or after only", nacm(rl("b", ` yang:insert="first" yang:key="[nacm:name='a']"`)), rpcerror.TagBadAttribute, "bad-attribute=key"},
		{"RFC7950 9.13 key is key predicates", nacm(rl("b", ` yang:insert="before" yang:key="a"`)), rpcerror.TagBadAttribute, "bad-attribute=key"},
		{"RFC7950 9.13 key names the list's key leaf", nacm(rl("b", ` yang:insert="before" yang:key="[nacm:group='a']"`)), rpcerror.TagBadAttribute, "bad-attribute=key"},
		{"RFC7950 9.13 key's prefix is the list's module", nacm(rl("b", ` yang:insert="before" yang:key="[yang:name='a']"`)), rpcerror.TagBadAttribute, "bad-attribute=key"},
		{"RFC7950 9.13 key's quote is closed", nacm(rl("b", ` yang:insert="before" yang:key="[nacm:name='a]"`)), rpcerror.TagBadAttribute, "bad-attribute=key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(c.edit), Limits{})
			checkErrs(t, err, []rpcerror.Tag{c.tag}, p, c.info)
		})
	}
	t.Run("RFC7950 7.8.6 insert is for ordered-by user lists only", func(t *testing.T) {
		edit := `<ntp xmlns="` + nsNTP + `" xmlns:yang="` + nsYang + `"><unicast-peer yang:insert="first"><address>10.0.0.1</address><vpn-instance>_public_</vpn-instance></unicast-peer></ntp>`
		_, err := ParseConfig([]byte(edit), Limits{})
		checkErrs(t, err, []rpcerror.Tag{rpcerror.TagBadAttribute}, "", "bad-attribute=insert")
	})
}

// RFC 7950 §7.7.7: every reply writes an ordered-by user list in its
// order, whatever selects it: no filter, a subtree filter selecting the
// list, one selecting entries by a content match, an XPath filter.
func TestEncodeKeepsUserOrderThroughFilters(t *testing.T) {
	d := mustDecode(t, nacm(rl("z-deny", "", rule("r2", ""), rule("r1", ""))+rl("m-noc", "", rule("b", ""), rule("a", ""))+rl("a-permit", "")))
	all := []string{"z-deny", "z-deny/r2", "z-deny/r1", "m-noc", "m-noc/b", "m-noc/a", "a-permit"}
	for _, c := range []struct {
		name string
		opt  EncodeOptions
		want []string
	}{
		{"no filter", EncodeOptions{}, all},
		{"config only", EncodeOptions{ConfigOnly: true}, all},
		{"RFC6241 6.4.3 subtree selection node", EncodeOptions{Subtree: []byte(`<nacm xmlns="` + nsNACM + `"><rule-list/></nacm>`)}, all},
		{"RFC6241 6.4.5 subtree content match on two keys", EncodeOptions{Subtree: []byte(`<nacm xmlns="` + nsNACM + `"><rule-list><name>a-permit</name></rule-list><rule-list><name>z-deny</name></rule-list></nacm>`)},
			[]string{"z-deny", "z-deny/r2", "z-deny/r1", "a-permit"}},
		{"RFC6241 6.4.6 subtree: one leaf of every rule", EncodeOptions{Subtree: []byte(`<nacm xmlns="` + nsNACM + `"><rule-list><rule><name/></rule></rule-list></nacm>`)},
			[]string{"z-deny", "z-deny/r2", "z-deny/r1", "m-noc", "m-noc/b", "m-noc/a"}},
		{"RFC6241 8.9 XPath filter on the list", EncodeOptions{XPath: "/nacm:nacm/nacm:rule-list", Namespaces: map[string]string{"nacm": nsNACM}}, all},
		{"RFC6241 8.9 XPath filter on the rules", EncodeOptions{XPath: "/nacm:nacm/nacm:rule-list/nacm:rule", Namespaces: map[string]string{"nacm": nsNACM}},
			[]string{"z-deny", "z-deny/r2", "z-deny/r1", "m-noc", "m-noc/b", "m-noc/a"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := order(encodeString(t, d, c.opt)); !slices.Equal(got, c.want) {
				t.Errorf("order %v, want %v", got, c.want)
			}
		})
	}
}

// An ordered-by user list written by the codec validates (libyang keeps
// the order of user-ordered lists as given).
func TestOrderedListOutputValidatesWithYanglint(t *testing.T) {
	d := mustDecode(t, nacm(rl("z-deny", "", rule("r2", ""), rule("r1", ""))+rl("a-permit", "")))
	yanglint(t, "config", encodeString(t, d, EncodeOptions{ConfigOnly: true}))
}
