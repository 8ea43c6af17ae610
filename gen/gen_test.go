package gen_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// generated are the files scripts/gen.sh writes, relative to its output
// folder.
var generated = []string{"ntpagent.go", "openconfig/openconfig.go", "huawei/huawei.go", "ietfntp/ietfntp.go"}

// generate runs scripts/gen.sh with the given YANG folder into a temp folder
// and returns the generated files by name.
func generate(t *testing.T, yangDir string) map[string][]byte {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command("../scripts/gen.sh", out, yangDir)
	cmd.Dir = "."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, b)
	}
	files := map[string][]byte{}
	for _, f := range generated {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = b
	}
	return files
}

// TestGeneratedCodeIsFresh fails when a file of gen/ is not what the YANG
// modules generate: someone edited the YANG without `make gen`, or edited
// the generated code by hand.
func TestGeneratedCodeIsFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	yangDir, _ := filepath.Abs("../yang")
	for f, want := range generate(t, yangDir) {
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("gen/%s is stale: run `make gen` and commit the result", f)
		}
	}
}

// TestStalenessIsDetected edits a copy of the YANG (a new leaf) and shows that
// the freshness comparison above would then fail.
func TestStalenessIsDetected(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../yang")); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"ntpagent-ntp.yang"} {
		b, err := os.ReadFile(filepath.Join("../yang", m))
		if err != nil {
			t.Fatal(err)
		}
		if m == "ntpagent-ntp.yang" {
			s := strings.Replace(string(b), "    container unsync {", "    leaf extra-leaf {\n      type string;\n      description \"An edit made without regenerating.\";\n    }\n\n    container unsync {", 1)
			if s == string(b) {
				t.Fatal("could not edit the module copy")
			}
			b = []byte(s)
		}
		if err := os.WriteFile(filepath.Join(dir, m), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edited := generate(t, dir)["ntpagent.go"]
	current, _ := os.ReadFile("ntpagent.go")
	if bytes.Equal(edited, current) {
		t.Fatal("an edited YANG module generated the same code: the freshness test could not catch it")
	}
	if !bytes.Contains(edited, []byte("ExtraLeaf")) {
		t.Fatal("the edited module's new leaf is not in the generated code")
	}
}
