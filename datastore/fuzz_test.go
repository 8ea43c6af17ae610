package datastore

import (
	"io"
	"log/slog"
	"testing"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/fakeclock"
)

// fuzzOps reads edit operations from fuzz input: an operation byte, then
// its arguments (bytes, and strings as a length byte and that many bytes).
type fuzzOps struct{ b []byte }

func (o *fuzzOps) byte() byte {
	if len(o.b) == 0 {
		return 0
	}
	c := o.b[0]
	o.b = o.b[1:]
	return c
}

func (o *fuzzOps) str() string {
	n := int(o.byte()) % 48
	if n > len(o.b) {
		n = len(o.b)
	}
	s := string(o.b[:n])
	o.b = o.b[n:]
	return s
}

// FuzzEditSequence applies a sequence of edits (arbitrary addresses, names,
// key values, out-of-range numbers and enums), commits, discards, rollbacks
// and writes to running. Whatever the input: no panic; a refused operation
// leaves candidate and running unchanged; running always passes
// rules.Validate; after a restart running is the same.
func FuzzEditSequence(f *testing.F) {
	f.Add([]byte{0, 8, '1', '0', '.', '0', '.', '0', '.', '1', 5, 4})
	f.Add([]byte{0, 8, '1', '0', '.', '0', '.', '0', '.', '1', 15, 4, 1, 0, 4})
	f.Add([]byte{2, 7, 1, 3, 'k', 'e', 'y', 0, 3, 'a', '.', 'b', 9, 4, 5})
	f.Add([]byte{6, 9, '2', '5', '5', '.', '1', '.', '1', '.', '1', 3, 7, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		open := func() *Store {
			s, err := Open(Options{Dir: dir, HistoryLimit: 4, Clock: fakeclock.New(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LocalPrefixes: noPrefixes})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		s := open()
		defer func() { s.Close() }()
		sess := Session{ID: 4, User: "fuzz", Origin: OriginNETCONF}
		ops := &fuzzOps{b: data}
		for i := 0; i < 64 && len(ops.b) > 0; i++ {
			beforeC, beforeR := s.Snapshot(Candidate), s.Snapshot(Running)
			var err error
			switch ops.byte() % 10 {
			case 0, 6:
				target := Candidate
				if ops.b != nil && len(data)%2 == 0 {
					target = Running
				}
				addr, vpn, minpoll := ops.str(), "_public_", ops.byte()%20
				if minpoll%5 == 0 {
					vpn = ops.str()
				}
				err = s.Edit(sess, target, EditOptions{}, func(d *gen.Device) error {
					p := d.GetOrCreateNtp().GetOrCreateUnicastPeer(addr, vpn)
					p.SetMinpoll(minpoll)
					if minpoll%3 == 0 {
						p.SetVersion(minpoll % 6)
					}
					return nil
				})
			case 1:
				addr := ops.str()
				err = s.Edit(sess, Candidate, EditOptions{}, delPeer(addr))
			case 2:
				id, mode, val := uint32(ops.byte()), gen.E_NtpagentNtp_Ntp_Authentication_Key_Mode(ops.byte()%7), ops.str()
				err = s.Edit(sess, Candidate, EditOptions{}, func(d *gen.Device) error {
					k := d.GetOrCreateNtp().GetOrCreateAuthentication().GetOrCreateKey(id)
					k.Mode = mode
					k.SetKeyValue(val)
					if id%2 == 0 {
						d.Ntp.GetOrCreateUnicastPeer("192.0.2.9", "_public_").SetAuthenticationKeyid(id)
					}
					return nil
				})
			case 3:
				mx, ds := ops.byte()%20, ops.byte()%16
				err = s.Edit(sess, Candidate, EditOptions{}, func(d *gen.Device) error {
					u := d.GetOrCreateNtp().GetOrCreateUnsync()
					u.SetMaxPollInterval(mx)
					if ds != 0 {
						u.SetDecStep(ds)
					}
					return nil
				})
			case 4:
				_, err = s.Commit(sess, CommitOptions{})
			case 5:
				err = s.Discard(sess)
			case 7:
				_, err = s.Rollback(sess, uint32(ops.byte()%8), "")
			case 8:
				name := ops.str()
				err = s.Edit(sess, Candidate, EditOptions{}, func(d *gen.Device) error {
					d.GetOrCreateSystem().SetSysname(name)
					return nil
				})
			case 9:
				ifname, af := ops.str(), gen.E_NtpagentNtp_AddressFamily(ops.byte()%3)
				err = s.Edit(sess, Candidate, EditOptions{}, func(d *gen.Device) error {
					d.GetOrCreateNtp().GetOrCreateSourceInterface(af).SetInterface(ifname)
					return nil
				})
			}
			if err != nil {
				if !equalTree(beforeC, s.Snapshot(Candidate)) || !equalTree(beforeR, s.Snapshot(Running)) {
					t.Fatalf("op %d failed (%v) and changed a datastore", i, err)
				}
			}
			if verr := rules.Validate(s.Snapshot(Running), rules.WithLocalPrefixes(noPrefixes)); verr != nil {
				t.Fatalf("op %d: running does not validate: %v", i, verr)
			}
		}
		want := s.Snapshot(Running)
		s.Close()
		s = open()
		if got := s.Snapshot(Running); !equalTree(got, want) {
			t.Fatalf("running after restart differs: %v", diffTrees(want, got))
		}
	})
}
