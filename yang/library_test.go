package yang

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
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
		// ietf-ntp (RFC 9249) and what it imports.
		"ietf-ntp@2022-07-05.yang":                 "5095e4ee08d13a3f7c0b002cc936f6d57310f1ff9459bf2aafcbb917875d386d",
		"ietf-interfaces@2018-02-20.yang":          "f6faea9938f0341ed48fda93dba9a69aa32ee7142c463342efec3d38f4eb3621",
		"ietf-system@2014-08-06.yang":              "8a692ee2521b4ffe87a88303a61a103879ee26bff050c1b05a2027ae23205d3f",
		"iana-crypt-hash@2014-08-06.yang":          "fa9fde408ddec2c16bf2c6b9e4c2f80b813a2f9e48c127016f3fa96da346e02d",
		"ietf-access-control-list@2019-03-04.yang": "8647fcc24bb1632f363c610cad3e2e7829666c4ad91fbfe74c1262f85e83485d",
		"ietf-packet-fields@2019-03-04.yang":       "4d0d16eca9d663fdeb12dcb9924e41857295239012586f28ab52d9faaa4926d2",
		"ietf-ethertypes@2019-03-04.yang":          "a8dca0bcfc3644108c9bba7df484e14dd8d76dee56fd811f09edf8e678ced247",
		// Rebuilt from the module's text in RFC 8294 (page breaks taken
		// out): no clean copy of the extracted file was at hand.
		"ietf-routing-types@2017-12-04.yang": "4ddef569f95301296ec1a7eb1477be063f925ea6926bf5ce86f33eca624a7e3a",
	}
	for n, text := range verbatim(t, "ietf", "*.yang", published) {
		if !strings.Contains(text, "Copyright (c)") {
			t.Errorf("%s lost its copyright notice", n)
		}
	}
}

// verbatim checks that the embedded files dir/pattern are exactly the
// published ones, by SHA-256 digest, and returns their texts by name.
func verbatim(t *testing.T, dir, pattern string, published map[string]string) map[string]string {
	t.Helper()
	names, err := fs.Glob(files, dir+"/"+pattern)
	if err != nil || len(names) != len(published) {
		t.Fatalf("%s/ holds %d modules (%v), want %d", dir, len(names), err, len(published))
	}
	texts := map[string]string{}
	for _, n := range names {
		b, _ := fs.ReadFile(files, n)
		sum := sha256.Sum256(b)
		if want := published[strings.TrimPrefix(n, dir+"/")]; hex.EncodeToString(sum[:]) != want {
			t.Errorf("%s differs from the published text", n)
		}
		texts[n] = string(b)
	}
	return texts
}

// The OpenConfig modules are the texts of the openconfig/public repository
// at commit a1cad77e18edd576fce8db88bf5de30347603f89 (2023-01-17, the last
// with openconfig-system 0.16.1), release/models/**/NAME.yang, byte for
// byte; openconfig/LICENSE is that repository's notice (Apache 2.0), which
// the texts are published under. The digests were taken from those files.
func TestOpenConfigModulesAreVerbatim(t *testing.T) {
	published := map[string]string{
		"openconfig-aaa-radius@2022-07-29.yang":      "0b94dc4a227f2bc945fc3995397f088a7c7f04a9d8803af49dec6e5d647507c5",
		"openconfig-aaa-tacacs@2022-07-29.yang":      "c0d4a3b6ab338425da8f50606aa7622253c4e202282a8058971814f68d568321",
		"openconfig-aaa-types@2018-11-21.yang":       "e4275b400e7c1bc3ca7be8ecb56c4bb61eaea0b537480e79065eac16d5c07dac",
		"openconfig-aaa@2022-07-29.yang":             "4261062f80563b05085760d1225afab1d22b7f14076908a6adda440075f12be9",
		"openconfig-alarm-types@2018-11-21.yang":     "c44254634930e07d144f51a74289b88dbcaf1fde5688cdae314f97d825733883",
		"openconfig-alarms@2019-07-09.yang":          "10c1b592e0e7a09a5e7b4ae04a9838cbfc33554a7a5e0be2b13fc74c7310de3f",
		"openconfig-extensions@2022-10-05.yang":      "89d0f3ef53b8dbf9181fc9e6fb10adc300d6bd651ab3454bc6e6793fc8af1b51",
		"openconfig-inet-types@2021-08-17.yang":      "c7ebd8dd3f53acd69f121c4c81582cc1da1744afff774aa4b47ba1fffd027030",
		"openconfig-license@2020-04-22.yang":         "8f76f0e4762f45b73d5305ad5b479ed3dc7417b6ddf3e356c21efaf6bad06933",
		"openconfig-messages@2018-08-13.yang":        "9f33b18b2784aeab749a8399eecbd670973b3b6da8ef395017001b749dc926fc",
		"openconfig-platform-common@2022-12-19.yang": "5be0340eefddd3e396d7a0c2bea84e4cb3b2848070aa69fc6c09c50786b234e2",
		"openconfig-platform-types@2022-07-28.yang":  "80806f6c8c56b0e7c1e86308f7ced41320e3c43ce7439e4a158ac0a1dc00266e",
		"openconfig-platform@2022-12-19.yang":        "e6b6ffde5098eb8f76e7d5115256c3eae7cd7cabdca8288b73a4ef2f3c160ce0",
		"openconfig-procmon@2019-03-15.yang":         "7bd69fc537c385637ef33c34eb45c22c5877752270d740d16be96c96a69b48fe",
		"openconfig-system-logging@2018-11-21.yang":  "14d0536edf4a8394f202e9758ddcd7258eaaa15901271799f1a538fab4be1165",
		"openconfig-system-terminal@2018-11-21.yang": "7013329ffbe5eeb7177b8138790efa2022d4de79c68115305be4151bc58a9c51",
		"openconfig-system@2022-12-19.yang":          "1f423f60eacf81dd895942d883cd4e3025b9c3f94707baa051178e9013b2be5d",
		"openconfig-types@2019-04-16.yang":           "9ec6e39d68c90086177bf295f9cece6d5082545dbbb1b526f3d6bab14f1ff504",
		"openconfig-yang-types@2021-07-14.yang":      "d527481bd00d0de2b439552eefb54a8fb84f8f6118f2ef87f56fcf93a1c09e54",
	}
	verbatim(t, "openconfig", "openconfig-*.yang", published)
	notice, err := os.ReadFile("openconfig/LICENSE")
	if err != nil || !strings.Contains(string(notice), "Apache License") || !strings.Contains(string(notice), "Version 2.0") {
		t.Errorf("openconfig/LICENSE is not the Apache 2.0 notice the modules are published under: %v", err)
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
		{"ntpagent-huawei-vrp", true, "", "1.1"}, // a view's module (views/)
		{"ietf-ntp", true, "ntp-port,authentication,deprecated,hex-key-string,unicast-configuration", "1.1"},
		{"ntpagent-ietf-ntp-deviations", true, "", "1.1"},
		{"ietf-interfaces", false, "", "1.1"},
		{"ietf-system", false, "", "1"},
		{"ietf-access-control-list", false, "", "1.1"},
		{"ietf-routing-types", false, "", "1"},
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
		{"openconfig-system", true, "", "1"},
		{"ntpagent-openconfig-deviations", true, "", "1"},
		{"openconfig-aaa", false, "", "1"},
		{"openconfig-platform", false, "", "1"},
		{"openconfig-extensions", false, "", "1"},
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
	// 15 of the IETF and ours, 16 of OpenConfig (19 files, 3 of them
	// submodules), our deviations of openconfig-system, and the Huawei
	// view's module.
	// ietf-ntp, the 7 of its imports not already there, our deviations of it.
	if n := len(s.Library()); n != 42 {
		t.Errorf("library has %d modules, want 42", n)
	}
	if m, _ := s.ByName("ietf-ntp"); strings.Join(m.Deviations, ",") != "ntpagent-ietf-ntp-deviations" {
		t.Errorf("ietf-ntp deviations = %v, want ntpagent-ietf-ntp-deviations", m.Deviations)
	}
	oc, _ := s.ByName("openconfig-system")
	if strings.Join(oc.Deviations, ",") != "ntpagent-openconfig-deviations" {
		t.Errorf("openconfig-system's deviations: %v", oc.Deviations)
	}
	// RFC 7950 §5.1: submodules are listed with their module and served.
	aaa, _ := s.ByName("openconfig-aaa")
	var subs []string
	for _, sm := range aaa.Submodules {
		subs = append(subs, sm.Name+"@"+sm.Revision)
	}
	if strings.Join(subs, ",") != "openconfig-aaa-radius@2022-07-29,openconfig-aaa-tacacs@2022-07-29" {
		t.Errorf("openconfig-aaa's submodules: %v", subs)
	}
	if txt, err := s.Text("openconfig-aaa-radius", "2022-07-29"); err != nil || !strings.HasPrefix(txt, "submodule openconfig-aaa-radius {") {
		t.Errorf("Text(openconfig-aaa-radius) = %.40q, %v", txt, err)
	}
	if _, ok := s.ByName("openconfig-aaa-radius"); ok {
		t.Error("a submodule is listed as a module of its own")
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
		{"submodule text changed", func(m fstest.MapFS) {
			f := m["openconfig/openconfig-aaa-radius@2022-07-29.yang"]
			f.Data = []byte(strings.Replace(string(f.Data), "RADIUS", "Radius", 1))
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

// WriteFiles lays the library out as a client that fetched every schema
// would: each module and submodule as NAME@REVISION.yang, the implemented
// modules and the supported features as a YANG tool's arguments.
func TestWriteFilesLaysOutTheLibrary(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	args, err := s.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(args, " ")
	for _, want := range []string{"-p " + dir, dir + "/openconfig-system@2022-12-19.yang",
		"-F ietf-netconf:writable-running,candidate"} {
		if !strings.Contains(joined, want) {
			t.Errorf("args lack %q: %s", want, joined)
		}
	}
	if strings.Contains(joined, "openconfig-platform@") {
		t.Errorf("an import-only module is given as implemented: %s", joined)
	}
	for _, f := range []string{"openconfig-aaa-radius@2022-07-29.yang", "openconfig-platform@2022-12-19.yang"} {
		if _, err := os.Stat(dir + "/" + f); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}
