package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ntpagent/ntpagent/internal/nctest"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/ntpengine/netio"
)

// daemonEnv makes the test binary run as the daemon (TestMain), so that the
// fleet test runs real ntpagent processes — which it can SIGKILL and
// restart — without building another binary.
const daemonEnv = "NTPAGENT_TEST_RUN_DAEMON"

func TestMain(m *testing.M) {
	if os.Getenv(daemonEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fleetNode is one host of the fleet: an agent or a chronyd reference, each
// in a network namespace of its own, plugged into the hub's bridge.
type fleetNode struct {
	name  string // a0…a11, r1, r2
	ns    string
	addr  string   // 198.18.0.X
	peers []string // the agent's configured peers (addresses)
	dir   string   // state folder (agents) or chronyd's folder
	cmd   *exec.Cmd
	gone  chan struct{} // closed when the process has exited
	log   *testtool.Buffer
}

// fleetTopology is the peering of the fleet: agents a0…a5 in a ring, a6…a11
// in a full mesh, the ring and the mesh joined at a0–a6 and a3–a9; the
// reference r1 peers with a0 and a6, r2 with a3 and a9. Every agent is one
// hop from an agent that peers with a reference, and after losing r1 and a9
// every agent still has a path to r2 (through a3).
func fleetTopology() (agents []*fleetNode, refs []*fleetNode) {
	for i := range 12 {
		agents = append(agents, &fleetNode{name: "a" + strconv.Itoa(i), addr: "198.18.0." + strconv.Itoa(11+i)})
	}
	refs = []*fleetNode{{name: "r1", addr: "198.18.0.2"}, {name: "r2", addr: "198.18.0.3"}}
	link := func(x, y *fleetNode) {
		x.peers = append(x.peers, y.addr)
		y.peers = append(y.peers, x.addr)
	}
	for i := range 6 {
		link(agents[i], agents[(i+1)%6])
	}
	for i := 6; i < 12; i++ {
		for j := i + 1; j < 12; j++ {
			link(agents[i], agents[j])
		}
	}
	link(agents[0], agents[6])
	link(agents[3], agents[9])
	for _, p := range [][2]int{{0, 0}, {0, 6}, {1, 3}, {1, 9}} {
		link(refs[p[0]], agents[p[1]])
	}
	return agents, refs
}

// The fleet: 12 ntpagent processes and two chronyd references (chronyd -x:
// never the host clock), each in a network namespace the test makes and
// deletes, on one bridge in a hub namespace (198.18.0.0/24). One Ansible run
// with a fork per agent configures every agent's peers over NETCONF; the
// test then reads every agent's /ntp/status and sessions over NETCONF from
// the hub and asserts, at each step, that every running agent is
// synchronized with a stratum one more than its system peer's, and that
// following system peers from any agent ends at a running reference without
// passing an agent twice (no timing loop, RFC 5905 §11.2.1):
//
//  1. after the Ansible run;
//  2. after reference r1 stops (no agent is left following it);
//  3. after agent a9, which peers with the other reference, is killed
//     (SIGKILL);
//  4. after a9 is restarted from its state folder: it synchronizes again,
//     to its reference r2, and its peers reach it.
//
// How long each step took and how many agents were seen unsynchronized on
// the way are logged; they are figures, not assertions.
func TestFleetRingAndMeshWithTwoReferences(t *testing.T) {
	if testing.Short() {
		t.Skip("the fleet takes minutes")
	}
	testtool.RequireRoot(t)
	testtool.Require(t, "ip")
	chronyd := testtool.Require(t, "chronyd")
	playbook := testtool.Require(t, "ansible-playbook")
	t.Parallel()

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	agents, refs := fleetTopology()
	id := os.Getpid() % 100000
	hub := fmt.Sprintf("ntpf%d-hub", id)
	all := append(slices.Clone(refs), agents...)
	for _, n := range all {
		n.ns = fmt.Sprintf("ntpf%d-%s", id, n.name)
	}
	t.Cleanup(func() {
		for _, n := range all {
			exec.Command("ip", "netns", "del", n.ns).Run()
		}
		exec.Command("ip", "netns", "del", hub).Run()
	})
	testtool.IP(t, "netns", "add", hub)
	testtool.IP(t, "-n", hub, "link", "set", "lo", "up")
	testtool.IP(t, "-n", hub, "link", "add", "br0", "type", "bridge")
	testtool.IP(t, "-n", hub, "addr", "add", "198.18.0.1/24", "dev", "br0")
	testtool.IP(t, "-n", hub, "link", "set", "br0", "up")
	for k, n := range all {
		port := "p" + strconv.Itoa(k)
		testtool.IP(t, "netns", "add", n.ns)
		testtool.IP(t, "-n", n.ns, "link", "set", "lo", "up")
		testtool.IP(t, "link", "add", port, "netns", hub, "type", "veth", "peer", "name", "eth0", "netns", n.ns)
		testtool.IP(t, "-n", hub, "link", "set", port, "master", "br0", "up")
		testtool.IP(t, "-n", n.ns, "addr", "add", n.addr+"/24", "dev", "eth0")
		testtool.IP(t, "-n", n.ns, "link", "set", "eth0", "up")
	}
	hubVPN, err := netio.FindVPN(hub, "")
	if err != nil {
		t.Fatal(err)
	}

	const password = "fleet-admin-password"
	for _, r := range refs {
		startFleetChronyd(t, chronyd, r)
	}
	for i, a := range agents {
		a.dir = t.TempDir()
		// Clocks start up to ±25 ms off the host's (the references' time),
		// so that synchronizing means steering.
		startFleetAgent(t, self, a, password, time.Duration(i%6-3)*10*time.Millisecond+5*time.Millisecond)
	}
	f := &fleet{t: t, hub: hubVPN, password: password, agents: agents, refs: refs, conns: map[string]*fleetNC{}}
	t.Cleanup(f.close)
	defer func() {
		if t.Failed() {
			t.Logf("last states:\n%s", f.describe(f.observe()))
			for _, n := range all {
				t.Logf("%s log:\n%s", n.name, n.log.String())
			}
		}
	}()

	// Unconfigured agents say why they are not synchronized: those that
	// no reference peers with have no source at all. (A reference's
	// symmetric active packets mobilize an ephemeral association at the
	// others.)
	testtool.WaitFor(t, 60*time.Second, "every agent's NETCONF server", func() bool {
		for _, s := range f.observe() {
			if s == nil {
				return false
			}
		}
		return true
	})
	states := f.observe()
	for _, a := range agents {
		if slices.ContainsFunc(a.peers, func(p string) bool { return p == refs[0].addr || p == refs[1].addr }) {
			continue
		}
		if s := states[a.name]; s.Status.ClockState != "unsynchronized" || s.Status.UnsyncReason != "no-sources" {
			t.Errorf("%s before configuration: %s, unsync-reason %q; want unsynchronized, no-sources", a.name, s.Status.ClockState, s.Status.UnsyncReason)
		}
	}

	start := time.Now()
	runFleetPlaybook(t, hub, playbook, agents, password)
	t.Logf("Ansible configured %d agents in %v", len(agents), time.Since(start).Round(time.Millisecond))

	live := map[string]bool{}
	for _, n := range all {
		live[n.addr] = true
	}
	f.converge("every agent synchronized after the Ansible run", 240*time.Second, live, nil)

	stopFleetProcess(refs[0], syscall.SIGTERM)
	live[refs[0].addr] = false
	f.converge("the fleet without reference r1", 180*time.Second, live, nil)

	a9 := agents[9]
	stopFleetProcess(a9, syscall.SIGKILL)
	live[a9.addr] = false
	f.converge("the fleet without r1 and a9 (killed)", 180*time.Second, live, nil)

	startFleetAgent(t, self, a9, password, 0)
	live[a9.addr] = true
	f.converge("a9 restarted and rejoined", 180*time.Second, live, func(states map[string]*fleetState) []string {
		var problems []string
		// Its own reference is its best source (the lowest stratum).
		if s := states[a9.name]; s != nil && s.Status.SystemPeer != refs[1].addr {
			problems = append(problems, fmt.Sprintf("a9 follows %q, not its reference r2", s.Status.SystemPeer))
		}
		for _, peer := range a9.peers {
			if !live[peer] {
				continue
			}
			for _, n := range agents {
				if n.addr != peer {
					continue
				}
				if s := states[n.name]; s != nil && s.session(a9.addr).Reach == 0 {
					problems = append(problems, fmt.Sprintf("%s does not reach a9 again", n.name))
				}
			}
		}
		return problems
	})
}

func startFleetAgent(t *testing.T, self string, a *fleetNode, password string, offset time.Duration) {
	t.Helper()
	if a.log == nil {
		a.log = &testtool.Buffer{}
	}
	fmt.Fprintf(a.log, "--- start %s\n", time.Now().UTC().Format(time.RFC3339))
	a.cmd = exec.Command("ip", "netns", "exec", a.ns, self, "--state-dir", a.dir,
		"--netconf-listen", a.addr+":830", "--cli-listen", "127.0.0.1:2222", "--ntp-listen", a.addr+":123",
		"--drift-file=", "--virtual-clock-offset", offset.String())
	a.cmd.Env = append(os.Environ(), daemonEnv+"=1", "NTPAGENT_ADMIN_PASSWORD="+password)
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	startFleetProcess(t, a)
}

// startFleetChronyd starts a reference: chronyd -x (it never touches the
// host clock) at local stratum 1, a symmetric peer of its agents that
// never selects them (noselect), so that it stays the reference.
func startFleetChronyd(t *testing.T, chronyd string, r *fleetNode) {
	t.Helper()
	dir, err := os.MkdirTemp("", "ntpagent-fleet-chrony-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	r.dir, r.log = dir, &testtool.Buffer{}
	var conf strings.Builder
	fmt.Fprintf(&conf, "port 123\nbindaddress %s\ncmdport 0\nbindcmdaddress %s\npidfile %s\nallow 198.18.0.0/24\nlocal stratum 1\n",
		r.addr, filepath.Join(dir, "chronyd.sock"), filepath.Join(dir, "chronyd.pid"))
	for _, p := range r.peers {
		fmt.Fprintf(&conf, "peer %s minpoll 3 maxpoll 3 noselect\n", p)
	}
	confPath := filepath.Join(dir, "chronyd.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// chronyd keeps its folder private (0700) and drops to its user.
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if u, err := user.Lookup("_chrony"); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, p := range []string{confPath, dir} {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.cmd = exec.Command("ip", "netns", "exec", r.ns, chronyd, "-d", "-x", "-f", confPath)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	startFleetProcess(t, r)
}

// startFleetProcess starts n.cmd (ip netns exec replaces itself with the
// program, so the process is the agent or chronyd) and stops it at the end.
func startFleetProcess(t *testing.T, n *fleetNode) {
	t.Helper()
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	gone := make(chan struct{})
	n.gone = gone
	go func(c *exec.Cmd) { c.Wait(); close(gone) }(n.cmd)
	t.Cleanup(func() { stopFleetProcess(n, syscall.SIGTERM) })
}

// stopFleetProcess sends sig and waits for the exit (SIGKILL after 10 s).
func stopFleetProcess(n *fleetNode, sig syscall.Signal) {
	select {
	case <-n.gone:
		return
	default:
	}
	n.cmd.Process.Signal(sig)
	select {
	case <-n.gone:
	case <-time.After(10 * time.Second):
		n.cmd.Process.Kill()
		<-n.gone
	}
}

// runFleetPlaybook configures every agent in one ansible-playbook run with
// a fork per agent, from the hub namespace.
func runFleetPlaybook(t *testing.T, hub, playbook string, agents []*fleetNode, password string) {
	t.Helper()
	dir := t.TempDir()
	hosts := map[string]any{}
	for _, a := range agents {
		hosts[a.name] = map[string]any{"ansible_host": a.addr, "ntp_peers": a.peers}
	}
	inv := map[string]any{"all": map[string]any{"children": map[string]any{"fleet": map[string]any{
		"hosts": hosts,
		"vars": map[string]any{"ansible_connection": "ansible.netcommon.netconf", "ansible_network_os": "default",
			"ansible_port": 830, "ansible_user": "admin", "ansible_password": password,
			"ansible_host_key_checking": false},
	}}}}
	b, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	invPath := filepath.Join(dir, "inventory.json")
	if err := os.WriteFile(invPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", hub, playbook, "--forks", strconv.Itoa(len(agents)),
		"-i", invPath, filepath.Join("..", "..", "testdata", "netconf", "ansible", "fleet.yml"))
	cmd.Env = append(os.Environ(), "HOME="+dir, "ANSIBLE_HOST_KEY_CHECKING=False", "ANSIBLE_PARAMIKO_LOOK_FOR_KEYS=False",
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "tmp"), "ANSIBLE_NOCOLOR=1", "ANSIBLE_RETRY_FILES_ENABLED=False",
		"ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3", "ANSIBLE_GATHERING=explicit",
		"ANSIBLE_PERSISTENT_COMMAND_TIMEOUT=120", "ANSIBLE_PERSISTENT_CONNECT_TIMEOUT=120")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, out)
	}
	for _, a := range agents {
		re := regexp.MustCompile(`(?m)^` + a.name + `\s+: ok=1\s+changed=1\s+unreachable=0\s+failed=0`)
		if !re.Match(out) {
			t.Fatalf("the playbook did not configure %s:\n%s", a.name, out)
		}
	}
}

// fleetState is what the test reads of an agent: <get> of /ntp/status and
// /ntp/sessions.
type fleetState struct {
	Status struct {
		ClockState   string `xml:"clock-state"`
		UnsyncReason string `xml:"unsync-reason"`
		Stratum      int    `xml:"stratum"`
		SystemPeer   string `xml:"system-peer"`
	} `xml:"data>ntp>status"`
	Sessions []fleetSession `xml:"data>ntp>sessions>session"`
}

type fleetSession struct {
	Address   string `xml:"address"`
	Stratum   int    `xml:"stratum"`
	Reach     int    `xml:"reach"`
	Selection string `xml:"selection-status"`
	Reason    string `xml:"selection-reason"`
}

func (s *fleetState) session(addr string) fleetSession {
	for _, x := range s.Sessions {
		if x.Address == addr {
			return x
		}
	}
	return fleetSession{}
}

type fleet struct {
	t        *testing.T
	hub      netio.VPNInstance
	password string
	agents   []*fleetNode
	refs     []*fleetNode
	conns    map[string]*fleetNC
}

func (f *fleet) close() {
	for _, c := range f.conns {
		c.close()
	}
}

// observe reads every agent's state; an agent that does not answer (not
// running, not yet listening) is nil.
func (f *fleet) observe() map[string]*fleetState {
	out := map[string]*fleetState{}
	for _, a := range f.agents {
		out[a.name] = f.get(a)
	}
	return out
}

func (f *fleet) get(a *fleetNode) *fleetState {
	c := f.conns[a.name]
	if c == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		if c, err = dialFleetNC(ctx, f.hub, a.addr+":830", f.password); err != nil {
			return nil
		}
		f.conns[a.name] = c
	}
	reply, err := c.rpc(`<get><filter type="subtree"><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><status/><sessions/></ntp></filter></get>`)
	if err != nil {
		c.close()
		delete(f.conns, a.name)
		return nil
	}
	var s fleetState
	if err := xml.Unmarshal([]byte(reply), &s); err != nil {
		f.t.Errorf("%s: <get> reply: %v\n%s", a.name, err, reply)
		return nil
	}
	return &s
}

// problems lists what keeps the fleet from the wanted state: a running
// agent that is unsynchronized or unreachable, whose stratum is not its
// system peer's plus one, or whose chain of system peers does not end at a
// running reference within as many steps as there are agents.
func (f *fleet) problems(states map[string]*fleetState, live map[string]bool) []string {
	byAddr := map[string]*fleetState{}
	names := map[string]string{}
	for _, a := range f.agents {
		names[a.addr] = a.name
		if live[a.addr] {
			byAddr[a.addr] = states[a.name]
		}
	}
	isRef := map[string]bool{}
	for _, r := range f.refs {
		isRef[r.addr] = true
		names[r.addr] = r.name
	}
	var out []string
	for _, a := range f.agents {
		if !live[a.addr] {
			continue
		}
		s := states[a.name]
		switch {
		case s == nil:
			out = append(out, a.name+" does not answer")
			continue
		case s.Status.ClockState != "synchronized":
			out = append(out, fmt.Sprintf("%s unsynchronized (%s)", a.name, s.Status.UnsyncReason))
			continue
		}
		sp := s.Status.SystemPeer
		if want := s.session(sp).Stratum + 1; s.Status.Stratum != want || want < 2 || want > 15 {
			out = append(out, fmt.Sprintf("%s at stratum %d, its system peer %s at %d", a.name, s.Status.Stratum, names[sp], want-1))
		}
		path := []string{a.name}
		seen := map[string]bool{a.addr: true}
		for addr := sp; ; {
			path = append(path, names[addr])
			if isRef[addr] {
				if !live[addr] {
					out = append(out, fmt.Sprintf("%s follows a stopped reference: %s", a.name, strings.Join(path, "→")))
				}
				break
			}
			next, ok := byAddr[addr]
			if !ok || next == nil || next.Status.ClockState != "synchronized" {
				out = append(out, fmt.Sprintf("%s follows %s, which is not a running synchronized agent: %s", a.name, addr, strings.Join(path, "→")))
				break
			}
			if seen[addr] {
				out = append(out, fmt.Sprintf("timing loop: %s", strings.Join(path, "→")))
				break
			}
			seen[addr] = true
			addr = next.Status.SystemPeer
		}
	}
	return out
}

// converge waits until no problem is left (and extra finds none), polling
// about once a second; it logs how long that took, how many times each
// running agent was seen unsynchronized on the way and why, and what each
// agent saw the first time it was.
func (f *fleet) converge(what string, limit time.Duration, live map[string]bool, extra func(map[string]*fleetState) []string) {
	f.t.Helper()
	start := time.Now()
	unsynced := map[string]map[string]int{} // agent → unsync-reason → polls
	var first []string
	var last []string
	for {
		states := f.observe()
		last = f.problems(states, live)
		if extra != nil {
			last = append(last, extra(states)...)
		}
		for _, a := range f.agents {
			s := states[a.name]
			if s == nil || s.Status.ClockState == "synchronized" {
				continue
			}
			if unsynced[a.name] == nil {
				unsynced[a.name] = map[string]int{}
				first = append(first, fmt.Sprintf("  +%v %s", time.Since(start).Round(time.Second), describeAgent(a.name, s)))
			}
			unsynced[a.name][s.Status.UnsyncReason]++
		}
		if len(last) == 0 {
			f.t.Logf("%s: after %v; agents seen unsynchronized on the way (reason: polls): %v; %s\nfirst seen unsynchronized:\n%s\nat the end:\n%s",
				what, time.Since(start).Round(time.Second), unsynced, f.strata(states), strings.Join(first, "\n"), f.describe(states))
			return
		}
		if time.Since(start) > limit {
			f.t.Fatalf("%s: not reached in %v:\n  %s\n%s", what, limit, strings.Join(last, "\n  "), f.describe(states))
		}
		time.Sleep(time.Second)
	}
}

func (f *fleet) strata(states map[string]*fleetState) string {
	var b strings.Builder
	b.WriteString("strata")
	for _, a := range f.agents {
		if s := states[a.name]; s != nil {
			fmt.Fprintf(&b, " %s:%d", a.name, s.Status.Stratum)
		}
	}
	return b.String()
}

func (f *fleet) describe(states map[string]*fleetState) string {
	var b strings.Builder
	for _, a := range f.agents {
		b.WriteString("  " + describeAgent(a.name, states[a.name]) + "\n")
	}
	return b.String()
}

func describeAgent(name string, s *fleetState) string {
	if s == nil {
		return name + ": no answer"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s stratum %d peer %s;", name, s.Status.ClockState, s.Status.UnsyncReason, s.Status.Stratum, s.Status.SystemPeer)
	for _, x := range s.Sessions {
		fmt.Fprintf(&b, " [%s s%d r%o %s %s]", x.Address, x.Stratum, x.Reach, x.Selection, x.Reason)
	}
	return b.String()
}

// fleetNC is a NETCONF session (nctest, base:1.0) over SSH on a connection
// made inside the hub namespace; its errors are returned, not fatal, since
// the fleet polls agents that may be down.
type fleetNC struct{ *nctest.Client }

func dialFleetNC(ctx context.Context, hub netio.VPNInstance, addr, password string) (*fleetNC, error) {
	conn, err := hub.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	cfg := &ssh.ClientConfig{User: "admin", Auth: []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second}
	c, err := nctest.DialSSHConn(nil, conn, addr, cfg, false)
	if err != nil {
		return nil, err
	}
	return &fleetNC{c}, nil
}

func (nc *fleetNC) rpc(op string) (string, error) {
	m, err := nc.RPCErr(op)
	if err == nil && strings.Contains(m, "<rpc-error>") {
		err = fmt.Errorf("rpc-error: %s", m)
	}
	return m, err
}

func (nc *fleetNC) close() { nc.Close() }
