package server

import (
	"context"
	"sync"

	"golang.org/x/crypto/ssh"
)

// RFC 4254 §6.2 pty-req and §6.7 window-change payloads.
type ptyReq struct {
	Term          string
	Cols, Rows    uint32
	Width, Height uint32
	Modes         string
}

type windowChange struct {
	Cols, Rows    uint32
	Width, Height uint32
}

// handleChannel serves one session channel: the first subsystem, shell or
// exec request decides what runs on it (RFC 4254 §6.5).
func (s *Server) handleChannel(ctx context.Context, sc *ssh.ServerConn, conn *activityConn, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	role := Role(sc.Permissions.Extensions["role"])
	recovery := sc.Permissions.Extensions["recovery"] == "true"
	var (
		started bool
		done    = make(chan struct{})
		resize  = make(chan [2]int, 8)
		pty     ptyReq
		hasPTY  bool
	)
	// A channel that never asks for anything is closed after
	// ChannelRequestTimeout, so it does not hold its window and goroutine.
	var (
		timerMu sync.Mutex
		expired bool
	)
	timer := s.clock.AfterFunc(s.cfg.ChannelRequestTimeout, func() {
		timerMu.Lock()
		defer timerMu.Unlock()
		if !started {
			expired = true
			s.log.Debug("ssh channel closed: no subsystem, shell or exec request", "user", sc.User())
			ch.Close()
		}
	})
	defer timer.Stop()
	// claim marks the channel started unless the timer already closed it.
	claim := func() bool {
		timerMu.Lock()
		defer timerMu.Unlock()
		if expired {
			return false
		}
		started = true
		return true
	}
	start := func(run func()) {
		go func() {
			defer close(done)
			run()
		}()
	}
	for {
		select {
		case <-done:
			// Drain requests so the connection's mux never blocks on us.
			go func() {
				for r := range reqs {
					if r.WantReply {
						_ = r.Reply(false, nil)
					}
				}
			}()
			return
		case req, ok := <-reqs:
			if !ok {
				if started {
					ch.Close()
					<-done
				}
				return
			}
			switch req.Type {
			case "pty-req":
				ok := !started && ssh.Unmarshal(req.Payload, &pty) == nil
				hasPTY = hasPTY || ok
				reply(req, ok)
			case "window-change":
				var w windowChange
				if ssh.Unmarshal(req.Payload, &w) == nil {
					pty.Cols, pty.Rows = w.Cols, w.Rows
					select {
					case resize <- [2]int{int(w.Cols), int(w.Rows)}:
					default: // the terminal reads the latest size; old ones may go
					}
				}
				reply(req, true)
			case "env":
				reply(req, !started)
			case "subsystem":
				var p struct{ Name string }
				if started || ssh.Unmarshal(req.Payload, &p) != nil {
					reply(req, false)
					continue
				}
				handler := s.cfg.Subsystems[p.Name]
				if handler == nil || !s.acquireSession(sc.User(), role) {
					reply(req, false)
					continue
				}
				if !claim() {
					s.releaseSession(sc.User(), role)
					reply(req, false)
					continue
				}
				reply(req, true)
				id := s.nextID.Add(1)
				ss := &SubsystemSession{
					ID: id, User: sc.User(), Role: role, Recovery: recovery, RemoteAddr: sc.RemoteAddr(), Channel: messageChannel{ch, conn.out},
					TimedOut: conn.timedOut.Load,
					Waiting: func(waiting bool) {
						if waiting {
							conn.waiting.Add(1)
						} else {
							conn.waiting.Add(-1)
						}
					},
				}
				start(func() {
					defer s.releaseSession(sc.User(), role)
					handler.ServeSubsystem(ctx, ss)
					ch.Close()
				})
			case "shell", "exec":
				var cmd struct{ Command string }
				if req.Type == "exec" && ssh.Unmarshal(req.Payload, &cmd) != nil {
					reply(req, false)
					continue
				}
				if started || s.cfg.Terminal == nil || !s.acquireSession(sc.User(), role) {
					reply(req, false)
					continue
				}
				if !claim() {
					s.releaseSession(sc.User(), role)
					reply(req, false)
					continue
				}
				reply(req, true)
				id := s.nextID.Add(1)
				ts := &TerminalSession{
					ID: id, User: sc.User(), Role: role, Recovery: recovery, RemoteAddr: sc.RemoteAddr(),
					PTY: hasPTY, Term: pty.Term, Width: int(pty.Cols), Height: int(pty.Rows),
					Resize: resize, Command: cmd.Command, Stdin: ch, Stdout: ch, Stderr: ch.Stderr(),
				}
				start(func() {
					defer s.releaseSession(sc.User(), role)
					status := s.cfg.Terminal.ServeTerminal(ctx, ts)
					_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
					_ = ch.CloseWrite()
					ch.Close()
				})
			default:
				reply(req, false)
			}
		}
	}
}

func reply(r *ssh.Request, ok bool) {
	if r.WantReply {
		_ = r.Reply(ok, nil)
	}
}

func (s *Server) acquireSession(user string, role Role) bool {
	if why := s.limits.acquireSession(user, role); why != "" {
		s.log.Warn("session refused: limit reached", "user", user, "role", role, "limit", why)
		return false
	}
	return true
}

func (s *Server) releaseSession(user string, role Role) { s.limits.releaseSession(user, role) }
