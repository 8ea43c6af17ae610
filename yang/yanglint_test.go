package yang

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/internal/testtool"
)

// TestYanglintAcceptsModules runs the real yanglint (libyang2-tools) on each
// module: it must report no error and no warning.
func TestYanglintAcceptsModules(t *testing.T) {
	yl := testtool.Require(t, "yanglint")
	for _, m := range []string{"ntpagent-ntp.yang", "ntpagent-system.yang"} {
		out, err := exec.Command(yl, "-p", ".", m).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("yanglint %s: %v\n%s", m, err, out)
		}
	}
}

// TestYanglintRejectsBrokenModule shows the test above would catch a module
// error (a default outside its range).
func TestYanglintRejectsBrokenModule(t *testing.T) {
	yl := testtool.Require(t, "yanglint")
	dir := t.TempDir()
	bad := `module bad { yang-version 1.1; namespace "urn:bad"; prefix b;
  leaf minpoll { type uint8 { range "3..17"; } default "2"; } }`
	if err := writeFile(dir+"/bad.yang", bad); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(yl, dir+"/bad.yang").CombinedOutput()
	if err == nil && !strings.Contains(string(out), "rror") {
		t.Fatalf("yanglint accepted a broken module: %s", out)
	}
}

// TestReadmeTreeIsCurrent checks that README.md shows the tree yanglint
// prints for the modules today (scripts/readme-tree.sh rewrites it).
func TestReadmeTreeIsCurrent(t *testing.T) {
	yl := testtool.Require(t, "yanglint")
	out, err := exec.Command(yl, "-f", "tree", "ntpagent-ntp.yang", "ntpagent-system.yang").Output()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := "<!-- yang-tree:begin -->\n```\n" + strings.TrimRight(string(out), "\n") + "\n```\n<!-- yang-tree:end -->"
	if !strings.Contains(string(readme), want) {
		t.Fatal("README.md's YANG tree is stale: run scripts/readme-tree.sh")
	}
}

// TestYanglintAcceptsStandardModules loads the standard modules with
// yanglint: they compile together (warnings of the published texts
// themselves are allowed: they are kept verbatim).
func TestYanglintAcceptsStandardModules(t *testing.T) {
	yl := testtool.Require(t, "yanglint")
	mods, err := filepath.Glob("ietf/*.yang")
	if err != nil || len(mods) == 0 {
		t.Fatalf("no standard modules: %v", err)
	}
	out, err := exec.Command(yl, append([]string{"-p", "ietf"}, mods...)...).CombinedOutput()
	if err != nil || strings.Contains(string(out), "err") {
		t.Errorf("yanglint ietf/*.yang: %v\n%s", err, out)
	}
}

// TestYanglintAcceptsOpenConfigModules loads openconfig-system with
// ntpagent's deviations of it in yanglint: they compile together (the
// published texts' own warnings are allowed, kept verbatim).
func TestYanglintAcceptsOpenConfigModules(t *testing.T) {
	yl := testtool.Require(t, "yanglint")
	out, err := exec.Command(yl, "-p", "openconfig", "openconfig/openconfig-system@2022-12-19.yang",
		"openconfig/ntpagent-openconfig-deviations.yang").CombinedOutput()
	if err != nil || strings.Contains(string(out), "err") {
		t.Errorf("yanglint openconfig-system: %v\n%s", err, out)
	}
}

// TestYanglintAcceptsViewModules compiles our modules for views
// (views/*.yang) with the standard modules they import: yanglint reports
// no error (a deviation whose target does not exist is an error).
func TestYanglintAcceptsViewModules(t *testing.T) {
	yl := testtool.Require(t, "yanglint")
	mods, err := filepath.Glob("views/*.yang")
	if err != nil || len(mods) == 0 {
		t.Fatalf("no view modules: %v", err)
	}
	for _, m := range mods {
		out, err := exec.Command(yl, "-p", "ietf", "-p", "views", m).CombinedOutput()
		if err != nil || strings.Contains(string(out), "err") {
			t.Errorf("yanglint %s: %v\n%s", m, err, out)
		}
	}
}
