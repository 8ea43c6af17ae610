package netconf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/clock"
	"github.com/ntpagent/ntpagent/server/nacm"
	"github.com/ntpagent/ntpagent/view"
	"github.com/ntpagent/ntpagent/yang"
)

// Config configures a Server.
type Config struct {
	Store  *datastore.Store
	Schema *yang.Schema
	// Views are the models the server speaks: ntpagent's own and the views
	// of the same datastore (package view); nil is ntpagent's own only.
	Views *view.Set
	// State fills the config false nodes (Ntp.Status, Ntp.Sessions) of a
	// copy of running for <get>; nil leaves them empty.
	State  func(*gen.Device)
	Logger *slog.Logger
	// Clock gives the time for event notifications and monitoring, and the
	// timers that end a subscription at its stopTime and a session that
	// sends no hello; clock.System if nil.
	Clock clock.Clock
	// MaxMessage bounds one message (DefaultMaxMessage when 0).
	MaxMessage int
	// MaxDepth bounds element nesting (DefaultMaxDepth when 0).
	MaxDepth int
	// ReplayEvents is how many past events create-subscription can replay
	// (default 1000).
	ReplayEvents int
	// HelloTimeout ends a session whose client has not sent its <hello>
	// within this long (default 60 s), so it cannot hold a session slot.
	HelloTimeout time.Duration
}

// SessionInfo describes the transport session a NETCONF session runs on.
type SessionInfo struct {
	ID   uint32 // unique among all sessions of the process
	User string
	// ReadOnly is the operator role: without Groups, the session is in
	// access control's operator group (else admin).
	ReadOnly bool
	// Groups are the NACM groups the transport gives (RFC 8341
	// enable-external-groups): the user's role.
	Groups []string
	// Recovery marks the recovery session (RFC 8341 §3.4.3), which access
	// control never restricts.
	Recovery   bool
	SourceHost string
	Transport  string // "netconf-ssh" (RFC 6022 identity)
	// Subscribed, when set, is told when an event subscription of the
	// session starts (true) and ends (false): a subscribed session waits
	// for events and sends nothing, so the transport's idle timeout must
	// not end it.
	Subscribed func(active bool)
	// TimedOut, when set, reports whether the transport closed the session
	// because it was idle too long; the netconf-session-end event then says
	// termination-reason "timeout" (RFC 6470 §2.3) instead of "dropped".
	TimedOut func() bool
}

// Server serves NETCONF sessions over a shared Store. Create one per process.
type Server struct {
	cfg      Config
	log      *slog.Logger
	caps     []string
	prefixes map[string]string // prefix -> namespace of our modules
	start    time.Time
	events   *eventLog
	replies  replyCache
	// libraryTops are /yang-library and /modules-state, rendered once.
	libraryTops []*element

	mu       sync.Mutex
	sessions map[uint32]*session

	// stats are the RFC 6022 statistics (zero32 counters in the YANG
	// module; kept 64 bits wide here and truncated when rendered).
	stats struct {
		inBadHellos, inSessions, droppedSessions     atomic.Uint64
		inRPCs, inBadRPCs, outRPCErrors, outNotifies atomic.Uint64
		ops                                          opCounters
		// RFC 8341 §3.5.2: denied-operations, denied-data-writes,
		// denied-notifications since the server started.
		deniedOperations, deniedDataWrites, deniedNotifications atomic.Uint64
	}

	// nacmSchema binds access control to the library and gen.Device;
	// policies is running's compiled /nacm.
	nacmSchema *nacm.Schema
	policies   policyCache
	// notificationModules names the module of each event namespace.
	notificationModules map[string]string

	stop     func()
	pumpDone chan struct{}
}

// New creates a Server and starts relaying datastore changes as
// netconf-config-change events.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Schema == nil {
		return nil, errors.New("netconf: Config needs Store and Schema")
	}
	if cfg.Views == nil {
		v, err := view.NewSet()
		if err != nil {
			return nil, err
		}
		cfg.Views = v
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = DefaultMaxMessage
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = DefaultMaxDepth
	}
	if cfg.HelloTimeout <= 0 {
		cfg.HelloTimeout = 60 * time.Second
	}
	if cfg.ReplayEvents <= 0 {
		cfg.ReplayEvents = 1000
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		caps:     capabilities(cfg.Schema),
		prefixes: map[string]string{},
		start:    cfg.Clock.Now(),
		sessions: map[uint32]*session{},
		pumpDone: make(chan struct{}),
	}
	s.events = newEventLog(cfg.ReplayEvents)
	// RFC 8341 rules apply to the data of every module the server
	// implements: the native tree, each view's, and the server's own
	// state (stateModules), which has no Go structs.
	opts := []nacm.SchemaOption{nacm.WithModules(stateModules...)}
	for _, v := range cfg.Views.Views() {
		opts = append(opts, nacm.WithRoot(v.Project(nil)))
	}
	acs, err := nacm.NewSchema(cfg.Schema.Library(), &gen.Device{}, opts...)
	if err != nil {
		return nil, fmt.Errorf("netconf: access control: %w", err)
	}
	s.nacmSchema = acs
	s.notificationModules = map[string]string{nsNetmodNotification: "nc-notifications"}
	for _, m := range cfg.Schema.Library() {
		s.notificationModules[m.Namespace] = m.Name
	}
	lib, err := parseMessage(append(append([]byte("<l>"), renderLibrary(cfg.Schema, nmdaDatastores())...), "</l>"...), DefaultMaxDepth)
	if err != nil {
		return nil, fmt.Errorf("netconf: YANG library: %w", err)
	}
	s.libraryTops = lib.Children
	for _, m := range cfg.Schema.Modules() {
		s.prefixes[m.Prefix] = m.Namespace
	}
	// A view's errors name its nodes with its module's prefix.
	for _, ns := range cfg.Views.Namespaces() {
		for _, m := range cfg.Schema.Library() {
			if m.Namespace == ns {
				s.prefixes[m.Prefix] = m.Namespace
			}
		}
	}
	// netconf-config-change reports the edits; the trees are not needed.
	running, cancelRunning := cfg.Store.Subscribe(64, datastore.WithoutTrees())
	startup, cancelStartup := cfg.Store.SubscribeStartup(16, datastore.WithoutTrees())
	s.stop = func() { cancelRunning(); cancelStartup() }
	go s.pumpChanges(running, startup)
	return s, nil
}

// Capabilities returns the capabilities of the server hello.
func (s *Server) Capabilities() []string { return append([]string(nil), s.caps...) }

// Close stops the change relay. Sessions end when their transports close.
func (s *Server) Close() {
	s.stop()
	<-s.pumpDone
}

// Serve runs one NETCONF session on rwc until the client closes it, sends
// <close-session>, is killed, or breaks the framing. It closes rwc and
// releases the session's locks in the Store before returning.
func (s *Server) Serve(ctx context.Context, rwc io.ReadWriteCloser, info SessionInfo) error {
	if info.Transport == "" {
		info.Transport = "netconf-ssh"
	}
	sess := &session{
		srv:   s,
		info:  info,
		rwc:   rwc,
		in:    NewFrameReader(rwc, s.cfg.MaxMessage),
		out:   NewFrameWriter(rwc),
		login: s.cfg.Clock.Now(),
		done:  make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
			rwc.Close()
		case <-sess.done:
		}
	}()
	err := sess.safeRun()
	close(sess.done)
	rwc.Close()
	sess.endSubscription()
	s.mu.Lock()
	_, registered := s.sessions[info.ID]
	delete(s.sessions, info.ID)
	killedBy, overrun := sess.killedBy, sess.overrun
	s.mu.Unlock()
	s.cfg.Store.CloseSession(sess.storeSession())
	if registered {
		reason := endReason(killedBy, sess.closeRequested, info.TimedOut != nil && info.TimedOut(), overrun)
		if reason == "dropped" || reason == "timeout" || reason == "other" {
			// RFC 6022 dropped-sessions: ended abnormally, e.g. by the idle
			// timeout, a transport close or a subscriber too slow for its
			// notifications; not by close- or kill-session.
			s.stats.droppedSessions.Add(1)
		}
		s.publish(sessionEndEvent(info, killedBy, reason))
	}
	if err != nil && !errors.Is(err, io.EOF) {
		s.log.Info("netconf session ended", "session", info.ID, "user", info.User, "err", err)
		return err
	}
	return nil
}

// safeRun is run with a backstop: a panic outside an operation (framing,
// parsing, replies) ends this session with an error, not the process.
func (x *session) safeRun() (err error) {
	defer func() {
		if r := recover(); r != nil {
			x.srv.log.Error("netconf session panicked", "session", x.info.ID, "user", x.info.User,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("netconf: session %d: internal error: %v", x.info.ID, r)
		}
	}()
	return x.run()
}

// endReason is the RFC 6470 §2.3 termination-reason of a session.
func endReason(killedBy uint32, closeRequested, timedOut, overrun bool) string {
	switch {
	case killedBy != 0:
		return "killed"
	case closeRequested:
		return "closed"
	case timedOut:
		return "timeout"
	case overrun:
		return "other"
	}
	return "dropped"
}

func (s *Server) register(sess *session) {
	s.mu.Lock()
	s.sessions[sess.info.ID] = sess
	s.mu.Unlock()
	s.stats.inSessions.Add(1)
	s.publish(sessionStartEvent(sess.info))
}

func (s *Server) sessionList() []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := make([]*session, 0, len(s.sessions))
	for _, x := range s.sessions {
		l = append(l, x)
	}
	sort.Slice(l, func(i, j int) bool { return l[i].info.ID < l[j].info.ID })
	return l
}
