package yang

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadEmbeddedModules(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, ns, prefix string }{
		{"ntpagent-ntp", "urn:ntpagent:yang:ntpagent-ntp", "ntpa"},
		{"ntpagent-system", "urn:ntpagent:yang:ntpagent-system", "ntps"},
	} {
		m, ok := s.ByNamespace(c.ns)
		if !ok || m.Name != c.name || m.Prefix != c.prefix || m.Revision != "2026-11-25" {
			t.Errorf("ByNamespace(%q) = %+v, %v", c.ns, m, ok)
		}
		if m2, _ := s.ByName(c.name); m2 != m {
			t.Errorf("ByName(%q) disagrees with ByNamespace", c.name)
		}
		txt, err := s.Text(c.name, "2026-11-25")
		if err != nil || !strings.HasPrefix(txt, "module "+c.name+" {") {
			t.Errorf("Text(%q) = %.30q, %v", c.name, txt, err)
		}
	}
	if _, err := s.Text("ntpagent-ntp", "1999-01-01"); err == nil {
		t.Error("Text with a wrong revision succeeded")
	}
	if _, err := s.Text("ietf-hardware", ""); err == nil {
		t.Error("Text of an unknown module succeeded")
	}
	ntp, ok := s.TopLevel("urn:ntpagent:yang:ntpagent-ntp", "ntp")
	if !ok {
		t.Fatal("no /ntp")
	}
	peer := ntp.Dir["unicast-peer"]
	if peer == nil || peer.Key != "address vpn-instance" {
		t.Fatalf("unicast-peer key = %v", peer)
	}
	if d, _ := peer.Dir["minpoll"].SingleDefaultValue(); d != "6" {
		t.Errorf("minpoll default = %q, want 6", d)
	}
	if _, ok := s.TopLevel("urn:ntpagent:yang:ntpagent-ntp", "sync-state-change"); ok {
		t.Error("a notification was returned as a data node")
	}
}

func TestLoadRejectsModuleThatDoesNotParse(t *testing.T) {
	_, err := LoadFS(fstest.MapFS{"bad.yang": {Data: []byte("module bad { namespace \"urn:x\"; prefix b; container c { leaf l { type nosuchtype; } } }")}})
	if err == nil || !strings.Contains(err.Error(), "nosuchtype") {
		t.Fatalf("err = %v, want one naming nosuchtype", err)
	}
	_, err = LoadFS(fstest.MapFS{"broken.yang": {Data: []byte("module broken { leaf")}})
	if err == nil || !strings.Contains(err.Error(), "broken.yang") {
		t.Fatalf("err = %v, want one naming the file", err)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

// The embedded modules are parsed once per process: every caller (the
// NETCONF server, the XML codec) shares the same read-only Schema.
func TestLoadSharesOneParse(t *testing.T) {
	a, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("two calls of Load parsed the modules twice")
	}
	fresh, err := LoadFS(files)
	if err != nil {
		t.Fatal(err)
	}
	if fresh == a || fresh.ContentID() != a.ContentID() {
		t.Errorf("LoadFS: a new parse of the same modules (content-id %s) is expected, got the shared one or another content-id %s", a.ContentID(), fresh.ContentID())
	}
}
