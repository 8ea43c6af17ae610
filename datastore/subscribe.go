package datastore

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
)

// maxQueued bounds the changes that wait for one subscriber beyond its
// channel's buffer. A reader that falls further behind gets the newest
// changes folded into the last waiting one (see subscriber.push): memory
// stays bounded and the order of delivery is kept.
const maxQueued = 64

// subscriber delivers changes in commit order through its own goroutine, so
// that a slow reader never blocks a commit: changes wait in a queue of at
// most maxQueued entries (each entry shares the immutable stored trees; the
// copies handed to the reader are made by the goroutine).
type subscriber struct {
	ds     Name // the datastore whose changes it receives
	log    *slog.Logger
	mu     sync.Mutex
	queue  []Change
	behind bool // the reader is behind: changes are being folded
	wake   chan struct{}
	done   chan struct{}
	out    chan Change
	once   sync.Once
	// withoutTrees: deliver changes without their copies of the trees
	// (WithoutTrees).
	withoutTrees bool
}

// SubscribeOption changes what a subscription delivers.
type SubscribeOption func(*subscriber)

// WithoutTrees makes a subscription deliver each Change without Old and
// New (nil): its edits, commit and session only. For a reader that reports
// what changed, such as NETCONF's netconf-config-change: a Change's trees
// are copies of the whole configuration, two per commit and subscriber.
func WithoutTrees() SubscribeOption { return func(sub *subscriber) { sub.withoutTrees = true } }

// Subscribe returns a channel that receives every later change of running
// (commits, writes to running, rollbacks), in commit order, each with its
// own copies of the old and new trees and the list of edited paths; and a
// function that ends the subscription and closes the channel. buf is the
// channel's buffer. A reader that falls more than buf+maxQueued changes
// behind receives the later ones folded together: one Change from the Old
// of the first to the New of the last, with the Commit of the last and
// Coalesced counting the commits folded into it.
func (s *Store) Subscribe(buf int, opts ...SubscribeOption) (<-chan Change, func()) {
	return s.subscribe(Running, buf, opts)
}

// SubscribeStartup is Subscribe for the startup datastore: every later
// save (copy-config to startup, the CLI's save) and delete-config of
// startup, for RFC 6470's netconf-config-change, which reports changes of
// running and of startup. Commit describes the save (its ID is the saved
// configuration's number).
func (s *Store) SubscribeStartup(buf int, opts ...SubscribeOption) (<-chan Change, func()) {
	return s.subscribe(Startup, buf, opts)
}

func (s *Store) subscribe(ds Name, buf int, opts []SubscribeOption) (<-chan Change, func()) {
	if buf < 0 {
		buf = 0
	}
	sub := &subscriber{ds: ds, log: s.log, wake: make(chan struct{}, 1), done: make(chan struct{}), out: make(chan Change, buf)}
	for _, o := range opts {
		o(sub)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		close(sub.out)
		return sub.out, func() {}
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	go sub.run()
	return sub.out, func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
		sub.stop()
	}
}

func (sub *subscriber) stop() { sub.once.Do(func() { close(sub.done) }) }

// push queues c. When maxQueued changes already wait, c is folded into the
// last of them, which then goes from its own Old to c.New (the edits are
// computed at delivery from those two trees).
func (sub *subscriber) push(c Change) {
	sub.mu.Lock()
	if n := len(sub.queue); n >= maxQueued {
		last := &sub.queue[n-1]
		last.Coalesced += 1 + c.Coalesced
		last.New, last.Commit, last.SessionID = c.New, c.Commit, c.SessionID
		if !sub.behind {
			sub.behind = true
			sub.log.Warn("a subscriber to configuration changes is behind; folding its pending changes together",
				"waiting", n, "commit", c.Commit.ID)
		}
	} else {
		sub.queue = append(sub.queue, c)
	}
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

func (sub *subscriber) run() {
	defer close(sub.out)
	for {
		select {
		case <-sub.done:
			return
		case <-sub.wake:
		}
		for {
			sub.mu.Lock()
			if len(sub.queue) == 0 {
				sub.behind = false
				sub.mu.Unlock()
				break
			}
			c := sub.queue[0]
			sub.queue[0] = Change{}
			sub.queue = sub.queue[1:]
			sub.mu.Unlock()
			c.Edits = diffTrees(c.Old, c.New)
			if sub.withoutTrees {
				c.Old, c.New = nil, nil
			} else {
				c.Old, c.New = copyTree(c.Old), copyTree(c.New)
			}
			select {
			case sub.out <- c:
			case <-sub.done:
				return
			}
		}
	}
}

// notify queues a change for every subscriber to its datastore. Called
// with s.mu held, so the queues receive changes in commit order.
func (s *Store) notify(c Change) {
	for sub := range s.subs {
		if sub.ds == c.Datastore {
			sub.push(c)
		}
	}
}

// emitIndented renders running.json: ygot's RFC 7951 emitter with module
// names, indented for a human.
func emitIndented(d *gen.Device) ([]byte, error) {
	js, err := ygot.EmitJSON(d, &ygot.EmitJSONConfig{Format: ygot.RFC7951, Indent: "  ", SkipValidation: true,
		RFC7951Config: &ygot.RFC7951JSONConfig{AppendModuleName: true}})
	if err != nil {
		return nil, fmt.Errorf("encode running.json: %w", err)
	}
	return append([]byte(js), '\n'), nil
}

func jsonIndent(v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Change is one change of running, delivered to subscribers in commit order.
// Old and New are the subscriber's own copies.
type Change struct {
	Old, New  *gen.Device
	Commit    CommitInfo
	SessionID uint32 // the session that made it; 0 for the system
	Datastore Name   // the datastore that changed: running, or startup for SubscribeStartup (RFC 6470 netconf-config-change)
	Edits     []EditedPath
	// Coalesced counts the earlier commits folded into this change because
	// the subscriber fell behind (see Subscribe); 0 normally. Old is then
	// running before the first of them, Commit and SessionID are the last's.
	Coalesced int
}
