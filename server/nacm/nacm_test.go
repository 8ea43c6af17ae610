package nacm

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/yang"
)

func testSchema(t testing.TB) *Schema {
	t.Helper()
	ys, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSchema(ys.Library(), &gen.Device{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func compile(t testing.TB, c Config) *Policy {
	t.Helper()
	p, err := Compile(c, testSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// device is a small running configuration: two peers, a key, a user with
// a password hash.
func device() *gen.Device {
	d := &gen.Device{}
	n := d.GetOrCreateNtp()
	p := n.GetOrCreateUnicastPeer("10.0.0.1", "_public_")
	p.Minpoll = ygotU8(4)
	n.GetOrCreateUnicastPeer("10.0.0.2", "_public_").Minpoll = ygotU8(5)
	k := n.GetOrCreateAuthentication().GetOrCreateKey(7)
	k.KeyValue = ygotStr("%^%#sealed%^%#")
	k.Mode = gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5
	u := d.GetOrCreateSystem().GetOrCreateLocalUser("bob")
	u.Password = ygotStr("$2a$10$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY")
	u.Role = gen.NtpagentSystem_System_LocalUser_Role_operator
	return d
}

func ygotU8(v uint8) *uint8    { return &v }
func ygotStr(v string) *string { return &v }

// base is an enabled NACM whose one rule-list, for group ops, holds rules.
func base(rules ...Rule) Config {
	return Config{Enabled: true, ReadDefault: Permit, WriteDefault: Deny, ExecDefault: Permit, ExternalGroups: true,
		Groups:    []Group{{Name: "ops", Users: []string{"alice"}}},
		RuleLists: []RuleList{{Name: "ops-rules", Groups: []string{"ops"}, Rules: rules}}}
}

var alice = Session{User: "alice"}

// RFC 8341 §3.4.4: protocol operation authorization, one row per step
// of the procedure, each permitted and denied.
func TestExecRFC8341_3_4_4(t *testing.T) {
	deny := func(c Config) Config { c.ExecDefault = Deny; return c }
	disabled := base(Rule{Name: "r", Module: "*", Type: OperationRule, RPC: "*", Ops: Exec, Action: Deny})
	disabled.Enabled = false
	for _, c := range []struct {
		name        string
		cfg         Config
		who         Session
		module, rpc string
		want        bool
	}{
		{"3.4.4 step 1: enable-nacm false permits everything", disabled, alice, "ietf-netconf", "edit-config", true},
		{"3.4.4 step 1: enable-nacm true applies the rules", base(Rule{Name: "r", Module: "*", Type: OperationRule, RPC: "*", Ops: Exec, Action: Deny}), alice, "ietf-netconf", "edit-config", false},
		{"3.4.4 step 2: the recovery session is permitted", deny(base()), Session{User: "root", Recovery: true}, "ietf-netconf", "commit", true},
		{"3.4.4 step 3: close-session is always permitted", deny(base(Rule{Name: "r", Module: "*", Ops: AllOps, Action: Deny})), alice, "ietf-netconf", "close-session", true},
		{"3.4.4 step 3: other operations are not", deny(base(Rule{Name: "r", Module: "*", Ops: AllOps, Action: Deny})), alice, "ietf-netconf", "get", false},
		{"3.4.4 step 4: a user in no group gets the default (deny)", deny(base(Rule{Name: "r", Module: "*", Ops: Exec, Action: Permit})), Session{User: "carol"}, "ietf-netconf", "get", false},
		{"3.4.4 step 4: a user in a group gets its rules (permit)", deny(base(Rule{Name: "r", Module: "*", Ops: Exec, Action: Permit})), alice, "ietf-netconf", "get", true},
		{"3.4.4 step 4: an external group counts with enable-external-groups", deny(Config{Enabled: true, ExternalGroups: true, RuleLists: []RuleList{{Name: "l", Groups: []string{"admin"}, Rules: []Rule{{Name: "r", Module: "*", Ops: Exec, Action: Permit}}}}}), Session{User: "x", ExternalGroups: []string{"admin"}}, "ietf-netconf", "get", true},
		{"3.4.4 step 4: not without it", deny(Config{Enabled: true, ExternalGroups: false, RuleLists: []RuleList{{Name: "l", Groups: []string{"admin"}, Rules: []Rule{{Name: "r", Module: "*", Ops: Exec, Action: Permit}}}}}), Session{User: "x", ExternalGroups: []string{"admin"}}, "ietf-netconf", "get", false},
		{"3.4.4 step 5: a rule-list of group * applies to every group", deny(Config{Enabled: true, Groups: []Group{{Name: "g", Users: []string{"alice"}}}, RuleLists: []RuleList{{Name: "l", Groups: []string{"*"}, Rules: []Rule{{Name: "r", Module: "*", Ops: Exec, Action: Permit}}}}}), alice, "ietf-netconf", "get", true},
		{"3.4.4 step 5: a rule-list of another group does not", deny(Config{Enabled: true, Groups: []Group{{Name: "g", Users: []string{"alice"}}}, RuleLists: []RuleList{{Name: "l", Groups: []string{"other"}, Rules: []Rule{{Name: "r", Module: "*", Ops: Exec, Action: Permit}}}}}), alice, "ietf-netconf", "get", false},
		{"3.4.4 step 6: rules in order, the first match decides (permit first)", deny(base(Rule{Name: "a", Module: "ietf-netconf", Type: OperationRule, RPC: "commit", Ops: Exec, Action: Permit}, Rule{Name: "b", Module: "*", Ops: Exec, Action: Deny})), alice, "ietf-netconf", "commit", true},
		{"3.4.4 step 6: rules in order, the first match decides (deny first)", base(Rule{Name: "a", Module: "*", Ops: Exec, Action: Deny}, Rule{Name: "b", Module: "ietf-netconf", Type: OperationRule, RPC: "commit", Ops: Exec, Action: Permit}), alice, "ietf-netconf", "commit", false},
		{"3.4.4 step 6: module-name must match", base(Rule{Name: "a", Module: "ntpagent-system", Type: OperationRule, RPC: "*", Ops: Exec, Action: Deny}), alice, "ietf-netconf", "commit", true},
		{"3.4.4 step 6: module-name matching denies", base(Rule{Name: "a", Module: "ntpagent-system", Type: OperationRule, RPC: "*", Ops: Exec, Action: Deny}), alice, "ntpagent-system", "rollback-to-commit", false},
		{"3.4.4 step 6: rpc-name must match", base(Rule{Name: "a", Module: "*", Type: OperationRule, RPC: "lock", Ops: Exec, Action: Deny}), alice, "ietf-netconf", "commit", true},
		{"3.4.4 step 6: access-operations must hold exec", base(Rule{Name: "a", Module: "*", Type: OperationRule, RPC: "commit", Ops: Read | Update, Action: Deny}), alice, "ietf-netconf", "commit", true},
		{"3.4.4 step 6: a notification or data rule is no operation rule", base(Rule{Name: "a", Module: "*", Type: NotificationRule, Notification: "*", Ops: AllOps, Action: Deny}, Rule{Name: "b", Module: "*", Type: DataRule, Path: "/", Ops: AllOps, Action: Deny}), alice, "ietf-netconf", "commit", true},
		{"3.4.4 step 8: kill-session is denied by default", base(), alice, "ietf-netconf", "kill-session", false},
		{"3.4.4 step 8: delete-config is denied by default", base(), alice, "ietf-netconf", "delete-config", false},
		{"3.4.4 step 7: a rule permits kill-session", base(Rule{Name: "a", Module: "ietf-netconf", Type: OperationRule, RPC: "kill-session", Ops: Exec, Action: Permit}), alice, "ietf-netconf", "kill-session", true},
		{"3.4.4 step 8: exec-default permit", base(), alice, "ietf-netconf", "commit", true},
		{"3.4.4 step 8: exec-default deny", deny(base()), alice, "ietf-netconf", "commit", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := compile(t, c.cfg).Access(c.who).Exec(c.module, c.rpc); got != c.want {
				t.Errorf("Exec(%s, %s) = %t, want %t", c.module, c.rpc, got, c.want)
			}
		})
	}
}

// RFC 8341 §3.4.6: notification authorization.
func TestNotifyRFC8341_3_4_6(t *testing.T) {
	denyRead := func(c Config) Config { c.ReadDefault = Deny; return c }
	for _, c := range []struct {
		name          string
		cfg           Config
		who           Session
		module, notif string
		want          bool
	}{
		{"3.4.6: the recovery session receives everything", denyRead(base()), Session{Recovery: true}, "ntpagent-ntp", "sync-state-change", true},
		{"3.4.6: replayComplete is always sent", denyRead(base()), alice, "nc-notifications", "replayComplete", true},
		{"3.4.6: a notification rule permits", denyRead(base(Rule{Name: "a", Module: "ntpagent-ntp", Type: NotificationRule, Notification: "sync-state-change", Ops: Read, Action: Permit})), alice, "ntpagent-ntp", "sync-state-change", true},
		{"3.4.6: a notification rule denies", base(Rule{Name: "a", Module: "*", Type: NotificationRule, Notification: "netconf-config-change", Ops: AllOps, Action: Deny}), alice, "ietf-netconf-notifications", "netconf-config-change", false},
		{"3.4.6: the name must match", base(Rule{Name: "a", Module: "*", Type: NotificationRule, Notification: "netconf-config-change", Ops: AllOps, Action: Deny}), alice, "ntpagent-ntp", "sync-state-change", true},
		{"3.4.6: access-operations must hold read", base(Rule{Name: "a", Module: "*", Type: NotificationRule, Notification: "*", Ops: Exec, Action: Deny}), alice, "ntpagent-ntp", "sync-state-change", true},
		{"3.4.6: read-default permit", base(), alice, "ntpagent-ntp", "sync-state-change", true},
		{"3.4.6: read-default deny", denyRead(base()), alice, "ntpagent-ntp", "sync-state-change", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := compile(t, c.cfg).Access(c.who).Notify(c.module, c.notif); got != c.want {
				t.Errorf("Notify(%s, %s) = %t, want %t", c.module, c.notif, got, c.want)
			}
		})
	}
}

// RFC 8341 §3.4.5 for read: Prune leaves out what the rules deny, with its
// descendants, and keeps the rest as it was.
func TestReadRFC8341_3_4_5(t *testing.T) {
	peer := Rule{Name: "p", Module: "ntpagent-ntp", Type: DataRule, Path: "/ntpa:ntp/ntpa:unicast-peer", Ops: Read, Action: Deny}
	keyed := Rule{Name: "k", Module: "*", Type: DataRule, Path: "/ntpagent-ntp:ntp/unicast-peer[address='10.0.0.1'][vpn-instance='_public_']", Ops: Read, Action: Deny}
	for _, c := range []struct {
		name       string
		cfg        Config
		who        Session
		want, omit []string
	}{
		{"3.4.5: enable-nacm false reads everything", func() Config { c := base(peer); c.Enabled = false; return c }(), alice, []string{"10.0.0.1", "sealed", "$2a$"}, nil},
		{"3.4.5: the recovery session reads secrets", base(), Session{Recovery: true}, []string{"sealed", "$2a$"}, nil},
		{"3.4.5: default-deny-all hides key values and password hashes", base(), alice, []string{"10.0.0.1", "bob", "md5"}, []string{"sealed", "$2a$"}},
		{"3.4.5: a permit rule overrides default-deny-all", base(Rule{Name: "a", Module: "*", Ops: AllOps, Action: Permit}), alice, []string{"sealed", "$2a$"}, nil},
		{"3.4.5: a path rule denies a subtree", base(peer), alice, []string{"md5", "bob"}, []string{"10.0.0.1", "10.0.0.2"}},
		{"3.4.5: a path rule with key predicates denies one instance", base(keyed), alice, []string{"10.0.0.2"}, []string{"10.0.0.1"}},
		{"3.4.5: an earlier permit of a deeper path wins over a later deny", base(Rule{Name: "a", Module: "*", Type: DataRule, Path: "/ntpa:ntp/ntpa:unicast-peer/ntpa:minpoll", Ops: Read, Action: Permit}, peer), alice, nil, []string{"10.0.0.1"}},
		{"3.4.5: a rule without the read bit does not apply", base(Rule{Name: "a", Module: "*", Type: DataRule, Path: "/ntpa:ntp", Ops: Update, Action: Deny}), alice, []string{"10.0.0.1"}, nil},
		{"3.4.5: a rule of another module does not apply", base(Rule{Name: "a", Module: "ntpagent-system", Ops: Read, Action: Deny}), alice, []string{"10.0.0.1"}, []string{"bob"}},
		{"3.4.5: read-default deny", func() Config { c := base(); c.ReadDefault = Deny; return c }(), alice, nil, []string{"10.0.0.1", "bob"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := device()
			before := reflect.ValueOf(*d.Ntp.UnicastPeer[gen.NtpagentNtp_Ntp_UnicastPeer_Key{Address: "10.0.0.1", VpnInstance: "_public_"}])
			out := compile(t, c.cfg).Access(c.who).Prune(d).(*gen.Device)
			s := dump(out)
			for _, w := range c.want {
				if !strings.Contains(s, w) {
					t.Errorf("lacks %s: %s", w, s)
				}
			}
			for _, o := range c.omit {
				if strings.Contains(s, o) {
					t.Errorf("holds %s: %s", o, s)
				}
			}
			if !strings.Contains(dump(d), "sealed") || !reflect.DeepEqual(before.Interface(), *d.Ntp.UnicastPeer[gen.NtpagentNtp_Ntp_UnicastPeer_Key{Address: "10.0.0.1", VpnInstance: "_public_"}]) {
				t.Error("Prune changed the tree it was given")
			}
		})
	}
}

// dump renders a tree as text for the assertions (every leaf value).
func dump(d *gen.Device) string {
	var b strings.Builder
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				walk(v.Field(i))
			}
		case reflect.Map:
			iter := v.MapRange()
			for iter.Next() {
				walk(iter.Value())
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		default:
			b.WriteString(leafText(v) + " ")
		}
	}
	walk(reflect.ValueOf(d))
	return b.String()
}

// RFC 8341 §3.4.5 for writes: CheckWrite finds the node of an edit the
// user may not create, update or delete.
func TestWriteRFC8341_3_4_5(t *testing.T) {
	permitNtp := Rule{Name: "w", Module: "ntpagent-ntp", Ops: Create | Update | Delete, Action: Permit}
	addPeer := func(d *gen.Device) { d.Ntp.GetOrCreateUnicastPeer("10.0.0.9", "_public_") }
	setMinpoll := func(d *gen.Device) {
		d.Ntp.UnicastPeer[gen.NtpagentNtp_Ntp_UnicastPeer_Key{Address: "10.0.0.1", VpnInstance: "_public_"}].Minpoll = ygotU8(6)
	}
	delPeer := func(d *gen.Device) {
		delete(d.Ntp.UnicastPeer, gen.NtpagentNtp_Ntp_UnicastPeer_Key{Address: "10.0.0.2", VpnInstance: "_public_"})
	}
	setKey := func(d *gen.Device) { d.Ntp.Authentication.Key[7].KeyValue = ygotStr("%^%#other%^%#") }
	setSysname := func(d *gen.Device) { d.System.Sysname = ygotStr("edge") }
	for _, c := range []struct {
		name     string
		cfg      Config
		who      Session
		edit     func(*gen.Device)
		denied   string // the denied node's path, "" for permitted
		deniedOp Ops
	}{
		{"3.4.5: write-default deny refuses a create", base(), alice, addPeer, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.0.0.9'][ntpa:vpn-instance='_public_']", Create},
		{"3.4.5: write-default permit allows it", func() Config { c := base(); c.WriteDefault = Permit; return c }(), alice, addPeer, "", 0},
		{"3.4.5: a permit rule allows create", base(permitNtp), alice, addPeer, "", 0},
		{"3.4.5: update of a leaf is refused without update access", base(Rule{Name: "c", Module: "*", Ops: Create | Delete, Action: Permit}), alice, setMinpoll, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.0.0.1'][ntpa:vpn-instance='_public_']/ntpa:minpoll", Update},
		{"3.4.5: update of a leaf is permitted with it", base(Rule{Name: "c", Module: "*", Ops: Update, Action: Permit}), alice, setMinpoll, "", 0},
		{"3.4.5: delete is refused without delete access", base(Rule{Name: "c", Module: "*", Ops: Create | Update, Action: Permit}), alice, delPeer, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.0.0.2'][ntpa:vpn-instance='_public_']", Delete},
		{"3.4.5: delete is permitted with it", base(Rule{Name: "c", Module: "*", Ops: Delete, Action: Permit}), alice, delPeer, "", 0},
		{"3.4.5: a key predicate limits a rule to one entry (permitted)", base(Rule{Name: "k", Module: "*", Type: DataRule, Path: "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.0.0.1']", Ops: Update, Action: Permit}), alice, setMinpoll, "", 0},
		{"3.4.5: a key predicate limits a rule to one entry (denied)", base(Rule{Name: "k", Module: "*", Type: DataRule, Path: "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.0.0.2']", Ops: Update, Action: Permit}), alice, setMinpoll, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.0.0.1'][ntpa:vpn-instance='_public_']/ntpa:minpoll", Update},
		{"3.4.5: default-deny-all refuses a write that write-default permits", func() Config { c := base(); c.WriteDefault = Permit; return c }(), alice, setKey, "/ntpa:ntp/ntpa:authentication/ntpa:key[ntpa:key-id='7']/ntpa:key-value", Update},
		{"3.4.5: an explicit rule permits it", base(Rule{Name: "k", Module: "*", Type: DataRule, Path: "/ntpa:ntp/ntpa:authentication", Ops: Update, Action: Permit}), alice, setKey, "", 0},
		{"3.4.5: the recovery session writes anything", base(), Session{Recovery: true}, setKey, "", 0},
		{"3.4.5: another module's rule does not permit", base(permitNtp), alice, setSysname, "/ntps:system/ntps:sysname", Create},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := device()
			after := device()
			c.edit(after)
			d := compile(t, c.cfg).Access(c.who).CheckWrite(before, after)
			switch {
			case c.denied == "" && d != nil:
				t.Errorf("denied %s of %s", d.Op, d.Path)
			case c.denied != "" && d == nil:
				t.Errorf("permitted; want %s of %s denied", c.deniedOp, c.denied)
			case d != nil && (d.Path != c.denied || d.Op != c.deniedOp):
				t.Errorf("denied %s of %s; want %s of %s", d.Op, d.Path, c.deniedOp, c.denied)
			}
		})
	}
	// No change, nothing to deny.
	if d := compile(t, base()).Access(alice).CheckWrite(device(), device()); d != nil {
		t.Errorf("an unchanged tree: %v", d)
	}
}

// The factory defaults keep the two roles' rights: admin does everything,
// secrets included; operator reads all but secrets and /nacm, writes
// nothing, runs no writing operation.
func TestFactoryDefaultKeepsTheRoles(t *testing.T) {
	p := compile(t, FactoryDefault())
	admin := p.Access(Session{User: "a", ExternalGroups: []string{GroupAdmin}})
	op := p.Access(Session{User: "o", ExternalGroups: []string{GroupOperator}})
	d := device()
	d.GetOrCreateNacm().GetOrCreateGroups().GetOrCreateGroup("g")
	if s := dump(admin.Prune(d).(*gen.Device)); !strings.Contains(s, "sealed") || !strings.Contains(s, "$2a$") || !strings.Contains(s, " g ") {
		t.Errorf("admin reads: %s", s)
	}
	if s := dump(op.Prune(d).(*gen.Device)); strings.Contains(s, "sealed") || strings.Contains(s, "$2a$") || strings.Contains(s, " g ") || !strings.Contains(s, "10.0.0.1") {
		t.Errorf("operator reads: %s", s)
	}
	after := device()
	after.Ntp.GetOrCreateUnicastPeer("10.0.0.9", "_public_")
	if admin.CheckWrite(device(), after) != nil || op.CheckWrite(device(), after) == nil {
		t.Error("admin must write, operator must not")
	}
	for _, rpc := range []string{"edit-config", "commit", "lock", "discard-changes", "kill-session", "delete-config"} {
		if !admin.Exec("ietf-netconf", rpc) || op.Exec("ietf-netconf", rpc) {
			t.Errorf("%s: admin %t operator %t", rpc, admin.Exec("ietf-netconf", rpc), op.Exec("ietf-netconf", rpc))
		}
	}
	for _, rpc := range []string{"get", "get-config", "close-session"} {
		if !op.Exec("ietf-netconf", rpc) {
			t.Errorf("operator may not %s", rpc)
		}
	}
	if op.Exec("ntpagent-system", "rollback-to-commit") || op.Exec("ietf-netconf-nmda", "edit-data") || !op.Exec("ietf-netconf-nmda", "get-data") {
		t.Error("operator's NMDA and rollback rights")
	}
}

// FromGen reads the stored /nacm with its YANG defaults; a path that does
// not parse is refused at Compile.
func TestFromGenAndCompile(t *testing.T) {
	c, err := FromGen(nil)
	if err != nil || !reflect.DeepEqual(c, FactoryDefault()) {
		t.Fatalf("FromGen(nil) = %+v, %v", c, err)
	}
	n := &gen.IETFNetconfAcm_Nacm{}
	rl, _ := n.AppendNewRuleList("l")
	r, _ := rl.AppendNewRule("r")
	r.Path = ygotStr("/ntpa:ntp")
	r.AccessOperations = ygotStr("read update")
	r.Action = gen.IETFNetconfAcm_ActionType_permit
	c, err = FromGen(n)
	if err != nil || !c.Enabled || c.ReadDefault != Permit || c.WriteDefault != Deny || c.ExecDefault != Permit || !c.ExternalGroups {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	if got := c.RuleLists[0].Rules[0]; got.Type != DataRule || got.Ops != Read|Update || got.Module != "*" || got.Action != Permit {
		t.Errorf("rule: %+v", got)
	}
	if _, err := Compile(c, testSchema(t)); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"ntp", "/nosuch:ntp", "/ntpa:ntp/ntpa:unicast-peer[ntpa:address=10]", "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10"} {
		c.RuleLists[0].Rules[0].Path = bad
		if _, err := Compile(c, testSchema(t)); err == nil {
			t.Errorf("path %q compiled", bad)
		}
	}
	if _, err := ParseOps("read fly"); err == nil {
		t.Error("an unknown access operation parsed")
	}
}

// The cost of pruning 1,000 peers for a user whose rule-list has five
// rules with key predicates on the peer list (every entry judged), a
// fresh Access each time (no decision cached): the work a first read of
// a new running generation does.
func BenchmarkPrune1000PeersKeyRules(b *testing.B) {
	var rules []Rule
	for i := range 5 {
		rules = append(rules, Rule{Name: "r" + string(rune('a'+i)), Module: "ntpagent-ntp", Type: DataRule,
			Path: "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='198.51.100." + string(rune('1'+i)) + "']", Ops: Read, Action: Deny})
	}
	p := compile(b, base(rules...))
	d := &gen.Device{}
	for i := range 1000 {
		d.GetOrCreateNtp().GetOrCreateUnicastPeer("10.0."+strconv.Itoa(i/250)+"."+strconv.Itoa(i%250+1), "_public_").Minpoll = ygotU8(6)
	}
	for b.Loop() {
		if out := p.Access(alice).Prune(d).(*gen.Device); len(out.Ntp.UnicastPeer) != 1000 {
			b.Fatal(len(out.Ntp.UnicastPeer))
		}
	}
}
