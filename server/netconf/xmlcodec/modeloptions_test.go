package xmlcodec

import (
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/yang"
)

// nativeWith is the native model with Model options set, as a view's
// model would set them.
func nativeWith(t *testing.T, opt func(*Model)) *Schema {
	t.Helper()
	ys, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	m := Model{Root: &gen.Device{}, Unions: []any{gen.UnionString(""), gen.UnionUint32(0), gen.UnionUint8(0), gen.YANGEmpty(false), gen.Binary(nil)}}
	for _, mod := range ys.Modules() {
		m.Modules = append(m.Modules, mod.Name)
	}
	opt(&m)
	s, err := NewSchema(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAnnotationAttributesAreNotAttributeMatches: RFC 6241 §6.2.2 makes
// an attribute of a filter element a match expression, which none of our
// nodes matches; a model's annotation attributes are not.
func TestAnnotationAttributesAreNotAttributeMatches(t *testing.T) {
	d := filterDevice(t)
	filter := []byte(`<ntp xmlns="` + nsNTP + `" content-version="1.0" format-version="1.0"><unicast-peer><address>2001:db8::1</address></unicast-peer></ntp>`)
	for _, tc := range []struct {
		rule     string
		schema   *Schema
		selected bool
	}{
		{"RFC6241 6.2.2 an attribute is a match expression", nativeWith(t, func(*Model) {}), false},
		{"a model's annotation attributes are not", nativeWith(t, func(m *Model) { m.AnnotationAttributes = []string{"content-version", "format-version"} }), true},
		{"only the attributes the model names", nativeWith(t, func(m *Model) { m.AnnotationAttributes = []string{"content-version"} }), false},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			b, err := tc.schema.AppendEncode(nil, d, EncodeOptions{Subtree: filter})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(string(b), "<source-interface>eth1</source-interface>"); got != tc.selected {
				t.Fatalf("selected %t, want %t: %s", got, tc.selected, b)
			}
		})
	}
}

// TestDeleteAbsentIsRemove: RFC 6241 §7.2 delete of a node that does not
// exist is data-missing, unless the model tolerates it as remove does.
func TestDeleteAbsentIsRemove(t *testing.T) {
	edit := []byte(ntp(`<unicast-peer xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" nc:operation="delete"><address>192.0.2.99</address><vpn-instance>_public_</vpn-instance></unicast-peer>`))
	for _, tc := range []struct {
		rule    string
		schema  *Schema
		missing bool
	}{
		{"RFC6241 7.2 delete of an absent entry is data-missing", nativeWith(t, func(*Model) {}), true},
		{"a tolerant model removes nothing, silently", nativeWith(t, func(m *Model) { m.DeleteAbsentIsRemove = true }), false},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			tree, err := tc.schema.ParseConfigNS(edit, Limits{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := filterDevice(t)
			n := len(d.Ntp.UnicastPeer)
			err = tree.Apply(d, OpMerge, StopOnError)
			all := rpcerror.All(err)
			if got := len(all) == 1 && all[0].Tag == rpcerror.TagDataMissing; got != tc.missing {
				t.Fatalf("data-missing %t, want %t (err %v)", got, tc.missing, err)
			}
			if !tc.missing && (err != nil || len(d.Ntp.UnicastPeer) != n) {
				t.Fatalf("err %v, %d peers of %d", err, len(d.Ntp.UnicastPeer), n)
			}
		})
	}
	// The tolerant delete still deletes what exists.
	s := nativeWith(t, func(m *Model) { m.DeleteAbsentIsRemove = true })
	tree, err := s.ParseConfigNS([]byte(strings.Replace(string(edit), "192.0.2.99", "2001:db8::1", 1)), Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := filterDevice(t)
	if err := tree.Apply(d, OpMerge, StopOnError); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Ntp.UnicastPeer[gen.NtpagentNtp_Ntp_UnicastPeer_Key{Address: "2001:db8::1", VpnInstance: "_public_"}]; ok {
		t.Fatal("the existing entry was not deleted")
	}
}
