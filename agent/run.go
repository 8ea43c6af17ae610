package agent

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/ntpengine"
)

// Run serves until ctx is done, then closes the sockets. It applies the
// running configuration of the Store and every later commit.
func (a *Agent) Run(ctx context.Context) error {
	if !a.ran.CompareAndSwap(false, true) {
		return errors.New("agent: Run called twice")
	}
	defer func() {
		close(a.stop)
		close(a.notes)
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
	timer, wake := a.proc.NewTimer(0)
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
		case <-wake:
			a.tick()
		}
	}
}

// Configured waits until Run has applied the running configuration it
// started with (Run applies it before it serves any call). It returns
// false when the agent stopped, or ctx ended, first.
func (a *Agent) Configured(ctx context.Context) bool { return a.do(ctx, func() {}) }

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
	// The engine's deadline is on the disciplined clock, the retries on
	// the process clock; the loop sleeps on the process clock.
	d := next.Sub(a.ntpClock.Now())
	d = min(d, a.opts.MaxWait)
	if len(a.names) == 0 && len(a.vpnErr) == 0 {
		return max(d, 0) // nothing to retry: no clock reading on the busy path
	}
	now := a.proc.Now()
	for _, r := range a.names {
		if !r.retryAt.IsZero() && !r.running {
			d = min(d, r.retryAt.Sub(now))
		}
	}
	if len(a.vpnErr) > 0 {
		d = min(d, a.vpnRetryAt.Sub(now))
	}
	return max(d, 0)
}

func (a *Agent) tick() {
	now := a.proc.Now()
	for _, r := range a.names {
		if !r.retryAt.IsZero() && !r.running && !now.Before(r.retryAt) {
			a.startLookup(r)
		}
	}
	if len(a.vpnErr) > 0 && !now.Before(a.vpnRetryAt) {
		a.reconcile() // opens the vpn-instances that failed, if they exist now
	}
	a.engMu.Lock()
	rd := a.eng.Tick(a.ntpClock.Now())
	a.engMu.Unlock()
	a.process(rd)
	a.saveDrift(false)
}

// process applies what the engine asked for: clock commands, datagrams,
// events.
func (a *Agent) process(rd ntpengine.Ready) {
	for _, c := range rd.Clock {
		var err error
		switch c.Op {
		case ntpengine.ClockStep:
			a.log.Info("clock step", "step", c.Step)
			err = a.ntpClock.Step(c.Step)
		case ntpengine.ClockSetFrequency:
			err = a.ntpClock.SetFrequency(c.FrequencyPPM)
		case ntpengine.ClockSlew:
			err = a.ntpClock.Slew(c.Slew)
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
