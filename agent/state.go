package agent

import (
	"context"
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/vpninstance"
	"github.com/ntpagent/ntpagent/ntpengine"
	"github.com/ntpagent/ntpagent/ntpengine/netio"
	"github.com/ntpagent/ntpagent/ntpengine/ntpclock"
	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// stateTimeout bounds how long a <get> waits for the agent's goroutine.
const stateTimeout = 5 * time.Second

// StateProvider fills the config false nodes /ntp/status, /ntp/statistics
// and /ntp/sessions/session of root (a copy of running made for a <get>)
// from the engine. It is the server's Config.StateProvider and the CLI's State
// source. When the agent is not running it leaves root as it is.
func (a *Agent) StateProvider(root *gen.Device) {
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	a.do(ctx, func() { a.fillState(root) })
}

// State returns a fresh tree holding only the operational state (for the
// CLI's display commands and the metrics).
func (a *Agent) State() *gen.Device {
	root := &gen.Device{}
	a.StateProvider(root)
	return root
}

// ms renders a duration as milliseconds with 6 fraction digits (the
// decimal64 "milliseconds" type: nanosecond resolution).
func ms(d time.Duration) *float64 {
	v := float64(d.Nanoseconds()) / 1e6
	return &v
}

// msFromSeconds renders seconds as milliseconds rounded to the nanosecond.
func msFromSeconds(s float64) *float64 {
	v := math.Round(s*1e9) / 1e6
	return &v
}

func round6(x float64) *float64 {
	v := math.Round(x*1e6) / 1e6
	return &v
}

func ptr[T any](v T) *T { return &v }

func (a *Agent) fillState(root *gen.Device) {
	now := a.ntpClock.Now()
	a.engMu.Lock()
	st := a.eng.Status(now)
	stats := a.eng.Statistics()
	assocs := a.eng.Associations(now)
	a.engMu.Unlock()
	ntp := root.GetOrCreateNtp()
	ntp.Status = a.status(st)
	ntp.Status.TransmitTimestamping = gen.NtpagentNtp_Ntp_Status_TransmitTimestamping_user_space
	if a.tr.TxTimestamping() == netio.TxKernel {
		ntp.Status.TransmitTimestamping = gen.NtpagentNtp_Ntp_Status_TransmitTimestamping_kernel
	}
	if h, ok := a.ntpClock.(ntpclock.HostOffsetter); ok {
		if off, ok := h.HostOffset(); ok {
			ntp.Status.VirtualClockOffset = ms(off)
		}
	}
	ntp.Statistics = statistics(stats, a.tr.Stats())
	ntp.Sessions = &gen.NtpagentNtp_Ntp_Sessions{}
	seen := map[string]bool{}
	for _, s := range assocs { // each shown as a YANG session
		seen[s.Key] = true
		a.addSession(ntp.Sessions, s)
	}
	// Configured peers and servers the engine does not run: unresolved
	// names, unusable keys or vpn-instances. They show with their reason.
	for _, pp := range a.plan.peers {
		if seen[pp.key] {
			continue
		}
		k := gen.NtpagentNtp_Ntp_Sessions_Session_Key{Address: pp.address, VpnInstance: pp.vpn, Port: pp.port}
		if ntp.Sessions.Session[k] != nil {
			continue
		}
		sess, err := ntp.Sessions.NewSession(pp.address, pp.vpn, pp.port)
		if err != nil {
			continue
		}
		sess.LocalMode = gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_active
		if pp.mode == ntpengine.AssocClient {
			sess.LocalMode = gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_client
		}
		sess.Configured = ptr(true)
		sess.Preempt = ptr(pp.cfg.Preempt)
		sess.Preferred = ptr(pp.cfg.Prefer)
		if pp.cfg.KeyID != 0 {
			sess.AuthenticationKeyid = ptr(pp.cfg.KeyID)
		}
		sess.Reach = ptr(uint8(0))
		sess.Stratum = ptr(uint8(16))
		sess.Poll = ptr(pp.cfg.MinPoll)
		sess.SelectionStatus = gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_reject
		if pp.ip.IsValid() && pp.kind == rules.Domain {
			sess.ResolvedAddress = ptr(pp.ip.String())
		}
		sess.LastError = ptr(pp.blocked)
		fillCounters(sess, ntpengine.PacketCounts{})
	}
}

// statistics shows the engine's system-wide counters and the two of the
// transport that count datagrams the engine never saw.
func statistics(s ntpengine.Statistics, tr netio.Stats) *gen.NtpagentNtp_Ntp_Statistics {
	return &gen.NtpagentNtp_Ntp_Statistics{
		DiscontinuityTime:      ptr(s.Since.UTC().Format(time.RFC3339Nano)),
		PacketsReceived:        ptr(s.Received),
		PacketsSent:            ptr(s.Sent),
		ClientRequests:         ptr(s.ClientRequests),
		ServerReplies:          ptr(s.ServerReplies),
		KissOfDeathSent:        ptr(s.KoDSent),
		RateLimited:            ptr(s.RateLimited),
		AccessDenied:           ptr(s.AccessDenied),
		BadFormat:              ptr(s.BadFormat),
		AuthenticationFailures: ptr(s.AuthFailures),
		BogusOrDuplicate:       ptr(s.BogusOrDuplicate),
		NoAssociationDropped:   ptr(s.NoAssociation),
		ReceiveQueueOverflows:  ptr(tr.Dropped),
		OversizeDropped:        ptr(tr.Truncated),
	}
}

func (a *Agent) status(st ntpengine.Status) *gen.NtpagentNtp_Ntp_Status {
	out := &gen.NtpagentNtp_Ntp_Status{
		ClockState:     gen.NtpagentNtp_Ntp_Status_ClockState_unsynchronized,
		Stratum:        ptr(st.Stratum),
		Offset:         ms(st.Offset),
		Frequency:      round6(st.FrequencyPPM),
		Jitter:         ms(st.Jitter),
		Precision:      ptr(st.Precision),
		RootDelay:      ms(st.RootDelay),
		RootDispersion: ms(st.RootDispersion),
	}
	if st.Stratum == 0 || st.Stratum > 16 {
		out.Stratum = ptr(uint8(16))
	}
	if st.Synchronized {
		out.ClockState = gen.NtpagentNtp_Ntp_Status_ClockState_synchronized
	} else if r, ok := unsyncReason(st.UnsyncReason); ok {
		out.UnsyncReason = r
	}
	if st.Reference != "" {
		out.ReferenceId = ptr(st.Reference)
	}
	if st.Synchronized && st.SystemPeer != "" {
		out.SystemPeer = ptr(a.displayName(st.SystemPeer))
	}
	switch st.Leap {
	case packet.LeapNone:
		out.Leap = gen.NtpagentNtp_Ntp_Status_Leap_no_warning
	case packet.LeapAdd:
		out.Leap = gen.NtpagentNtp_Ntp_Status_Leap_add_second
	case packet.LeapDelete:
		out.Leap = gen.NtpagentNtp_Ntp_Status_Leap_delete_second
	default:
		out.Leap = gen.NtpagentNtp_Ntp_Status_Leap_unsynchronized
	}
	if !st.ReferenceTime.IsZero() {
		out.ReferenceTime = ptr(st.ReferenceTime.UTC().Format(time.RFC3339Nano))
	}
	switch st.ClockState {
	case "NSET":
		out.SyncState = gen.NtpagentNtp_Ntp_Status_SyncState_clock_not_set
	case "FSET":
		out.SyncState = gen.NtpagentNtp_Ntp_Status_SyncState_frequency_set
	case "SPIK", "PANIC":
		// PANIC (offset beyond the panic threshold) has no enum of its
		// own: the discipline is holding off like after a spike.
		out.SyncState = gen.NtpagentNtp_Ntp_Status_SyncState_spike
	case "FREQ":
		out.SyncState = gen.NtpagentNtp_Ntp_Status_SyncState_frequency_measure
	case "SYNC":
		out.SyncState = gen.NtpagentNtp_Ntp_Status_SyncState_synchronized
	}
	return out
}

// unsyncReason is the YANG enum value of an engine's UnsyncReason; the
// engine's strings are the enum's names. A reason the model does not know
// (a newer engine) is not shown rather than shown wrong.
func unsyncReason(r ntpengine.UnsyncReason) (gen.E_NtpagentNtp_UnsyncReason, bool) {
	if r == "" {
		return 0, false
	}
	for v, def := range gen.ΛEnum["E_NtpagentNtp_UnsyncReason"] {
		if def.Name == string(r) {
			return gen.E_NtpagentNtp_UnsyncReason(v), true
		}
	}
	return 0, false
}

// peerRefID renders a peer's reference id (RFC 5905 §7.3): ASCII for
// stratum 0 (kiss codes) and 1, a dotted IPv4 address above stratum 1 over
// IPv4, the hex of the MD5 hash prefix over IPv6.
func peerRefID(id uint32, stratum uint8, peer netip.Addr) string {
	if stratum <= 1 || stratum >= 16 {
		return packet.RefIDString(id)
	}
	if peer.Unmap().Is4() {
		return netip.AddrFrom4([4]byte{byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}).String()
	}
	return strconv.FormatUint(uint64(id), 16)
}

func (a *Agent) addSession(sessions *gen.NtpagentNtp_Ntp_Sessions, s ntpengine.AssociationStatus) {
	address, vpn, port := s.Address.Addr().String(), s.VPN, s.Address.Port()
	var pp *peerPlan
	if s.Configured {
		for i := range a.plan.peers {
			if a.plan.peers[i].key == s.Key {
				pp = &a.plan.peers[i]
			}
		}
	}
	if pp != nil {
		address, vpn, port = pp.address, pp.vpn, pp.port
	}
	if vpn == "" {
		vpn = vpninstance.Public
	}
	if sessions.Session[gen.NtpagentNtp_Ntp_Sessions_Session_Key{Address: address, VpnInstance: vpn, Port: port}] != nil {
		return // an ephemeral association shadowed by a configured one
	}
	sess, err := sessions.NewSession(address, vpn, port)
	if err != nil {
		return
	}
	if pp != nil && pp.kind == rules.Domain {
		sess.ResolvedAddress = ptr(s.Address.Addr().String())
	}
	switch s.LocalMode {
	case "symmetric-active":
		sess.LocalMode = gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_active
	case "symmetric-passive":
		sess.LocalMode = gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_passive
	case "client":
		sess.LocalMode = gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_client
	}
	sess.Configured = ptr(s.Configured)
	sess.Preempt = ptr(s.Preempt)
	sess.Preferred = ptr(s.Prefer)
	if s.KeyID != 0 {
		sess.AuthenticationKeyid = ptr(s.KeyID)
	}
	sess.Reach = ptr(s.Reach)
	stratum := s.Stratum
	if stratum == 0 {
		stratum = 16
	}
	sess.Stratum = ptr(stratum)
	if s.Reach != 0 || s.Now >= 0 {
		sess.ReferenceId = ptr(peerRefID(s.RefID, s.Stratum, s.Address.Addr()))
	}
	sess.Poll = ptr(s.Poll)
	if s.Now >= 0 {
		sess.Now = ptr(uint32(min(s.Now/time.Second, math.MaxUint32)))
	}
	sess.Offset = ms(s.Offset)
	sess.Delay = ms(s.Delay)
	sess.Dispersion = ms(s.Dispersion)
	sess.Jitter = ms(s.Jitter)
	switch s.Selection {
	case "sys.peer", "system-peer":
		sess.SelectionStatus = gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_system_peer
	case ntpengine.StatusCandidate:
		sess.SelectionStatus = gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_candidate
	case ntpengine.StatusOutlier:
		sess.SelectionStatus = gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_outlier
	case ntpengine.StatusFalseticker:
		sess.SelectionStatus = gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_falseticker
	case "excess":
		sess.SelectionStatus = gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_excess
	default:
		sess.SelectionStatus = gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_reject
	}
	if s.SelectionReason != "" {
		sess.SelectionReason = ptr(s.SelectionReason)
	}
	lastErr := s.LastError
	if e := a.ioErr[s.Key]; e != "" {
		lastErr = e // the packets do not even leave: that comes first
	}
	if pp != nil && pp.kind == rules.Domain {
		if r := a.names[nameKey{pp.vpn, pp.address}]; r != nil && r.err != "" && lastErr == "" {
			lastErr = r.err
		}
	}
	if lastErr != "" {
		sess.LastError = ptr(lastErr)
	}
	if s.LocalAddress.IsValid() {
		sess.LocalAddress = ptr(s.LocalAddress.String())
	}
	if s.Reach != 0 {
		sess.Interleaved = ptr(s.Interleaved)
	}
	fillCounters(sess, s.Counts)
	for i, f := range s.Filter {
		stage := uint8(i + 1)
		fs, err := sess.NewFilter(stage)
		if err != nil {
			continue
		}
		fs.Offset = msFromSeconds(f.Offset)
		fs.Delay = msFromSeconds(f.Delay)
		fs.Dispersion = msFromSeconds(f.Dispersion)
	}
}

// fillCounters shows the engine's counters: packets-sent counts the
// packets the engine produced for the association, packets-received those
// of its peer that passed the access and authentication tests, and
// authentication-errors those that failed authentication.
func fillCounters(sess *gen.NtpagentNtp_Ntp_Sessions_Session, c ntpengine.PacketCounts) {
	sess.PacketsSent = ptr(c.Sent)
	sess.PacketsReceived = ptr(c.Received)
	sess.AuthenticationErrors = ptr(c.AuthErrors)
}
