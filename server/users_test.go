package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/ntpagent/ntpagent/internal/nctest"
	"golang.org/x/crypto/ssh"
)

// The users file is read again when it changes: a user or a key added
// while the server runs can log in at once; a file that stops loading
// leaves the users loaded before in force.
func TestUsersFileReloadedWithoutRestart(t *testing.T) {
	a := startAgent(t)
	path := filepath.Join(a.dir, "state", UsersFileName)
	const nocPassword = "noc-secret-1"
	if _, err := dialNCErr(t, a.addr, sshConfig("noc", ssh.Password(nocPassword)), true); err == nil {
		t.Fatal("unknown user logged in")
	}

	// Add a user with a password, and a key for the operator.
	signer := newSigner(t)
	u, err := LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Set("noc", RoleOperator, nocPassword); err != nil {
		t.Fatal(err)
	}
	if err := u.AddKey("operator", string(ssh.MarshalAuthorizedKey(signer.PublicKey()))); err != nil {
		t.Fatal(err)
	}
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	noc := dialNC(t, a.addr, sshConfig("noc", ssh.Password(nocPassword)), true)
	nctest.WantErrorTag(t, noc.RPC(`<lock><target><candidate/></target></lock>`), "access-denied") // role operator
	op := dialNC(t, a.addr, sshConfig("operator", ssh.PublicKeys(signer)), true)
	nctest.WantErrorTag(t, op.RPC(`<commit/>`), "access-denied")

	// A broken file changes nothing: the users loaded before still log in.
	if err := os.WriteFile(path, []byte(`{"users": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := dialNC(t, a.addr, sshConfig("noc", ssh.Password(nocPassword)), true).RPC(`<get-config><source><running/></source></get-config>`); !strings.Contains(r, "<data") {
		t.Fatalf("get-config after a broken users file: %s", r)
	}

	// Removing the user (a good file again) takes effect too.
	u.Users = u.Users[:len(u.Users)-1] // noc was appended last
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := dialNCErr(t, a.addr, sshConfig("noc", ssh.Password(nocPassword)), true); err == nil {
		t.Fatal("removed user still logs in")
	}
	nctest.WantOK(t, dialNC(t, a.addr, a.adminPassword(), true).RPC(`<discard-changes/>`))
}

const systemNS = "urn:ntpagent:yang:ntpagent-system"

func localUserConfig(name, role, password, keyLine string) string {
	x := `<config><system xmlns="` + systemNS + `"><local-user><name>` + name + `</name><role>` + role + `</role>`
	if password != "" {
		x += `<password>` + password + `</password>`
	}
	if keyLine != "" {
		x += `<authorized-key>` + keyLine + `</authorized-key>`
	}
	return x + `</local-user></system></config>`
}

// A user configured through NETCONF (/system/local-user) logs in over SSH
// with its password and its key, in its role, as soon as the commit is
// done; the stored password is a bcrypt hash that only the admin role
// reads: an operator's get-config and get leave it out.
func TestLocalUserConfiguredOverNETCONFLogsIn(t *testing.T) {
	a := startAgent(t)
	const carolPassword = "carol-secret-1"
	signer := newSigner(t)
	keyLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	if _, err := dialNCErr(t, a.addr, sshConfig("carol", ssh.Password(carolPassword)), true); err == nil {
		t.Fatal("carol logged in before she was configured")
	}
	admin := dialNC(t, a.addr, a.adminPassword(), true)
	nctest.WantOK(t, admin.RPC(`<edit-config><target><candidate/></target>`+localUserConfig("carol", "admin", carolPassword, keyLine)+`</edit-config>`))
	if _, err := dialNCErr(t, a.addr, sshConfig("carol", ssh.Password(carolPassword)), true); err == nil {
		t.Fatal("carol logged in with an uncommitted candidate")
	}
	nctest.WantOK(t, admin.RPC(`<commit/>`))

	carol := dialNC(t, a.addr, sshConfig("carol", ssh.Password(carolPassword)), true)
	nctest.WantOK(t, carol.RPC(`<lock><target><candidate/></target></lock>`)) // role admin
	nctest.WantOK(t, carol.RPC(`<unlock><target><candidate/></target></unlock>`))
	dialNC(t, a.addr, sshConfig("carol", ssh.PublicKeys(signer)), true)
	if _, err := dialNCErr(t, a.addr, sshConfig("carol", ssh.Password("wrong")), true); err == nil {
		t.Fatal("carol logged in with a wrong password")
	}

	getConfig := `<get-config><source><running/></source><filter><system xmlns="` + systemNS + `"/></filter></get-config>`
	full := admin.RPC(getConfig)
	if !strings.Contains(full, "<password>$2") || strings.Contains(full, carolPassword) {
		t.Fatalf("admin get-config: want the bcrypt hash and never the password:\n%s", full)
	}
	op := dialNC(t, a.addr, a.operator(), true)
	for _, rpc := range []string{getConfig, `<get-config><source><running/></source></get-config>`, `<get/>`,
		`<get><filter><system xmlns="` + systemNS + `"><local-user><password/></local-user></system></filter></get>`} {
		r := op.RPC(rpc)
		if !strings.Contains(r, "<name>carol</name>") && !strings.Contains(r, "<data") {
			t.Fatalf("operator %s: no data:\n%s", rpc, r)
		}
		if strings.Contains(r, "password") || strings.Contains(r, "$2") {
			t.Fatalf("operator %s shows the password hash:\n%s", rpc, r)
		}
	}
	if r := op.RPC(getConfig); !strings.Contains(r, "<name>carol</name>") || !strings.Contains(r, keyLine) {
		t.Fatalf("operator get-config lost the user itself:\n%s", r)
	}

	// Deleting the user ends its logins.
	nctest.WantOK(t, admin.RPC(`<edit-config><target><running/></target><config><system xmlns="`+systemNS+`"><local-user xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" nc:operation="delete"><name>carol</name></local-user></system></config></edit-config>`))
	if _, err := dialNCErr(t, a.addr, sshConfig("carol", ssh.Password(carolPassword)), true); err == nil {
		t.Fatal("a deleted user logged in")
	}
}

// A name configured in /system/local-user is that user: the users file's
// entry of the same name (its password, its role) no longer logs in; a
// user only the file knows still does.
func TestConfiguredUserTakesPrecedenceOverUsersFile(t *testing.T) {
	a := startAgent(t)
	admin := dialNC(t, a.addr, a.adminPassword(), true)
	nctest.WantOK(t, admin.RPC(`<edit-config><target><running/></target>`+localUserConfig("operator", "admin", "new-operator-secret", "")+`</edit-config>`))
	if _, err := dialNCErr(t, a.addr, a.operator(), true); err == nil {
		t.Fatal("the users file's password of a configured name still logs in")
	}
	op := dialNC(t, a.addr, sshConfig("operator", ssh.Password("new-operator-secret")), true)
	nctest.WantOK(t, op.RPC(`<lock><target><candidate/></target></lock>`)) // the configured role: admin
	dialNC(t, a.addr, a.adminKey(), true)                                  // admin is only in the file
}

// newSigner returns a new Ed25519 key to log in with.
func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// A login as an unknown user checks the password against dummyHash, so it
// must cost what checking a stored hash costs: bcrypt at the cost the
// device hashes passwords with.
func TestDummyHashCostsWhatARealCheckCosts(t *testing.T) {
	cost, err := bcrypt.Cost([]byte(dummyHash))
	if err != nil || cost != bcrypt.DefaultCost {
		t.Fatalf("dummyHash cost %d (%v); passwords are hashed at %d", cost, err, bcrypt.DefaultCost)
	}
	if role, ok := checkPassword(nil, []byte("anything")); ok || role != "" {
		t.Fatal("a login as an unknown user succeeded")
	}
}
