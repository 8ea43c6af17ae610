package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/fakeclock"
	"github.com/ntpagent/ntpagent/internal/vpninstance"
	"github.com/ntpagent/ntpagent/ntpengine/ntpclock"
)

// testLogger writes to the test log only with -v and NTPAGENT_TEST_LOG=1.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("NTPAGENT_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})).With("agent", t.Name())
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

var _ io.Writer = testWriter{}

// fastClocks are a disciplined clock (a virtual clock) and a process
// clock that both run scale times faster than the host: two agents on such
// clocks poll every 8/scale s of real time, sleep between ticks in the same
// time scale, and see each other as perfectly in step, so a test of
// protocol plumbing takes seconds. startAgent gives the agent both. They
// never touch the host clock.
type fastClocks struct {
	*ntpclock.Virtual
	process *fakeclock.Fast
}

func fastClock(scale float64) fastClocks { return fastClockFrom(time.Now(), scale) }

// fastClockFrom is fastClock starting at origin: clocks made from one
// origin show the same time (fast clocks started apart differ by
// (scale−1) times the gap).
func fastClockFrom(origin time.Time, scale float64) fastClocks {
	p := fakeclock.NewFastFrom(origin, scale)
	return fastClocks{ntpclock.NewVirtual(p.Elapsed, p.Origin()), p}
}

// handClocks are a hand-driven process clock and a virtual disciplined
// clock on it: time moves only when the test calls testAgent.advance, so a
// test of timers (retries, the drift interval, polls) neither sleeps nor
// depends on the machine's speed.
type handClocks struct {
	*ntpclock.Virtual
	process *fakeclock.Clock
}

func handClock() handClocks {
	p := fakeclock.New()
	start := p.Now()
	return handClocks{ntpclock.NewVirtual(func() time.Duration { return p.Now().Sub(start) }, start), p}
}

// testAgent is an agent running on a free loopback port.
type testAgent struct {
	*Agent
	addr   netip.AddrPort
	cancel context.CancelFunc
	done   chan error
	hand   *fakeclock.Clock // the process clock, if hand-driven (handClock)
}

// advance moves a hand-driven agent's clocks by d in steps of at most
// step, each once the loop sleeps again: every tick that falls due runs
// before advance returns.
func (ta *testAgent) advance(t testing.TB, d, step time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for d > 0 {
		s := min(d, step)
		if err := ta.hand.WaitForTimers(ctx, 1); err != nil {
			t.Fatalf("the agent's loop did not go back to sleep: %v", err)
		}
		ta.hand.Advance(s)
		d -= s
	}
	if err := ta.hand.WaitForTimers(ctx, 1); err != nil {
		t.Fatalf("the agent's loop did not go back to sleep: %v", err)
	}
}

func startAgent(t testing.TB, opts Options) *testAgent {
	t.Helper()
	ta, err := tryStartAgent(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	return ta
}

// startAgentOnFreePort starts an agent listening on addr at a port that
// freeUDPPort found, the same in every vpn-instance, and returns the
// port. A port free a moment ago may be taken by another socket on the
// host before the agent binds it: the agent then starts on another one
// (at most 10 tries).
func startAgentOnFreePort(t testing.TB, addr netip.Addr, opts Options) (*testAgent, uint16) {
	t.Helper()
	for range 10 {
		port := freeUDPPort(t)
		opts.Listen = []netip.AddrPort{netip.AddrPortFrom(addr, port)}
		ta, err := tryStartAgent(t, opts)
		switch {
		case err == nil:
			return ta, port
		case !errors.Is(err, syscall.EADDRINUSE):
			t.Fatal(err)
		}
		t.Logf("port %d: %v; trying another", port, err)
	}
	t.Fatal("no free port for the agent in 10 tries")
	return nil, 0
}

// tryStartAgent starts an agent that stops when the test ends, or returns
// agent.New's error.
func tryStartAgent(t testing.TB, opts Options) (*testAgent, error) {
	t.Helper()
	if len(opts.Listen) == 0 {
		opts.Listen = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}
	}
	var hand *fakeclock.Clock
	switch c := opts.Clock.(type) {
	case fastClocks:
		if opts.ProcessClock == nil {
			opts.ProcessClock = c.process
		}
	case handClocks:
		if opts.ProcessClock == nil {
			opts.ProcessClock, hand = c.process, c.process
		}
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	a, err := New(opts)
	if err != nil {
		return nil, fmt.Errorf("agent.New: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ta := &testAgent{Agent: a, cancel: cancel, done: make(chan error, 1), hand: hand}
	for _, l := range a.LocalAddrs() {
		if l.Addr().Is4() == opts.Listen[0].Addr().Is4() {
			ta.addr = l
		}
	}
	go func() { ta.done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-ta.done:
			if err != nil {
				t.Errorf("agent.Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("agent.Run did not return")
		}
	})
	return ta, nil
}

func (ta *testAgent) apply(t testing.TB, root *gen.Device) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ta.Apply(ctx, root); err != nil {
		t.Fatal(err)
	}
}

// peer describes one unicast peer (or, with server, unicast server) of a
// test configuration.
type peer struct {
	server          bool
	address         string
	vpn             string
	port            uint16
	key             uint32
	minpoll         uint8
	maxpoll         uint8
	version         uint8
	sourceInterface string
	preferred       bool
	iburst          bool
}

// key describes one authentication key.
type key struct {
	id      uint32
	mode    gen.E_NtpagentNtp_Ntp_Authentication_Key_Mode
	value   string
	trusted bool
}

func config(authEnable bool, keys []key, peers ...peer) *gen.Device {
	root := &gen.Device{}
	ntp := root.GetOrCreateNtp()
	if authEnable || len(keys) > 0 {
		au := ntp.GetOrCreateAuthentication()
		au.Enable = ptr(authEnable)
		for _, k := range keys {
			kk := au.GetOrCreateKey(k.id)
			kk.Mode = k.mode
			kk.KeyValue = ptr(k.value)
			kk.Trusted = ptr(k.trusted)
		}
	}
	for _, p := range peers {
		vpn := p.vpn
		if vpn == "" {
			vpn = vpninstance.Public
		}
		var up *gen.NtpagentNtp_Ntp_UnicastPeer
		if p.server {
			up = rules.ServerAsPeer(ntp.GetOrCreateUnicastServer(p.address, vpn))
		} else {
			up = ntp.GetOrCreateUnicastPeer(p.address, vpn)
		}
		if p.port != 0 {
			up.Port = ptr(p.port)
		}
		if p.key != 0 {
			up.AuthenticationKeyid = ptr(p.key)
		}
		mp, xp := p.minpoll, p.maxpoll
		if mp == 0 {
			mp = 3
		}
		if xp == 0 {
			xp = 4
		}
		up.Minpoll, up.Maxpoll = ptr(mp), ptr(xp)
		if p.version != 0 {
			up.Version = ptr(p.version)
		}
		if p.sourceInterface != "" {
			up.SourceInterface = ptr(p.sourceInterface)
		}
		if p.preferred {
			up.Preferred = ptr(true)
		}
		if p.iburst {
			up.Iburst = ptr(true)
		}
	}
	return root
}

// keyedConfig is config of one peer (or server) p, authenticated by k with
// authentication enabled when k is not nil.
func keyedConfig(p peer, k *key) *gen.Device {
	if k == nil {
		return config(false, nil, p)
	}
	p.key = k.id
	return config(true, []key{*k}, p)
}

// session returns the session with the given address (and port, if not 0).
func session(root *gen.Device, address string, port uint16) *gen.NtpagentNtp_Ntp_Sessions_Session {
	for k, s := range root.GetNtp().GetSessions().Session {
		if k.Address == address && (port == 0 || k.Port == port) {
			return s
		}
	}
	return nil
}

func describeSessions(root *gen.Device) string {
	out := ""
	for k, s := range root.GetNtp().GetSessions().Session {
		out += fmt.Sprintf("\n  %s %s %d mode=%v reach=%o stratum=%d sel=%v err=%q sent=%d rcvd=%d autherr=%d",
			k.Address, k.VpnInstance, k.Port, s.LocalMode, s.GetReach(), s.GetStratum(), s.SelectionStatus,
			s.GetLastError(), s.GetPacketsSent(), s.GetPacketsReceived(), s.GetAuthenticationErrors())
	}
	st := root.GetNtp().GetStatus()
	return fmt.Sprintf("status: %v stratum=%d peer=%q ref=%q%s", st.ClockState, st.GetStratum(), st.GetSystemPeer(), st.GetReferenceId(), out)
}
