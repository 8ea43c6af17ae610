package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
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
	wantErrorTag(t, noc.rpc(`<lock><target><candidate/></target></lock>`), "access-denied") // role operator
	op := dialNC(t, a.addr, sshConfig("operator", ssh.PublicKeys(signer)), true)
	wantErrorTag(t, op.rpc(`<commit/>`), "access-denied")

	// A broken file changes nothing: the users loaded before still log in.
	if err := os.WriteFile(path, []byte(`{"users": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := dialNC(t, a.addr, sshConfig("noc", ssh.Password(nocPassword)), true).rpc(`<get-config><source><running/></source></get-config>`); !strings.Contains(r, "<data") {
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
	wantOK(t, dialNC(t, a.addr, a.adminPassword(), true).rpc(`<discard-changes/>`))
}
