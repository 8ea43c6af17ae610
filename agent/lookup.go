package agent

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/internal/backoff"
	"github.com/ntpagent/ntpagent/internal/vpninstance"
)

// nameKey is a domain name in a vpn-instance: the same name may mean
// different addresses in different instances.
type nameKey struct {
	vpn, name string
}

// resolution is the state of one domain peer's name.
type resolution struct {
	nameKey
	addr     netip.Addr
	err      string
	running  bool      // a lookup is in flight
	retryAt  time.Time // process-clock time of the next lookup after a failure; zero: none
	failures int       // consecutive failed (or sinkholed) lookups
}

// resolved is the result of one lookup, sent back to the loop.
type resolved struct {
	nameKey
	addr netip.Addr
	err  error
}

// lookupTimeout bounds one lookup.
const lookupTimeout = 5 * time.Second

// resolution is translate's view of a domain name in a vpn-instance: its
// address, or why there is none yet (a lookup starts when the name is new).
func (a *Agent) resolution(name, vpn string) (netip.Addr, string) {
	k := nameKey{vpn, name}
	r := a.names[k]
	if r == nil {
		r = &resolution{nameKey: k}
		a.names[k] = r
		a.startLookup(r)
	}
	if r.addr.IsValid() {
		return r.addr, ""
	}
	if r.err != "" {
		return netip.Addr{}, r.err
	}
	return netip.Addr{}, fmt.Sprintf("resolving %s%s", name, inVPN(vpn))
}

// inVPN names a vpn-instance other than the public one in a message.
func inVPN(vpn string) string {
	if vpn == vpninstance.Public || vpn == "" {
		return ""
	}
	return " in vpn-instance " + vpn
}

// resolverFor is the resolver of a vpn-instance's domain peers.
func (a *Agent) resolverFor(vpn string) Resolver {
	if vpn == vpninstance.Public || vpn == "" {
		return a.opts.Resolver
	}
	return a.opts.ResolverForVPN(vpn)
}

func (a *Agent) startLookup(r *resolution) {
	if r.running {
		return
	}
	r.running = true
	r.retryAt = time.Time{}
	k, res, stop, results := r.nameKey, a.resolverFor(r.vpn), a.stop, a.results
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		defer cancel()
		addrs, err := res.LookupNetIP(ctx, "ip", k.name)
		out := resolved{nameKey: k, err: err}
		if err == nil {
			out.addr = pickAddress(addrs)
			if !out.addr.IsValid() {
				out.err = fmt.Errorf("%s: %w", k.name, ErrNotFound)
			}
		}
		select {
		case results <- out:
		case <-stop:
		}
	}()
}

// maxResolveBackoff is the longest delay between two lookups of a name
// that keeps failing.
const maxResolveBackoff = 5 * time.Minute

// retryLater counts a failed (or sinkholed) lookup of r and schedules the
// next one: ResolveRetry after the first failure, doubling up to
// maxResolveBackoff. It returns the delay.
func (a *Agent) retryLater(r *resolution) time.Duration {
	r.failures++
	d := backoff.Doubling{First: a.opts.ResolveRetry, Max: maxResolveBackoff}.Delay(r.failures)
	r.retryAt = a.proc.Now().Add(d)
	return d
}

func (a *Agent) lookupDone(res resolved) {
	r := a.names[res.nameKey]
	if r == nil {
		return // no longer configured
	}
	r.running = false
	if res.err != nil {
		r.err = fmt.Sprintf("cannot resolve %s%s: %v", res.name, inVPN(res.vpn), res.err)
		retry := a.retryLater(r)
		a.log.Warn("domain peer not resolved", "name", res.name, "vpn", res.vpn, "err", res.err, "retry", retry)
		if !r.addr.IsValid() {
			// Still no address: the session shows the new error.
			a.reconcile()
		}
		return
	}
	r.err = ""
	if rules.CheckHostAddress(res.addr.String(), nil) != nil {
		// A sinkholed name (0.0.0.0) is asked again, backing off, until
		// it gives a host address; translate keeps it out meanwhile.
		a.retryLater(r)
	} else {
		r.failures, r.retryAt = 0, time.Time{}
	}
	if r.addr == res.addr {
		return
	}
	a.log.Info("domain peer resolved", "name", res.name, "vpn", res.vpn, "address", res.addr, "was", r.addr)
	r.addr = res.addr
	a.reconcile()
}
