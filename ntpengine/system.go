package ntpengine

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// Reasons an association is not fit (errors.Is ErrUnsync, ErrDistance or
// ErrAuth); fitReason maps them to an UnsyncReason.
var (
	errUnreachable   = fmt.Errorf("%w: unreachable", ErrUnsync)
	errNoSamples     = fmt.Errorf("%w: no samples", ErrUnsync)
	errFilling       = fmt.Errorf("%w: clock filter still filling", ErrDistance)
	errLoop          = fmt.Errorf("%w: synchronization loop (peer is synchronized to us)", ErrUnsync)
	errSelf          = fmt.Errorf("%w: synchronization loop (peer is this host)", ErrUnsync)
	errUnauthPassive = fmt.Errorf("%w: unauthenticated symmetric passive peer, never selected (allow-unauthenticated-passive-peers is off)", ErrAuth)
)

// fit is the fitness test of RFC 5905 §11.2 (A.5.5.3 accept): it returns
// why the association cannot synchronize, or nil.
func (e *Engine) fit(a *association, t float64) error {
	switch {
	case a.reach == 0:
		return errUnreachable
	case a.self:
		return errSelf
	case a.leap == packet.LeapUnsync || a.stratum >= maxStratum:
		return ErrUnsync
	case a.filter.valid == 0:
		return errNoSamples
	case a.ephemeral && !e.cfg.AllowUnauthenticatedPassive && (a.keyID == 0 || !e.trusted(a.keyID)):
		// RFC 5905 §9.2 mobilizes a passive association for any
		// mode-1 packet when authentication is off; it is answered,
		// but a source that anyone can make up must not vote in
		// selection.
		return errUnauthPassive
	case a.fitDist(t, e.disc.state == stateFSET) > maxDist+phi*math.Ldexp(1, int(e.disc.poll)):
		if a.filter.valid < nstage {
			return errFilling
		}
		return ErrDistance
	case e.syncLoop(a):
		return errLoop
	case e.cfg.AuthEnabled && a.keyID != 0 && !e.trusted(a.keyID):
		return fmt.Errorf("%w: key %d not trusted", ErrAuth, a.keyID)
	}
	return nil
}

func (e *Engine) trusted(keyID uint32) bool {
	k, ok := e.keys.Key(keyID)
	return ok && k.Trusted
}

// unsyncRank orders the reasons an association is not fit by how far it
// came: when no association is fit, the one that came furthest says why.
var unsyncRank = map[UnsyncReason]int{
	UnsyncUnreachable: 1, UnsyncSourcesUnsynchronized: 2, UnsyncAcquiring: 3,
	UnsyncDistance: 4, UnsyncUnauthenticated: 5, UnsyncTimingLoop: 6,
}

// fitWhy is why no association is fit at t, by the one that came
// furthest (unsyncRank): UnsyncNoSources without associations, and
// UnsyncAcquiring when one is fit and waits for the next selection.
func (e *Engine) fitWhy(t float64) UnsyncReason {
	why := UnsyncReason("")
	for _, a := range e.assocs {
		if a.stopped {
			continue
		}
		r := UnsyncAcquiring
		if err := e.fit(a, t); err != nil {
			r = fitReason(err)
		}
		if unsyncRank[r] > unsyncRank[why] {
			why = r
		}
	}
	if why == "" {
		return UnsyncNoSources
	}
	return why
}

// fitReason is the UnsyncReason of an error of fit.
func fitReason(err error) UnsyncReason {
	switch {
	case errors.Is(err, errUnreachable):
		return UnsyncUnreachable
	case errors.Is(err, errLoop), errors.Is(err, errSelf):
		return UnsyncTimingLoop
	case errors.Is(err, ErrAuth):
		return UnsyncUnauthenticated
	case errors.Is(err, errNoSamples), errors.Is(err, errFilling):
		return UnsyncAcquiring
	case errors.Is(err, ErrDistance):
		return UnsyncDistance
	}
	return UnsyncSourcesUnsynchronized
}

// clockSelect is the system process (RFC 5905 §11.2, A.5.5.1): selection,
// clustering, combining, then the clock update.
func (e *Engine) clockSelect(t float64) {
	var cands []candidate
	why := UnsyncReason("")
	acquiring := 0
	for _, a := range e.assocs {
		if a.stopped {
			continue
		}
		if err := e.fit(a, t); err != nil {
			a.status = StatusReject
			a.selReason = err.Error()
			a.rejectCount++
			r := fitReason(err)
			if unsyncRank[r] > unsyncRank[why] {
				why = r
			}
			if r == UnsyncAcquiring {
				acquiring++
			}
			continue
		}
		dist := e.selDist(a, t)
		cands = append(cands, candidate{
			a: a, offset: e.offsetNow(a, t), dist: dist, jitter: a.filter.Jitter,
			metric: maxDist*float64(a.stratum) + dist, prefer: a.cfg.Prefer,
		})
	}
	if len(cands) == 0 {
		if why == "" {
			why = UnsyncNoSources
		}
		e.unsync("no candidate: "+string(why), why)
		// Why no association is fit changes without a new selection
		// (a source answers again, unsynchronized, giving no sample):
		// Status works it out from the associations as they are.
		e.sys.reason = ""
		return
	}
	trues, _, _, ok := intersect(cands)
	for _, c := range cands {
		if !slices.ContainsFunc(trues, func(x candidate) bool { return x.a == c.a }) {
			c.a.status = StatusFalseticker
			c.a.selReason = "outside the interval a majority of sources agree on (RFC 5905 §11.2.1)"
			c.a.rejectCount++
		}
	}
	if !ok {
		e.unsync("no majority of truechimers", UnsyncNoMajority)
		return
	}
	if !e.sys.synced && (2*len(trues) <= len(cands)+acquiring || e.holdForSources(acquiring, t)) {
		// Before the first update (at start, after a step) the
		// truechimers must be a majority of the sources that answer,
		// not only of those whose filters are full: a falseticker that
		// filled first could otherwise outvote the truechimers and
		// have the clock stepped to it.
		e.unsync("waiting for more sources", UnsyncAcquiring)
		return
	}
	e.sys.holdSince = 0
	survivors, outliers := cluster(trues, e.sys.peer)
	for _, c := range outliers {
		c.a.status = StatusOutlier
		c.a.selReason = "cast off by clustering (RFC 5905 §11.2.2)"
		c.a.rejectCount++
	}
	e.sys.reason = ""
	sys := 0
	for i, c := range survivors {
		c.a.status = StatusCandidate
		c.a.selReason = ""
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
	survivors, sys = e.combinable(survivors, sys)
	offset, selJitter := combine(survivors, sys)
	if preferred {
		// The prefer peer's offset is used alone (ntpd's prefer peer: the combine step of RFC 5905 §11.2.3 is skipped for it).
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
	if math.IsNaN(e.filterFreq()) {
		// The offsets were projected to t with the sources' own slopes
		// (projectionFreq); the discipline takes an offset as projected
		// from the system peer's sample time with its own frequency
		// (discipline.uncorrected), which it has not measured yet.
		offset -= (peer.filter.ownSlope() - e.disc.freq) * (t - peer.lastUsed)
	}
	e.clockUpdate(peer, offset, t)
}

// holdForSources tells whether the first clock update (at start or after
// a step) waits for sources that answer but have not filled their clock
// filters yet (acquiring of them), for at most one minimum poll interval
// from the time a selection could first have been made: the sources that
// fill first may be the worst ones (those behind long paths answer no
// later in a burst), and the first update may step the clock.
func (e *Engine) holdForSources(acquiring int, t float64) bool {
	if e.sys.synced || acquiring == 0 {
		return false
	}
	if e.sys.holdSince == 0 {
		e.sys.holdSince = t
	}
	return t-e.sys.holdSince < math.Ldexp(1, int(e.disc.minPoll))
}

// selDist is the half-width of the association's correctness interval
// for selection and its weight in combining (see the package
// documentation, "Selection"): what its offset can be wrong by.
//
//   - rootDelay/2 + rootDisp: the peer's own distance to its reference,
//     as it states it (RFC 5905 §11.2);
//   - delay/2 of the sample whose offset is used: an offset measured over
//     a path of round-trip delay δ is off by at most δ/2, whatever the
//     asymmetry (§8);
//   - the jitter of the filter (§10) and both precisions;
//   - the sample's age times a bound on our frequency error (freqBound)
//     instead of PHI (15 ppm): offsets are projected to now with the
//     discipline's frequency estimate, and once that is measured its
//     error is known far better than PHI.
//
// Unlike the root distance of the fitness test (rootDist) it has no
// MINDISP floor: 10 ms of interval would let a falseticker a few
// milliseconds off overlap the truechimers.
func (e *Engine) selDist(a *association, t float64) float64 {
	f := &a.filter
	delay, ts, corr := f.Delay, f.BestT, f.BestCorrection
	if e.usesNewest() {
		n := f.newestValid()
		delay, ts, corr = n.Delay, n.T, n.Correction
	}
	age := math.Max(0, t-ts)
	// Our slews since the sample are taken out of its offset as the
	// discipline accounts for them, which is exact only as far as their
	// timing is known: a sample from before a fast slew (the initial one
	// corrects 0.1 s in about a second) counts with the slew's size.
	slewed := math.Abs(e.disc.phaseAt(t) - corr - e.disc.freq*age)
	return a.rootDelay/2 + a.rootDisp + delay/2 + f.Jitter + e.prec + math.Ldexp(1, int(a.precision)) +
		e.freqBound()*age + slewed
}

// Frequency error bounds for selDist, s/s: before the discipline has
// measured the frequency, RFC 5905's MAXFREQ (±500 ppm, the tolerance of
// a working oscillator): the offsets are then projected with each
// source's own slope (projectionFreq), and this bounds that slope's
// error, also where the clock itself is off by more (its range is wider);
// afterwards three standard errors of its estimate, at least minFreqBound.
const minFreqBound = 1e-7

func (e *Engine) freqBound() float64 {
	d := &e.disc
	if d.state != stateSYNC {
		return MaxFrequencyPPM * 1e-6
	}
	if se, ok := d.est.freqSE(d); ok {
		return math.Max(3*se, minFreqBound)
	}
	return phi
}

// combineLimit: a survivor is combined only if its selection distance is
// below combineLimit times the system peer's (chrony's combinelimit).
const combineLimit = 3

// combinable keeps, of the survivors, the system peer (survivors[sys]) and
// those whose selection distance is within combineLimit of its: one with
// a much longer distance (a path with a large delay, mostly in one
// direction) adds its error bound to the combined offset and none of its
// precision (RFC 5905 §11.2.3 weighs by 1/distance, which only dilutes
// it). The others are marked outliers. It returns the kept survivors and
// the system peer's index among them.
func (e *Engine) combinable(survivors []candidate, sys int) ([]candidate, int) {
	limit := combineLimit * survivors[sys].dist
	kept := survivors[:0:0]
	at := 0
	for i, c := range survivors {
		if i != sys && c.dist > limit {
			c.a.status = StatusOutlier
			c.a.selReason = fmt.Sprintf("not combined: distance %.6f s above %d times the system peer's", c.dist, combineLimit)
			continue
		}
		if i == sys {
			at = len(kept)
		}
		kept = append(kept, c)
	}
	return kept, at
}

// clockUpdate is A.5.5.4 clock_update: it runs the discipline for a new
// sample of the system peer and updates the system variables.
func (e *Engine) clockUpdate(p *association, offset, t float64) {
	if p.lastUsed <= e.sys.t {
		return
	}
	e.sys.t = p.lastUsed
	before := e.disc.state
	if before == stateNSET || before == stateFREQ && len(e.disc.fx) == 0 {
		e.disc.seed = p.filter.history()
	}
	res, co := e.disc.update(offset, p.lastUsed, t, p.lastDelay)
	e.disc.seed = nil
	if before == stateFREQ && e.disc.state == stateSYNC {
		e.event(EventFreqSet, p, fmt.Sprintf("frequency measured: %+.3f ppm", e.disc.freq*1e6))
	}
	switch res {
	case resultPanic:
		e.sys.panicked = true
		e.event(EventPanic, p, fmt.Sprintf("offset %.3f s exceeds the panic threshold; not disciplining", offset))
		return
	case resultStep:
		e.sys.panicked = false
		e.applyClock(co)
		e.event(EventStep, p, fmt.Sprintf("clock stepped by %+.6f s", co.step))
		// A.5.5.4: after a step every association starts afresh
		// (clear), and one configured with IBurst with its initial
		// burst, as when it was mobilized: its filter must fill again before
		// the root distance test passes (§11.2). Not after the step that
		// ends the regression discipline's frequency measurement
		// (keepFilters).
		keep := e.keepFilters(before)
		for _, a := range e.assocs {
			a.xmt = 0
			if keep {
				continue
			}
			a.filter.reset()
			a.lastUsed = 0
			if !a.ephemeral && !a.stopped && a.cfg.IBurst {
				// The burst starts a second after the step, but no
				// sooner than burstInterval after the last packet, so
				// that it keeps its spacing.
				a.burst, a.burstSent, a.burstGot = burstCount, 0, 0
				a.nextdate = math.Min(a.nextdate, math.Max(t+1, a.outdate+burstInterval))
			}
		}
		e.sys.t = 0
		e.unsync("clock stepped", UnsyncAcquiring)
		return
	case resultIgnore:
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
	e.sys.rootDisp, e.sys.dispRate = e.rootDispersion(p, offset, t)
}
