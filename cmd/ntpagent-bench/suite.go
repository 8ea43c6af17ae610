//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// SuiteConfig says how many samples each NETCONF measure takes.
type SuiteConfig struct {
	ConnectRuns   int
	GetRuns       int
	EditRuns      int
	Throughput    time.Duration // how long the get-config loop of each server runs
	Sessions      int           // concurrent sessions of the get-config loop
	SettleForRSS  time.Duration // pause before reading RSS after a commit
	MaxRPCsPerRun int           // bound of the get-config loop per session
	Log           *slog.Logger
	// DumpDir, when set, receives each server's get-config reply with 100
	// peers (NAME-get-config-100.xml), to compare the payloads.
	DumpDir string
	// ViewsOn names the target that speaks the agent's views
	// (viewBenches): get-config and edit+commit through each, with 1,000
	// peers. Empty: none.
	ViewsOn string
	// NacmOn names the target with access control (RFC 8341): get-config
	// of 1,000 peers by a user a 20-rule rule-list governs. Empty: none.
	NacmOn string
	// Only, when not empty, names the measures to take (mGet100,
	// mThroughput, ...); the others are skipped. The peers are loaded all
	// the same, so that each measure sees the data it always sees.
	Only map[string]bool
}

// wants tells whether the suite takes measure m.
func (c SuiteConfig) wants(m string) bool { return len(c.Only) == 0 || c.Only[m] }

// server is one target of a suite run and what it has produced so far.
type server struct {
	t       *Target
	pid     int // for RSS; 0 skips RSS
	ctl     *Session
	results []Result
	err     error // the first failure; the server takes no further part
}

func (s *server) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// RunNETCONF times several servers with the same sequence of operations,
// alternating between the servers sample by sample, so that a change of the
// machine's load during the run affects all of them alike: RSS idle; connect;
// load 100 peers; get-config (100 peers); edit+commit (100 peers); get-config
// rate (one server after the other); load to 128 peers, RSS; load to 1,000
// peers, RSS; get-config (1,000); edit+commit (1,000); remove the peers.
// A server that fails drops out; its error is returned with the results of
// all servers.
func RunNETCONF(ctx context.Context, targets []*Target, pids []int, c SuiteConfig) ([]Result, error) {
	servers := make([]*server, len(targets))
	for i, t := range targets {
		servers[i] = &server{t: t, pid: pids[i]}
	}
	active := func() []*server {
		var a []*server
		for _, s := range servers {
			if s.err == nil && ctx.Err() == nil {
				a = append(a, s)
			}
		}
		return a
	}
	step := func(name string) { c.Log.Info("measuring", "step", name) }
	rss := func(measure string, peers int) {
		if !c.wants(measure) {
			return
		}
		time.Sleep(c.SettleForRSS)
		for _, s := range active() {
			if s.pid <= 0 {
				continue
			}
			v, err := readRSS(s.pid)
			if err != nil {
				s.fail(err)
				continue
			}
			s.results = append(s.results, Result{Server: s.t.Name, Measure: measure, Unit: "MiB", Median: v, N: 1,
				Note: fmt.Sprintf("%d peers", peers)})
		}
	}
	// timedOn runs `runs` rounds of op on every active server that on
	// accepts (all when nil) in turn and records the durations (3 untimed
	// warm-up rounds first). The cleanup op returns, if any, runs after the
	// sample is taken.
	timedOn := func(on func(*server) bool, measure string, runs int, op func(s *server, round int) (cleanup func(), err error)) {
		if !c.wants(measure) {
			return
		}
		const warmup = 3
		samples := map[*server][]time.Duration{}
		for round := range warmup + runs {
			for _, s := range active() {
				if on != nil && !on(s) {
					continue
				}
				t0 := time.Now()
				cleanup, err := op(s, round)
				d := time.Since(t0)
				if cleanup != nil {
					cleanup()
				}
				if err != nil {
					s.fail(fmt.Errorf("%s: %w", measure, err))
					continue
				}
				if round >= warmup {
					samples[s] = append(samples[s], d)
				}
			}
		}
		for _, s := range active() {
			if on == nil || on(s) {
				s.results = append(s.results, durations(s.t.Name, measure, samples[s]))
			}
		}
	}
	timed := func(measure string, runs int, op func(s *server, round int) (cleanup func(), err error)) {
		timedOn(nil, measure, runs, op)
	}
	defer func() {
		for _, s := range servers {
			if s.ctl != nil {
				s.ctl.Close(s.err == nil)
			}
		}
	}()

	rss(mRSSIdle, 0)

	// SSH connect → server hello: a new TCP connection and SSH transport
	// each time.
	step("connect")
	timed(mConnect, c.ConnectRuns, func(s *server, _ int) (func(), error) {
		sess, err := Dial(ctx, s.t)
		if err != nil {
			return nil, err
		}
		// Closing is not timed: the sample ends at the server's hello.
		return func() { sess.Close(false) }, nil
	})

	step("load 100 peers")
	for _, s := range active() {
		ctl, err := dialHello(ctx, s.t)
		if err != nil {
			s.fail(err)
			continue
		}
		s.ctl = ctl
		if err := commitEdit(ctl, removeNTPRPC()); err != nil {
			s.fail(fmt.Errorf("clearing /ntp: %w", err))
			continue
		}
		if err := loadPeers(ctl, 0, 100); err != nil {
			s.fail(err)
			continue
		}
		reply, err := ctl.RPC(getConfigRPC)
		if err != nil {
			s.fail(err)
			continue
		}
		s.results = append(s.results, Result{Server: s.t.Name, Measure: mGetConfigSize, Unit: "bytes", Median: float64(len(reply)), N: 1})
		if c.DumpDir != "" {
			if err := os.WriteFile(filepath.Join(c.DumpDir, s.t.Name+"-get-config-100.xml"), reply, 0o644); err != nil {
				c.Log.Warn("dump", "err", err)
			}
		}
	}
	getConfig := func(s *server, _ int) (func(), error) { _, err := s.ctl.RPC(getConfigRPC); return nil, err }
	// Each edit+commit sample is also split into its edit-config and commit
	// parts (results MEASURE/edit-config and MEASURE/commit, in the JSON
	// lines only), to show where a server spends the time.
	parts := map[*server]map[string][]time.Duration{}
	editOne := func(measure string) func(s *server, round int) (func(), error) {
		return func(s *server, round int) (func(), error) {
			edit, commit, err := editOnePeer(s.ctl, round)
			if err == nil && round >= 3 {
				if parts[s] == nil {
					parts[s] = map[string][]time.Duration{}
				}
				parts[s][measure+"/edit-config"] = append(parts[s][measure+"/edit-config"], edit)
				parts[s][measure+"/commit"] = append(parts[s][measure+"/commit"], commit)
			}
			return nil, err
		}
	}
	flushParts := func() {
		for s, m := range parts {
			for _, k := range []string{mEdit100 + "/edit-config", mEdit100 + "/commit", mEdit1000 + "/edit-config", mEdit1000 + "/commit"} {
				if len(m[k]) > 0 {
					s.results = append(s.results, durations(s.t.Name, k, m[k]))
				}
			}
		}
	}

	step("get-config 100")
	timed(mGet100, c.GetRuns, getConfig)
	step("edit+commit 100")
	timed(mEdit100, c.EditRuns, editOne(mEdit100))

	for _, s := range active() {
		if !c.wants(mThroughput) {
			break
		}
		step("get-config rate " + s.t.Name)
		r, err := throughput(ctx, s.t, c)
		if err != nil {
			s.fail(err)
			continue
		}
		s.results = append(s.results, r)
	}

	for _, s := range active() {
		s.fail(loadPeers(s.ctl, 100, 128))
	}
	rss(mRSS128, 128)
	step("load 1,000 peers")
	for _, s := range active() {
		s.fail(loadPeers(s.ctl, 128, 1000))
	}
	rss(mRSS1000, 1000)

	step("get-config 1,000")
	timed(mGet1000, max(c.GetRuns/4, 5), getConfig)
	step("get 1,000")
	timed(mGetAll1000, max(c.GetRuns/4, 5), func(s *server, _ int) (func(), error) { _, err := s.ctl.RPC(getRPC); return nil, err })
	step("get-data 1,000")
	// RFC 8526 get-data where the server announces NMDA: the configuration
	// in use with its origin (the data get-config returns, annotated), and
	// all of <operational> with origin (the sessions' state too).
	nmda := func(s *server) bool { return bytes.Contains(s.ctl.hello, []byte(capOperationalDefaults)) }
	getDataOp := func(rpc string) func(s *server, _ int) (func(), error) {
		return func(s *server, _ int) (func(), error) {
			r, err := s.ctl.RPC(rpc)
			if err == nil && bytes.Contains(r, []byte("<rpc-error>")) {
				err = fmt.Errorf("get-data: %.300s", r)
			}
			return nil, err
		}
	}
	timedOn(nmda, mGetData1000, max(c.GetRuns/4, 5), getDataOp(getDataConfigOriginRPC))
	timedOn(nmda, mGetDataAll1000, max(c.GetRuns/4, 5), getDataOp(getDataOperationalOriginRPC))
	step("get-config 1,000 under access control")
	// RFC 8341: the same get-config by a user a 20-rule rule-list governs
	// (nacm.go), every peer judged by the rules and none hidden.
	restricted := map[*server]*Session{}
	for _, s := range active() {
		if s.t.Name != c.NacmOn || !c.wants(mGetNacm1000) {
			continue
		}
		sess, err := dialRestricted(ctx, s)
		if err != nil {
			s.fail(err)
			continue
		}
		restricted[s] = sess
	}
	// Sample for sample, the same get-config by the bench's own user,
	// whom access control does not restrict: the row's reference, taken
	// in the same step so that the machine's load weighs on both alike.
	for s, sess := range restricted {
		var open, ruled []time.Duration
		for round := range 3 + max(c.GetRuns/4, 5) {
			for _, x := range []*Session{s.ctl, sess} {
				t0 := time.Now()
				r, err := x.RPC(getConfigRPC)
				d := time.Since(t0)
				if err == nil {
					if n, cerr := countPeers(r); cerr != nil || n != 1000 {
						err = fmt.Errorf("get-config beside access control: %d peers (%v), want 1000", n, cerr)
					}
				}
				if err != nil {
					s.fail(fmt.Errorf("%s: %w", mGetNacm1000, err))
					break
				}
				if round < 3 {
					continue // warm-up
				}
				if x == sess {
					ruled = append(ruled, d)
				} else {
					open = append(open, d)
				}
			}
		}
		if s.err == nil {
			s.results = append(s.results, durations(s.t.Name, mGetNacmOpen1000, open), durations(s.t.Name, mGetNacm1000, ruled))
		}
	}
	for s, sess := range restricted {
		sess.Close(true)
		s.fail(commitEdit(s.ctl, removeNacmBenchRPC()))
	}
	step("edit+commit 1,000")
	timed(mEdit1000, max(c.EditRuns/2, 5), editOne(mEdit1000))

	viewsOn := func(s *server) bool { return s.t.Name == c.ViewsOn }
	for _, vb := range viewBenches {
		step("get-config 1,000 through the " + vb.name + " view")
		get := `<get-config><source><running/></source><filter type="subtree">` + vb.filter + `</filter></get-config>`
		timedOn(viewsOn, viewMeasure(mGet1000, vb.name), max(c.GetRuns/4, 5), func(s *server, _ int) (func(), error) {
			r, err := s.ctl.RPC(get)
			if err == nil && bytes.Contains(r, []byte("<rpc-error>")) {
				err = fmt.Errorf("get-config through the %s view: %.300s", vb.name, r)
			}
			return nil, err
		})
		step("edit+commit 1,000 through the " + vb.name + " view")
		timedOn(viewsOn, viewMeasure(mEdit1000, vb.name), max(c.EditRuns/2, 5), func(s *server, round int) (func(), error) {
			edit := `<edit-config><target><candidate/></target><config>` + vb.edit(round) + `</config></edit-config>`
			for _, rpc := range []string{edit, commitRPC} {
				reply, err := s.ctl.RPC(rpc)
				if err != nil {
					return nil, err
				}
				if !IsOK(reply) {
					return nil, fmt.Errorf("%s through the %s view: want <ok/>, got %.300s", s.t.Name, vb.name, reply)
				}
			}
			return nil, nil
		})
	}

	// Leave the servers without peers (an agent would otherwise keep 1,000
	// associations polling during the NTP load that follows).
	for _, s := range active() {
		s.fail(commitEdit(s.ctl, removeNTPRPC()))
	}

	flushParts()
	var out []Result
	var errs []error
	for _, s := range servers {
		out = append(out, s.results...)
		if s.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.t.Name, s.err))
			// The report shows why this server's remaining cells are empty.
			out = append(out, Result{Server: s.t.Name, Measure: mError, Note: s.err.Error()})
		}
	}
	if ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	return out, errors.Join(errs...)
}

// editOnePeer changes peer 0's minpoll (4 and 5 in turn, so that every
// commit changes running) and commits; both replies must be <ok/>. It
// returns the time of each of the two exchanges.
func editOnePeer(s *Session, round int) (edit, commit time.Duration, err error) {
	var d [2]time.Duration
	for i, rpc := range []string{editPeersRPC(0, 1, 4+round%2), commitRPC} {
		t0 := time.Now()
		reply, err := s.RPC(rpc)
		d[i] = time.Since(t0)
		if err != nil {
			return 0, 0, err
		}
		if !IsOK(reply) {
			return 0, 0, fmt.Errorf("%s: want <ok/>, got %.300s", s.t.Name, reply)
		}
	}
	return d[0], d[1], nil
}

func dialHello(ctx context.Context, t *Target) (*Session, error) {
	s, err := Dial(ctx, t)
	if err != nil {
		return nil, err
	}
	if err := s.SendHello(); err != nil {
		s.Close(false)
		return nil, err
	}
	return s, nil
}

// commitEdit sends one edit-config and a commit, each of which must be <ok/>.
func commitEdit(s *Session, edit string) error {
	for _, rpc := range []string{edit, commitRPC} {
		reply, err := s.RPC(rpc)
		if err != nil {
			return err
		}
		if !IsOK(reply) {
			return fmt.Errorf("%s: want <ok/>, got %.300s", s.t.Name, reply)
		}
	}
	return nil
}

// loadPeers adds peers [from, to) with minpoll 6 and checks that running
// then holds exactly `to` peers.
func loadPeers(s *Session, from, to int) error {
	if err := commitEdit(s, editPeersRPC(from, to, 6)); err != nil {
		return fmt.Errorf("loading peers %d..%d: %w", from, to-1, err)
	}
	reply, err := s.RPC(getConfigRPC)
	if err != nil {
		return err
	}
	n, err := countPeers(reply)
	if err != nil {
		return fmt.Errorf("%s: %w", s.t.Name, err)
	}
	if n != to {
		return fmt.Errorf("%s: running holds %d peers after loading %d", s.t.Name, n, to)
	}
	return nil
}

// throughput opens c.Sessions sessions and has each send get-config
// requests one after the other for c.Throughput; it reports replies per
// second over all sessions.
func throughput(ctx context.Context, t *Target, c SuiteConfig) (Result, error) {
	sessions := make([]*Session, 0, c.Sessions)
	defer func() {
		for _, s := range sessions {
			s.Close(true)
		}
	}()
	for range c.Sessions {
		s, err := dialHello(ctx, t)
		if err != nil {
			return Result{}, err
		}
		sessions = append(sessions, s)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
		errs  []error
	)
	start := time.Now()
	deadline := start.Add(c.Throughput)
	for _, s := range sessions {
		wg.Go(func() {
			n := 0
			var err error
			for n < c.MaxRPCsPerRun && time.Now().Before(deadline) && ctx.Err() == nil {
				if _, err = s.RPC(getConfigRPC); err != nil {
					break
				}
				n++
			}
			mu.Lock()
			total += n
			if err != nil {
				errs = append(errs, err)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return Result{}, err
	}
	return Result{Server: t.Name, Measure: mThroughput, Unit: "1/s", Median: float64(total) / elapsed.Seconds(), N: total,
		Note: fmt.Sprintf("%d sessions, %.1f s", c.Sessions, elapsed.Seconds())}, nil
}
