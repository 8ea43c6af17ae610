package cli

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"golang.org/x/crypto/ssh"

	"github.com/ntpagent/ntpagent/server"
)

// sshAgent is the SSH server of package server with this CLI as its
// terminal handler, on 127.0.0.1, and a key per role for the clients.
type sshAgent struct {
	addr     string
	signers  map[Role]ssh.Signer
	adminKey []byte // the admin's private key, OpenSSH PEM (for ssh -i)
}

func newKey(t testing.TB) (ssh.Signer, []byte) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "cli test")
	if err != nil {
		t.Fatal(err)
	}
	return s, pem.EncodeToMemory(blk)
}

// startSSH serves e's CLI and store over SSH. The users "admin" and
// "operator" log in with keys.
func (e *env) startSSH(t testing.TB) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	admin, adminKey := newKey(t)
	operator, _ := newKey(t)
	a := &sshAgent{signers: map[Role]ssh.Signer{RoleAdmin: admin, RoleOperator: operator}, adminKey: adminKey}
	users := &server.Users{}
	for role, signer := range a.signers {
		name := string(role)
		if err := users.Set(name, role, "unused-"+name); err != nil {
			t.Fatal(err)
		}
		if err := users.AddKey(name, string(ssh.MarshalAuthorizedKey(signer.PublicKey()))); err != nil {
			t.Fatal(err)
		}
	}
	if err := users.Save(filepath.Join(dir, server.UsersFileName)); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{StateDir: dir, Listen: []string{"127.0.0.1:0"}, Store: e.store, Terminal: e.cli,
		Logger: slog.New(slog.DiscardHandler), Announce: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	a.addr = srv.Addrs()[0].String()
	e.ssh = a
}

// sshTimeout bounds one session of a test; reaching it is a failure, not a
// measurement.
const sshTimeout = 30 * time.Second

// runSSH runs one session over SSH: with a PTY for mode pty, a shell without
// one for batch, an exec request for exec.
func (e *env) runSSH(mode string, role Role, width, height int, input string) string {
	t := e.t
	signer := e.ssh.signers[role]
	if signer == nil {
		t.Fatalf("no SSH user for role %q", role)
	}
	client, err := ssh.Dial("tcp", e.ssh.addr, &ssh.ClientConfig{
		User: string(role), Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: sshTimeout,
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	defer sess.Close()
	// Separate buffers: the session copies stdout and stderr from two
	// goroutines. The CLI writes nothing to stderr.
	var out, errOut bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errOut
	stdin, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	switch mode {
	case "pty":
		if err := sess.RequestPty("xterm", height, width, ssh.TerminalModes{ssh.ECHO: 0}); err != nil {
			t.Fatalf("pty: %v", err)
		}
		if err := sess.Shell(); err != nil {
			t.Fatalf("shell: %v", err)
		}
		stdin.Write([]byte(keys(input)))
	case "batch":
		if err := sess.Shell(); err != nil {
			t.Fatalf("shell: %v", err)
		}
		stdin.Write([]byte(input + "\n"))
	case "exec":
		if err := sess.Start(input); err != nil {
			t.Fatalf("exec: %v", err)
		}
	}
	stdin.Close()
	go func() { done <- sess.Wait() }()
	timer := time.NewTimer(sshTimeout)
	defer timer.Stop()
	select {
	case err = <-done:
	case <-timer.C:
		t.Fatalf("the SSH session did not end; output so far:\n%s", out.String())
	}
	status := 0
	var exit *ssh.ExitError
	if errors.As(err, &exit) {
		status = exit.ExitStatus()
	} else if err != nil {
		t.Fatalf("wait: %v", err)
	}
	out.Write(errOut.Bytes())
	if mode == "pty" {
		sc := newScreen(width)
		sc.write(out.Bytes())
		return sc.String()
	}
	return out.String() + fmt.Sprintf("[exit status %d]\n", status)
}

// TestTranscriptsOverSSH runs the same fixtures through package server's SSH
// server with x/crypto/ssh clients: a real PTY, shell and exec channels.
// The screens must be the same as in memory.
func TestTranscriptsOverSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	datadriven.Walk(t, "../../testdata/cli", func(t *testing.T, path string) {
		e := newEnv(t)
		e.startSSH(t)
		datadriven.RunTest(t, path, e.dispatch)
	})
}
