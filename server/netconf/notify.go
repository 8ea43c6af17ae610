package netconf

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/internal/clock"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// nsNetmodNotification holds replayComplete and notificationComplete
// (RFC 5277 §3.6, §4).
const nsNetmodNotification = "urn:ietf:params:xml:ns:netmod:notification"

// event is one notification of the NETCONF stream.
type event struct {
	time  time.Time
	ns    string
	local string
	body  []byte // the event element, standalone XML
	// change is the change a netconf-config-change reports, rendered
	// again without the edits a restricted subscriber may not read.
	change *datastore.Change
}

// eventLog is the NETCONF stream: a bounded replay buffer and the live
// subscriptions (RFC 5277 §3.2).
type eventLog struct {
	mu   sync.Mutex
	max  int
	buf  []event
	subs map[*subscription]struct{}
}

func newEventLog(max int) *eventLog {
	return &eventLog{max: max, subs: map[*subscription]struct{}{}}
}

func (s *Server) publish(ev event) {
	ev.time = s.cfg.Clock.Now()
	l := s.events
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) == l.max {
		copy(l.buf, l.buf[1:])
		l.buf = l.buf[:len(l.buf)-1]
	}
	l.buf = append(l.buf, ev)
	for sub := range l.subs {
		sub.offer(ev)
	}
}

// subscription is a session's create-subscription. Events queue in a
// bounded channel written to the session by one goroutine. A subscriber
// that falls subscriberQueue events behind would miss events without
// knowing (RFC 5277 has no way to say so): its session is ended instead
// (termination-reason "other", counted in dropped-sessions), and the client
// can subscribe again with a startTime to replay what it missed.
type subscription struct {
	x     *session
	names map[[2]string]bool // event elements selected by a subtree filter; nil: all
	stop  time.Time
	queue chan []byte
	quit  chan struct{}
	once  sync.Once
	timer clock.Timer
	// replay holds the replayed events and replayComplete, taken from the
	// replay buffer when the subscription was created: the writer sends
	// them first, whatever their number (the queue holds live events only).
	replay [][]byte
	// finished is closed at stopTime; complete is the notificationComplete
	// to send then, after the events already queued (RFC 5277 §2.2.1).
	finished chan struct{}
	complete []byte

	started bool
	overrun sync.Once
}

// subscriberQueue bounds the live events waiting for one subscriber.
const subscriberQueue = 256

func (sub *subscription) selects(ev event) bool {
	if sub.names != nil && !sub.names[[2]string{ev.ns, ev.local}] {
		return false
	}
	return sub.stop.IsZero() || !ev.time.After(sub.stop)
}

// offer queues ev; called with the log locked.
func (sub *subscription) offer(ev event) {
	if !sub.selects(ev) {
		return
	}
	m, ok := sub.x.notification(ev)
	if !ok {
		return
	}
	select {
	case sub.queue <- m:
	default:
		sub.overrun.Do(func() {
			sub.x.srv.log.Warn("netconf subscriber fell behind its notifications; session ended so that it can replay",
				"session", sub.x.info.ID, "user", sub.x.info.User, "queued", cap(sub.queue))
			// Not under the event log's lock: closing the transport may
			// wait for the writer.
			go sub.x.abandon()
		})
	}
}

func notificationXML(ev event) []byte {
	var b bytes.Buffer
	b.WriteString(`<notification xmlns="` + NSNotification + `"><eventTime>` + rfc3339(ev.time) + "</eventTime>")
	b.Write(ev.body)
	b.WriteString("</notification>")
	return b.Bytes()
}

func (sub *subscription) write(m []byte) bool {
	if err := sub.x.out.WriteMessage(m); err != nil {
		sub.end()
		return false
	}
	sub.x.outNotifications.Add(1)
	sub.x.srv.stats.outNotifies.Add(1)
	return true
}

func (sub *subscription) run() {
	for i, m := range sub.replay {
		select {
		case <-sub.quit:
			return
		default:
		}
		if !sub.write(m) {
			return
		}
		sub.replay[i] = nil
	}
	sub.replay = nil
	for {
		select {
		case m := <-sub.queue:
			if !sub.write(m) {
				return
			}
		case <-sub.finished:
			// No event is queued after finished is closed (the subscription
			// left the log first): send what is queued, then the end marker.
			for n := len(sub.queue); n > 0; n-- {
				if !sub.write(<-sub.queue) {
					return
				}
			}
			// Detach first, so that a client that has read the marker can
			// create a new subscription at once.
			sub.end()
			sub.write(sub.complete)
			return
		case <-sub.quit:
			return
		}
	}
}

func (sub *subscription) end() {
	sub.once.Do(func() {
		l := sub.x.srv.events
		l.mu.Lock()
		delete(l.subs, sub)
		l.mu.Unlock()
		if sub.timer != nil {
			sub.timer.Stop()
		}
		close(sub.quit)
		if f := sub.x.info.Subscribed; f != nil {
			f(false)
		}
		// A finished subscription (notificationComplete) frees the session
		// for a new create-subscription.
		sub.x.subMu.Lock()
		if sub.x.sub == sub {
			sub.x.sub = nil
		}
		sub.x.subMu.Unlock()
	})
}

func (x *session) endSubscription() {
	x.subMu.Lock()
	sub := x.sub
	x.subMu.Unlock()
	if sub != nil {
		sub.end()
	}
}

// createSubscription handles RFC 5277 §2.1.1. The subscription starts
// sending once the <ok/> reply is written (startSubscription).
func (x *session) createSubscription(op *element) error {
	x.subMu.Lock()
	active := x.sub != nil
	x.subMu.Unlock()
	if active {
		return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagInUse,
			Message: "This session already has a subscription (RFC 5277 §2.1.1)."}
	}
	if s := op.child(NSNotification, "stream"); s != nil && strings.TrimSpace(s.Text) != "NETCONF" {
		return invalidValue("stream", "The only stream is NETCONF.")
	}
	now := x.srv.cfg.Clock.Now()
	var start, stop time.Time
	if e := op.child(NSNotification, "startTime"); e != nil {
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(e.Text))
		if err != nil {
			return invalidValue("startTime", "startTime is not an RFC 3339 date-time.")
		}
		if t.After(now) {
			return badElement("startTime", "startTime is in the future.")
		}
		start = t
	}
	if e := op.child(NSNotification, "stopTime"); e != nil {
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(e.Text))
		if err != nil {
			return invalidValue("stopTime", "stopTime is not an RFC 3339 date-time.")
		}
		if start.IsZero() {
			return missingElement("create-subscription", "startTime")
		}
		if t.Before(start) {
			return badElement("stopTime", "stopTime is before startTime.")
		}
		stop = t
	}
	sub := &subscription{x: x, stop: stop, queue: make(chan []byte, subscriberQueue), quit: make(chan struct{}), finished: make(chan struct{})}
	if f := op.child(NSNotification, "filter"); f != nil {
		for _, a := range f.Attr {
			if a.Name.Local == "type" && a.Value != "subtree" {
				return &rpcerror.Error{Type: rpcerror.TypeProtocol, Tag: rpcerror.TagOperationNotSupported,
					Message: "Notification filters must be subtree filters."}
			}
		}
		sub.names = map[[2]string]bool{}
		for _, c := range f.Children {
			sub.names[[2]string{c.Name.Space, c.Name.Local}] = true
		}
	}
	// Register now, so that no event between this RPC and its reply is
	// lost; the writer starts after the reply (startSubscription), so the
	// queued events follow the <ok/>.
	l := x.srv.events
	l.mu.Lock()
	if !start.IsZero() {
		for _, ev := range l.buf {
			if !ev.time.Before(start) && sub.selects(ev) {
				if m, ok := x.notification(ev); ok {
					sub.replay = append(sub.replay, m)
				}
			}
		}
		done := event{time: now, ns: nsNetmodNotification, local: "replayComplete",
			body: []byte(`<replayComplete xmlns="` + nsNetmodNotification + `"/>`)}
		sub.replay = append(sub.replay, notificationXML(done))
	}
	l.subs[sub] = struct{}{}
	l.mu.Unlock()
	x.subMu.Lock()
	x.sub = sub
	x.subMu.Unlock()
	if f := x.info.Subscribed; f != nil {
		f(true)
	}
	return nil
}

// startSubscription starts the writer of the subscription created by the
// RPC just answered, and the timer of its stopTime.
func (x *session) startSubscription() {
	x.subMu.Lock()
	sub := x.sub
	x.subMu.Unlock()
	if sub == nil || sub.started {
		return
	}
	sub.started = true
	l := x.srv.events
	if !sub.stop.IsZero() {
		finish := func() {
			l.mu.Lock()
			delete(l.subs, sub)
			l.mu.Unlock()
			ev := event{time: x.srv.cfg.Clock.Now(), ns: nsNetmodNotification, local: "notificationComplete",
				body: []byte(`<notificationComplete xmlns="` + nsNetmodNotification + `"/>`)}
			sub.complete = notificationXML(ev)
			close(sub.finished) // the writer sends complete after the queued events
		}
		if d := sub.stop.Sub(x.srv.cfg.Clock.Now()); d > 0 {
			sub.timer = x.srv.cfg.Clock.AfterFunc(d, finish)
		} else {
			finish()
		}
	}
	go sub.run()
}

// changedBy renders the RFC 6470 changed-by-parms grouping.
func changedBy(b *bytes.Buffer, user string, sessionID uint32, host string) {
	b.WriteString("<username>")
	xmlEscape(b, user)
	fmt.Fprintf(b, "</username><session-id>%d</session-id>", sessionID)
	if host != "" {
		b.WriteString("<source-host>")
		xmlEscape(b, host)
		b.WriteString("</source-host>")
	}
}

func sessionStartEvent(info SessionInfo) event {
	var b bytes.Buffer
	b.WriteString(`<netconf-session-start xmlns="` + NSNotifications + `">`)
	changedBy(&b, info.User, info.ID, info.SourceHost)
	b.WriteString("</netconf-session-start>")
	return event{ns: NSNotifications, local: "netconf-session-start", body: b.Bytes()}
}

func sessionEndEvent(info SessionInfo, killedBy uint32, reason string) event {
	var b bytes.Buffer
	b.WriteString(`<netconf-session-end xmlns="` + NSNotifications + `">`)
	changedBy(&b, info.User, info.ID, info.SourceHost)
	if killedBy != 0 {
		fmt.Fprintf(&b, "<killed-by>%d</killed-by>", killedBy)
	}
	b.WriteString("<termination-reason>" + reason + "</termination-reason></netconf-session-end>")
	return event{ns: NSNotifications, local: "netconf-session-end", body: b.Bytes()}
}

func confirmedCommitEvent(info SessionInfo, what string, timeout time.Duration) event {
	var b bytes.Buffer
	b.WriteString(`<netconf-confirmed-commit xmlns="` + NSNotifications + `">`)
	if info.ID != 0 {
		changedBy(&b, info.User, info.ID, info.SourceHost)
	}
	b.WriteString("<confirm-event>" + what + "</confirm-event>")
	if what == "start" || what == "extend" {
		fmt.Fprintf(&b, "<timeout>%d</timeout>", int64(timeout/time.Second))
	}
	b.WriteString("</netconf-confirmed-commit>")
	return event{ns: NSNotifications, local: "netconf-confirmed-commit", body: b.Bytes()}
}

// pumpChanges turns datastore changes into netconf-config-change events
// (RFC 6470 §2.1: changes of running and of startup), one <edit> per
// top-level container that changed, until both channels close.
func (s *Server) pumpChanges(running, startup <-chan datastore.Change) {
	defer close(s.pumpDone)
	for running != nil || startup != nil {
		var c datastore.Change
		var ok bool
		select {
		case c, ok = <-running:
			if !ok {
				running = nil
				continue
			}
		case c, ok = <-startup:
			if !ok {
				startup = nil
				continue
			}
		}
		if c.Commit.Origin == datastore.OriginConfirmedCommitRollback {
			s.publish(confirmedCommitEvent(SessionInfo{}, "timeout", 0))
		}
		s.publish(s.configChangeEvent(c))
	}
}

// configChangeEvent renders one change of running or startup as
// netconf-config-change (RFC 6470 §2.1).
func (s *Server) configChangeEvent(c datastore.Change) event {
	body := s.renderConfigChange(c, nil)
	// The event stays in the replay buffer; rendering it again needs the
	// edits and who made them, not the change's copies of the old and new
	// configuration, which would keep two whole trees per event.
	c.Old, c.New = nil, nil
	return event{ns: NSNotifications, local: "netconf-config-change", body: body, change: &c}
}

// renderConfigChange renders netconf-config-change with the edits whose
// target keep accepts (all when keep is nil).
func (s *Server) renderConfigChange(c datastore.Change, keep func(path string) bool) []byte {
	var b bytes.Buffer
	b.WriteString(`<netconf-config-change xmlns="` + NSNotifications + `"><changed-by>`)
	if c.Commit.User == "" {
		b.WriteString("<server/>")
	} else {
		changedBy(&b, c.Commit.User, c.SessionID, "")
	}
	b.WriteString("</changed-by><datastore>" + string(c.Datastore) + "</datastore>")
	for _, e := range c.Edits {
		if keep != nil && !keep(e.Path) {
			continue
		}
		b.WriteString("<edit><target")
		for p, ns := range s.prefixes {
			if strings.Contains(e.Path, p+":") {
				fmt.Fprintf(&b, ` xmlns:%s="%s"`, p, ns)
			}
		}
		b.WriteByte('>')
		xmlEscape(&b, e.Path)
		b.WriteString("</target><operation>" + e.Operation + "</operation></edit>")
	}
	b.WriteString("</netconf-config-change>")
	return b.Bytes()
}

// Publish sends an event of another module to the NETCONF stream (RFC 5277):
// body is the event element itself, standalone XML with its namespace
// declared, e.g. ntpagent-ntp's <sync-state-change xmlns="…">. ns and local
// name it for subscription filters. The event gets the current eventTime and
// enters the replay buffer.
func (s *Server) Publish(ns, local string, body []byte) {
	s.publish(event{ns: ns, local: local, body: append([]byte(nil), body...)})
}
