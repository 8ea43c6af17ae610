package datastore

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/clock"
	"github.com/ntpagent/ntpagent/internal/fakeclock"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

var (
	alice = Session{ID: 1, User: "alice", Origin: OriginNETCONF}
	bob   = Session{ID: 2, User: "bob", Origin: OriginCLI}
)

func noPrefixes() []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")} }

func openStore(t testing.TB, dir string, clk clock.Clock) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if clk == nil {
		clk = fakeclock.New()
	}
	s, err := Open(Options{Dir: dir, Clock: clk, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LocalPrefixes: noPrefixes})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func setPeer(addr string, minpoll uint8) func(*gen.Device) error {
	return func(d *gen.Device) error {
		p := d.GetOrCreateNtp().GetOrCreateUnicastPeer(addr, "_public_")
		p.SetMinpoll(minpoll)
		return nil
	}
}

func delPeer(addr string) func(*gen.Device) error {
	return func(d *gen.Device) error {
		d.GetOrCreateNtp().DeleteUnicastPeer(addr, "_public_")
		return nil
	}
}

func mustEdit(t testing.TB, s *Store, sess Session, ds Name, f func(*gen.Device) error) {
	t.Helper()
	if err := s.Edit(sess, ds, EditOptions{}, f); err != nil {
		t.Fatalf("Edit %s: %v", ds, err)
	}
}

func mustCommit(t testing.TB, s *Store, sess Session, opt CommitOptions) CommitInfo {
	t.Helper()
	ci, err := s.Commit(sess, opt)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return ci
}

// tagOf returns the error-tag of the first rpc-error in err ("" for nil).
func tagOf(err error) rpcerror.Tag {
	if err == nil {
		return ""
	}
	var e *rpcerror.Error
	var l rpcerror.List
	switch {
	case errors.As(err, &l) && len(l) > 0:
		return l[0].Tag
	case errors.As(err, &e):
		return e.Tag
	}
	return "not-an-rpc-error"
}

func infoOf(err error, name string) string {
	for _, e := range rpcerror.All(err) {
		for _, i := range e.Info {
			if i.Name == name {
				return i.Value
			}
		}
	}
	return ""
}

func peerSet(d *gen.Device) map[string]uint8 {
	out := map[string]uint8{}
	for k, p := range peers(d) {
		out[k.Address] = p.GetMinpoll()
	}
	return out
}

// filesHolding returns the names of the files of dir whose bytes contain s.
func filesHolding(t testing.TB, dir, s string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil && bytes.Contains(b, []byte(s)) {
			out = append(out, e.Name())
		}
	}
	return out
}
