package server

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
)

// repoFile returns the path of a file of the repository from this package.
func repoFile(parts ...string) string {
	return filepath.Join(append([]string{".."}, parts...)...)
}

func requireNcclient(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		testtool.Missing(t, "/usr/bin/python3 is not installed")
	}
	if err := exec.Command(py, "-c", "import ncclient").Run(); err != nil {
		testtool.Missing(t, "python3-ncclient is not installed (scripts/install-test-deps.sh installs it)")
	}
	return py
}

// runNcclient runs testdata/netconf/script, an ncclient script, with py
// against the agent's second listener: `script 127.0.0.1 PORT args...`.
// The script must exit 0 with ALL OK in its output, which is logged.
func runNcclient(t *testing.T, py string, a *testAgent, script string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{repoFile("testdata", "netconf", script), "127.0.0.1", portOf(a.addrs[1])}, args...)...)
	// The scripts import ncinterop.py from their folder: no __pycache__
	// written into the source tree.
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil || !strings.Contains(buf.String(), "ALL OK") {
		t.Fatalf("ncclient %s: %v\n%s", script, err, buf.String())
	}
	t.Logf("ncclient %s:\n%s", script, buf.String())
}

// yanglintFile validates file, the children of a reply's <data>, as
// yanglint's data type typ ("config", "get") against schema: yanglint's
// other arguments (-p DIR, -F MODULE:FEATURES, the module files).
func yanglintFile(t *testing.T, typ, file string, schema ...string) {
	t.Helper()
	yl := testtool.Require(t, "yanglint")
	args := append(append([]string{"-t", typ}, schema...), file)
	if out, err := exec.Command(yl, args...).CombinedOutput(); err != nil {
		data, _ := os.ReadFile(file)
		t.Errorf("yanglint -t %s %s: %v\n%s\ndata: %s", typ, filepath.Base(file), err, out, data)
	}
}

// yanglintReplies validates every non-empty file in dir that matches
// pattern (replies a script or saveDataChildren wrote) as type typ against
// the module texts that <get-schema> returned into dir (schemaModules),
// with features (-F arguments). It returns how many it validated: an empty
// <data/> has nothing to validate.
func yanglintReplies(t *testing.T, dir, typ, pattern string, features ...string) int {
	t.Helper()
	testtool.Require(t, "yanglint")
	schema := append(append([]string{"-p", dir}, features...), schemaModules(t, dir)...)
	files, _ := filepath.Glob(filepath.Join(dir, pattern))
	sort.Strings(files)
	n := 0
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			continue
		}
		yanglintFile(t, typ, f, schema...)
		n++
	}
	return n
}

// reportServers stands for the state the agent reports for every
// configured server: an association at stratum 2, offset -0.25 s, poll 6.
func reportServers(d *gen.Device) {
	n := d.GetOrCreateNtp()
	for k, s := range n.UnicastServer {
		a := n.GetOrCreateSessions().GetOrCreateSession(k.Address, k.VpnInstance, s.GetPort())
		a.Stratum, a.Offset, a.Poll = ygot.Uint8(2), ygot.Float64(-0.25), ygot.Int8(6)
	}
}

// schemaModules are the module texts that <get-schema> returned (*.yang
// in dir) to give yanglint: submodules are not among them, yanglint finds
// them through -p from their module's include.
func schemaModules(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yang"))
	var mods []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(strings.TrimSpace(string(b)), "submodule ") {
			mods = append(mods, f)
		}
	}
	if len(mods) == 0 {
		t.Fatalf("no module text from <get-schema> in %s", dir)
	}
	return mods
}

func TestNcclientInterop(t *testing.T) {
	t.Parallel() // mostly waiting on python: overlap it with the other tests
	testtool.Require(t, "yanglint")
	py := requireNcclient(t)
	a := startAgent(t)
	out := t.TempDir()
	runNcclient(t, py, a, "ncclient_interop.py", adminPassword, a.keyFile, operatorPassword, out)
	if n := yanglintReplies(t, out, "config", "*.xml"); n < 5 {
		t.Fatalf("only %d get-config replies validated", n)
	}
}

// RFC 8341 with ncclient: the admin configures /nacm and a user through
// NETCONF; the rules hold for that user's session at once (reads pruned,
// a denied edit refused whole, kill-session denied, counters), and so do
// rules naming the ietf-ntp view's nodes, for reads and edits through it.
func TestNcclientAccessControlRFC8341(t *testing.T) {
	t.Parallel()
	py := requireNcclient(t)
	a := startAgent(t, withViews(t, ietfNTPView(t)))
	runNcclient(t, py, a, "ncclient_nacm.py", adminPassword)
}

func portOf(addr string) string {
	i := strings.LastIndexByte(addr, ':')
	return addr[i+1:]
}

// TestAnsibleInterop runs testdata/netconf/ansible/playbook.yml twice with
// Debian's ansible (ansible.netcommon.netconf connection): both runs succeed,
// the second reports changed=0; netconf_config's save: true reaches the
// startup datastore (RFC 6241 §8.7), which netconf_get source: startup reads.
func TestAnsibleInterop(t *testing.T) {
	t.Parallel()
	a := startAgent(t)
	replies := t.TempDir()
	run := func() string {
		t.Helper()
		return runPlaybook(t, a, "default", repoFile("testdata", "netconf", "ansible", "playbook.yml"), "-e", "reply_dir="+replies)
	}
	first := run()
	if !regexp.MustCompile(`ntpagent\s+: ok=\d+\s+changed=[1-9]`).MatchString(first) {
		t.Fatalf("first run changed nothing:\n%s", first)
	}
	second := run()
	if !regexp.MustCompile(`ntpagent\s+: ok=\d+\s+changed=0\s+unreachable=0\s+failed=0`).MatchString(second) {
		t.Fatalf("second run is not idempotent:\n%s", second)
	}
	c := dialNC(t, a.addr, a.adminKey(), true)
	r := c.RPC(`<get-config><source><running/></source></get-config>`)
	if !strings.Contains(r, "10.20.0.1") || !strings.Contains(r, "10.20.0.2") || strings.Contains(r, "10.20.0.9") {
		t.Fatalf("running after the playbook: %s", r)
	}
	if s := c.RPC(`<get-config><source><startup/></source></get-config>`); !strings.Contains(s, "10.20.0.3") || !strings.Contains(s, "10.20.0.1") {
		t.Fatalf("startup after the playbook's save: %s", s)
	}
	yl := schemaDir(t, a)
	saveDataChildren(t, yl, "running", r)
	for _, name := range []string{"running", "candidate"} {
		b, err := os.ReadFile(filepath.Join(replies, "ansible-"+name+".reply"))
		if err != nil {
			t.Fatalf("the playbook kept no %s reply: %v", name, err)
		}
		saveDataChildren(t, yl, "ansible-"+name, string(b))
	}
	if n := yanglintReplies(t, yl, "config", "*.xml"); n != 3 {
		t.Fatalf("%d replies validated", n)
	}
}

// runPlaybook runs an Ansible playbook against the agent over the
// ansible.netcommon.netconf connection as admin, with the given
// ansible_network_os, and returns its output; a failed run fails the test.
func runPlaybook(t *testing.T, a *testAgent, networkOS, playbook string, args ...string) string {
	t.Helper()
	pb := testtool.Require(t, "ansible-playbook")
	dir := t.TempDir()
	inv := "[agent]\nntpagent ansible_host=127.0.0.1 ansible_port=" + portOf(a.addr) +
		" ansible_user=admin ansible_password=" + adminPassword +
		" ansible_connection=ansible.netcommon.netconf ansible_network_os=" + networkOS + " ansible_host_key_checking=false\n"
	if err := os.WriteFile(filepath.Join(dir, "inventory.ini"), []byte(inv), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, pb, append(append([]string{"-i", filepath.Join(dir, "inventory.ini")}, args...), playbook)...)
	cmd.Env = append(os.Environ(), "HOME="+dir, "ANSIBLE_HOST_KEY_CHECKING=False", "ANSIBLE_PARAMIKO_LOOK_FOR_KEYS=False",
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "tmp"), "ANSIBLE_NOCOLOR=1", "ANSIBLE_RETRY_FILES_ENABLED=False",
		// No interpreter discovery, no fact gathering: keeps runs fast.
		"ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3", "ANSIBLE_GATHERING=explicit")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ansible-playbook %s: %v\n%s", filepath.Base(playbook), err, out)
	}
	return string(out)
}

// schemaDir fetches our modules with <get-schema> into a new folder, for
// yanglint (the text the server serves is what the data must conform to).
func schemaDir(t *testing.T, a *testAgent) string {
	t.Helper()
	return schemaDirOf(t, a, "ntpagent-ntp", "ntpagent-system", "ietf-netconf-acm")
}

// schemaDirOf is schemaDir for the named modules.
func schemaDirOf(t *testing.T, a *testAgent, modules ...string) string {
	t.Helper()
	dir := t.TempDir()
	c := dialNC(t, a.addr, a.adminKey(), true)
	for _, name := range modules {
		r := c.RPC(`<get-schema xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"><identifier>` + name + `</identifier></get-schema>`)
		i, j := strings.Index(r, ">module "), strings.LastIndex(r, "</data>")
		if i < 0 || j < i {
			t.Fatalf("get-schema %s: %.200s", name, r)
		}
		text := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#xD;", "\r", "&amp;", "&").Replace(r[i+1 : j])
		if err := os.WriteFile(filepath.Join(dir, name+".yang"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// saveDataChildren writes the children of the <data> of a get-config reply
// into dir for yanglintReplies.
func saveDataChildren(t *testing.T, dir, name, reply string) {
	t.Helper()
	i := strings.Index(reply, "<data")
	if i < 0 {
		t.Fatalf("no <data> in %s", reply)
	}
	start := i + strings.IndexByte(reply[i:], '>') + 1
	if strings.HasPrefix(reply[i:], "<data/>") {
		start = i + len("<data/>")
	}
	end := strings.LastIndex(reply, "</data>")
	if end < start {
		end = start
	}
	if err := os.WriteFile(filepath.Join(dir, name+".xml"), []byte(reply[start:end]), 0o644); err != nil {
		t.Fatal(err)
	}
}
