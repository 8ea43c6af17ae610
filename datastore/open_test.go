package datastore

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
)

func TestReopenRestoresEverything(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	mustEdit(t, s, alice, Running, func(d *gen.Device) error {
		d.GetOrCreateSystem().SetSysname("edge1")
		u := d.GetOrCreateNtp().GetOrCreateUnsync()
		u.SetMaxPollInterval(8)
		u.SetDecStep(2)
		a := d.Ntp.GetOrCreateAuthentication()
		a.SetEnable(true)
		k := a.GetOrCreateKey(5)
		k.SetMode(gen.NtpagentNtp_Ntp_Authentication_Key_Mode_sha1)
		k.SetKeyValue("abc")
		k.SetTrusted(true)
		si := d.Ntp.GetOrCreateSourceInterface(gen.NtpagentNtp_AddressFamily_ipv6)
		si.SetInterface("eth0")
		p := d.Ntp.GetOrCreateUnicastPeer("2001:db8::1", "blue")
		p.SetAuthenticationKeyid(5)
		p.SetPort(1234)
		p.SetPreferred(true)
		return nil
	})
	mustEdit(t, s, bob, Running, func(d *gen.Device) error {
		d.Ntp.Unsync = nil
		d.Ntp.Authentication.Enable = nil
		d.Ntp.DeleteSourceInterface(gen.NtpagentNtp_AddressFamily_ipv6)
		d.Ntp.GetOrCreateSourceInterface(gen.NtpagentNtp_AddressFamily_ipv4).SetInterface("eth1")
		setPeer("192.0.2.77", 7)(d)
		return nil
	})
	mustEdit(t, s, bob, Candidate, setPeer("10.9.9.9", 5)) // uncommitted: not durable
	want, wantHist := s.Snapshot(Running), s.History()
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, runningName)); err != nil {
		t.Errorf("Close did not write running.json: %v", err)
	}
	s2 := openStore(t, dir, nil)
	if got := s2.Snapshot(Running); !equalTree(got, want) {
		t.Errorf("running after reopen differs:\n%v", diffTrees(want, got))
	}
	if got := s2.Snapshot(Candidate); !equalTree(got, want) {
		t.Error("candidate after reopen is not running")
	}
	if got := s2.History(); !reflect.DeepEqual(got, wantHist) {
		t.Errorf("history %+v, want %+v", got, wantHist)
	}
}

func TestOpenImportsRunningJSON(t *testing.T) {
	dir := t.TempDir()
	js := `{"ntpagent-ntp:ntp":{"unicast-peer":[{"address":"10.1.1.1","vpn-instance":"_public_","minpoll":5}]}}`
	if err := os.WriteFile(filepath.Join(dir, runningName), []byte(js), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dir, nil)
	if got := peerSet(s.Snapshot(Running)); !reflect.DeepEqual(got, map[string]uint8{"10.1.1.1": 5}) {
		t.Fatalf("running %v", got)
	}
	if h := s.History(); len(h) != 1 || h[0].Origin != OriginSystem {
		t.Errorf("history %+v", h)
	}
}

func mustLine(t *testing.T, r record) string {
	l, err := encodeLine(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(l)
}

// Two stores on one state directory would interleave journal records: the
// second Open is refused until the first store is closed.
func TestStateDirectoryIsExclusive(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	if s2, err := Open(Options{Dir: dir, LocalPrefixes: noPrefixes}); err == nil {
		s2.Close()
		t.Fatal("a second store opened the same directory")
	}
	s.Close()
	s2, err := Open(Options{Dir: dir, LocalPrefixes: noPrefixes})
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
}
