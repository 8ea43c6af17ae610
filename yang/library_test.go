package yang

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// The standard modules are the texts published in the YangModels/yang
// repository (standard/ietf/RFC/NAME@REVISION.yang), byte for byte: the
// digests below were taken from those files.
func TestStandardModulesAreVerbatim(t *testing.T) {
	published := map[string]string{
		"ietf-datastores@2018-02-14.yang":            "eccd84d4c4831e787b808e0da154aef6b999e81f4380c3272190baf34a9529ce",
		"ietf-inet-types@2013-07-15.yang":            "12d98b0143a5ca5095b36420f9ebc1ffa61cfd2eaa850080244cadf01b86ddf9",
		"ietf-netconf-acm@2018-02-14.yang":           "e03f91317f9538a89296e99df3ff0c4003cdfea70bf517407643b3ec13c1ed25",
		"ietf-netconf-monitoring@2010-10-04.yang":    "110adc0ec5636abd2b05b4f96f7c2f5a0910557bb27a32ec5d1125db03cb2c20",
		"ietf-netconf-nmda@2019-01-07.yang":          "5c08f24c28591df52d45f0a3eca21e083da8864717c0949b7cb97275f16b5399",
		"ietf-netconf-notifications@2012-02-06.yang": "b0658bae03c372ccf03a8cc0b64ebbda91bb0d12c19fdc20020f2f18bd8112ac",
		"ietf-netconf-with-defaults@2011-06-01.yang": "f7fd939ad108690ea347b6d26d320b4d003a4809c164c8f56ab7a2e8959a7343",
		"ietf-netconf@2011-06-01.yang":               "6c1d0b39e789b53ea13b7ea6703c2dcb199157a7b011ce30af4ca61b8ba9b13f",
		"ietf-origin@2018-02-14.yang":                "610f2dfaeeff3dd3284357dd70fe749c3011daacdb91624cbad438c423d4b969",
		"ietf-yang-library@2019-01-04.yang":          "cb35aaeb74084c2f1857bbfb9f6c28e26c1641da618eb83b5b55275f63ef1119",
		"ietf-yang-metadata@2016-08-05.yang":         "05f8348069daefaf8bbc07af8001711c2347197115b4ccfe38be9ac55d3d6ea1",
		"ietf-yang-types@2013-07-15.yang":            "a04cdcc875764a76e89b7a0200c6b9d800b10713978093acda7840c7c2907c3f",
	}
	names, err := fs.Glob(files, "ietf/*.yang")
	if err != nil || len(names) != len(published) {
		t.Fatalf("ietf/ holds %d modules (%v), want %d", len(names), err, len(published))
	}
	for _, n := range names {
		b, _ := fs.ReadFile(files, n)
		sum := sha256.Sum256(b)
		base := strings.TrimPrefix(n, "ietf/")
		if want := published[base]; hex.EncodeToString(sum[:]) != want {
			t.Errorf("%s differs from the published text", n)
		}
		if !strings.Contains(string(b), "Copyright (c)") {
			t.Errorf("%s lost its copyright notice", n)
		}
	}
}

// RFC 8525 §3 and RFC 7950 §5.6.5: conformance and features of the
// library, every import resolved inside it.
func TestLibraryConformance(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name        string
		implemented bool
		features    string
		version     string
	}{
		{"ntpagent-ntp", true, "", "1.1"},
		{"ntpagent-system", true, "", "1.1"},
		{"ntpagent-nacm-deviations", true, "", "1.1"},
		{"ietf-netconf-acm", true, "", "1"},
		{"ietf-netconf", true, "writable-running,candidate,confirmed-commit,rollback-on-error,validate,startup,xpath", "1"},
		{"ietf-netconf-nmda", true, "origin,with-defaults", "1.1"},
		{"ietf-yang-library", true, "", "1.1"},
		{"ietf-datastores", true, "", "1.1"},
		{"ietf-origin", true, "", "1.1"},
		{"ietf-netconf-monitoring", true, "", "1"},
		{"ietf-netconf-with-defaults", true, "", "1"},
		{"ietf-netconf-notifications", true, "", "1"},
		{"ietf-yang-types", false, "", "1"},
		{"ietf-inet-types", false, "", "1"},
		{"ietf-yang-metadata", false, "", "1"},
	} {
		m, ok := s.ByName(c.name)
		if !ok {
			t.Errorf("%s is not in the library", c.name)
			continue
		}
		if m.Implemented != c.implemented || strings.Join(m.Features, ",") != c.features || m.YangVersion != c.version {
			t.Errorf("%s: implemented %t features %v version %s; want %t %q %s", c.name, m.Implemented, m.Features, m.YangVersion,
				c.implemented, c.features, c.version)
		}
	}
	if n := len(s.Library()); n != 15 {
		t.Errorf("library has %d modules, want 15", n)
	}
	var stored []string
	for _, m := range s.Modules() {
		stored = append(stored, m.Name)
	}
	if got := strings.Join(stored, " "); got != "ietf-netconf-acm ntpagent-nacm-deviations ntpagent-ntp ntpagent-system" {
		t.Errorf("Modules() = %s, want ntpagent's 3 and ietf-netconf-acm (RFC 8341 /nacm is configuration)", got)
	}
	if acm, _ := s.ByName("ietf-netconf-acm"); strings.Join(acm.Deviations, ",") != "ntpagent-nacm-deviations" {
		t.Errorf("ietf-netconf-acm deviations = %v", acm.Deviations)
	}
	if _, ok := s.ByNamespace("urn:ietf:params:xml:ns:yang:ietf-yang-library"); ok {
		t.Error("ByNamespace finds a standard module: configuration would be accepted in its namespace")
	}
	if txt, err := s.Text("ietf-origin", "2018-02-14"); err != nil || !strings.HasPrefix(txt, "module ietf-origin {") {
		t.Errorf("Text(ietf-origin) = %.30q, %v", txt, err)
	}
}

// mapFS is the embedded files as a MapFS, for variations.
func mapFS(t *testing.T) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// RFC 8525 §3: the content-id identifies the content of the library. The
// same modules give the same id, every time; any change to the set gives
// another.
func TestContentIDChangesExactlyWithTheModuleSet(t *testing.T) {
	a, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadFS(mapFS(t))
	if err != nil {
		t.Fatal(err)
	}
	if a.ContentID() == "" || a.ContentID() != b.ContentID() {
		t.Fatalf("the same modules give content-ids %q and %q", a.ContentID(), b.ContentID())
	}
	extra := `module ntpagent-extra { yang-version 1.1; namespace "urn:ntpagent:yang:ntpagent-extra"; prefix x;
  revision 2026-12-05; leaf l { type string; } }`
	for _, c := range []struct {
		name   string
		change func(fstest.MapFS)
	}{
		{"module added", func(m fstest.MapFS) { m["ntpagent-extra.yang"] = &fstest.MapFile{Data: []byte(extra)} }},
		{"module text changed, same revision", func(m fstest.MapFS) {
			f := m["ntpagent-system.yang"]
			f.Data = []byte(strings.Replace(string(f.Data), "Device-wide settings.", "Device-wide settings of the device.", 1))
		}},
		{"revision added", func(m fstest.MapFS) {
			f := m["ntpagent-ntp.yang"]
			f.Data = []byte(strings.Replace(string(f.Data), "  revision 2026-11-25 {", "  revision 2026-12-31 {\n    description \"Next.\";\n  }\n  revision 2026-11-25 {", 1))
		}},
	} {
		m := mapFS(t)
		c.change(m)
		s, err := LoadFS(m)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if s.ContentID() == a.ContentID() {
			t.Errorf("%s: content-id unchanged", c.name)
		}
	}
}

// A library that is not consistent is refused at load: a file whose name
// does not match its module's revision, and a standard module nothing
// implements or imports.
func TestLoadRefusesInconsistentLibrary(t *testing.T) {
	m := mapFS(t)
	m["ietf/ietf-origin@2017-01-01.yang"] = m["ietf/ietf-origin@2018-02-14.yang"]
	delete(m, "ietf/ietf-origin@2018-02-14.yang")
	if _, err := LoadFS(m); err == nil || !strings.Contains(err.Error(), "not 2017-01-01") {
		t.Errorf("wrong revision in file name: %v", err)
	}
	m = mapFS(t)
	m["ietf/ietf-unused@2020-01-01.yang"] = &fstest.MapFile{Data: []byte(`module ietf-unused { namespace "urn:u"; prefix u; revision 2020-01-01; }`)}
	if _, err := LoadFS(m); err == nil || !strings.Contains(err.Error(), "neither implemented nor imported") {
		t.Errorf("unused standard module: %v", err)
	}
}

// RFC 8525 §3: a module that deviates another is listed as its deviation
// (found from the deviation statement's target prefix).
func TestLibraryListsDeviations(t *testing.T) {
	m := mapFS(t)
	m["ntpagent-deviations.yang"] = &fstest.MapFile{Data: []byte(`module ntpagent-deviations {
  yang-version 1.1; namespace "urn:ntpagent:yang:ntpagent-deviations"; prefix dev;
  import ntpagent-ntp { prefix ntpa; }
  revision 2026-12-05;
  deviation /ntpa:ntp/ntpa:unsync/ntpa:dec-step { deviate not-supported; } }`)}
	s, err := LoadFS(m)
	if err != nil {
		t.Fatal(err)
	}
	ntp, _ := s.ByName("ntpagent-ntp")
	sys, _ := s.ByName("ntpagent-system")
	if strings.Join(ntp.Deviations, ",") != "ntpagent-deviations" || len(sys.Deviations) != 0 {
		t.Fatalf("deviations: ntpagent-ntp %v, ntpagent-system %v", ntp.Deviations, sys.Deviations)
	}
}
