package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/clock"
	"github.com/ntpagent/ntpagent/server/netconf"
	"github.com/ntpagent/ntpagent/view"
	"github.com/ntpagent/ntpagent/yang"
)

// Test users: passwords are bcrypt-hashed in the users file like any other.
const (
	adminPassword    = "admin-secret-1"
	operatorPassword = "operator-secret-1"
)

// testAgent is a Store plus this package's Server on 127.0.0.1:0 with a
// temporary state directory: the in-process agent of the integration tests.
type testAgent struct {
	dir     string
	store   *datastore.Store
	nc      *netconf.Server // the "netconf" subsystem
	srv     *Server
	addr    string // first listener
	addrs   []string
	keyFile string // admin's private key, OpenSSH format
	signer  ssh.Signer
}

// agentConfig is what a test may change before startAgent starts the
// servers: the SSH server's Config and the NETCONF server's.
type agentConfig struct {
	Config
	nc netconf.Config
}

type agentOption func(*agentConfig)

// withViews makes the agent's NETCONF server serve views beside
// ntpagent's own modules, as the daemon does.
func withViews(t testing.TB, views ...view.View) agentOption {
	set, err := view.NewSet(views...)
	if err != nil {
		t.Fatal(err)
	}
	return func(c *agentConfig) { c.nc.Views = set }
}

// withState makes state the agent's state provider.
func withState(state func(*gen.Device)) agentOption {
	return func(c *agentConfig) { c.nc.State = state }
}

// testCredentials are the admin's key and the users file (admin with that
// key and adminPassword, operator with operatorPassword) that every test
// agent starts with. They are made once per test binary: hashing the
// passwords (bcrypt) is the slowest step of starting an agent.
type testCredentials struct {
	keyPEM []byte
	signer ssh.Signer
	users  []byte
}

var credentials = sync.OnceValues(func() (testCredentials, error) {
	var c testCredentials
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return c, err
	}
	blk, err := ssh.MarshalPrivateKey(priv, "test admin key")
	if err != nil {
		return c, err
	}
	c.keyPEM = pem.EncodeToMemory(blk)
	if c.signer, err = ssh.NewSignerFromKey(priv); err != nil {
		return c, err
	}
	users := &Users{}
	if err := users.Set("admin", RoleAdmin, adminPassword); err != nil {
		return c, err
	}
	if err := users.AddKey("admin", string(ssh.MarshalAuthorizedKey(c.signer.PublicKey()))); err != nil {
		return c, err
	}
	if err := users.Set("operator", RoleOperator, operatorPassword); err != nil {
		return c, err
	}
	c.users, err = json.MarshalIndent(users, "", "  ")
	return c, err
})

func startAgent(t testing.TB, opts ...agentOption) *testAgent {
	t.Helper()
	dir := t.TempDir()
	a := &testAgent{dir: dir}
	cred, err := credentials()
	if err != nil {
		t.Fatal(err)
	}
	a.signer = cred.signer
	a.keyFile = filepath.Join(dir, "admin_key")
	if err := os.WriteFile(a.keyFile, cred.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, UsersFileName), cred.users, 0o600); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg := agentConfig{Config: Config{StateDir: state, Listen: []string{"127.0.0.1:0", "127.0.0.1:0"}, Logger: logger}}
	for _, o := range opts {
		o(&cfg)
	}
	// The Store shares the server's clock, so one hand-driven clock times
	// confirmed commits, idle timeouts and events alike.
	a.store, err = datastore.Open(datastore.Options{Dir: filepath.Join(dir, "store"), Logger: logger, Clock: cfg.Clock})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = a.store
	sch, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.nc.Store, cfg.nc.Schema, cfg.nc.Logger, cfg.nc.Clock = a.store, sch, logger, cfg.Clock
	if a.nc, err = netconf.New(cfg.nc); err != nil {
		t.Fatal(err)
	}
	cfg.Subsystems = map[string]SubsystemHandler{"netconf": netconfOverSSH(a.nc)}
	a.srv, err = New(cfg.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.srv.Start(); err != nil {
		t.Fatal(err)
	}
	for _, ad := range a.srv.Addrs() {
		a.addrs = append(a.addrs, ad.String())
	}
	a.addr = a.addrs[0]
	t.Cleanup(func() {
		a.srv.Close()
		a.nc.Close()
		a.store.Close()
	})
	return a
}

func (a *testAgent) adminKey() *ssh.ClientConfig {
	return sshConfig("admin", ssh.PublicKeys(a.signer))
}

func (a *testAgent) adminPassword() *ssh.ClientConfig {
	return sshConfig("admin", ssh.Password(adminPassword))
}

func (a *testAgent) operator() *ssh.ClientConfig {
	return sshConfig("operator", ssh.Password(operatorPassword))
}

// netconfSubsystem is the "netconf" subsystem of a NETCONF server over st
// (closed when the test ends), for a Config.Subsystems.
func netconfSubsystem(t testing.TB, st *datastore.Store, clk clock.Clock) map[string]SubsystemHandler {
	t.Helper()
	sch, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	nc, err := netconf.New(netconf.Config{Store: st, Schema: sch, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return map[string]SubsystemHandler{"netconf": netconfOverSSH(nc)}
}

// netconfOverSSH serves the "netconf" subsystem with nc as cmd/ntpagent
// does: the role is the session's access control group; an admin of the
// users file is the recovery session.
func netconfOverSSH(nc *netconf.Server) SubsystemHandler {
	return SubsystemFunc(func(ctx context.Context, s *SubsystemSession) {
		_ = nc.Serve(ctx, s.Channel, netconf.SessionInfo{
			ID: s.ID, User: s.User, ReadOnly: s.Role != RoleAdmin,
			Groups: []string{string(s.Role)}, Recovery: s.Recovery,
			SourceHost: hostOf(s.RemoteAddr), Transport: "netconf-ssh",
			Subscribed: s.Waiting, TimedOut: s.TimedOut,
		})
	})
}
