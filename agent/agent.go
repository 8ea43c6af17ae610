package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/clock"
	"github.com/ntpagent/ntpagent/internal/notification"
	"github.com/ntpagent/ntpagent/internal/vpninstance"
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
	// Clock is the disciplined clock, the one NTP steers and whose
	// readings are NTP time; nil is a virtual clock over the host's
	// monotonic clock (ntpclock.NewVirtualFromHost).
	Clock ntpclock.Clock
	// ProcessClock times the agent's own waits: the loop's sleep between
	// ticks, lookup and vpn-instance retries, the drift file's interval.
	// Nil is the host's (clock.System). Tests give a fake or a fast one.
	ProcessClock clock.Clock
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
	ntpClock ntpclock.Clock // the disciplined clock (Options.Clock)
	proc     clock.Clock    // the process clock (Options.ProcessClock)
	tr       *netio.Transport
	trCancel context.CancelFunc

	calls   chan func()
	results chan resolved
	stop    chan struct{}                     // closed when Run returns
	ran     atomic.Bool                       // Run was called (it may run only once)
	notes   chan notification.SyncStateChange // Notifications

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
	root     *gen.Device
	plan     plan
	names    map[nameKey]*resolution // domain name in a vpn-instance → state
	vpnErr   map[string]string       // vpn-instance → why it cannot be opened
	vpnOpen  map[string]bool
	ioErr    map[string]string     // association key → last send problem
	peerAddr map[string]netip.Addr // association key → peer address (reindex)
	sync     syncView
	// vpnRetryAt is when a vpn-instance that could not be opened is tried
	// again (the namespace or VRF may appear later).
	vpnRetryAt time.Time
	// driftAt is when the drift file was last written (or tried).
	driftAt time.Time
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
	opts.ProcessClock = clock.Or(opts.ProcessClock)
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
	if base.FrequencyLimitPPM == 0 {
		// And the frequency corrections at the range the clock has.
		base.FrequencyLimitPPM = ntpclock.MaxFrequency(opts.Clock)
	}
	opts.Engine = base
	eng, err := ntpengine.New(base, opts.Clock.Now())
	if err != nil {
		return nil, fmt.Errorf("agent: engine: %w", err)
	}
	open := map[string]bool{vpninstance.Public: true}
	for _, v := range opts.OpenVPNs {
		open[v] = true
	}
	a := &Agent{
		opts: opts, log: opts.Logger.With("component", "agent"), ntpClock: opts.Clock, proc: opts.ProcessClock,
		calls: make(chan func()), results: make(chan resolved, 16), stop: make(chan struct{}),
		notes: make(chan notification.SyncStateChange, notificationQueue),
		eng:   eng, root: &gen.Device{},
		names: map[nameKey]*resolution{}, vpnErr: map[string]string{}, vpnOpen: open,
		ioErr:    map[string]string{},
		peerAddr: map[string]netip.Addr{},
		sync:     syncView{stratum: 16},
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr, err := netio.NewTransport(ctx, netio.Config{
		Listen: opts.Listen, Open: append([]string{vpninstance.Public}, opts.OpenVPNs...), NetnsDir: opts.NetnsDir,
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
func (a *Agent) LocalAddrs() []netip.AddrPort { return a.tr.LocalAddrs(vpninstance.Public) }

// TransportStats returns netio's counters.
func (a *Agent) TransportStats() netio.Stats { return a.tr.Stats() }
