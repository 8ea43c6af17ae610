package xmlcodec

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

const (
	nsNTP = "urn:ntpagent:yang:ntpagent-ntp"
	nsSys = "urn:ntpagent:yang:ntpagent-system"
)

func ntp(inner string) string { return `<ntp xmlns="` + nsNTP + `">` + inner + `</ntp>` }
func sys(inner string) string { return `<system xmlns="` + nsSys + `">` + inner + `</system>` }
func peer(addr, inner string) string {
	return `<unicast-peer><address>` + addr + `</address><vpn-instance>_public_</vpn-instance>` + inner + `</unicast-peer>`
}
func peerOp(op, addr, inner string) string {
	return `<unicast-peer operation="` + op + `"><address>` + addr + `</address><vpn-instance>_public_</vpn-instance>` + inner + `</unicast-peer>`
}
func key(id, inner string) string {
	return `<key><key-id>` + id + `</key-id>` + inner + `</key>`
}

// ncOp is the base-namespace operation attribute for documents that bind
// the nc prefix.
const ncDecl = ` xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"`

func withNC(x string) string {
	// Bind the nc prefix on every top-level element and use it for the
	// operation attribute (RFC 6241 §7.2: the attribute is in the base
	// namespace).
	x = strings.ReplaceAll(x, `xmlns="`+nsNTP+`"`, `xmlns="`+nsNTP+`"`+ncDecl)
	x = strings.ReplaceAll(x, `xmlns="`+nsSys+`"`, `xmlns="`+nsSys+`"`+ncDecl)
	return strings.ReplaceAll(x, ` operation="`, ` nc:operation="`)
}

func mustDecode(t testing.TB, x string) *gen.Device {
	t.Helper()
	d, err := DecodeConfig([]byte(x))
	if err != nil {
		t.Fatalf("DecodeConfig(%s): %v", x, err)
	}
	return d
}

func encodeString(t testing.TB, d *gen.Device, opt EncodeOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, d, opt); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b.String()
}

// canon encodes XML config text canonically, so expectations can be
// written in any order.
func canon(t testing.TB, x string) string {
	t.Helper()
	return encodeString(t, mustDecode(t, x), EncodeOptions{})
}

type editCase struct {
	name     string // the rule, with its RFC section
	start    string
	edit     string
	defOp    Op
	errOpt   ErrorOption
	want     string         // the datastore after the edit (checked when no error, or with continue-on-error)
	wantTags []rpcerror.Tag // the errors, in order
	wantPath string         // the first error's path
	wantInfo string         // "name=value" expected among the first error's error-info
}

func TestEditConfigOperations(t *testing.T) {
	p1 := peer("10.0.0.1", `<minpoll>4</minpoll><maxpoll>8</maxpoll>`)
	p1path := `/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.0.0.1'][ntpa:vpn-instance='_public_']`
	k1 := key("1", `<mode>md5</mode><key-value>one</key-value>`)
	start := ntp(p1+`<authentication><enable>true</enable>`+k1+`</authentication>`) + sys(`<sysname>r1</sysname>`)
	cases := []editCase{
		{name: "RFC6241 7.2 merge: data is merged at the corresponding level, creating what is missing",
			start: "", edit: ntp(p1), want: ntp(p1)},
		{name: "RFC6241 7.2 default-operation defaults to merge: a leaf is changed, its siblings stay",
			start: start, edit: ntp(peer("10.0.0.1", `<minpoll>5</minpoll>`)),
			want: strings.Replace(start, `<minpoll>4</minpoll>`, `<minpoll>5</minpoll>`, 1)},
		{name: "RFC6241 7.2 merge: a new list entry is added beside the existing ones",
			start: start, edit: ntp(peer("10.0.0.2", ``)),
			want: strings.Replace(start, p1, p1+peer("10.0.0.2", ``), 1)},
		{name: "RFC6241 7.2 replace: the list entry is replaced, leaves not given are gone",
			start: start, edit: ntp(peerOp("replace", "10.0.0.1", `<preferred>true</preferred>`)),
			want: strings.Replace(start, p1, peer("10.0.0.1", `<preferred>true</preferred>`), 1)},
		{name: "RFC6241 7.2 replace: a container is replaced with what the config holds",
			start: start, edit: ntp(`<authentication operation="replace">` + key("2", `<mode>sha1</mode><key-value>two</key-value>`) + `</authentication>`),
			want: ntp(p1+`<authentication>`+key("2", `<mode>sha1</mode><key-value>two</key-value>`)+`</authentication>`) + sys(`<sysname>r1</sysname>`)},
		{name: "RFC6241 7.2 replace: created when it does not exist",
			start: "", edit: ntp(peerOp("replace", "10.0.0.3", ``)), want: ntp(peer("10.0.0.3", ``))},
		{name: "RFC6241 7.2 default-operation replace: the config completely replaces the configuration in the datastore",
			start: start, edit: ntp(peer("10.0.0.9", ``)), defOp: OpReplace,
			want: ntp(peer("10.0.0.9", ``))},
		{name: "RFC6241 7.2 operation replace: only the configuration present in <config> is affected",
			start: start, edit: `<ntp xmlns="` + nsNTP + `" operation="replace">` + peer("10.0.0.9", ``) + `</ntp>`,
			want: ntp(peer("10.0.0.9", ``)) + sys(`<sysname>r1</sysname>`)},
		{name: "RFC6241 7.2 create: added when it does not exist",
			start: start, edit: ntp(peerOp("create", "10.0.0.2", `<port>1234</port>`)),
			want: strings.Replace(start, p1, p1+peer("10.0.0.2", `<port>1234</port>`), 1)},
		{name: "RFC6241 7.2 create: an existing list entry is data-exists",
			start: start, edit: ntp(peerOp("create", "10.0.0.1", ``)),
			wantTags: []rpcerror.Tag{rpcerror.TagDataExists}, wantPath: p1path},
		{name: "RFC6241 7.2 create: an existing leaf is data-exists",
			start: start, edit: ntp(peer("10.0.0.1", `<minpoll operation="create">5</minpoll>`)),
			wantTags: []rpcerror.Tag{rpcerror.TagDataExists}, wantPath: p1path + "/ntpa:minpoll"},
		{name: "RFC6241 7.2 create: a leaf that is not set (only defaulted) is created",
			start: start, edit: ntp(peer("10.0.0.1", `<port operation="create">124</port>`)),
			want: strings.Replace(start, `<maxpoll>8</maxpoll>`, `<maxpoll>8</maxpoll><port>124</port>`, 1)},
		{name: "RFC6241 7.2 create: a non-presence container without data does not exist",
			start: ntp(p1), edit: ntp(`<authentication operation="create"><enable>true</enable></authentication>`),
			want: ntp(p1 + `<authentication><enable>true</enable></authentication>`)},
		{name: "RFC6241 7.2 create: a non-presence container with data exists",
			start: start, edit: ntp(`<authentication operation="create"><enable>true</enable></authentication>`),
			wantTags: []rpcerror.Tag{rpcerror.TagDataExists}, wantPath: "/ntpa:ntp/ntpa:authentication"},
		{name: "RFC6241 7.2 delete: an existing list entry is deleted",
			start: start, edit: ntp(peerOp("delete", "10.0.0.1", ``)),
			want: ntp(`<authentication><enable>true</enable>`+k1+`</authentication>`) + sys(`<sysname>r1</sysname>`)},
		{name: "RFC6241 7.2 delete: a missing list entry is data-missing",
			start: start, edit: ntp(peerOp("delete", "10.0.0.7", ``)),
			wantTags: []rpcerror.Tag{rpcerror.TagDataMissing}, wantPath: `/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.0.0.7'][ntpa:vpn-instance='_public_']`},
		{name: "RFC6241 7.2 delete: a missing leaf is data-missing",
			start: start, edit: ntp(peer("10.0.0.1", `<port operation="delete"/>`)),
			wantTags: []rpcerror.Tag{rpcerror.TagDataMissing}, wantPath: p1path + "/ntpa:port"},
		{name: "RFC6241 7.2 delete: an existing leaf is deleted; its value in the request does not matter",
			start: start, edit: ntp(peer("10.0.0.1", `<maxpoll operation="delete">17</maxpoll>`)),
			want: strings.Replace(start, `<maxpoll>8</maxpoll>`, ``, 1)},
		{name: "RFC6241 7.2 delete: a container is deleted with everything in it",
			start: start, edit: ntp(`<authentication operation="delete"/>`),
			want: ntp(p1) + sys(`<sysname>r1</sysname>`)},
		{name: "RFC6241 7.2 delete: a missing container is data-missing",
			start: ntp(p1), edit: ntp(`<unsync operation="delete"/>`),
			wantTags: []rpcerror.Tag{rpcerror.TagDataMissing}, wantPath: "/ntpa:ntp/ntpa:unsync"},
		{name: "RFC6241 7.2 delete: deleting the last list entry leaves no empty container behind",
			start: ntp(p1), edit: ntp(peerOp("delete", "10.0.0.1", ``)), want: ""},
		{name: "RFC6241 7.2 remove: an existing list entry is removed",
			start: start, edit: ntp(peerOp("remove", "10.0.0.1", ``)),
			want: ntp(`<authentication><enable>true</enable>`+k1+`</authentication>`) + sys(`<sysname>r1</sysname>`)},
		{name: "RFC6241 7.2 remove: a missing list entry is silently ignored",
			start: start, edit: ntp(peerOp("remove", "10.0.0.7", ``)), want: start},
		{name: "RFC6241 7.2 remove: a missing leaf is silently ignored",
			start: start, edit: ntp(peer("10.0.0.1", `<port operation="remove"/>`)), want: start},
		{name: "RFC6241 7.2 remove: the parent hierarchy is created by the default merge, then pruned when empty",
			start: "", edit: ntp(peerOp("remove", "10.0.0.7", ``)), want: ""},
		{name: "RFC6241 7.2 operation is inherited: children of a replaced container are replaced",
			start: start, edit: ntp(`<authentication operation="replace">` + key("1", `<mode>sha1</mode><key-value>x</key-value>`) + `</authentication>`),
			want: ntp(p1+`<authentication>`+key("1", `<mode>sha1</mode><key-value>x</key-value>`)+`</authentication>`) + sys(`<sysname>r1</sysname>`)},
		{name: "RFC6241 7.2 operation is inherited: create on a container applies to the entries in it",
			start: "", edit: ntp(`<authentication operation="create"><enable>true</enable>` + k1 + `</authentication>`),
			want: ntp(`<authentication><enable>true</enable>` + k1 + `</authentication>`)},
		{name: "RFC6241 7.2 a nested operation overrides the inherited one",
			start: start, edit: ntp(`<authentication operation="replace"><enable>false</enable>` + key("1", `<mode operation="merge">sha1</mode><key-value>one</key-value>`) + `</authentication>`),
			want: ntp(p1+`<authentication><enable>false</enable>`+key("1", `<mode>sha1</mode><key-value>one</key-value>`)+`</authentication>`) + sys(`<sysname>r1</sysname>`)},
		{name: "RFC6241 7.2 the operation attribute may appear at any depth under default-operation merge",
			start: start, edit: ntp(`<authentication>` + key("1", `<key-value operation="delete"/>`) + `</authentication>`),
			want: strings.Replace(start, `<key-value>one</key-value>`, ``, 1)},
		{name: "RFC6241 7.2 none: the datastore is unaffected by data without an operation",
			start: start, edit: ntp(peer("10.0.0.1", `<minpoll>9</minpoll>`)), defOp: OpNone, want: start},
		{name: "RFC6241 7.2 none: data with no corresponding level in the datastore is data-missing",
			start: start, edit: ntp(peer("10.0.0.1", `<port>200</port>`)), defOp: OpNone,
			wantTags: []rpcerror.Tag{rpcerror.TagDataMissing}, wantPath: p1path + "/ntpa:port"},
		{name: "RFC6241 7.2 none: a list entry without operations that does not exist is data-missing",
			start: start, edit: ntp(peer("10.0.0.8", ``)), defOp: OpNone,
			wantTags: []rpcerror.Tag{rpcerror.TagDataMissing}, wantPath: `/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.0.0.8'][ntpa:vpn-instance='_public_']`},
		{name: "RFC6241 7.2 none: delete does not create the parent hierarchy; the missing target is data-missing",
			start: "", edit: ntp(peerOp("delete", "10.0.0.1", ``)), defOp: OpNone,
			wantTags: []rpcerror.Tag{rpcerror.TagDataMissing}, wantPath: p1path},
		{name: "RFC6241 7.2 none: remove of missing data does not create the parent hierarchy",
			start: sys(`<sysname>r1</sysname>`), edit: ntp(peer("10.0.0.1", `<minpoll operation="remove"/>`)), defOp: OpNone,
			want: sys(`<sysname>r1</sysname>`)},
		{name: "RFC6241 7.2 none: a create further down creates the levels above it",
			start: "", edit: ntp(peer("10.0.0.1", `<minpoll operation="create">4</minpoll>`)), defOp: OpNone,
			want: ntp(peer("10.0.0.1", `<minpoll>4</minpoll>`))},
		{name: "RFC6241 7.2 none: delete of an existing leaf under existing levels",
			start: start, edit: ntp(peer("10.0.0.1", `<minpoll operation="delete"/>`)), defOp: OpNone,
			want: strings.Replace(start, `<minpoll>4</minpoll>`, ``, 1)},
		{name: "RFC6241 7.2 stop-on-error: processing stops at the first error",
			start: start, edit: ntp(peerOp("create", "10.0.0.1", ``) + peerOp("delete", "10.0.0.7", ``)), errOpt: StopOnError,
			wantTags: []rpcerror.Tag{rpcerror.TagDataExists}, wantPath: p1path},
		{name: "RFC6241 7.2 rollback-on-error: the first error is reported and the edit fails",
			start: start, edit: ntp(peerOp("create", "10.0.0.1", ``) + peerOp("delete", "10.0.0.7", ``)), errOpt: RollbackOnError,
			wantTags: []rpcerror.Tag{rpcerror.TagDataExists}, wantPath: p1path},
		{name: "RFC6241 7.2 continue-on-error: every error is reported and the valid parts are applied",
			start: start, edit: ntp(peerOp("create", "10.0.0.1", ``)+peer("10.0.0.2", `<minpoll>x</minpoll>`)+peer("10.0.0.3", ``)+peerOp("delete", "10.0.0.7", ``)) + sys(`<sysname>r2</sysname>`),
			errOpt:   ContinueOnError,
			wantTags: []rpcerror.Tag{rpcerror.TagDataExists, rpcerror.TagInvalidValue, rpcerror.TagDataMissing}, wantPath: p1path,
			want: strings.Replace(strings.Replace(start, p1, p1+peer("10.0.0.2", ``)+peer("10.0.0.3", ``), 1), "r1", "r2", 1)},
		{name: "RFC7950 9.12 union: a domain name is a peer-address",
			start: "", edit: ntp(peer("ntp.example.net", ``)), want: ntp(peer("ntp.example.net", ``))},
		{name: "RFC7950 9.6 enumeration: a name of the enumeration is accepted",
			start: "", edit: ntp(`<source-interface><address-family>ipv6</address-family><interface>eth0</interface></source-interface>`),
			want: ntp(`<source-interface><address-family>ipv6</address-family><interface>eth0</interface></source-interface>`)},
		{name: "RFC7950 9.6 enumeration: another name is invalid-value",
			start: "", edit: ntp(`<source-interface><address-family>ipv5</address-family><interface>eth0</interface></source-interface>`),
			wantTags: []rpcerror.Tag{rpcerror.TagInvalidValue}, wantPath: `/ntpa:ntp/ntpa:source-interface[ntpa:address-family='ipv5']/ntpa:address-family`},
		{name: "RFC7950 9.5 boolean: only true and false",
			start: start, edit: ntp(peer("10.0.0.1", `<preferred>yes</preferred>`)),
			wantTags: []rpcerror.Tag{rpcerror.TagInvalidValue}, wantPath: p1path + "/ntpa:preferred"},
		{name: "RFC7950 9.2 integer: a value outside the Go type is invalid-value with its path",
			start: start, edit: ntp(peer("10.0.0.1", `<minpoll>300</minpoll>`)),
			wantTags: []rpcerror.Tag{rpcerror.TagInvalidValue}, wantPath: p1path + "/ntpa:minpoll"},
		{name: "RFC7950 9.2 integer: whitespace around a number is not part of it",
			start: "", edit: ntp(peer("10.0.0.1", "<minpoll>\n  5\n</minpoll>")), want: ntp(peer("10.0.0.1", `<minpoll>5</minpoll>`))},
		{name: "RFC7950 9.9 leafref: the key id takes the type of the key's key-id",
			start: start, edit: ntp(peer("10.0.0.1", `<authentication-keyid>1</authentication-keyid>`)),
			want: strings.Replace(start, `<maxpoll>8</maxpoll>`, `<maxpoll>8</maxpoll><authentication-keyid>1</authentication-keyid>`, 1)},
		{name: "RFC7950 9.9 leafref: a value that is not a uint32 is invalid-value",
			start: start, edit: ntp(peer("10.0.0.1", `<authentication-keyid>-1</authentication-keyid>`)),
			wantTags: []rpcerror.Tag{rpcerror.TagInvalidValue}, wantPath: p1path + "/ntpa:authentication-keyid"},
		{name: "RFC6241 7.2 a value that does not parse is not needed by delete",
			start: start, edit: ntp(peer("10.0.0.1", `<maxpoll operation="delete">many</maxpoll>`)),
			want: strings.Replace(start, `<maxpoll>8</maxpoll>`, ``, 1)},
		{name: "RFC6243 6 a leaf tagged wd:default with the default value goes back to the default (not stored as set)",
			start: start, edit: `<ntp xmlns="` + nsNTP + `" xmlns:wd="urn:ietf:params:xml:ns:netconf:default:1.0">` + peer("10.0.0.1", `<minpoll wd:default="true">6</minpoll><port wd:default="true">123</port>`) + `</ntp>`,
			want: strings.Replace(start, `<minpoll>4</minpoll>`, ``, 1)},
		{name: "RFC6243 6 a leaf tagged wd:default with another value is invalid-value",
			start: start, edit: `<ntp xmlns="` + nsNTP + `" xmlns:wd="urn:ietf:params:xml:ns:netconf:default:1.0">` + peer("10.0.0.1", `<minpoll wd:default="true">5</minpoll>`) + `</ntp>`,
			wantTags: []rpcerror.Tag{rpcerror.TagInvalidValue}, wantPath: p1path + "/ntpa:minpoll"},
		{name: "RFC6241 7.2 default-operation replace with an empty ntp empties the datastore",
			start: start, edit: ntp(``), defOp: OpReplace, want: ""},
		{name: "RFC6241 7.2 default-operation replace: a nested delete finds nothing to delete",
			start: start, edit: ntp(peerOp("delete", "10.0.0.1", ``)), defOp: OpReplace,
			wantTags: []rpcerror.Tag{rpcerror.TagDataMissing}, wantPath: p1path},
	}
	for _, c := range cases {
		for _, prefixed := range []bool{false, true} {
			name := c.name
			edit := c.edit
			if prefixed {
				name += " (nc: prefix)"
				edit = withNC(edit)
			}
			t.Run(name, func(t *testing.T) {
				d := &gen.Device{}
				if c.start != "" {
					d = mustDecode(t, c.start)
				}
				tree, err := ParseConfig([]byte(edit), Limits{})
				if err != nil {
					t.Fatalf("ParseConfig: %v", err)
				}
				err = tree.Apply(d, c.defOp, c.errOpt)
				checkErrs(t, err, c.wantTags, c.wantPath, c.wantInfo)
				if len(c.wantTags) == 0 || c.errOpt == ContinueOnError {
					want := ""
					if c.want != "" {
						want = canon(t, c.want)
					}
					if got := encodeString(t, d, EncodeOptions{}); got != want {
						t.Errorf("datastore after the edit:\n got %s\nwant %s", got, want)
					}
				}
			})
		}
	}
}

func checkErrs(t *testing.T, err error, tags []rpcerror.Tag, path, info string) {
	t.Helper()
	if len(tags) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	errs := rpcerror.All(err)
	var got []rpcerror.Tag
	for _, e := range errs {
		got = append(got, e.Tag)
	}
	if fmt.Sprint(got) != fmt.Sprint(tags) {
		t.Fatalf("error tags %v, want %v (%v)", got, tags, err)
	}
	if path != "" && errs[0].Path != path {
		t.Errorf("error-path %q, want %q", errs[0].Path, path)
	}
	if errs[0].Message == "" {
		t.Error("no error-message")
	}
	if info != "" {
		found := false
		for _, i := range errs[0].Info {
			if i.Name+"="+i.Value == info {
				found = true
			}
		}
		if !found {
			t.Errorf("error-info %v lacks %s", errs[0].Info, info)
		}
	}
}

// TestParseConfigRejects covers problems with the shape of the <config>:
// each fails in ParseConfig, before any datastore is touched.
func TestParseConfigRejects(t *testing.T) {
	p1 := peer("10.0.0.1", ``)
	cases := []struct {
		name, edit string
		tag        rpcerror.Tag
		path, info string
	}{
		{"RFC6241 A unknown-element: an element the schema does not have, with bad-element",
			ntp(peer("10.0.0.1", `<minpol>4</minpol>`)), rpcerror.TagUnknownElement,
			`/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.0.0.1'][ntpa:vpn-instance='_public_']`, "bad-element=minpol"},
		{"RFC6241 A unknown-element: an unknown top-level element in a known namespace",
			`<ntpd xmlns="` + nsNTP + `"/>`, rpcerror.TagUnknownElement, "", "bad-element=ntpd"},
		{"RFC6241 A unknown-namespace: a top-level element in a namespace we do not have",
			`<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"/>`, rpcerror.TagUnknownNamespace, "", "bad-namespace=urn:ietf:params:xml:ns:yang:ietf-interfaces"},
		{"RFC6241 A unknown-namespace: a known name in the wrong namespace",
			`<ntp xmlns="urn:example:other"/>`, rpcerror.TagUnknownNamespace, "", "bad-element=ntp"},
		{"RFC6241 A unknown-element: an element without a namespace",
			`<ntp/>`, rpcerror.TagUnknownElement, "", "bad-element=ntp"},
		{"RFC6241 A unknown-element: a child without a namespace where its parent has one",
			`<n:ntp xmlns:n="` + nsNTP + `"><unsync/></n:ntp>`, rpcerror.TagUnknownElement, "/ntpa:ntp", "bad-element=unsync"},
		{"RFC7950 7.8.5 missing-element: a list entry without all its keys, with bad-element",
			ntp(`<unicast-peer><address>10.0.0.1</address></unicast-peer>`), rpcerror.TagMissingElement,
			`/ntpa:ntp/ntpa:unicast-peer`, "bad-element=vpn-instance"},
		{"RFC6241 A bad-attribute: an operation that RFC 6241 7.2 does not define",
			ntp(peerOp("destroy", "10.0.0.1", ``)), rpcerror.TagBadAttribute, "", "bad-attribute=operation"},
		{"RFC6241 A bad-attribute: none is a default-operation, not an operation attribute",
			ntp(peerOp("none", "10.0.0.1", ``)), rpcerror.TagBadAttribute, "", "bad-element=unicast-peer"},
		{"RFC6241 A unknown-attribute: an attribute of the base namespace other than operation",
			`<ntp xmlns="` + nsNTP + `"` + ncDecl + ` nc:colour="red"/>`, rpcerror.TagUnknownAttribute, "/ntpa:ntp", "bad-attribute=colour"},
		{"RFC7950 7.8.5 a key leaf cannot carry an operation of its own",
			ntp(`<unicast-peer><address operation="delete">10.0.0.1</address><vpn-instance>_public_</vpn-instance></unicast-peer>`), rpcerror.TagBadAttribute, "", "bad-element=address"},
		{"RFC7950 7.21.1 config false data cannot be edited: invalid-value",
			ntp(`<status><stratum>3</stratum></status>`), rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:status", "bad-element=status"},
		{"RFC7950 7.21.1 config false list entries cannot be edited either",
			`<commit-history xmlns="` + nsSys + `"/>`, rpcerror.TagInvalidValue, "/ntps:commit-history", ""},
		{"RFC7950 7.6 a leaf appears once in its parent",
			ntp(peer("10.0.0.1", `<minpoll>4</minpoll><minpoll>5</minpoll>`)), rpcerror.TagInvalidValue, "", "bad-element=minpoll"},
		{"RFC7950 7.6 a leaf has no child elements",
			ntp(peer("10.0.0.1", `<minpoll><x/></minpoll>`)), rpcerror.TagInvalidValue, "", ""},
		{"RFC7950 7.5 a container holds elements, not text",
			ntp(`<unsync>fast</unsync>`), rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unsync", ""},
		{"RFC6241 3 malformed-message: XML that is not well-formed",
			ntp(p1)[:40], rpcerror.TagMalformedMessage, "", ""},
		{"RFC6241 3 malformed-message: mismatched end tag",
			`<ntp xmlns="` + nsNTP + `"><unsync></ntp></unsync>`, rpcerror.TagMalformedMessage, "", ""},
		{"RFC6241 3 malformed-message: an undeclared prefix",
			`<n:ntp/>`, rpcerror.TagMalformedMessage, "", ""},
		{"XML 1.0: a document type declaration is refused (entity expansion, billion laughs)",
			`<!DOCTYPE ntp [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>` + ntp(`<unsync><dec-step>&b;</dec-step></unsync>`),
			rpcerror.TagMalformedMessage, "", ""},
		{"XML 1.0: an undeclared entity is refused",
			ntp(peer("10.0.0.1", `<source-interface>&eth;</source-interface>`)), rpcerror.TagMalformedMessage, "", ""},
		{"XML 1.0: text outside any element",
			`hello` + ntp(``), rpcerror.TagMalformedMessage, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(c.edit), Limits{})
			if err == nil {
				t.Fatal("ParseConfig accepted it")
			}
			checkErrs(t, err, []rpcerror.Tag{c.tag}, c.path, c.info)
		})
	}
}

func TestLimits(t *testing.T) {
	deep := strings.Repeat("<unsync>", 100) + strings.Repeat("</unsync>", 100)
	many := ntp(strings.Repeat(`<unsync/>`, 2000))
	cases := []struct {
		name string
		doc  string
		lim  Limits
		want string
	}{
		{"nesting deeper than MaxDepth", ntp(deep), Limits{MaxDepth: 32}, "nested deeper than 32"},
		{"more elements than MaxElements", many, Limits{MaxElements: 1000}, "more than 1000 elements"},
		{"more bytes than MaxBytes", many, Limits{MaxBytes: 1024}, "more than the limit of 1024"},
		{"the default depth limit holds without configuration", ntp(strings.Repeat("<unsync>", 10000) + strings.Repeat("</unsync>", 10000)), Limits{}, "nested deeper than 64"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(c.doc), c.lim)
			errs := rpcerror.All(err)
			if len(errs) != 1 || errs[0].Tag != rpcerror.TagTooBig || !strings.Contains(errs[0].Message, c.want) {
				t.Fatalf("got %v, want too-big %q", err, c.want)
			}
		})
	}
}

// TestBadInputLeavesTreeUnchanged: an edit that fails for its values,
// under stop-on-error and rollback-on-error, does not touch the tree.
func TestBadInputLeavesTreeUnchanged(t *testing.T) {
	start := ntp(peer("10.0.0.1", `<minpoll>4</minpoll>`)) + sys(`<sysname>r1</sysname>`)
	edits := []string{
		ntp(peer("10.0.0.2", `<minpoll>5</minpoll>`) + peer("10.0.0.3", `<minpoll>five</minpoll>`)),
		sys(`<sysname>r9</sysname>`) + ntp(peer("10.0.0.1", `<preempt>1</preempt>`)),
		ntp(`<source-interface><address-family>ipx</address-family><interface>e</interface></source-interface>`),
		ntp(peer("10.0.0.1", `<port>70000</port>`)),
	}
	for i, e := range edits {
		for _, opt := range []ErrorOption{StopOnError, RollbackOnError} {
			t.Run(fmt.Sprint(i, opt), func(t *testing.T) {
				d := mustDecode(t, start)
				before := encodeString(t, d, EncodeOptions{})
				tree, err := ParseConfig([]byte(e), Limits{})
				if err != nil {
					t.Fatal(err)
				}
				err = tree.Apply(d, "", opt)
				if errs := rpcerror.All(err); len(errs) != 1 || errs[0].Tag != rpcerror.TagInvalidValue {
					t.Fatalf("got %v, want one invalid-value", err)
				}
				if after := encodeString(t, d, EncodeOptions{}); after != before {
					t.Errorf("tree changed:\n%s\n%s", before, after)
				}
			})
		}
	}
}

func TestParseConfigNamespaces(t *testing.T) {
	cases := []struct {
		name    string
		doc     string
		inScope map[string]string
	}{
		{"RFC6241 7.2 a prefixed namespace", `<n:ntp xmlns:n="` + nsNTP + `"><n:unicast-peer><n:address>10.0.0.1</n:address><n:vpn-instance>_public_</n:vpn-instance></n:unicast-peer></n:ntp>`, nil},
		{"namespaces declared on the enclosing <rpc> (passed in scope)", `<n:ntp><n:unicast-peer><n:address>10.0.0.1</n:address><n:vpn-instance>_public_</n:vpn-instance></n:unicast-peer></n:ntp>`, map[string]string{"n": nsNTP}},
		{"a default namespace in scope", `<ntp><unicast-peer><address>10.0.0.1</address><vpn-instance>_public_</vpn-instance></unicast-peer></ntp>`, map[string]string{"": nsNTP}},
		{"the <config> element itself may be given", `<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">` + ntp(peer("10.0.0.1", ``)) + `</config>`, nil},
		{"a mix of default and prefixed declarations", `<ntp xmlns="` + nsNTP + `" xmlns:x="` + nsNTP + `"><x:unicast-peer><address>10.0.0.1</address><x:vpn-instance>_public_</x:vpn-instance></x:unicast-peer></ntp>`, nil},
	}
	want := canon(t, ntp(peer("10.0.0.1", ``)))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tree, err := ParseConfigNS([]byte(c.doc), Limits{}, c.inScope)
			if err != nil {
				t.Fatal(err)
			}
			d := &gen.Device{}
			if err := tree.Apply(d, OpMerge, StopOnError); err != nil {
				t.Fatal(err)
			}
			if got := encodeString(t, d, EncodeOptions{}); got != want {
				t.Errorf("got %s want %s", got, want)
			}
		})
	}
}

func TestApplyOptionValues(t *testing.T) {
	tree, err := ParseConfig([]byte(ntp(``)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.Apply(&gen.Device{}, "delete", StopOnError); err == nil {
		t.Error("default-operation delete accepted (RFC 6241 7.2 allows merge, replace, none)")
	}
	if err := tree.Apply(&gen.Device{}, "", ErrorOption(9)); err == nil {
		t.Error("error-option ignore-error accepted")
	}
	if err := tree.Apply(nil, "", StopOnError); err == nil {
		t.Error("nil root accepted")
	}
}

func TestDecodeConfig(t *testing.T) {
	x := ntp(peer("10.0.0.1", `<minpoll>4</minpoll>`)+`<unsync><max-poll-interval>8</max-poll-interval><dec-step>1</dec-step></unsync>`) + sys(`<sysname>r1</sysname>`)
	d := mustDecode(t, x)
	if d.Ntp.UnicastPeer[gen.NtpagentNtp_Ntp_UnicastPeer_Key{Address: "10.0.0.1", VpnInstance: "_public_"}].GetMinpoll() != 4 ||
		d.System.GetSysname() != "r1" || d.Ntp.Unsync.GetDecStep() != 1 {
		t.Fatalf("decoded %+v", d)
	}
	if _, err := DecodeConfig([]byte(ntp(peerOp("merge", "10.0.0.1", ``)))); err == nil {
		t.Error("copy-config accepted an operation attribute")
	}
	_, err := DecodeConfig([]byte(ntp(peer("10.0.0.1", `<minpoll>x</minpoll>`) + peer("10.0.0.2", `<port>x</port>`))))
	if errs := rpcerror.All(err); len(errs) != 2 {
		t.Errorf("DecodeConfig reports %v, want both bad values", err)
	}
	d2, err := DecodeConfig(nil)
	if err != nil || d2 == nil || d2.Ntp != nil {
		t.Errorf("empty config: %v %v", d2, err)
	}
	// The decoded tree agrees with ygot's own RFC 7951 JSON round trip.
	js, err := ygot.EmitJSON(d, &ygot.EmitJSONConfig{Format: ygot.RFC7951})
	if err != nil {
		t.Fatal(err)
	}
	d3 := &gen.Device{}
	if err := gen.Unmarshal([]byte(js), d3); err != nil {
		t.Fatal(err)
	}
	if a, b := encodeString(t, d, EncodeOptions{}), encodeString(t, d3, EncodeOptions{}); a != b {
		t.Errorf("XML → ygot → JSON → ygot → XML differs:\n%s\n%s", a, b)
	}
}

func TestErrorsAreRPCErrors(t *testing.T) {
	_, err := ParseConfig([]byte(`<x`), Limits{})
	var e *rpcerror.Error
	if !errors.As(err, &e) || e.Type != rpcerror.TypeRPC {
		t.Fatalf("%v is not an rpc-layer *rpcerror.Error", err)
	}
}

// Clients indent their XML (ncclient, Ansible, yangcli): whitespace text
// around child elements at every depth is ignored, and nothing panics.
func TestParseConfigIndented(t *testing.T) {
	doc := `<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
  <ntp xmlns="` + nsNTP + `">
    <unicast-peer>
      <address>10.0.0.1</address>
      <vpn-instance>_public_</vpn-instance>
      <minpoll>4</minpoll>
    </unicast-peer>
    <authentication>
      <enable>true</enable>
    </authentication>
  </ntp>
</config>
`
	tree, err := ParseConfig([]byte(doc), Limits{})
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	d := &gen.Device{}
	if err := tree.Apply(d, OpMerge, StopOnError); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	p := d.GetNtp().GetUnicastPeer("10.0.0.1", "_public_")
	if p.GetMinpoll() != 4 || !d.GetNtp().GetAuthentication().GetEnable() {
		t.Errorf("applied %+v, authentication %+v", p, d.GetNtp().GetAuthentication())
	}
}

// One IPv6 address is one peer however it is written: values of the IPv6
// address typedefs are kept in the RFC 5952 form (the form the CLI enters),
// so an edit or a filter that spells the address otherwise finds the
// entry instead of making a second association to the same peer. Domain
// names and IPv4 addresses are kept as given.
func TestIPv6PeerAddressesAreCanonical(t *testing.T) {
	d := mustDecode(t, ntp(peer("2001:db8::1", `<minpoll>6</minpoll>`)+peer("NTP.Example.net", ``)))
	apply := func(x string) error {
		tree, err := ParseConfig([]byte(withNC(x)), Limits{})
		if err != nil {
			return err
		}
		return tree.Apply(d, OpMerge, StopOnError)
	}
	if err := apply(ntp(peer("2001:DB8:0:0::1", `<minpoll>7</minpoll>`))); err != nil {
		t.Fatal(err)
	}
	want := canon(t, ntp(peer("2001:db8::1", `<minpoll>7</minpoll>`)+peer("NTP.Example.net", ``)))
	if got := encodeString(t, d, EncodeOptions{}); got != want {
		t.Fatalf("after a merge of 2001:DB8:0:0::1:\n got %s\nwant %s", got, want)
	}
	sel := encodeString(t, d, EncodeOptions{Subtree: []byte(ntp(`<unicast-peer><address>2001:0DB8::0001</address></unicast-peer>`))})
	if !strings.Contains(sel, "<address>2001:db8::1</address>") || strings.Contains(sel, "Example") {
		t.Errorf("subtree filter on 2001:0DB8::0001 selected %s", sel)
	}
	if err := apply(ntp(peerOp("delete", "2001:0db8:0000::0001", ``))); err != nil {
		t.Fatalf("delete of 2001:0db8:0000::0001: %v", err)
	}
	if got, want := encodeString(t, d, EncodeOptions{}), canon(t, ntp(peer("NTP.Example.net", ``))); got != want {
		t.Errorf("after the delete:\n got %s\nwant %s", got, want)
	}
}

// TestDomainPeerNamesAreCaseInsensitive: DNS names compare without case
// (RFC 4343), so a domain peer is stored in lower case and one name is one
// list entry however a client spells it, as in the CLI.
func TestDomainPeerNamesAreCaseInsensitive(t *testing.T) {
	d := mustDecode(t, ntp(peer("NTP.Example.net", `<minpoll>6</minpoll>`)))
	tree, err := ParseConfig([]byte(withNC(ntp(peer("ntp.EXAMPLE.net", `<minpoll>7</minpoll>`)))), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.Apply(d, OpMerge, StopOnError); err != nil {
		t.Fatal(err)
	}
	got := encodeString(t, d, EncodeOptions{})
	if strings.Count(got, "<unicast-peer>") != 1 || !strings.Contains(got, "<address>ntp.example.net</address>") || !strings.Contains(got, "<minpoll>7</minpoll>") {
		t.Fatalf("two spellings of one name gave %s", got)
	}
}
