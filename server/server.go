package server

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/internal/atomicfile"
	"github.com/ntpagent/ntpagent/internal/clock"
	"golang.org/x/crypto/ssh"
)

// Config configures the SSH server.
type Config struct {
	// StateDir holds the host key and the users file; created if missing.
	StateDir string
	// Listen lists the addresses to serve (e.g. the NETCONF and CLI
	// addresses); every listener accepts every kind of channel.
	Listen []string
	// Store is read for the users configured in running
	// (/system/local-user), which take precedence over the users file.
	Store *datastore.Store
	// Subsystems serve "subsystem" channels by name (cmd/ntpagent registers
	// "netconf"); a name not in it is refused.
	Subsystems map[string]SubsystemHandler
	// Terminal serves shell and exec channels (the CLI); nil refuses them.
	Terminal TerminalHandler
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Clock drives idle, preamble and channel-request timeouts and the
	// authentication back-off; nil is the host clock.
	Clock clock.Clock
	// MaxSessions bounds the sessions (subsystem and terminal) open at once, and the
	// authenticated SSH connections (default 64; MaxSessions+8 connections).
	MaxSessions int
	// AdminReserve sessions, and as many authenticated connections, are
	// kept for users of the admin role: users of other roles together get
	// at most MaxSessions-AdminReserve (default 8; negative: none kept).
	AdminReserve int
	// MaxSessionsPerUser bounds one user's sessions (default 32), so one
	// busy account does not take every session.
	MaxSessionsPerUser int
	// MaxStartups bounds the SSH connections that have not completed
	// authentication yet, from all sources together (default 32): OpenSSH's
	// "full". A connection refused is closed before any SSH byte is sent.
	MaxStartups int
	// MaxStartupsStart and MaxStartupsRate are OpenSSH's start:rate: from
	// MaxStartupsStart unauthenticated connections on (default
	// MaxStartups/2; MaxStartups or more: off), a new one is dropped with
	// probability MaxStartupsRate % (default 30), rising linearly to 100 %
	// at MaxStartups — unless a connection silent for a second gives way to
	// it (see startups).
	MaxStartupsStart, MaxStartupsRate int
	// MaxStartupsPerSource bounds the same per source: an IPv4 address, or
	// an IPv6 /64 prefix (default 8).
	MaxStartupsPerSource int
	// PreambleTimeout closes a connection whose client has sent no byte
	// (not even its SSH version line, RFC 4253 §4.2) within this long
	// (default 5 s).
	PreambleTimeout time.Duration
	// MaxAuthTries bounds authentication attempts per connection (default 6).
	MaxAuthTries int
	// IdleTimeout closes a connection that sent nothing for this long
	// (default 30 minutes; negative disables).
	IdleTimeout time.Duration
	// HandshakeTimeout bounds key exchange and authentication (default 20 s).
	HandshakeTimeout time.Duration
	// AdminPassword is the password of the admin user created at first start
	// (cmd/ntpagent passes $NTPAGENT_ADMIN_PASSWORD); empty makes a random one
	// that is printed once to Announce.
	AdminPassword string
	// Announce receives the one-time message with a generated password
	// (default os.Stderr).
	Announce io.Writer
	// MaxChannels bounds the session channels open at once on one SSH
	// connection (default 8); further opens are refused with
	// resource-shortage (RFC 4254 §5.1).
	MaxChannels int
	// ChannelRequestTimeout closes a session channel that has not asked for
	// a subsystem, shell or exec within this long (default 10 s).
	ChannelRequestTimeout time.Duration
}

// Server is the SSH server.
type Server struct {
	cfg      Config
	log      *slog.Logger
	clock    clock.Clock
	ssh      *ssh.ServerConfig
	users    *usersFile
	backoff  *backoff
	startups *startups
	limits   *sessionLimits
	refusals *refusalLog

	nextID atomic.Uint32

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	listeners []net.Listener
	conns     map[net.Conn]struct{}
	closed    bool
}

// New loads (or creates at first start) the host key and the users file. It
// does not listen yet: see Start and Serve.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: Config.Store is required")
	}
	if cfg.StateDir == "" {
		return nil, errors.New("server: Config.StateDir is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 64
	}
	if cfg.AdminReserve == 0 {
		cfg.AdminReserve = 8
	}
	cfg.AdminReserve = min(max(cfg.AdminReserve, 0), cfg.MaxSessions-1)
	if cfg.MaxSessionsPerUser <= 0 {
		cfg.MaxSessionsPerUser = 32
	}
	if cfg.MaxStartups <= 0 {
		cfg.MaxStartups = 32
	}
	if cfg.MaxStartupsStart <= 0 {
		cfg.MaxStartupsStart = cfg.MaxStartups / 2
	}
	if cfg.MaxStartupsRate <= 0 {
		cfg.MaxStartupsRate = 30
	}
	if cfg.PreambleTimeout <= 0 {
		cfg.PreambleTimeout = 5 * time.Second
	}
	if cfg.MaxStartupsPerSource <= 0 {
		cfg.MaxStartupsPerSource = 8
	}
	if cfg.MaxChannels <= 0 {
		cfg.MaxChannels = 8
	}
	if cfg.ChannelRequestTimeout <= 0 {
		cfg.ChannelRequestTimeout = 10 * time.Second
	}
	if cfg.MaxAuthTries <= 0 {
		cfg.MaxAuthTries = 6
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 20 * time.Second
	}
	if cfg.Announce == nil {
		cfg.Announce = os.Stderr
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: state directory: %w", err)
	}
	usersPath := filepath.Join(cfg.StateDir, UsersFileName)
	_, statErr := os.Stat(usersPath)
	firstStart := errors.Is(statErr, os.ErrNotExist)
	hostKey, err := loadHostKey(filepath.Join(cfg.StateDir, HostKeyFileName), firstStart, cfg.Logger)
	if err != nil {
		return nil, err
	}
	atomicfile.WarnIfShared(cfg.Logger, cfg.StateDir, filepath.Join(cfg.StateDir, HostKeyFileName), usersPath)
	users, err := LoadUsers(usersPath)
	if err != nil {
		return nil, err
	}
	if firstStart {
		pw, generated := cfg.AdminPassword, false
		if pw == "" {
			if pw, err = randomPassword(); err != nil {
				return nil, fmt.Errorf("server: %w", err)
			}
			generated = true
		}
		if err := users.Set("admin", RoleAdmin, pw); err != nil {
			return nil, err
		}
		if err := users.Save(usersPath); err != nil {
			return nil, err
		}
		if generated {
			fmt.Fprintf(cfg.Announce, "ntpagent: created user admin with password %s (shown once; users are in %s)\n", pw, usersPath)
		}
		cfg.Logger.Info("created the first user", "user", "admin", "file", usersPath)
	}
	var seedBytes [8]byte
	if _, err := cryptorand.Read(seedBytes[:]); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	seed := binary.LittleEndian.Uint64(seedBytes[:])
	s := &Server{
		cfg: cfg, log: cfg.Logger, clock: cfg.Clock, users: newUsersFile(usersPath, cfg.Logger, users),
		backoff: newBackoff(cfg.Clock), conns: map[net.Conn]struct{}{},
		startups: newStartups(cfg.MaxStartupsStart, cfg.MaxStartupsRate, cfg.MaxStartups, cfg.MaxStartupsPerSource, seed),
		limits:   newSessionLimits(cfg.MaxSessions, cfg.AdminReserve, cfg.MaxSessionsPerUser),
		refusals: newRefusalLog(cfg.Logger, cfg.Clock),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.ssh = &ssh.ServerConfig{
		MaxAuthTries:      cfg.MaxAuthTries,
		PasswordCallback:  s.checkPassword,
		PublicKeyCallback: s.checkKey,
		ServerVersion:     "SSH-2.0-ntpagent",
	}
	s.ssh.AddHostKey(hostKey)
	return s, nil
}

// Start listens on every Config.Listen address and serves in the
// background until Close.
func (s *Server) Start() error {
	for _, addr := range s.cfg.Listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			s.Close()
			return fmt.Errorf("server: listen %s: %w", addr, err)
		}
		if !s.addListener(ln) {
			return net.ErrClosed
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = s.serve(ln)
		}()
	}
	return nil
}

func (s *Server) addListener(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		ln.Close()
		return false
	}
	s.listeners = append(s.listeners, ln)
	return true
}

// Addrs returns the addresses being listened on, in Config.Listen order.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var a []net.Addr
	for _, ln := range s.listeners {
		a = append(a, ln.Addr())
	}
	return a
}

func (s *Server) serve(ln net.Listener) error {
	s.log.Info("ssh server listening", "addr", ln.Addr().String())
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: wait, then go on.
			s.log.Warn("ssh accept failed", "err", err)
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.admit(c)
	}
}

// admit counts an accepted connection among the unauthenticated ones
// (startups) and serves it, or closes it at once when refused — before the
// server's version line, so a flood costs an accept and a close each.
func (s *Server) admit(c net.Conn) {
	ac := newActivityConn(c, s.clock)
	now := s.clock.Now()
	ac.last.Store(now.UnixNano())
	e := &startup{source: sourceKey(c.RemoteAddr()), since: now, sentBytes: ac.sentBytes.Load, evict: func() { c.Close() }}
	victim, limit := s.startups.acquire(e, now)
	if limit != "" {
		bound := s.cfg.MaxStartupsPerSource
		if limit != limitStartupsPerSource {
			bound = s.cfg.MaxStartups
		}
		s.refusals.refused(e.source, hostOf(c.RemoteAddr()), limit, bound)
		c.Close()
		return
	}
	if victim != nil {
		s.refusals.gaveWay(victim.source, s.cfg.MaxStartups)
		victim.evict()
	}
	if !s.track(c) {
		s.startups.release(e)
		c.Close()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.untrack(c)
		// The connection leaves the startup count once authenticated
		// (then the session limits apply), or when it ends.
		defer s.startups.release(e)
		s.handleConn(ac, func() { s.startups.release(e) })
	}()
}

// track registers a connection, unless the server is closed. Their number
// is bounded by the startup limits before authentication and by
// sessionLimits after.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Close stops listening, closes every connection and waits for their
// goroutines (and so for every handler to return).
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cancel()
	for _, ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Server) checkPassword(meta ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
	src := sourceKey(meta.RemoteAddr())
	if !s.backoff.begin(src) {
		return nil, fmt.Errorf("server: %s is backing off after failed logins", src)
	}
	u := s.lookupUser(meta.User())
	role, ok := checkPassword(u, pw)
	if !ok {
		s.log.Info("ssh password refused", "user", meta.User(), "source", hostOf(meta.RemoteAddr()))
		return nil, errors.New("server: wrong user or password")
	}
	s.backoff.succeed(src)
	return permissions(u, role), nil
}

// permissions carries the role and whether the session is the recovery
// session (RFC 8341 §3.4.3) to the channels of the connection: a user of
// the users file with the admin role — the first setup's and recovery's
// user, whom the host's administrator manages outside the configuration
// (ntpagent user ...) — is not restricted by access control, so that a
// /nacm that locks everyone out can be mended.
func permissions(u *User, role Role) *ssh.Permissions {
	ext := map[string]string{"role": string(role)}
	if u != nil && u.fromFile && role == RoleAdmin {
		ext["recovery"] = "true"
	}
	return &ssh.Permissions{Extensions: ext}
}

func (s *Server) checkKey(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	src := sourceKey(meta.RemoteAddr())
	if s.backoff.blocked(src) {
		return nil, fmt.Errorf("server: %s is backing off after failed logins", src)
	}
	u := s.lookupUser(meta.User())
	role, ok := checkKey(u, key)
	if !ok {
		return nil, errors.New("server: key not authorized")
	}
	return permissions(u, role), nil
}

func (s *Server) lookupUser(name string) *User {
	running, _ := s.cfg.Store.Shared(datastore.Running)
	return lookupUser(running, s.users.current(), name)
}

func hostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}
