package ntpengine

import (
	"fmt"
	"math"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// fit is the fitness test of RFC 5905 §11.2 (A.5.5.3 accept): it returns
// why the association cannot synchronize, or nil.
func (e *Engine) fit(a *association, t float64) error {
	switch {
	case a.reach == 0:
		return fmt.Errorf("%w: unreachable", ErrUnsync)
	case a.filter.valid == 0:
		return fmt.Errorf("%w: no samples", ErrUnsync)
	case a.leap == packet.LeapUnsync || a.stratum >= maxStratum:
		return ErrUnsync
	case a.rootDist(t) > maxDist+phi*math.Ldexp(1, int(e.disc.poll)):
		return ErrDistance
	case e.syncLoop(a):
		return fmt.Errorf("%w: synchronization loop (peer is synchronized to us)", ErrUnsync)
	case e.cfg.AuthEnabled && a.keyID != 0:
		if k, ok := e.keys.Key(a.keyID); !ok || !k.Trusted {
			return fmt.Errorf("%w: key %d not trusted", ErrAuth, a.keyID)
		}
	}
	return nil
}

// clockSelect is the system process (RFC 5905 §11.2, A.5.5.1): selection,
// clustering, combining, then the clock update.
func (e *Engine) clockSelect(t float64) {
	var cands []candidate
	for _, a := range e.assocs {
		if a.stopped {
			continue
		}
		if err := e.fit(a, t); err != nil {
			a.status = StatusReject
			a.rejectCount++
			continue
		}
		dist := a.rootDist(t)
		cands = append(cands, candidate{
			a: a, offset: e.offsetNow(a, t), dist: dist, jitter: a.filter.Jitter,
			metric: maxDist*float64(a.stratum) + dist, prefer: a.cfg.Prefer,
		})
	}
	trues, _, _, ok := intersect(cands)
	inTrue := map[*association]bool{}
	for _, c := range trues {
		inTrue[c.a] = true
	}
	for _, c := range cands {
		if !inTrue[c.a] {
			c.a.status = StatusFalseticker
			c.a.rejectCount++
		}
	}
	if !ok {
		e.unsync("no majority of truechimers")
		return
	}
	survivors, outliers := cluster(trues)
	for _, c := range outliers {
		c.a.status = StatusOutlier
		c.a.rejectCount++
	}
	sys := 0
	for i, c := range survivors {
		c.a.status = StatusCandidate
		c.a.rejectCount = 0
		// Keep the system peer unless a survivor of a lower stratum
		// exists (A.5.5.1: avoid clock hopping).
		if c.a == e.sys.peer && c.a.stratum == survivors[0].a.stratum {
			sys = i
		}
	}
	preferred := false
	for i, c := range survivors {
		if c.prefer {
			sys, preferred = i, true
			break
		}
	}
	offset, selJitter := combine(survivors, sys)
	if preferred {
		// DESIGN §3: the prefer peer's offset is used alone.
		offset = survivors[sys].offset
	}
	peer := survivors[sys].a
	peer.status = StatusSysPeer
	if peer != e.sys.peer {
		e.event(EventSysPeer, peer, fmt.Sprintf("stratum %d", peer.stratum))
	}
	e.sys.peer = peer
	e.sys.offset = offset
	e.sys.jitter = math.Sqrt(peer.filter.Jitter*peer.filter.Jitter + selJitter*selJitter)
	e.clockUpdate(peer, offset, t)
}

// clockUpdate is A.5.5.4 clock_update: it runs the discipline for a new
// sample of the system peer and updates the system variables.
func (e *Engine) clockUpdate(p *association, offset, t float64) {
	if p.lastUsed <= e.sys.t {
		return
	}
	e.sys.t = p.lastUsed
	before := e.disc.state
	if before == StateNSET || before == StateFREQ && len(e.disc.fx) == 0 {
		e.disc.seed = p.filter.history()
	}
	res, co := e.disc.update(offset, p.lastUsed, t, p.lastDelay)
	e.disc.seed = nil
	if before == StateFREQ && e.disc.state == StateSYNC {
		e.event(EventFreqSet, p, fmt.Sprintf("frequency measured: %+.3f ppm", e.disc.freq*1e6))
	}
	switch res {
	case ResultPanic:
		e.sys.panicked = true
		e.event(EventPanic, p, fmt.Sprintf("offset %.3f s exceeds the panic threshold; not disciplining", offset))
		return
	case ResultStep:
		e.sys.panicked = false
		e.applyClock(co)
		e.event(EventStep, p, fmt.Sprintf("clock stepped by %+.6f s", co.step))
		// A.5.5.4: after a step every association starts afresh
		// (clear), and a configured one with its initial burst, as
		// when it was mobilized: its filter must fill again before
		// the root distance test passes (§11.2).
		for _, a := range e.assocs {
			a.filter.reset()
			a.lastUsed = 0
			a.xmt = 0
			if !a.ephemeral && !a.stopped {
				a.burst, a.burstSent, a.burstGot = burstCount, 0, 0
				a.nextdate = math.Min(a.nextdate, t+1)
			}
		}
		e.sys.t = 0
		e.unsync("clock stepped")
		return
	case ResultIgnore:
		e.applyClock(co)
		return
	}
	e.sys.panicked = false
	e.applyClock(co)
	if !e.sys.synced {
		e.event(EventSync, p, fmt.Sprintf("synchronized to %v, offset %+.6f s", p.addr, offset))
	}
	e.sys.synced = true
	e.sys.peer = p
	e.sys.leap = p.leap
	e.sys.stratum = p.stratum + 1
	e.sys.refID = refIDOf(p.addr.Addr())
	e.sys.refTime = e.clockTime(t)
	e.sys.rootDelay = p.rootDelay + p.filter.Delay
	d := math.Sqrt(p.filter.Jitter*p.filter.Jitter + e.sys.jitter*e.sys.jitter)
	d += math.Max(p.filter.Dispersion+phi*(t-p.filter.t)+math.Abs(offset), minDisp)
	e.sys.rootDisp = p.rootDisp + d
}
