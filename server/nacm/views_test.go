package nacm

import (
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/gen/ietfntp"
	"github.com/ntpagent/ntpagent/yang"
)

// viewPolicy compiles c against a schema binding the native tree, the
// ietf-ntp view's and the server-state modules.
func viewPolicy(t *testing.T, c Config) *Policy {
	t.Helper()
	ys, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSchema(ys.Library(), &gen.Device{}, WithRoot(&ietfntp.Device{}), WithModules("ietf-netconf-monitoring", "ietf-yang-library"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(c, s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ietfDevice is an ietf-ntp tree: a peer (minpoll 4) and a server.
func ietfDevice() *ietfntp.Device {
	d := &ietfntp.Device{}
	n := d.GetOrCreateNtp()
	n.GetOrCreateUnicastConfiguration("192.0.2.1", ietfntp.IETFNtp_UnicastConfigurationType_uc_peer).Minpoll = i8(4)
	n.GetOrCreateUnicastConfiguration("192.0.2.2", ietfntp.IETFNtp_UnicastConfigurationType_uc_server)
	return d
}

func ietfEntries(d *ietfntp.Device) map[string]bool {
	out := map[string]bool{}
	if d.Ntp == nil {
		return out
	}
	for k := range d.Ntp.UnicastConfiguration {
		out[k.Address] = true
	}
	return out
}

// RFC 8341 §3.4.5 on a view's tree: rules naming the view's module (by
// prefix or name; identity keys with or without their prefix) decide its
// nodes; rules of ntpagent-ntp do not reach them. Each row holds a
// permitted and a denied entry.
func TestViewTreeReadRFC8341_3_4_5(t *testing.T) {
	for _, c := range []struct {
		name   string
		rule   Rule
		denied string // the entry left out; the other is kept
	}{
		{"3.4.5: a predicate with a prefixed identity key", Rule{Name: "r", Module: "ietf-ntp", Type: DataRule,
			Path: "/ntp:ntp/ntp:unicast-configuration[ntp:address='192.0.2.1'][ntp:type='ntp:uc-peer']", Ops: Read, Action: Deny}, "192.0.2.1"},
		{"3.4.5: module names as prefixes, an identity key without its prefix", Rule{Name: "r", Module: "*", Type: DataRule,
			Path: "/ietf-ntp:ntp/ietf-ntp:unicast-configuration[ietf-ntp:type='uc-server']", Ops: Read, Action: Deny}, "192.0.2.2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := viewPolicy(t, base(c.rule)).Access(alice).Prune(ietfDevice()).(*ietfntp.Device)
			got := ietfEntries(out)
			if got[c.denied] || len(got) != 1 {
				t.Errorf("entries %v, want all but %s", got, c.denied)
			}
		})
	}
	// A rule of the native module leaves the view's tree whole.
	native := Rule{Name: "n", Module: "ntpagent-ntp", Type: DataRule, Path: "/ntpa:ntp", Ops: Read, Action: Deny}
	a := viewPolicy(t, base(native)).Access(alice)
	if d := ietfDevice(); a.Prune(d) != any(d) || !a.ReadsAll(d) {
		t.Error("a native rule pruned the view's tree")
	}
	if a.Prune(device()).(*gen.Device).Ntp != nil {
		t.Error("the native rule did not prune the native tree")
	}
}

// RFC 8341 §3.4.5 write on a view's tree: the first view node an edit
// changes that the rules deny is named in the view, identity keys with
// their prefix; a change the rules permit passes.
func TestViewTreeWriteRFC8341_3_4_5(t *testing.T) {
	cfg := base(
		Rule{Name: "no-minpoll", Module: "ietf-ntp", Type: DataRule, Path: "/ntp:ntp/ntp:unicast-configuration/ntp:minpoll", Ops: Update, Action: Deny},
		Rule{Name: "rest", Module: "ietf-ntp", Ops: Create | Update | Delete, Action: Permit})
	a := viewPolicy(t, cfg).Access(alice)
	before := ietfDevice()
	denied := ietfDevice()
	denied.Ntp.GetUnicastConfiguration("192.0.2.1", ietfntp.IETFNtp_UnicastConfigurationType_uc_peer).Minpoll = i8(6)
	d := a.CheckWrite(before, denied)
	if want := "/ntp:ntp/ntp:unicast-configuration[ntp:address='192.0.2.1'][ntp:type='ntp:uc-peer']/ntp:minpoll"; d == nil || d.Path != want || d.Op != Update {
		t.Errorf("denied update: %v, want update of %s", d, want)
	}
	permitted := ietfDevice()
	permitted.Ntp.GetUnicastConfiguration("192.0.2.1", ietfntp.IETFNtp_UnicastConfigurationType_uc_peer).Maxpoll = i8(9)
	if d := a.CheckWrite(before, permitted); d != nil {
		t.Errorf("permitted update denied: %v", d)
	}
	if a.WritesAll(before) {
		t.Error("WritesAll with a denying rule")
	}
	if !viewPolicy(t, base(Rule{Name: "all", Module: "*", Ops: AllOps, Action: Permit})).Access(alice).WritesAll(before) {
		t.Error("WritesAll false under a permit-all rule")
	}
}

// RFC 8341 §3.4.5 on data without Go structs (the server's state): a
// module-name rule decides the whole module, a keyed path rule one entry;
// the factory defaults read everything.
func TestStateNodesReadRFC8341_3_4_5(t *testing.T) {
	p := viewPolicy(t, base(
		Rule{Name: "mon", Module: "ietf-netconf-monitoring", Ops: Read, Action: Deny},
		Rule{Name: "one", Module: "ietf-yang-library", Type: DataRule, Path: "/yanglib:modules-state/yanglib:module[yanglib:name='ietf-ntp']", Ops: Read, Action: Deny}))
	a := p.Access(alice)
	s := p.schema
	if ok, whole := a.Reads(s.Top("ietf-netconf-monitoring", "netconf-state"), nil); ok || !whole {
		t.Errorf("netconf-state: permit %v whole %v, want denied whole", ok, whole)
	}
	if ok, whole := a.Reads(s.Top("", "yang-library"), nil); !ok || !whole {
		t.Errorf("yang-library: permit %v whole %v, want permitted whole", ok, whole)
	}
	ms := s.Top("ietf-yang-library", "modules-state")
	mod := ms.Child("module")
	if got := mod.Keys(); len(got) != 2 || got[0] != "name" {
		t.Fatalf("modules-state/module keys %v", got)
	}
	for name, want := range map[string]bool{"ietf-ntp": false, "ietf-netconf-acm": true} {
		if ok, _ := a.Reads(mod, [][]string{nil, {name, "2022-07-05"}}); ok != want {
			t.Errorf("module %s: permit %v, want %v", name, ok, want)
		}
	}
	fp := viewPolicy(t, FactoryDefault())
	f := fp.Access(Session{User: "oper", ExternalGroups: []string{GroupOperator}})
	if ok, whole := f.Reads(fp.schema.Top("", "netconf-state"), nil); !ok || !whole {
		t.Error("the factory defaults hide netconf-state from the operator")
	}
}

func i8(v int8) *int8 { return &v }
