package cli

import (
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// A user made with the CLI's local-user commands logs in over SSH with its
// password once committed, in its role (an operator may not enter the
// system view, and its display leaves the password line out); a wrong
// password does not log in.
func TestLocalUserFromCLILogsInOverSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	e := newEnv(t)
	e.startSSH(t)
	e.batch(t, "system-view\nlocal-user noc role operator\nlocal-user noc password Noc-Pass-9\ncommit")
	dial := func(password string) (*ssh.Client, error) {
		return ssh.Dial("tcp", e.ssh.addr, &ssh.ClientConfig{User: "noc", Auth: []ssh.AuthMethod{ssh.Password(password)},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: sshTimeout})
	}
	if c, err := dial("wrong-password"); err == nil {
		c.Close()
		t.Fatal("a wrong password logged in")
	}
	c, err := dial("Noc-Pass-9")
	if err != nil {
		t.Fatalf("the configured user does not log in: %v", err)
	}
	defer c.Close()
	run := func(cmd string) string {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		out, _ := sess.CombinedOutput(cmd)
		return string(out)
	}
	if out := run("system-view"); !strings.Contains(out, "Error") {
		t.Fatalf("the operator entered the system view:\n%s", out)
	}
	if out := run("display current-configuration"); !strings.Contains(out, "local-user noc role operator") || strings.Contains(out, "password") {
		t.Fatalf("operator's display current-configuration:\n%s", out)
	}
}
