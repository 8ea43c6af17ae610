package view

import (
	"testing"

	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/server/netconf/xmlcodec"
	"github.com/ntpagent/ntpagent/view/ietfntp"
)

const (
	nsNative = "urn:ntpagent:yang:ntpagent-ntp"
	nsIETF   = "urn:ietf:params:xml:ns:yang:ietf-ntp"
)

func newSet(t *testing.T) *Set {
	t.Helper()
	v, err := ietfntp.New()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSet(v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// RFC 6241 §7.1, §6.2.1, §8.9: which models a retrieval writes.
func TestSelects(t *testing.T) {
	s := newSet(t)
	for _, c := range []struct {
		name string
		f    Filter
		want [2]bool // native, ietf-ntp
	}{
		{"no filter: ntpagent's own model only", Filter{}, [2]bool{true, false}},
		{"RFC6241 6.2.1 subtree naming the view", Filter{Subtree: true, Namespaces: []string{nsIETF}}, [2]bool{false, true}},
		{"RFC6241 6.2.1 subtree naming the native model", Filter{Subtree: true, Namespaces: []string{nsNative}}, [2]bool{true, false}},
		{"RFC6241 6.2.1 subtree naming both", Filter{Subtree: true, Namespaces: []string{nsNative, nsIETF}}, [2]bool{true, true}},
		{"RFC6241 6.2.1 unqualified element names every model", Filter{Subtree: true, Namespaces: []string{""}}, [2]bool{true, true}},
		{"RFC6241 8.9 XPath is evaluated in every model", Filter{XPath: true}, [2]bool{true, true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := s.Selects(c.f)
			if len(got) != 2 || got[0] != c.want[0] || got[1] != c.want[1] {
				t.Errorf("Selects(%+v) = %v, want %v", c.f, got, c.want)
			}
		})
	}
}

// Two models may not share a namespace: the namespace of a top-level
// element says which model it is in.
func TestNewSetRefusesSharedNamespace(t *testing.T) {
	v, err := ietfntp.New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSet(v, v); err == nil {
		t.Fatal("a set with ietf-ntp twice was accepted")
	}
}

// Error paths of the datastore name the client's model when the edit was
// made through views only; an edit with native content keeps native paths.
func TestMapError(t *testing.T) {
	s := newSet(t)
	const native = "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.1.1.1'][ntpa:vpn-instance='_public_']/ntpa:minpoll"
	const mapped = "/ntp:ntp/ntp:unicast-configuration[ntp:address='10.1.1.1'][ntp:type='ntp:uc-peer']/ntp:minpoll"
	viewOnly := &Edit{set: s, views: []viewEdit{{view: s.views[0]}}}
	mixed := &Edit{set: s, views: viewOnly.views, native: &xmlcodec.Tree{}}
	for _, c := range []struct {
		name string
		edit *Edit
		err  error
		want string
	}{
		{"view only: mapped", viewOnly, rpcerror.New(rpcerror.TagInvalidValue, native, "x"), mapped},
		{"view only, list of errors: mapped", viewOnly, rpcerror.List{rpcerror.New(rpcerror.TagInvalidValue, native, "x")}, mapped},
		{"view only, node without a place in the view: native", viewOnly,
			rpcerror.New(rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.1.1.1'][ntpa:vpn-instance='blue']/ntpa:minpoll", "x"),
			"/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.1.1.1'][ntpa:vpn-instance='blue']/ntpa:minpoll"},
		{"native content: native", mixed, rpcerror.New(rpcerror.TagInvalidValue, native, "x"), native},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := rpcerror.All(c.edit.MapError(c.err))
			if len(got) != 1 || got[0].Path != c.want {
				t.Errorf("MapError = %v, want path %s", got, c.want)
			}
		})
	}
}
