package netconf_test

import (
	"sync/atomic"
	"testing"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/internal/nctest"
	"github.com/ntpagent/ntpagent/server/netconf"
	"github.com/ntpagent/ntpagent/yang"
)

// fixture is a NETCONF server over a Store in a temporary folder, whose
// sessions run on in-memory pipes (nctest.Pipe): the NETCONF features are
// tested here without SSH, which package server tests end to end.
type fixture struct {
	srv   *netconf.Server
	store *datastore.Store
	ids   atomic.Uint32
}

// newFixture starts a server with the settings opts make; the Store shares
// its Clock, so one hand-driven clock times confirmed commits and events.
func newFixture(t testing.TB, opts ...func(*netconf.Config)) *fixture {
	t.Helper()
	var cfg netconf.Config
	for _, o := range opts {
		o(&cfg)
	}
	st, err := datastore.Open(datastore.Options{Dir: t.TempDir(), Clock: cfg.Clock})
	if err != nil {
		t.Fatal(err)
	}
	sch, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Schema = st, sch
	srv, err := netconf.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); st.Close() })
	return &fixture{srv: srv, store: st}
}

// admin opens a session that may write, with hellos exchanged (base11:
// base:1.1 announced, so chunked framing).
func (f *fixture) admin(t testing.TB, base11 bool) *nctest.Client {
	return f.session(t, "admin", false, base11)
}

// operator opens a read-only session (the SSH server's operator role).
func (f *fixture) operator(t testing.TB, base11 bool) *nctest.Client {
	return f.session(t, "operator", true, base11)
}

func (f *fixture) session(t testing.TB, user string, readOnly, base11 bool) *nctest.Client {
	t.Helper()
	return nctest.PipeHello(t, f.srv, netconf.SessionInfo{
		ID: f.ids.Add(1), User: user, ReadOnly: readOnly, SourceHost: "127.0.0.1", Transport: "netconf-ssh",
	}, base11)
}
