package cli

import (
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/server/nacm"
	"github.com/ntpagent/ntpagent/yang"
)

// nacmEnv is a CLI whose policy is running's /nacm, compiled at each
// question (the daemon hands the NETCONF server's cached policy).
func nacmEnv(t *testing.T) *env {
	e := newEnv(t)
	ys, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	sch, err := nacm.NewSchema(ys.Library(), &gen.Device{})
	if err != nil {
		t.Fatal(err)
	}
	e.cli = New(Config{Store: e.store, State: func() *gen.Device { return e.state }, Check: e.cli.cfg.Check,
		Policy: func() *nacm.Policy {
			cfg, err := nacm.FromGen(e.store.Snapshot(datastore.Running).Nacm)
			if err != nil {
				t.Fatal(err)
			}
			p, err := nacm.Compile(cfg, sch)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}})
	return e
}

func mustHold(t *testing.T, name, out string, want, omit []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q:\n%s", name, w, out)
		}
	}
	for _, o := range omit {
		if strings.Contains(out, o) {
			t.Errorf("%s holds %q:\n%s", name, o, out)
		}
	}
}

// RFC 8341 in the CLI, factory defaults: the operator sees neither NTP
// key values nor password hashes in any display (running, candidate,
// saved), and runs no command that writes; the admin sees both.
func TestCLIOperatorSeesNoSecretsRFC8341(t *testing.T) {
	e := nacmEnv(t)
	e.run("batch", "admin", RoleAdmin, 80, "system-view\nntp authentication-keyid 5 authentication-mode md5 cipher Key-Text-1\nlocal-user bob password Bob-Secret-1\ncommit\nquit\nsave force")
	running := e.store.Snapshot(datastore.Running)
	cipher, hash := running.GetNtp().GetAuthentication().GetKey(5).GetKeyValue(), running.GetSystem().GetLocalUser("bob").GetPassword()
	if cipher == "" || hash == "" {
		t.Fatalf("not configured: %q %q", cipher, hash)
	}
	for _, cmd := range []string{"display current-configuration", "display saved-configuration", "display configuration candidate"} {
		mustHold(t, "operator "+cmd, e.run("batch", "watch", RoleOperator, 200, cmd), []string{"ntp authentication-keyid 5", "local-user bob"}, []string{cipher, hash})
	}
	mustHold(t, "admin display current-configuration", e.run("batch", "admin", RoleAdmin, 200, "display current-configuration"), []string{cipher, hash}, nil)
	out := e.run("batch", "watch", RoleOperator, 200, "system-view\nsave force\nrollback configuration to commit-id 1")
	if n := strings.Count(out, "Error: Access control does not permit this user to run this command."); n != 3 {
		t.Errorf("operator's writing commands: %d refused of 3:\n%s", n, out)
	}
}

// RFC 8341 in the CLI with a configured /nacm: a user of group ops may
// create peers but not change the system settings, which it does not see
// either; the denied command changes nothing and says why.
func TestCLIEnforcesConfiguredRulesRFC8341(t *testing.T) {
	e := nacmEnv(t)
	opsRules(t, e, func(rl *gen.IETFNetconfAcm_Nacm_RuleList) {
		r, _ := rl.AppendNewRule("no-system") // a new name: AppendNewRule cannot fail
		r.ModuleName, r.AccessOperations, r.Action = ptrTo("ntpagent-system"), ptrTo("read"), gen.IETFNetconfAcm_ActionType_deny
	})
	out := e.run("batch", "alice", RoleOperator, 200, "system-view\nntp unicast-peer 10.1.1.9\nsysname other\ncommit\ndisplay current-configuration")
	mustHold(t, "alice", out, []string{"Error: Access control does not permit user alice to update /ntps:system/ntps:sysname", "ntp unicast-peer 10.1.1.9"}, []string{"sysname edge-1"})
	running := e.store.Snapshot(datastore.Running)
	if running.GetSystem().GetSysname() != "edge-1" || running.GetNtp().GetUnicastPeer("10.1.1.9", "_public_") == nil {
		t.Errorf("running after alice: sysname %q, peer %v", running.GetSystem().GetSysname(), running.GetNtp().GetUnicastPeer("10.1.1.9", "_public_"))
	}
}

func ptrTo[T any](v T) *T { return &v }

// opsRules commits, as the admin, sysname edge-1 and a /nacm whose group
// ops (user alice) may create, update and delete peers, with more rules
// added by more; it returns the admin's datastore session.
func opsRules(t *testing.T, e *env, more func(*gen.IETFNetconfAcm_Nacm_RuleList)) datastore.Session {
	t.Helper()
	ss := datastore.Session{ID: 99, User: "admin", Origin: datastore.OriginNETCONF}
	err := e.store.Edit(ss, datastore.Running, datastore.EditOptions{}, func(d *gen.Device) error {
		d.GetOrCreateSystem().Sysname = ptrTo("edge-1")
		n := d.GetOrCreateNacm()
		n.GetOrCreateGroups().GetOrCreateGroup("ops").UserName = []string{"alice"}
		rl, err := n.AppendNewRuleList("ops")
		if err != nil {
			return err
		}
		rl.Group = []string{"ops"}
		w, err := rl.AppendNewRule("peers")
		if err != nil {
			return err
		}
		w.Path, w.AccessOperations, w.Action = ptrTo("/ntpa:ntp/ntpa:unicast-peer"), ptrTo("create update delete"), gen.IETFNetconfAcm_ActionType_permit
		more(rl)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// RFC 8341 §3.2.8 in the CLI: commit changes running, judged with the
// committing user's write access whoever edited the candidate (denied:
// the admin's sysname change; permitted: alice's own peer); save writes
// startup and reads all of running, as NETCONF's copy-config (denied:
// /nacm is default-deny-all, neither read nor written by alice).
func TestCLICommitAndSaveJudgeTheirEffectRFC8341(t *testing.T) {
	e := nacmEnv(t)
	ss := opsRules(t, e, func(*gen.IETFNetconfAcm_Nacm_RuleList) {})
	if err := e.store.Edit(ss, datastore.Candidate, datastore.EditOptions{}, func(d *gen.Device) error {
		d.GetOrCreateSystem().Sysname = ptrTo("edge-2")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out := e.run("batch", "alice", RoleOperator, 200, "system-view\ncommit")
	mustHold(t, "alice commits the admin's change", out, []string{"Error: Access control does not permit user alice to update /ntps:system/ntps:sysname"}, nil)
	if got := e.store.Snapshot(datastore.Running).GetSystem().GetSysname(); got != "edge-1" {
		t.Fatalf("a denied commit changed running: sysname %q", got)
	}
	if err := e.store.Discard(ss); err != nil {
		t.Fatal(err)
	}
	out = e.run("batch", "alice", RoleOperator, 200, "system-view\nntp unicast-peer 10.1.1.9\ncommit\nquit\nsave force")
	mustHold(t, "alice commits her peer", out, []string{"Error: Access control does not permit user alice to read all of the running configuration."}, []string{"sysname", "Info: Save the configuration successfully."})
	if e.store.Snapshot(datastore.Running).GetNtp().GetUnicastPeer("10.1.1.9", "_public_") == nil {
		t.Error("alice's permitted commit did not reach running")
	}
	if _, saved := e.store.Saved(); saved {
		t.Error("a denied save wrote startup")
	}
}
