package datastore

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/fakeclock"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/server/netconf/xmlcodec"
	"pgregory.net/rapid"
)

// refModel is the reference the store is checked against: peers as
// address → minpoll (maxpoll stays at its default 10, so minpoll > 10 is
// invalid), and the kept history.
type refModel struct {
	cand, run map[string]uint8
	hist      []refCommit
	lastID    uint32
}

type refCommit struct {
	id  uint32
	run map[string]uint8
}

func validModel(m map[string]uint8) bool {
	for _, v := range m {
		if v > 10 {
			return false
		}
	}
	return true
}

const propLimit = 5

func (m *refModel) commit(run map[string]uint8) {
	if maps.Equal(m.cand, m.run) {
		m.cand = maps.Clone(run)
	}
	m.run = maps.Clone(run)
	m.lastID++
	m.hist = append(m.hist, refCommit{m.lastID, maps.Clone(run)})
	if len(m.hist) > propLimit {
		m.hist = m.hist[len(m.hist)-propLimit:]
	}
}

// TestStoreAgreesWithModel: random sequences of edits (all three
// test-options), writes to running, commits, discards, rollbacks and
// restarts agree with refModel; every running tree is also checked by
// yanglint against the YANG modules.
func TestStoreAgreesWithModel(t *testing.T) {
	seen := map[string][]byte{}
	addrs := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "2001:db8::5", "ntp.example.net"}
	rapid.Check(t, func(rt *rapid.T) {
		dir, err := os.MkdirTemp("", "ds-prop-")
		if err != nil {
			rt.Fatal(err)
		}
		defer os.RemoveAll(dir)
		open := func() *Store {
			s, err := Open(Options{Dir: dir, HistoryLimit: propLimit, Clock: fakeclock.New(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LocalPrefixes: noPrefixes})
			if err != nil {
				rt.Fatalf("Open: %v", err)
			}
			return s
		}
		s := open()
		defer func() { s.Close() }()
		m := &refModel{cand: map[string]uint8{}, run: map[string]uint8{}}
		sess := Session{ID: 1, User: "prop", Origin: OriginCLI}
		// The rule every cache relies on: one generation names one tree.
		trees := map[Generation]*gen.Device{}
		check := func(what string) {
			for _, ds := range []Name{Candidate, Running} {
				t, g := s.Shared(ds)
				if seen, ok := trees[g]; ok && seen != t {
					rt.Fatalf("after %s: %s's generation %d names two trees", what, ds, g)
				}
				trees[g] = t
			}
			if got := peerSet(s.Snapshot(Candidate)); !maps.Equal(got, m.cand) {
				rt.Fatalf("after %s: candidate %v, model %v", what, got, m.cand)
			}
			if got := peerSet(s.Snapshot(Running)); !maps.Equal(got, m.run) {
				rt.Fatalf("after %s: running %v, model %v", what, got, m.run)
			}
			if got := s.CandidateModified(); got != !maps.Equal(m.cand, m.run) {
				rt.Fatalf("after %s: CandidateModified %v", what, got)
			}
			h := s.History()
			if len(h) != len(m.hist) {
				rt.Fatalf("after %s: %d commits kept, model %d", what, len(h), len(m.hist))
			}
			for i, c := range h {
				if c.ID != m.hist[len(m.hist)-1-i].id {
					rt.Fatalf("after %s: history %v, model %v", what, h, m.hist)
				}
			}
		}
		edit := func(ds Name, opt TestOption, addr string, minpoll uint8, del bool) {
			f := setPeer(addr, minpoll)
			if del {
				f = delPeer(addr)
			}
			err := s.Edit(sess, ds, EditOptions{TestOption: opt}, f)
			base := m.cand
			if ds == Running {
				base = m.run
			}
			next := maps.Clone(base)
			if del {
				delete(next, addr)
			} else {
				next[addr] = minpoll
			}
			wantOK := validModel(next) || (opt == SetOnly && ds == Candidate)
			if (err == nil) != wantOK {
				rt.Fatalf("edit %s %d %s %d del=%v: err %v, model expects ok=%v", ds, opt, addr, minpoll, del, err, wantOK)
			}
			if err != nil {
				if len(rpcerror.All(err)) == 0 {
					rt.Fatal("error without rpc-error")
				}
				return
			}
			if opt == TestOnly {
				return
			}
			if ds == Candidate {
				m.cand = next
			} else if !maps.Equal(next, m.run) {
				m.commit(next)
			}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"editCandidate": func(rt *rapid.T) {
				edit(Candidate, rapid.SampledFrom([]TestOption{TestThenSet, SetOnly, TestOnly}).Draw(rt, "opt"),
					rapid.SampledFrom(addrs).Draw(rt, "addr"), rapid.Uint8Range(3, 12).Draw(rt, "minpoll"), rapid.Bool().Draw(rt, "del"))
				check("editCandidate")
			},
			"editRunning": func(rt *rapid.T) {
				edit(Running, rapid.SampledFrom([]TestOption{TestThenSet, SetOnly}).Draw(rt, "opt"),
					rapid.SampledFrom(addrs).Draw(rt, "addr"), rapid.Uint8Range(3, 11).Draw(rt, "minpoll"), rapid.Bool().Draw(rt, "del"))
				check("editRunning")
			},
			"commit": func(rt *rapid.T) {
				_, err := s.Commit(sess, CommitOptions{})
				if (err == nil) != validModel(m.cand) {
					rt.Fatalf("commit: err %v, candidate valid %v", err, validModel(m.cand))
				}
				if err == nil && !maps.Equal(m.cand, m.run) {
					m.commit(m.cand)
				}
				check("commit")
			},
			"clear": func(rt *rapid.T) {
				ds := rapid.SampledFrom([]Name{Candidate, Running}).Draw(rt, "ds")
				if err := s.Edit(sess, ds, EditOptions{}, func(d *gen.Device) error { d.Ntp = nil; return nil }); err != nil {
					rt.Fatal(err)
				}
				if ds == Candidate {
					m.cand = map[string]uint8{}
				} else if len(m.run) > 0 {
					m.commit(map[string]uint8{})
				}
				check("clear")
			},
			"discard": func(rt *rapid.T) {
				if err := s.Discard(sess); err != nil {
					rt.Fatal(err)
				}
				m.cand = maps.Clone(m.run)
				check("discard")
			},
			"rollback": func(rt *rapid.T) {
				if len(m.hist) == 0 {
					rt.Skip("no history")
				}
				c := rapid.SampledFrom(m.hist).Draw(rt, "to")
				if _, err := s.Rollback(sess, c.id, ""); err != nil {
					rt.Fatalf("rollback to %d: %v", c.id, err)
				}
				m.commit(c.run)
				check("rollback")
			},
			"restart": func(rt *rapid.T) {
				if err := s.Close(); err != nil {
					rt.Fatal(err)
				}
				s = open()
				clear(trees) // generations belong to one Store
				m.cand = maps.Clone(m.run)
				check("restart")
			},
		})
		js, err := emitIndented(s.Snapshot(Running))
		if err != nil {
			rt.Fatal(err)
		}
		seen[string(js)] = js
	})
	// Each distinct running tree as RFC 7951 JSON (the journal's encoding)
	// and as NETCONF XML (helper D1's encoder, what get-config sends).
	var docs []yangDoc
	for i, js := range slices.Sorted(maps.Keys(seen)) {
		if i == 40 {
			break
		}
		d, err := decodeRFC7951([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		var x bytes.Buffer
		if err := xmlcodec.Encode(&x, d, xmlcodec.EncodeOptions{ConfigOnly: true}); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, yangDoc{fmt.Sprintf("running%d.json", i), js})
		if x.Len() > 0 { // yanglint refuses an empty XML file; "{}" covers the empty tree
			docs = append(docs, yangDoc{fmt.Sprintf("running%d.xml", i), x.String()})
		}
	}
	yanglintAll(t, docs)
}

type yangDoc struct{ name, text string }

// yanglintAll validates data documents (JSON or XML by their extension)
// with the real yanglint against the YANG modules.
func yanglintAll(t *testing.T, docs []yangDoc) {
	bin := testtool.Require(t, "yanglint")
	mods, _ := filepath.Glob("../yang/*.yang")
	if len(mods) == 0 {
		t.Fatal("no YANG modules in ../yang")
	}
	dir := t.TempDir()
	for _, d := range docs {
		f := filepath.Join(dir, d.name)
		os.WriteFile(f, []byte(d.text), 0o600)
		out, err := exec.Command(bin, append(append([]string{"-t", "config"}, mods...), f)...).CombinedOutput()
		if err != nil {
			t.Errorf("yanglint rejects %s: %v\n%s\n%s", d.name, err, out, d.text)
		}
	}
	t.Logf("yanglint checked %d documents", len(docs))
}

// A tree the rules refuse is also one yanglint refuses: the check above is
// not vacuous.
func TestYanglintRefusesInvalidTree(t *testing.T) {
	d := &gen.Device{}
	setPeer("10.0.0.1", 12)(d) // minpoll 12 > maxpoll 10: a must violation
	js, err := emitIndented(d)
	if err != nil {
		t.Fatal(err)
	}
	bin := testtool.Require(t, "yanglint")
	mods, _ := filepath.Glob("../yang/*.yang")
	f := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(f, js, 0o600)
	if out, err := exec.Command(bin, append(append([]string{"-t", "config"}, mods...), f)...).CombinedOutput(); err == nil {
		t.Fatalf("yanglint accepted minpoll > maxpoll:\n%s", out)
	}
}

// A running tree using every configuration node (keys in cipher form, both
// source interfaces, unsync, an IPv6 and a domain peer with every leaf)
// validates with yanglint as JSON and as XML.
func TestRichRunningTreeValidatesWithYanglint(t *testing.T) {
	s := openStore(t, "", nil)
	mustEdit(t, s, alice, Running, func(d *gen.Device) error {
		d.GetOrCreateSystem().SetSysname("edge-1")
		n := d.GetOrCreateNtp()
		u := n.GetOrCreateUnsync()
		u.SetMaxPollInterval(9)
		u.SetDecStep(2)
		a := n.GetOrCreateAuthentication()
		a.SetEnable(true)
		k := a.GetOrCreateKey(42)
		k.SetMode(gen.NtpagentNtp_Ntp_Authentication_Key_Mode_aes_128_cmac)
		k.SetKeyValue("00112233445566778899aabbccddeeff")
		k.SetTrusted(true)
		n.GetOrCreateSourceInterface(gen.NtpagentNtp_AddressFamily_ipv4).SetInterface("eth0")
		si := n.GetOrCreateSourceInterface(gen.NtpagentNtp_AddressFamily_ipv6)
		si.SetInterface("eth1")
		si.SetVpnInstance("blue")
		for _, addr := range []string{"2001:db8::10", "ntp.example.net", "192.0.2.10"} {
			p := n.GetOrCreateUnicastPeer(addr, "blue")
			p.SetVersion(4)
			p.SetPort(1123)
			p.SetAuthenticationKeyid(42)
			p.SetSourceInterface("eth2")
			p.SetPreferred(addr == "192.0.2.10")
			p.SetMinpoll(4)
			p.SetMaxpoll(12)
			p.SetPreempt(true)
		}
		return nil
	})
	run := s.Snapshot(Running)
	js, err := emitIndented(run)
	if err != nil {
		t.Fatal(err)
	}
	var x bytes.Buffer
	if err := xmlcodec.Encode(&x, run, xmlcodec.EncodeOptions{ConfigOnly: true}); err != nil {
		t.Fatal(err)
	}
	yanglintAll(t, []yangDoc{{"rich.json", string(js)}, {"rich.xml", x.String()}})
}
