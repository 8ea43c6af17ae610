package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/ntpengine"
	"github.com/ntpagent/ntpagent/ntpengine/netio"
	"github.com/ntpagent/ntpagent/ntpengine/ntpclock"
)

// Options configure an Agent.
type Options struct {
	// Store is the datastore whose running configuration drives the
	// engine; Run subscribes to its commits. Nil: only Apply configures.
	Store *datastore.Store
	// Keys opens the cipher form of key values; nil is the Store's
	// (datastore.Store.Keys), and without a Store only plain values open.
	Keys *rules.KeyCipher
	// Clock is the disciplined clock; nil is a virtual clock over the
	// host's monotonic clock (ntpclock.NewVirtualFromHost).
	Clock ntpclock.Clock
	// Listen are the local NTP addresses (e.g. 127.0.0.1:10123, or
	// [::]:123 on a device). Required.
	Listen []netip.AddrPort
	// NetnsDir is where named network namespaces live (netio's default
	// when empty).
	NetnsDir string
	// Resolver resolves the domain peers of the public vpn-instance; nil
	// is net.DefaultResolver.
	Resolver Resolver
	// ResolverForVPN returns the resolver for the domain peers of a named
	// vpn-instance (called for each lookup). Nil: the instance's own,
	// VPNResolver (its namespace's nameservers and hosts file, or DNS over
	// sockets bound to its device) — behind Resolver when Resolver layers
	// itself over another (VPNLayer: a HostsResolver, the daemon's
	// --hosts-file, answers first in every instance).
	ResolverForVPN func(vpn string) Resolver
	// Logger; nil discards.
	Logger *slog.Logger
	// MaxWait is the longest time the loop sleeps between two Ticks
	// (default 1 s; the engine needs a Tick at least at NextDeadline).
	MaxWait time.Duration
	// ResolveRetry is the first delay before a failed lookup is retried; it
	// doubles up to 5 minutes (default 5 s).
	ResolveRetry time.Duration
	// Engine holds the engine settings that the YANG model does not carry
	// (MaxEphemeral, RateLimit, MaxClock, LocalStratum, Deny, Precision,
	// Rand). Its Peers, Keys, AuthEnabled and Unsync fields are ignored:
	// they come from the configuration.
	Engine ntpengine.Config
	// OnSyncChange, when set, is called (from the agent's goroutine; it
	// must not block) for every sync-state-change notification.
	OnSyncChange func(SyncStateChange)
	// QueueLen bounds netio's receive queue (netio's default when 0).
	QueueLen int
	// DriftFile is the frequency (drift) file, as ntpd's: New reads the
	// clock's frequency correction from it (one number in ppm) and starts
	// the engine in FSET with it, unless Engine.InitialFrequencyPPM is set;
	// a missing, unreadable, malformed or out-of-range file is logged and
	// ignored. Run writes it atomically while the engine's frequency is
	// settled (ntpengine.Status.FrequencySettled: never while
	// unsynchronized), at most once per DriftInterval and when it stops.
	// Empty: no drift file.
	DriftFile string
	// DriftInterval is the least time between two writes of DriftFile
	// while running (default 1 h).
	DriftInterval time.Duration
	// OpenVPNs are vpn-instances whose sockets open at start and stay
	// open, so that peers there can reach us (ephemeral associations,
	// clients) even when no configured peer uses the instance. The public
	// instance is always open.
	OpenVPNs []string
}

// Agent runs the NTP engine for a configuration. Create it with New, run it
// with Run; every other method may be called from any goroutine.
type Agent struct {
	opts     Options
	log      *slog.Logger
	clock    ntpclock.Clock
	tr       *netio.Transport
	trCancel context.CancelFunc

	calls   chan func()
	results chan resolved
	stop    chan struct{} // closed when Run returns
	ran     atomic.Bool   // Run was called (it may run only once)
	notes   chan SyncStateChange

	// engMu guards eng: the Run goroutine holds it for each engine call,
	// netio's socket readers for each batch of client requests they
	// answer (responder).
	engMu sync.Mutex
	eng   *ntpengine.Engine
	// sendPair is the last pair of readings of the disciplined clock and
	// the host clock taken just before a send: the kernel's transmit
	// timestamps are converted from it (txTime).
	sendPair clockPair

	// Owned by the Run goroutine (or by New before Run starts).
	root    *gen.Device
	plan    plan
	names   map[nameKey]*resolution // domain name in a vpn-instance → state
	vpnErr  map[string]string       // vpn-instance → why it cannot be opened
	vpnOpen map[string]bool
	ioErr   map[string]string // association key → last send problem
	index   map[sessionAddr]sessionRef
	sync    syncView
	// vpnRetryAt is when a vpn-instance that could not be opened is tried
	// again (the namespace or VRF may appear later).
	vpnRetryAt time.Time
	// driftAt is when the drift file was last written (or tried).
	driftAt time.Time
}

type sessionAddr struct {
	vpn string
	ap  netip.AddrPort
}

type sessionRef struct {
	key string
}

type syncView struct {
	synced  bool
	peer    string // display name
	stratum uint8
}

// New opens the NTP sockets and prepares an engine with no peers (it
// already answers clients). Run starts the service.
func New(opts Options) (*Agent, error) {
	if len(opts.Listen) == 0 {
		return nil, errors.New("agent: no NTP listen address")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = ntpclock.NewVirtualFromHost()
	}
	if opts.Keys == nil && opts.Store != nil {
		opts.Keys = opts.Store.Keys()
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.ResolverForVPN == nil {
		netnsDir, layer := opts.NetnsDir, opts.Resolver
		opts.ResolverForVPN = func(vpn string) Resolver {
			var own Resolver = VPNResolver{VPN: vpn, NetnsDir: netnsDir}
			if l, ok := layer.(VPNLayer); ok {
				return l.InVPN(vpn, own)
			}
			return own
		}
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = time.Second
	}
	if opts.ResolveRetry <= 0 {
		opts.ResolveRetry = 5 * time.Second
	}
	if opts.DriftInterval <= 0 {
		opts.DriftInterval = defaultDriftInterval
	}
	opts.Engine.InitialFrequencyPPM = opts.initialFrequency()
	base := opts.Engine
	base.Peers, base.Keys, base.AuthEnabled, base.UnsyncMaxPoll, base.UnsyncDecStep = nil, nil, false, 0, 0
	if base.Logger == nil {
		base.Logger = opts.Logger.With("component", "ntpengine")
	}
	if base.MaxSlewRate == 0 {
		// The engine plans phase corrections at the rate the clock can
		// slew: 83,333 ppm for the virtual clock, adjtime's 500 ppm for the
		// system clock.
		base.MaxSlewRate = ntpclock.MaxSlewRate(opts.Clock)
	}
	opts.Engine = base
	eng, err := ntpengine.New(base, opts.Clock.Now())
	if err != nil {
		return nil, fmt.Errorf("agent: engine: %w", err)
	}
	open := map[string]bool{netio.PublicVPN: true}
	for _, v := range opts.OpenVPNs {
		open[v] = true
	}
	a := &Agent{
		opts: opts, log: opts.Logger.With("component", "agent"), clock: opts.Clock,
		calls: make(chan func()), results: make(chan resolved, 16), stop: make(chan struct{}),
		notes: make(chan SyncStateChange, 64),
		eng:   eng, root: &gen.Device{},
		names: map[nameKey]*resolution{}, vpnErr: map[string]string{}, vpnOpen: open,
		ioErr: map[string]string{},
		index: map[sessionAddr]sessionRef{},
		sync:  syncView{stratum: 16},
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr, err := netio.NewTransport(ctx, netio.Config{
		Listen: opts.Listen, Open: append([]string{netio.PublicVPN}, opts.OpenVPNs...), NetnsDir: opts.NetnsDir,
		Logger: opts.Logger, QueueLen: opts.QueueLen, Responder: responder{a},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("agent: %w", err)
	}
	a.tr, a.trCancel = tr, cancel
	return a, nil
}

// LocalAddrs returns the bound NTP addresses of the public vpn-instance
// (useful when Listen had port 0).
func (a *Agent) LocalAddrs() []netip.AddrPort { return a.tr.LocalAddrs(netio.PublicVPN) }

// TransportStats returns netio's counters.
func (a *Agent) TransportStats() netio.Stats { return a.tr.Stats() }

// Notifications delivers the sync-state-change notifications (bounded: when
// nobody reads, the oldest are dropped, never the loop blocked).
func (a *Agent) Notifications() <-chan SyncStateChange { return a.notes }

// Run serves until ctx is done, then closes the sockets. It applies the
// running configuration of the Store and every later commit.
func (a *Agent) Run(ctx context.Context) error {
	if !a.ran.CompareAndSwap(false, true) {
		return errors.New("agent: Run called twice")
	}
	defer func() {
		close(a.stop)
		a.trCancel()
		a.tr.Close()
	}()
	var changes <-chan datastore.Change
	if a.opts.Store != nil {
		ch, cancel := a.opts.Store.Subscribe(64)
		defer cancel()
		changes = ch
		a.apply(a.opts.Store.Snapshot(datastore.Running))
	}
	recv := a.tr.Received()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		timer.Reset(a.nextWait())
		select {
		case <-ctx.Done():
			a.log.Info("NTP service stopping")
			a.saveDrift(true)
			return nil
		case r, ok := <-recv:
			if !ok {
				return errors.New("agent: the NTP transport closed")
			}
			a.receive(r)
			// Drain what is already queued before looking at timers, a
			// bounded batch so that ticks and calls still get their turn.
			for range 64 {
				select {
				case r, ok := <-recv:
					if !ok {
						return errors.New("agent: the NTP transport closed")
					}
					a.receive(r)
					continue
				default:
				}
				break
			}
		case ch, ok := <-changes:
			if !ok {
				changes = nil // the store closed; keep serving the last configuration
				continue
			}
			a.apply(ch.New)
		case res := <-a.results:
			a.lookupDone(res)
		case fn := <-a.calls:
			fn()
		case <-timer.C:
			a.tick()
		}
	}
}

// do runs fn on the agent's goroutine and waits for it. It returns false
// when the agent is not running (fn did not run).
func (a *Agent) do(ctx context.Context, fn func()) bool {
	done := make(chan struct{})
	wrapped := func() { fn(); close(done) }
	select {
	case a.calls <- wrapped:
	case <-a.stop:
		return false
	case <-ctx.Done():
		return false
	}
	<-done
	return true
}

// Apply makes root the configuration, as a commit would (for tools and
// tests that run without a Store). It waits until the engine has it.
func (a *Agent) Apply(ctx context.Context, root *gen.Device) error {
	if !a.do(ctx, func() { a.apply(root) }) {
		return errors.New("agent: not running")
	}
	return nil
}

// nextWait is how long the loop may sleep.
func (a *Agent) nextWait() time.Duration {
	a.engMu.Lock()
	next := a.eng.NextDeadline()
	a.engMu.Unlock()
	d := next.Sub(a.clock.Now())
	d = min(d, a.opts.MaxWait)
	for _, r := range a.names {
		if !r.retryAt.IsZero() && !r.running {
			d = min(d, time.Until(r.retryAt))
		}
	}
	if len(a.vpnErr) > 0 {
		d = min(d, time.Until(a.vpnRetryAt))
	}
	return max(d, 0)
}

func (a *Agent) tick() {
	now := time.Now()
	for _, r := range a.names {
		if !r.retryAt.IsZero() && !r.running && !now.Before(r.retryAt) {
			a.startLookup(r)
		}
	}
	if len(a.vpnErr) > 0 && !now.Before(a.vpnRetryAt) {
		a.reconcile() // opens the vpn-instances that failed, if they exist now
	}
	a.engMu.Lock()
	rd := a.eng.Tick(a.clock.Now())
	a.engMu.Unlock()
	a.process(rd)
	a.saveDrift(false)
}

// rxTime converts a host-clock time of netio (a kernel receive or transmit
// timestamp, a time read before a send) to the disciplined clock (see the
// package documentation).
func (a *Agent) rxTime(host time.Time) time.Time {
	now := a.clock.Now()
	age := time.Since(host)
	if age < 0 {
		age = 0
	}
	return now.Add(-age)
}

// clockPair is a reading of the disciplined clock and one of the host
// clock, taken together. Safe for concurrent use; allocates nothing.
type clockPair struct {
	mu      sync.Mutex
	clk, hs time.Time
}

func (p *clockPair) set(clk, host time.Time) {
	p.mu.Lock()
	p.clk, p.hs = clk, host
	p.mu.Unlock()
}

// txPairWindow is how far from the last send's pair of readings a kernel
// transmit timestamp may be to be converted from it.
const txPairWindow = 100 * time.Millisecond

// txTime converts a kernel transmit timestamp (host CLOCK_REALTIME) to the
// disciplined clock: from the pair of readings taken just before the last
// send, which is microseconds away, so that a clock running at another
// rate than the host's (a disciplined or test clock) adds no error; from
// the current readings (rxTime) when that pair is too old.
func (a *Agent) txTime(host time.Time) time.Time {
	p := &a.sendPair
	p.mu.Lock()
	clk, hs := p.clk, p.hs
	p.mu.Unlock()
	if d := host.Sub(hs); !hs.IsZero() && d > -txPairWindow && d < txPairWindow {
		return clk.Add(d)
	}
	return a.rxTime(host)
}

func (a *Agent) receive(r netio.Received) {
	if r.Transmit {
		// The kernel's report that one of our packets left.
		a.engMu.Lock()
		a.eng.Transmitted(ntpengine.Transmitted{
			Data: r.Data, Dst: r.Dst, TxTime: a.txTime(r.RxTime), Source: ntpengine.TxKernel,
		})
		a.engMu.Unlock()
		return
	}
	in := ntpengine.Incoming{
		Data: r.Data, Src: r.Src, Dst: r.Dst, VPN: r.VPN, IfIndex: r.IfIndex,
		RxTime: a.rxTime(r.RxTime),
	}
	if in.VPN == "" {
		in.VPN = netio.PublicVPN
	}
	a.engMu.Lock()
	rd := a.eng.Handle(in)
	a.engMu.Unlock()
	a.process(rd)
}

// process applies what the engine asked for: clock commands, datagrams,
// events.
func (a *Agent) process(rd ntpengine.Ready) {
	for _, c := range rd.Clock {
		var err error
		switch c.Op {
		case ntpengine.ClockStep:
			a.log.Info("clock step", "step", c.Step)
			err = a.clock.Step(c.Step)
		case ntpengine.ClockSetFrequency:
			err = a.clock.SetFrequency(c.FrequencyPPM)
		case ntpengine.ClockSlew:
			err = a.clock.Slew(c.Slew)
		}
		if err != nil {
			a.log.Error("clock command failed", "op", int(c.Op), "err", err)
		}
	}
	for _, o := range rd.Packets {
		a.send(o)
	}
	reindex := false
	for _, ev := range rd.Events {
		a.event(ev)
		switch ev.Kind {
		case ntpengine.EventMobilize, ntpengine.EventDemobilize:
			reindex = true
		}
	}
	if reindex {
		a.reindex()
	}
	if len(rd.Events) > 0 || len(rd.Clock) > 0 {
		a.checkSync()
	}
}

func vpnOrPublic(v string) string {
	if v == "" {
		return netio.PublicVPN
	}
	return v
}

// responder answers client requests on netio's socket readers, a whole
// read at a time under one lock of the engine, with the engine's
// allocation-free Serve; netio sends the replies in one sendmmsg(2). What
// Serve leaves (association packets, requests with a MAC) goes on netio's
// channel to Run and Handle.
type responder struct{ a *Agent }

func (r responder) Respond(in []netio.Received, handled []bool, out *netio.Replies) {
	a := r.a
	// One pair of clock readings for the batch: rx = ntpclock.Now() − the
	// datagram's age (see the package documentation).
	now, host := a.clock.Now(), time.Now()
	a.engMu.Lock()
	defer a.engMu.Unlock()
	for i := range in {
		rcv := &in[i]
		buf := out.Buffer()
		if buf == nil {
			return
		}
		age := max(host.Sub(rcv.RxTime), 0)
		req := ntpengine.Incoming{
			Data: rcv.Data, Src: rcv.Src, Dst: rcv.Dst, VPN: vpnOrPublic(rcv.VPN), IfIndex: rcv.IfIndex,
			RxTime: now.Add(-age),
		}
		data, res := a.eng.Serve(&req, buf)
		switch res {
		case ntpengine.ServeReply:
			handled[i] = out.Add(data, rcv.Src, rcv.Dst.Addr())
		case ntpengine.ServeReplyTx:
			// A request in interleaved form: its next one asks when
			// this reply left (RFC 9769 §3).
			if handled[i] = out.Add(data, rcv.Src, rcv.Dst.Addr()); handled[i] {
				out.MarkTxTimestamp()
			}
		case ntpengine.ServeDrop:
			handled[i] = true
		}
	}
}

// FinishReplies writes the transmit timestamps of the replies in basic
// mode right before netio sends them (RFC 5905 §8: T3 is when the reply
// leaves), one clock reading for the batch.
func (r responder) FinishReplies(out *netio.Replies) {
	now := r.a.clock.Now()
	r.a.sendPair.set(now, time.Now())
	for i := range out.Len() {
		ntpengine.StampReply(out.Payload(i), now)
	}
}

func (a *Agent) send(o ntpengine.Outgoing) {
	var src netio.Source
	switch {
	case o.Src.IsValid():
		src.Addr = o.Src
	case o.SourceInterface != "":
		src.Interface = o.SourceInterface
	}
	vpn := o.VPN
	if vpn == "" {
		vpn = netio.PublicVPN
	}
	// The transmit timestamp is the time the packet leaves (RFC 5905 §8):
	// stamped immediately before the send, then, where the kernel reports
	// it, replaced by the kernel's transmit timestamp (receive).
	a.engMu.Lock()
	now := a.clock.Now()
	a.sendPair.set(now, time.Now())
	a.eng.StampTransmit(&o, now)
	a.engMu.Unlock()
	var err error
	if o.TxTimestamp {
		var sent netio.Sent
		sent, err = a.tr.SendStamped(o.Data, o.Dst, src, vpn)
		if err == nil && sent.Timestamping != netio.TxKernel {
			a.engMu.Lock()
			a.eng.Transmitted(ntpengine.Transmitted{
				Data: o.Data, Dst: o.Dst, TxTime: a.txTime(sent.At), Source: ntpengine.TxUserSpace,
			})
			a.engMu.Unlock()
		}
	} else {
		err = a.tr.Send(o.Data, o.Dst, src, vpn)
	}
	if o.AssocKey == "" {
		if err != nil {
			a.log.Debug("reply not sent", "dst", o.Dst, "err", err)
		}
		return
	}
	if err != nil {
		if a.ioErr[o.AssocKey] != err.Error() {
			a.log.Warn("NTP packet not sent", "assoc", o.AssocKey, "dst", o.Dst, "err", err)
		}
		a.ioErr[o.AssocKey] = err.Error()
		return
	}
	delete(a.ioErr, o.AssocKey)
}

func (a *Agent) event(ev ntpengine.Event) {
	level := slog.LevelInfo
	switch ev.Kind {
	case ntpengine.EventMobilize, ntpengine.EventDemobilize:
		if strings.HasPrefix(ev.AssocKey, "ephemeral") {
			level = slog.LevelDebug
		}
	}
	a.log.Log(context.Background(), level, "ntp event", "kind", string(ev.Kind), "assoc", ev.AssocKey, "msg", ev.Message)
	switch ev.Kind {
	case ntpengine.EventUnreachable, ntpengine.EventPreempt:
		// A domain peer re-resolves its name: its address may have moved.
		for _, pp := range a.plan.peers {
			if pp.key == ev.AssocKey && pp.kind == rules.Domain {
				if r := a.names[nameKey{pp.vpn, pp.address}]; r != nil {
					a.startLookup(r)
				}
			}
		}
	}
}

// reindex rebuilds the address → session index from the engine, and drops
// the send errors of sessions that are gone.
func (a *Agent) reindex() {
	a.engMu.Lock()
	sessions := a.eng.Sessions(a.clock.Now())
	a.engMu.Unlock()
	idx := make(map[sessionAddr]sessionRef, len(sessions))
	live := make(map[string]bool, len(sessions))
	for _, s := range sessions {
		live[s.Key] = true
		idx[sessionAddr{s.VPN, s.Address}] = sessionRef{key: s.Key}
	}
	a.index = idx
	for k := range a.ioErr {
		if !live[k] && !a.isConfigured(k) {
			delete(a.ioErr, k)
		}
	}
}

func (a *Agent) isConfigured(key string) bool {
	for _, pp := range a.plan.peers {
		if pp.key == key {
			return true
		}
	}
	return false
}

// apply makes root the running configuration.
func (a *Agent) apply(root *gen.Device) {
	if root == nil {
		root = &gen.Device{}
	}
	a.root = root
	a.reconcile()
}

// reconcile translates the current configuration and resolutions into the
// engine's configuration and hands it to Reconfigure, which keeps the
// associations whose configuration did not change.
func (a *Agent) reconcile() {
	p := translate(a.root, a.opts.Engine, a.resolution, a.opts.Keys)
	// Domain names no longer configured are forgotten.
	used := map[nameKey]bool{}
	vpns := map[string]bool{netio.PublicVPN: true}
	for _, v := range a.opts.OpenVPNs {
		vpns[v] = true
	}
	for i := range p.peers {
		pp := &p.peers[i]
		if pp.kind == rules.Domain {
			used[nameKey{pp.vpn, pp.address}] = true
		}
		vpns[pp.vpn] = true
		if pp.blocked != "" {
			continue
		}
		if why := a.openVPN(pp.vpn); why != "" {
			pp.blocked = why
		}
	}
	for k := range a.names {
		if !used[k] {
			delete(a.names, k)
		}
	}
	for vpn := range a.vpnOpen {
		if !vpns[vpn] {
			a.tr.CloseVPN(vpn)
			delete(a.vpnOpen, vpn)
		}
	}
	for vpn := range a.vpnErr {
		if !vpns[vpn] {
			delete(a.vpnErr, vpn)
		}
	}
	// Peers blocked by their vpn-instance leave the engine configuration.
	cfg := p.engine
	cfg.Peers = nil
	for _, pp := range p.peers {
		if pp.blocked == "" {
			cfg.Peers = append(cfg.Peers, pp.cfg)
		}
	}
	p.engine = cfg
	a.engMu.Lock()
	rd, err := a.eng.Reconfigure(cfg, a.clock.Now())
	a.engMu.Unlock()
	if err != nil {
		// Translation should have kept every peer the engine refuses out;
		// if one slipped through, it alone stays out (its session says
		// why) rather than the whole commit being lost.
		if cfg, dropped := dropRefusedPeers(&p, cfg); dropped > 0 {
			a.log.Warn("peers refused by the NTP engine left out", "err", err, "peers", dropped)
			p.engine = cfg
			a.engMu.Lock()
			rd, err = a.eng.Reconfigure(cfg, a.clock.Now())
			a.engMu.Unlock()
		}
	}
	if err != nil {
		// The datastore's rules should have refused this configuration;
		// keep the engine as it is and say why.
		a.log.Error("configuration not applied to the NTP engine", "err", err)
		return
	}
	a.plan = p
	a.log.Info("NTP configuration applied", "peers", len(p.peers), "running", len(cfg.Peers))
	a.process(rd)
	a.reindex()
	a.checkSync()
}

// dropRefusedPeers marks blocked every peer of cfg that the engine's
// validation refuses on its own, and returns cfg without them and how many
// were dropped.
func dropRefusedPeers(p *plan, cfg ntpengine.Config) (ntpengine.Config, int) {
	none := cfg
	none.Peers = nil
	if none.Validate() != nil {
		return cfg, 0 // not a peer's fault
	}
	refused := map[string]string{}
	for _, pc := range cfg.Peers {
		one := cfg
		one.Peers = []ntpengine.PeerConfig{pc}
		if err := one.Validate(); err != nil {
			refused[pc.Key] = err.Error()
		}
	}
	if len(refused) == 0 {
		return cfg, 0
	}
	out := cfg
	out.Peers = nil
	for _, pc := range cfg.Peers {
		if _, bad := refused[pc.Key]; !bad {
			out.Peers = append(out.Peers, pc)
		}
	}
	for i := range p.peers {
		if why, bad := refused[p.peers[i].key]; bad {
			p.peers[i].blocked = "not accepted by the NTP engine: " + why
		}
	}
	return out, len(refused)
}

// openVPN opens a vpn-instance's sockets; it returns why that failed.
func (a *Agent) openVPN(vpn string) string {
	if a.vpnOpen[vpn] {
		return ""
	}
	if err := a.tr.OpenVPN(vpn); err != nil {
		why := err.Error()
		if a.vpnErr[vpn] != why {
			a.log.Warn("vpn-instance not usable", "vpn", vpn, "err", err)
		}
		a.vpnErr[vpn] = why
		a.vpnRetryAt = time.Now().Add(a.opts.ResolveRetry)
		return why
	}
	delete(a.vpnErr, vpn)
	a.vpnOpen[vpn] = true
	return ""
}

// resolution is translate's view of a domain name in a vpn-instance: its
// address, or why there is none yet (a lookup starts when the name is new).
func (a *Agent) resolution(name, vpn string) (netip.Addr, string) {
	k := nameKey{vpn, name}
	r := a.names[k]
	if r == nil {
		r = &resolution{nameKey: k}
		a.names[k] = r
		a.startLookup(r)
	}
	if r.addr.IsValid() {
		return r.addr, ""
	}
	if r.err != "" {
		return netip.Addr{}, r.err
	}
	return netip.Addr{}, fmt.Sprintf("resolving %s%s", name, inVPN(vpn))
}

// inVPN names a vpn-instance other than the public one in a message.
func inVPN(vpn string) string {
	if vpn == PublicVPN || vpn == "" {
		return ""
	}
	return " in vpn-instance " + vpn
}

// resolverFor is the resolver of a vpn-instance's domain peers.
func (a *Agent) resolverFor(vpn string) Resolver {
	if vpn == PublicVPN || vpn == "" {
		return a.opts.Resolver
	}
	return a.opts.ResolverForVPN(vpn)
}

func (a *Agent) startLookup(r *resolution) {
	if r.running {
		return
	}
	r.running = true
	r.retryAt = time.Time{}
	k, res, stop, results := r.nameKey, a.resolverFor(r.vpn), a.stop, a.results
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		defer cancel()
		addrs, err := res.LookupNetIP(ctx, "ip", k.name)
		out := resolved{nameKey: k, err: err}
		if err == nil {
			out.addr = pickAddress(addrs)
			if !out.addr.IsValid() {
				out.err = fmt.Errorf("%s: %w", k.name, ErrNotFound)
			}
		}
		select {
		case results <- out:
		case <-stop:
		}
	}()
}

const maxResolveBackoff = 5 * time.Minute

func (a *Agent) lookupDone(res resolved) {
	r := a.names[res.nameKey]
	if r == nil {
		return // no longer configured
	}
	r.running = false
	if res.err != nil {
		r.err = fmt.Sprintf("cannot resolve %s%s: %v", res.name, inVPN(res.vpn), res.err)
		if r.backoff == 0 {
			r.backoff = a.opts.ResolveRetry
		} else {
			r.backoff = min(2*r.backoff, maxResolveBackoff)
		}
		r.retryAt = time.Now().Add(r.backoff)
		a.log.Warn("domain peer not resolved", "name", res.name, "vpn", res.vpn, "err", res.err, "retry", r.backoff)
		if !r.addr.IsValid() {
			// Still no address: the session shows the new error.
			a.reconcile()
		}
		return
	}
	r.err = ""
	if rules.CheckHostAddress(res.addr.String(), nil) != nil {
		// A sinkholed name (0.0.0.0) is asked again, backing off, until
		// it gives a host address; translate keeps it out meanwhile.
		if r.backoff == 0 {
			r.backoff = a.opts.ResolveRetry
		} else {
			r.backoff = min(2*r.backoff, maxResolveBackoff)
		}
		r.retryAt = time.Now().Add(r.backoff)
	} else {
		r.backoff, r.retryAt = 0, time.Time{}
	}
	if r.addr == res.addr {
		return
	}
	a.log.Info("domain peer resolved", "name", res.name, "vpn", res.vpn, "address", res.addr, "was", r.addr)
	r.addr = res.addr
	a.reconcile()
}

// displayName is how a session names its peer: the configured address (a
// domain name for a domain peer), or the IP address of an ephemeral one.
func (a *Agent) displayName(key string) string {
	for _, pp := range a.plan.peers {
		if pp.key == key {
			return pp.address
		}
	}
	for sa, ref := range a.index {
		if ref.key == key {
			return sa.ap.Addr().String()
		}
	}
	return key
}

// checkSync compares the sync state with the last one seen and reports a
// change (RFC 5277 notification sync-state-change).
func (a *Agent) checkSync() {
	a.engMu.Lock()
	st := a.eng.Status(a.clock.Now())
	a.engMu.Unlock()
	v := syncView{synced: st.Synchronized, stratum: st.Stratum}
	if st.Synchronized && st.SystemPeer != "" {
		v.peer = a.displayName(st.SystemPeer)
	}
	// A new reason while unsynchronized is not a notification of its own
	// (it changes on the way to synchronization: unreachable, acquiring);
	// /ntp/status/unsync-reason always has the current one.
	if v.synced == a.sync.synced && v.peer == a.sync.peer {
		a.sync.stratum = v.stratum
		return
	}
	n := SyncStateChange{
		Time: a.clock.Now(), Synchronized: v.synced, SystemPeer: v.peer,
		PreviousSystemPeer: a.sync.peer, Stratum: v.stratum, UnsyncReason: st.UnsyncReason,
	}
	if n.Stratum == 0 {
		n.Stratum = 16
	}
	a.sync = v
	a.log.Info("sync state changed", "synchronized", n.Synchronized, "system_peer", n.SystemPeer,
		"previous", n.PreviousSystemPeer, "stratum", n.Stratum, "unsync_reason", string(n.UnsyncReason))
	if a.opts.OnSyncChange != nil {
		a.opts.OnSyncChange(n)
	}
	select {
	case a.notes <- n:
	default:
		// Nobody reads: drop the oldest, keep the newest.
		select {
		case <-a.notes:
		default:
		}
		select {
		case a.notes <- n:
		default:
		}
	}
}
