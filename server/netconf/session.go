package netconf

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/server/nacm"
	"io"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// session is one NETCONF session. RPCs run one at a time in arrival order
// (RFC 6241 §4.1); notifications are written by the event relay between
// whole messages.
type session struct {
	srv   *Server
	info  SessionInfo
	rwc   io.ReadWriteCloser
	in    *FrameReader
	out   *FrameWriter
	login time.Time
	done  chan struct{}

	// acc is the session's access control answers under accPolicy, kept
	// while running's policy stays the same (its decisions are cached per
	// schema node); used by the session's RPCs only, one at a time.
	acc       *nacm.Access
	accPolicy *nacm.Policy
	// pruned memoizes the last stored tree the session read through
	// access control and what it may read of it: stored trees never
	// change, so the same tree under the same answers prunes the same.
	pruned struct {
		root, out *gen.Device
		acc       *nacm.Access
		w         *nacm.Withheld
	}
	// withheld is what access control zeroed in the tree readable or
	// readableStored returned last (see withheldFields).
	withheld struct {
		root *gen.Device
		w    *nacm.Withheld
	}

	inRPCs, inBadRPCs, outErrors, outNotifications atomic.Uint32

	// replyBuf holds the session's replies while they are written: one
	// reply at a time, so the buffer serves the next one too.
	replyBuf bytes.Buffer

	closeRequested bool
	killedBy       uint32 // guarded by srv.mu
	overrun        bool   // guarded by srv.mu: ended because its notifications fell behind

	subMu sync.Mutex
	sub   *subscription
}

func (x *session) storeSession() datastore.Session {
	return datastore.Session{ID: x.info.ID, User: x.info.User, Origin: datastore.OriginNETCONF}
}

var errClose = errors.New("netconf: close-session")

// maxKeptReplyBuf is the largest reply buffer a session keeps between
// replies.
const maxKeptReplyBuf = 256 << 10

func (x *session) run() error {
	if err := x.sendHello(); err != nil {
		return err
	}
	var helloTimedOut atomic.Bool
	helloTimer := x.srv.cfg.Clock.AfterFunc(x.srv.cfg.HelloTimeout, func() {
		helloTimedOut.Store(true)
		x.rwc.Close()
	})
	err := x.readHello()
	helloTimer.Stop()
	if err != nil {
		x.srv.stats.inBadHellos.Add(1)
		if helloTimedOut.Load() {
			return fmt.Errorf("netconf: no client hello within %v: %w", x.srv.cfg.HelloTimeout, err)
		}
		return err
	}
	if helloTimedOut.Load() {
		return fmt.Errorf("netconf: no client hello within %v", x.srv.cfg.HelloTimeout)
	}
	x.srv.register(x)
	for {
		msg, err := x.in.ReadMessage()
		if err != nil {
			return err
		}
		if err := x.handle(msg); err != nil {
			if errors.Is(err, errClose) {
				return nil
			}
			return err
		}
	}
}

func (x *session) sendHello() error {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><hello xmlns="` + NSBase + `"><capabilities>`)
	for _, c := range x.srv.caps {
		b.WriteString("<capability>")
		xmlEscape(&b, c)
		b.WriteString("</capability>")
	}
	fmt.Fprintf(&b, "</capabilities><session-id>%d</session-id></hello>", x.info.ID)
	return x.out.WriteMessage(b.Bytes())
}

// readHello reads the client hello (RFC 6241 §8.1) and picks the framing
// (RFC 6242 §4.1): chunked when both sides announce base:1.1.
func (x *session) readHello() error {
	// The hello is small (a list of capabilities): bound it well below the
	// limit for ordinary messages.
	saved := x.in.max
	if x.in.max > MaxHelloMessage {
		x.in.max = MaxHelloMessage
	}
	msg, err := x.in.ReadMessage()
	x.in.max = saved
	if err != nil {
		return fmt.Errorf("reading client hello: %w", err)
	}
	el, err := parseMessage(msg, x.srv.cfg.MaxDepth)
	if err != nil {
		return fmt.Errorf("client hello: %w", err)
	}
	if el.Name.Space != NSBase || el.Name.Local != "hello" {
		return fmt.Errorf("netconf: first message is <%s>, not <hello>", el.Name.Local)
	}
	if el.child(NSBase, "session-id") != nil {
		return errors.New("netconf: client hello carries a session-id (RFC 6241 §8.1)")
	}
	caps := el.child(NSBase, "capabilities")
	if caps == nil {
		return errors.New("netconf: client hello without capabilities")
	}
	var b10, b11 bool
	for _, c := range caps.Children {
		switch strings.TrimSpace(c.Text) {
		case "urn:ietf:params:netconf:base:1.0":
			b10 = true
		case "urn:ietf:params:netconf:base:1.1":
			b11 = true
		}
	}
	switch {
	case b11:
		x.in.SetChunked()
		x.out.SetChunked()
	case !b10:
		return errors.New("netconf: client hello has no base capability in common")
	}
	return nil
}

// handle processes one message. A returned error ends the session.
func (x *session) handle(msg []byte) error {
	x.inRPCs.Add(1)
	x.srv.stats.inRPCs.Add(1)
	el, err := parseMessage(msg, x.srv.cfg.MaxDepth)
	if err != nil {
		x.countBad()
		x.srv.log.Debug("netconf malformed message", "session", x.info.ID, "err", err, "bytes", len(msg))
		return x.reply(nil, nil, err)
	}
	if el.Name.Space != NSBase || el.Name.Local != "rpc" {
		x.countBad()
		if el.Name.Local == "hello" {
			return errors.New("netconf: second <hello>")
		}
		return x.reply(nil, nil, &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagUnknownElement,
			Message: fmt.Sprintf("Expected an <rpc> in namespace %s, got <%s>.", NSBase, el.Name.Local),
			Info:    []rpcerror.InfoItem{{Name: "bad-element", Value: el.Name.Local}}})
	}
	if _, ok := el.attr("message-id"); !ok {
		x.countBad()
		return x.reply(el, nil, &rpcerror.Error{Type: rpcerror.TypeRPC, Tag: rpcerror.TagMissingAttribute,
			Message: "The rpc element has no message-id attribute.",
			Info:    []rpcerror.InfoItem{{Name: "bad-attribute", Value: "message-id"}, {Name: "bad-element", Value: "rpc"}}})
	}
	if len(el.Children) != 1 {
		x.countBad()
		return x.reply(el, nil, &rpcerror.Error{Type: rpcerror.TypeRPC, Tag: rpcerror.TagMalformedMessage,
			Message: fmt.Sprintf("An rpc holds exactly one operation, not %d.", len(el.Children))})
	}
	op := el.Children[0]
	x.srv.stats.ops.add(op.Name.Local)
	body, panicked, err := x.safeDispatch(op)
	if panicked {
		// The operation's state is unknown: answer, then end this session
		// only (its locks are released by Serve).
		if werr := x.reply(el, nil, err); werr != nil {
			return werr
		}
		return fmt.Errorf("netconf: %s panicked", op.Name.Local)
	}
	if errors.Is(err, errClose) {
		x.closeRequested = true
		if werr := x.reply(el, nil, nil); werr != nil {
			return werr
		}
		return errClose
	}
	if werr := x.reply(el, body, err); werr != nil {
		return werr
	}
	if err == nil && op.Name.Local == "create-subscription" {
		x.startSubscription()
	}
	return nil
}

// safeDispatch runs dispatch and turns a panic into an operation-failed
// error, so that a bug reachable from client XML ends one session, not the
// daemon.
func (x *session) safeDispatch(op *element) (body []byte, panicked bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			x.srv.log.Error("netconf operation panicked", "session", x.info.ID, "user", x.info.User,
				"operation", op.Name.Local, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			body, panicked = nil, true
			err = &rpcerror.Error{Type: rpcerror.TypeApplication, Tag: rpcerror.TagOperationFailed,
				Severity: "error", Message: "Internal error while processing the operation; the session is closed."}
		}
	}()
	body, err = x.dispatch(op)
	return body, false, err
}

func (x *session) countBad() {
	x.inBadRPCs.Add(1)
	x.srv.stats.inBadRPCs.Add(1)
}

// reply writes an <rpc-reply>: the errors of err, else body, else <ok/>.
func (x *session) reply(rpc *element, body []byte, err error) error {
	b := &x.replyBuf
	defer func() {
		// A buffer grown for a large reply is not kept for the next.
		if b.Cap() > maxKeptReplyBuf {
			*b = bytes.Buffer{}
		}
	}()
	b.Reset()
	b.Grow(len(body) + 256 + headroom)
	b.Write(make([]byte, headroom))
	replyOpen(b, rpc)
	if err != nil {
		errs := rpcerror.All(err)
		for _, e := range errs {
			if e.Tag == rpcerror.TagOperationFailed && e.Err != nil && e.Message == e.Err.Error() {
				x.srv.log.Warn("netconf operation failed", "session", x.info.ID, "err", e.Err)
			}
		}
		n := len(errs)
		x.outErrors.Add(uint32(n))
		x.srv.stats.outRPCErrors.Add(uint64(n))
		var op *element
		if rpc != nil && len(rpc.Children) == 1 {
			op = rpc.Children[0]
		}
		writeRPCErrors(b, errs, op, x.srv.prefixes)
	} else if body != nil {
		b.Write(body)
	} else {
		b.WriteString("<ok/>")
	}
	b.WriteString("</rpc-reply>")
	return x.out.writeInPlace(b.Bytes())
}

// abandon ends a session whose subscriber fell too far behind: its
// termination reason is "other" (RFC 6470), and the client, whose
// session drops, can subscribe again with a startTime to replay what it
// missed (RFC 5277 §2.1.1) instead of silently missing events.
func (x *session) abandon() {
	x.srv.mu.Lock()
	x.overrun = true
	x.srv.mu.Unlock()
	x.rwc.Close()
}

// kill ends the session from another session (RFC 6241 §7.9).
func (x *session) kill(by uint32) {
	x.srv.mu.Lock()
	x.killedBy = by
	x.srv.mu.Unlock()
	x.rwc.Close()
}

func parseUint32(s string) (uint32, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	return uint32(v), err
}
