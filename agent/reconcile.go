package agent

import (
	"net/netip"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/vpninstance"
	"github.com/ntpagent/ntpagent/ntpengine"
)

// apply makes root the running configuration.
func (a *Agent) apply(root *gen.Device) {
	if root == nil {
		root = &gen.Device{}
	}
	a.root = root
	a.reconcile()
}

// reconcile translates the current configuration and resolutions into the
// engine's configuration and hands it to Reconfigure, which keeps the
// associations whose configuration did not change.
func (a *Agent) reconcile() {
	p := translate(a.root, a.opts.Engine, a.resolution, a.opts.Keys)
	// Domain names no longer configured are forgotten.
	used := map[nameKey]bool{}
	vpns := map[string]bool{vpninstance.Public: true}
	for _, v := range a.opts.OpenVPNs {
		vpns[v] = true
	}
	for i := range p.peers {
		pp := &p.peers[i]
		if pp.kind == rules.Domain {
			used[nameKey{pp.vpn, pp.address}] = true
		}
		vpns[pp.vpn] = true
		if pp.blocked != "" {
			continue
		}
		if why := a.openVPN(pp.vpn); why != "" {
			pp.blocked = why
		}
	}
	for k := range a.names {
		if !used[k] {
			delete(a.names, k)
		}
	}
	for vpn := range a.vpnOpen {
		if !vpns[vpn] {
			a.tr.CloseVPN(vpn)
			delete(a.vpnOpen, vpn)
		}
	}
	for vpn := range a.vpnErr {
		if !vpns[vpn] {
			delete(a.vpnErr, vpn)
		}
	}
	// Peers blocked by their vpn-instance leave the engine configuration.
	cfg := p.engine
	cfg.Peers = nil
	for _, pp := range p.peers {
		if pp.blocked == "" {
			cfg.Peers = append(cfg.Peers, pp.cfg)
		}
	}
	p.engine = cfg
	a.engMu.Lock()
	rd, err := a.eng.Reconfigure(cfg, a.ntpClock.Now())
	a.engMu.Unlock()
	if err != nil {
		// Translation should have kept every peer the engine refuses out;
		// if one slipped through, it alone stays out (its session says
		// why) rather than the whole commit being lost.
		if cfg, dropped := dropRefusedPeers(&p, cfg); dropped > 0 {
			a.log.Warn("peers refused by the NTP engine left out", "err", err, "peers", dropped)
			p.engine = cfg
			a.engMu.Lock()
			rd, err = a.eng.Reconfigure(cfg, a.ntpClock.Now())
			a.engMu.Unlock()
		}
	}
	if err != nil {
		// The datastore's rules should have refused this configuration;
		// keep the engine as it is and say why.
		a.log.Error("configuration not applied to the NTP engine", "err", err)
		return
	}
	a.plan = p
	a.log.Info("NTP configuration applied", "peers", len(p.peers), "running", len(cfg.Peers))
	a.process(rd)
	a.reindex()
	a.checkSync()
}

// dropRefusedPeers marks blocked every peer of cfg that the engine's
// validation refuses on its own, and returns cfg without them and how many
// were dropped.
func dropRefusedPeers(p *plan, cfg ntpengine.Config) (ntpengine.Config, int) {
	none := cfg
	none.Peers = nil
	if none.Validate() != nil {
		return cfg, 0 // not a peer's fault
	}
	refused := map[string]string{}
	for _, pc := range cfg.Peers {
		one := cfg
		one.Peers = []ntpengine.PeerConfig{pc}
		if err := one.Validate(); err != nil {
			refused[pc.Key] = err.Error()
		}
	}
	if len(refused) == 0 {
		return cfg, 0
	}
	out := cfg
	out.Peers = nil
	for _, pc := range cfg.Peers {
		if _, bad := refused[pc.Key]; !bad {
			out.Peers = append(out.Peers, pc)
		}
	}
	for i := range p.peers {
		if why, bad := refused[p.peers[i].key]; bad {
			p.peers[i].blocked = "not accepted by the NTP engine: " + why
		}
	}
	return out, len(refused)
}

// openVPN opens a vpn-instance's sockets; it returns why that failed.
func (a *Agent) openVPN(vpn string) string {
	if a.vpnOpen[vpn] {
		return ""
	}
	if err := a.tr.OpenVPN(vpn); err != nil {
		why := err.Error()
		if a.vpnErr[vpn] != why {
			a.log.Warn("vpn-instance not usable", "vpn", vpn, "err", err)
		}
		a.vpnErr[vpn] = why
		a.vpnRetryAt = a.proc.Now().Add(a.opts.ResolveRetry)
		return why
	}
	delete(a.vpnErr, vpn)
	a.vpnOpen[vpn] = true
	return ""
}

// reindex rebuilds the association key → peer address index from the
// engine, and drops the send errors of associations that are gone.
func (a *Agent) reindex() {
	a.engMu.Lock()
	assocs := a.eng.Associations(a.ntpClock.Now())
	a.engMu.Unlock()
	idx := make(map[string]netip.Addr, len(assocs))
	for _, s := range assocs {
		idx[s.Key] = s.Address.Addr()
	}
	a.peerAddr = idx
	for k := range a.ioErr {
		_, live := idx[k]
		if !live && !a.isConfigured(k) {
			delete(a.ioErr, k)
		}
	}
}

func (a *Agent) isConfigured(key string) bool {
	for _, pp := range a.plan.peers {
		if pp.key == key {
			return true
		}
	}
	return false
}

// displayName is how a session names its peer: the configured address (a
// domain name for a domain peer), or the IP address of an ephemeral one.
func (a *Agent) displayName(key string) string {
	for _, pp := range a.plan.peers {
		if pp.key == key {
			return pp.address
		}
	}
	if addr, ok := a.peerAddr[key]; ok {
		return addr.String()
	}
	return key
}
