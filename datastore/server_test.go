package datastore

import (
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// Unicast servers are stored, journaled and restored like peers: added,
// changed and deleted across commits, they come back the same after a
// reopen (the journal's delta records carry them).
func TestUnicastServersSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	mustEdit(t, s, alice, Running, func(d *gen.Device) error {
		v := d.GetOrCreateNtp().GetOrCreateUnicastServer("192.0.2.10", "_public_")
		v.SetIburst(true)
		v.SetMinpoll(4)
		d.Ntp.GetOrCreateUnicastServer("2001:db8::10", "blue").SetPreferred(true)
		d.Ntp.GetOrCreateUnicastServer("ntp.example.net", "_public_")
		return nil
	})
	mustEdit(t, s, bob, Running, func(d *gen.Device) error {
		d.Ntp.GetUnicastServer("192.0.2.10", "_public_").SetMaxpoll(8)
		d.Ntp.DeleteUnicastServer("ntp.example.net", "_public_")
		return nil
	})
	want := s.Snapshot(Running)
	if got := want.GetNtp().GetUnicastServer("192.0.2.10", "_public_").GetMaxpoll(); got != 8 || len(want.Ntp.UnicastServer) != 2 {
		t.Fatalf("running servers %v, maxpoll %d", want.Ntp.UnicastServer, got)
	}
	s.Close()
	s2 := openStore(t, dir, nil)
	if got := s2.Snapshot(Running); !equalTree(got, want) {
		t.Errorf("running after reopen differs:\n%v", diffTrees(want, got))
	}
}

// One address in one vpn-instance is a peer or a server: adding a peer at a
// server's address is refused even when only the peers changed (the
// validation that looks at changed peers alone still sees the servers).
func TestPeerAtAServersAddressIsRefused(t *testing.T) {
	s := openStore(t, "", nil)
	mustEdit(t, s, alice, Running, func(d *gen.Device) error {
		d.GetOrCreateNtp().GetOrCreateUnicastServer("192.0.2.10", "_public_")
		setPeer("192.0.2.20", 6)(d)
		return nil
	})
	before := s.Snapshot(Running)
	err := s.Edit(alice, Running, EditOptions{}, setPeer("192.0.2.10", 6))
	if tagOf(err) != rpcerror.TagOperationFailed {
		t.Fatalf("peer at a server's address: %v, want operation-failed", err)
	}
	if got := s.Snapshot(Running); !equalTree(got, before) {
		t.Errorf("a refused edit changed running:\n%v", diffTrees(before, got))
	}
	if err := s.Edit(alice, Running, EditOptions{}, func(d *gen.Device) error {
		d.Ntp.GetOrCreateUnicastServer("192.0.2.20", "_public_")
		return nil
	}); tagOf(err) != rpcerror.TagOperationFailed {
		t.Errorf("server at a peer's address: %v, want operation-failed", err)
	}
}
