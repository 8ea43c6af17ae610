package archtest

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/ntpagent/ntpagent/"

// allowed maps a package of ours to the packages of ours it may import:
// ARCHITECTURE.md's table. An entry ending in "/..." allows a folder and
// everything below it.
var allowed = map[string][]string{
	"yang":                    {},
	"gen":                     {},
	"gen/...":                 {},
	"internal/rpcerror":       {},
	"datastore/rules":         {"internal/rpcerror", "gen", "internal/vpninstance", "internal/yanglist"},
	"datastore":               {"internal/rpcerror", "datastore/rules", "gen", "internal/atomicfile", "internal/clock", "internal/yanglist"},
	"server/netconf/xmlcodec": {"internal/rpcerror", "gen", "yang", "internal/yanglist"},
	"server/netconf":          {"datastore", "datastore/...", "server/netconf/xmlcodec", "internal/rpcerror", "gen", "yang", "internal/clock", "internal/notification", "view", "server/nacm"},
	"server/nacm":             {"gen", "yang", "internal/yanglist"},
	"view":                    {"server/netconf/xmlcodec", "internal/rpcerror", "gen"},
	"view/...":                {"view", "server/netconf/xmlcodec", "internal/rpcerror", "gen", "gen/...", "yang", "internal/vpninstance", "datastore/rules"},
	"server":                  {"datastore", "datastore/rules", "gen", "internal/atomicfile", "internal/clock", "internal/backoff"},
	"server/cli":              {"datastore", "datastore/...", "internal/rpcerror", "gen", "server", "internal/vpninstance", "server/nacm", "yang"},
	"ntpengine/packet":        {},
	"ntpengine/auth":          {},
	"ntpengine":               {"ntpengine/packet", "ntpengine/auth"},
	"ntpengine/ntpclock":      {},
	"ntpengine/netio":         {"internal/vpninstance"},
	"ntpengine/sim":           {"ntpengine", "ntpengine/packet", "ntpengine/auth"},
	"agent":                   {"datastore", "datastore/rules", "gen", "ntpengine", "ntpengine/...", "internal/atomicfile", "internal/clock", "internal/backoff", "internal/notification", "internal/vpninstance"},
	"internal/atomicfile":     {},
	"internal/clock":          {},
	"internal/backoff":        {},
	"internal/vpninstance":    {},
	"internal/yanglist":       {},
	"internal/notification":   {},
	"internal/memdump":        {"internal/atomicfile"},
	"internal/fakeclock":      {"internal/clock"},
	"internal/testtool":       {},
	"internal/nctest":         {"server/netconf"},
	"internal/archtest":       {},
	"internal/wirelab":        {"agent", "gen", "ntpengine/ntpclock", "ntpengine/netio", "internal/testtool"},
	"cmd/...":                 {"..."},
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func match(pattern, p string) bool {
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return p == base || strings.HasPrefix(p, base+"/")
	}
	return p == pattern
}

func rulesFor(p string) ([]string, bool) {
	if r, ok := allowed[p]; ok {
		return r, true
	}
	for pattern, r := range allowed {
		if strings.HasSuffix(pattern, "/...") && match(pattern, p) {
			return r, true
		}
	}
	return nil, false
}

// Every package's imports of ours follow ARCHITECTURE.md; a new package
// must be given a row there and here.
func TestImportsFollowArchitecture(t *testing.T) {
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", "../../...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		name, ok := strings.CutPrefix(p.ImportPath, module)
		if !ok {
			continue
		}
		n++
		rules, ok := rulesFor(name)
		if !ok {
			t.Errorf("%s has no row in ARCHITECTURE.md's package table (and in allowed here)", name)
			continue
		}
		for _, imp := range p.Imports {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours {
				continue
			}
			ok := false
			for _, r := range rules {
				ok = ok || match(r, dep)
			}
			if !ok {
				t.Errorf("%s imports %s, which ARCHITECTURE.md does not allow", name, dep)
			}
		}
	}
	if n < 20 {
		t.Fatalf("go list found %d packages of the module; want them all", n)
	}
}
