package cli

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ntpagent/ntpagent/gen"
)

const vrpTime = "2006-01-02 15:04:05-07:00"

func (s *session) printLines(lines []string) {
	for _, l := range lines {
		s.printf("%s\n", l)
	}
}

// cmdDisplayCurrent renders running from the datastore's tree (never from
// typed lines), so changes made over NETCONF show here too.
func cmdDisplayCurrent(s *session, a args) error {
	s.printf("!Software Version %s\n", s.c.cfg.Software)
	if h := s.c.store.History(); len(h) > 0 {
		s.printf("!Last configuration was updated at %s by %s\n", h[0].Time.UTC().Format(vrpTime), h[0].User)
	}
	s.printLines(configLines(s.readable(s.running()), s.readsKeys()))
	return nil
}

// cmdDisplaySaved shows the startup configuration (RFC 6241 §8.7), which
// save writes and a boot of the host loads into running.
func cmdDisplaySaved(s *session, a args) error {
	info, ok := s.c.store.Saved()
	if !ok {
		s.printf("Info: No configuration has been saved.\n")
		return nil
	}
	s.printf("!Software Version %s\n", s.c.cfg.Software)
	s.printf("!Last configuration was saved at %s by %s\n", info.Time.UTC().Format(vrpTime), info.User)
	s.printLines(configLines(s.readable(s.startup()), s.readsKeys()))
	return nil
}

// cmdDisplayThis shows the running configuration of the current view: all
// of it in the system view, nothing in the user view.
func cmdDisplayThis(s *session, a args) error {
	if s.view == userView {
		s.printLines([]string{"#", "return"})
		return nil
	}
	s.printLines(configLines(s.readable(s.running()), s.readsKeys()))
	return nil
}

func cmdDisplayCandidate(s *session, a args) error {
	if s.c.store.CandidateModified() {
		s.printf("!The candidate configuration has uncommitted changes\n")
	}
	s.printLines(configLines(s.readable(s.candidate()), s.readsKeys()))
	return nil
}

func cmdDisplayCommitList(s *session, a args) error {
	h := s.c.store.History()
	if len(h) == 0 {
		s.printf("Info: No commit record.\n")
		return nil
	}
	rule := " " + strings.Repeat("-", 78) + "\n"
	s.printf("%s", rule)
	s.printf(" %-5s %-9s %-16s %-10s %-9s %s\n", "No.", "CommitId", "Label", "User", "Origin", "Date Time")
	s.printf("%s", rule)
	for i, c := range h {
		label := c.Label
		if label == "" {
			label = "-"
		}
		s.printf(" %-5d %-9d %-16s %-10s %-9s %s\n", i+1, c.ID, label, c.User, c.Origin, c.Time.UTC().Format(vrpTime))
	}
	return nil
}

func (s *session) state() *gen.Device {
	if s.c.cfg.State == nil {
		return nil
	}
	return s.readable(s.c.cfg.State())
}

func ms(v *float64, prec int) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.*f ms", prec, *v)
}

// The NTP era 0 begins 1900-01-01 (RFC 5905 §6).
const ntpEraOffset = 2208988800

// vrpRefTime renders an RFC 3339 time as VRP does: "06:52:33.465 UTC Sep 19
// 2015(D97B7A61.7715E95A)", the part in brackets being the 64-bit NTP
// timestamp (RFC 5905 §6) in hexadecimal.
func vrpRefTime(rfc3339 string) string {
	t, err := time.Parse(time.RFC3339Nano, rfc3339)
	if err != nil {
		return rfc3339
	}
	t = t.UTC()
	secs := uint32(uint64(t.Unix()+ntpEraOffset) & math.MaxUint32)
	frac := uint32((uint64(t.Nanosecond()) << 32) / 1e9)
	return fmt.Sprintf("%s UTC %s(%08X.%08X)", t.Format("15:04:05.000"), t.Format("Jan 02 2006"), secs, frac)
}

var syncStateText = map[gen.E_NtpagentNtp_Ntp_Status_SyncState]string{
	gen.NtpagentNtp_Ntp_Status_SyncState_clock_not_set:     "clock not set",
	gen.NtpagentNtp_Ntp_Status_SyncState_frequency_set:     "frequency set",
	gen.NtpagentNtp_Ntp_Status_SyncState_spike:             "spike detected",
	gen.NtpagentNtp_Ntp_Status_SyncState_frequency_measure: "frequency measurement",
	gen.NtpagentNtp_Ntp_Status_SyncState_synchronized:      "clock synchronized",
}

// unsyncReasonText explains /ntp/status/unsync-reason.
var unsyncReasonText = map[gen.E_NtpagentNtp_UnsyncReason]string{
	gen.NtpagentNtp_UnsyncReason_no_sources:             "no peer or server is configured",
	gen.NtpagentNtp_UnsyncReason_no_reachable_sources:   "no peer or server is reachable",
	gen.NtpagentNtp_UnsyncReason_sources_unsynchronized: "every reachable peer or server is unsynchronized",
	gen.NtpagentNtp_UnsyncReason_acquiring:              "acquiring (samples are being collected)",
	gen.NtpagentNtp_UnsyncReason_root_distance_exceeded: "every peer is too far from its reference (root distance)",
	gen.NtpagentNtp_UnsyncReason_unauthenticated:        "the usable peers are not authenticated",
	gen.NtpagentNtp_UnsyncReason_timing_loop:            "the usable peers are synchronized to this device (timing loop)",
	gen.NtpagentNtp_UnsyncReason_no_majority:            "no majority of the peers agree on the time",
	gen.NtpagentNtp_UnsyncReason_panic:                  "the offset exceeds the panic threshold",
}

// nominalHz is the frequency of the clock the engine disciplines: a
// nanosecond counter.
const nominalHz = 1e9

// cmdDisplayStatus renders /ntp/status (RFC 5905 §11.1 system variables).
func cmdDisplayStatus(s *session, a args) error {
	st := s.state().GetNtp().GetStatus()
	if st == nil {
		st = &gen.NtpagentNtp_Ntp_Status{}
	}
	clock := "unsynchronized"
	if st.GetClockState() == gen.NtpagentNtp_Ntp_Status_ClockState_synchronized {
		clock = "synchronized"
	}
	stratum := st.GetStratum()
	if st.Stratum == nil {
		stratum = 16
	}
	ref := st.GetReferenceId()
	if ref == "" {
		ref = "none"
	}
	s.printf(" clock status: %s\n", clock)
	if why := unsyncReasonText[st.GetUnsyncReason()]; why != "" && clock == "unsynchronized" {
		s.printf(" unsynchronized because: %s\n", why)
	}
	s.printf(" clock stratum: %d\n", stratum)
	s.printf(" reference clock ID: %s\n", ref)
	s.printf(" nominal frequency: %.4f Hz\n", nominalHz)
	s.printf(" actual frequency: %.4f Hz\n", nominalHz*(1+st.GetFrequency()/1e6))
	if st.Precision != nil {
		s.printf(" clock precision: 2^%d\n", *st.Precision)
	} else {
		s.printf(" clock precision: -\n")
	}
	s.printf(" clock offset: %s\n", ms(st.Offset, 4))
	if st.VirtualClockOffset != nil {
		// Only the virtual clock has one: its time minus the host clock's.
		s.printf(" virtual clock offset: %s (from the host clock)\n", ms(st.VirtualClockOffset, 4))
	}
	s.printf(" root delay: %s\n", ms(st.RootDelay, 2))
	s.printf(" root dispersion: %s\n", ms(st.RootDispersion, 2))
	s.printf(" peer dispersion: %s\n", ms(systemPeerDispersion(s.state()), 2))
	if rt := st.GetReferenceTime(); rt != "" {
		s.printf(" reference time: %s\n", vrpRefTime(rt))
	} else {
		s.printf(" reference time: -\n")
	}
	sync := syncStateText[st.GetSyncState()]
	if sync == "" {
		sync = "clock not set"
	}
	s.printf(" synchronization state: %s\n", sync)
	tx := "-"
	switch st.GetTransmitTimestamping() {
	case gen.NtpagentNtp_Ntp_Status_TransmitTimestamping_kernel:
		tx = "kernel"
	case gen.NtpagentNtp_Ntp_Status_TransmitTimestamping_user_space:
		tx = "user-space"
	}
	s.printf(" transmit timestamping: %s\n", tx)
	return nil
}

// cmdDisplayStatistics renders /ntp/statistics, the system-wide packet
// counters (ntpd's sysstats, chrony's serverstats), one per line as
// display ntp status does; "-" when the engine gave none.
func cmdDisplayStatistics(s *session, a args) error {
	st := s.state().GetNtp().GetStatistics()
	if st == nil {
		st = &gen.NtpagentNtp_Ntp_Statistics{}
	}
	since := "-"
	if t, err := time.Parse(time.RFC3339Nano, st.GetDiscontinuityTime()); err == nil {
		since = t.UTC().Format(vrpTime)
	}
	s.printf(" statistics since: %s\n", since)
	for _, c := range []struct {
		name string
		v    *uint64
	}{
		{"packets received", st.PacketsReceived},
		{"packets sent", st.PacketsSent},
		{"client requests", st.ClientRequests},
		{"server replies", st.ServerReplies},
		{"kiss-of-death sent", st.KissOfDeathSent},
		{"rate limited", st.RateLimited},
		{"access denied", st.AccessDenied},
		{"bad format", st.BadFormat},
		{"authentication failures", st.AuthenticationFailures},
		{"bogus or duplicate", st.BogusOrDuplicate},
		{"no association", st.NoAssociationDropped},
		{"receive queue overflows", st.ReceiveQueueOverflows},
		{"oversize dropped", st.OversizeDropped},
	} {
		s.printf(" %s: %s\n", c.name, numOrDash(c.v))
	}
	return nil
}

// systemPeerDispersion is the dispersion of the session that is the system
// peer, if any.
func systemPeerDispersion(root *gen.Device) *float64 {
	for _, se := range sessionMap(root) {
		if se.GetSelectionStatus() == gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_system_peer {
			return se.Dispersion
		}
	}
	return nil
}

func sortedSessions(root *gen.Device) []*gen.NtpagentNtp_Ntp_Sessions_Session {
	m := sessionMap(root)
	keys := make([]gen.NtpagentNtp_Ntp_Sessions_Session_Key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y gen.NtpagentNtp_Ntp_Sessions_Session_Key) int {
		if c := comparePeers(gen.NtpagentNtp_Ntp_UnicastPeer_Key{Address: x.Address, VpnInstance: x.VpnInstance},
			gen.NtpagentNtp_Ntp_UnicastPeer_Key{Address: y.Address, VpnInstance: y.VpnInstance}); c != 0 {
			return c
		}
		return int(x.Port) - int(y.Port)
	})
	out := make([]*gen.NtpagentNtp_Ntp_Sessions_Session, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// sessionNotes are VRP's status digits: 1 source (master: the system peer),
// 2 source (peer: a symmetric association), 3 selected (survived selection),
// 4 candidate (discarded as surplus or outlier by clustering), 5 configured.
func sessionNotes(se *gen.NtpagentNtp_Ntp_Sessions_Session) (digits string, words []string) {
	sel := se.GetSelectionStatus()
	if sel == gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_system_peer {
		digits += "1"
		words = append(words, "master")
	}
	switch se.GetLocalMode() {
	case gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_active, gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_passive:
		digits += "2"
		words = append(words, "peer")
	}
	switch sel {
	case gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_system_peer, gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_candidate:
		digits += "3"
		words = append(words, "selected")
	case gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_excess, gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_outlier:
		digits += "4"
		words = append(words, "candidate")
	case gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_falseticker:
		words = append(words, "falseticker")
	case gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_reject:
		words = append(words, "rejected")
	}
	if se.GetConfigured() {
		digits += "5"
		words = append(words, "configured")
	}
	return digits, words
}

func pollSeconds(se *gen.NtpagentNtp_Ntp_Sessions_Session) string {
	if se.Poll == nil {
		return "-"
	}
	p := *se.Poll
	if p < 0 || p > 30 {
		return fmt.Sprintf("2^%d", p)
	}
	return fmt.Sprint(uint64(1) << uint(p))
}

func numOrDash[T any](v *T) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v)
}

func f4(v *float64) string { return fixed(v, 4) }

func fixed(v *float64, prec int) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.*f", prec, *v)
}

// cmdDisplaySessions renders /ntp/sessions: a table, or with verbose one
// block per association with its clock filter register (RFC 5905 §10).
// Reach is shown in octal, as ntpq does (RFC 5905 §13).
func cmdDisplaySessions(s *session, a args) error {
	sessions := sortedSessions(s.state())
	if a.has("verbose") {
		for i, se := range sessions {
			if i > 0 {
				s.printf("\n")
			}
			s.verboseSession(se)
		}
		s.printf(" Total number of sessions: %d\n", len(sessions))
		return nil
	}
	s.printf(" %-17s%-16s%4s%6s%5s%5s%9s%8s%8s\n", "source", "reference", "stra", "reach", "poll", "now", "offset", "delay", "disper")
	s.printf(" %s\n", strings.Repeat("*", 78))
	for _, se := range sessions {
		digits, _ := sessionNotes(se)
		src := "[" + digits + "]" + se.GetAddress()
		if len(src) > 16 {
			// A long address (IPv6, domain) gets a line of its own.
			s.printf(" %s\n", src)
			src = ""
		}
		s.printf(" %-17s%-16s%4s%6s%5s%5s%9s%8s%8s\n", src, dashIfEmpty(se.GetReferenceId()),
			numOrDash(se.Stratum), reachOctal(se), pollSeconds(se), numOrDash(se.Now),
			fixed(se.Offset, 3), fixed(se.Delay, 2), fixed(se.Dispersion, 2))
	}
	s.printf(" note: 1 source(master), 2 source(peer), 3 selected, 4 candidate, 5 configured\n")
	s.printf(" Total number of sessions: %d\n", len(sessions))
	return nil
}

func reachOctal(se *gen.NtpagentNtp_Ntp_Sessions_Session) string {
	if se.Reach == nil {
		return "-"
	}
	return fmt.Sprintf("%o", *se.Reach)
}

func dashIfEmpty(v string) string {
	if v == "" {
		return "-"
	}
	return v
}

var modeText = map[gen.E_NtpagentNtp_Ntp_Sessions_Session_LocalMode]string{
	gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_active:  "symmetric active",
	gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_passive: "symmetric passive",
	gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_client:            "client",
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (s *session) verboseSession(se *gen.NtpagentNtp_Ntp_Sessions_Session) {
	_, words := sessionNotes(se)
	s.printf(" clock source: %s\n", se.GetAddress())
	if r := se.GetResolvedAddress(); r != "" {
		s.printf(" resolved address: %s\n", r)
	}
	s.printf(" vpn-instance: %s\n", dashIfEmpty(se.GetVpnInstance()))
	s.printf(" port: %d\n", se.GetPort())
	s.printf(" local address: %s\n", dashIfEmpty(se.GetLocalAddress()))
	s.printf(" local mode: %s\n", dashIfEmpty(modeText[se.GetLocalMode()]))
	s.printf(" clock stratum: %s\n", numOrDash(se.Stratum))
	s.printf(" clock status: %s\n", dashIfEmpty(strings.Join(words, ", ")))
	s.printf(" reference clock ID: %s\n", dashIfEmpty(se.GetReferenceId()))
	s.printf(" reach: %s\n", reachOctal(se))
	s.printf(" current poll: %s\n", pollSeconds(se))
	s.printf(" now: %s\n", numOrDash(se.Now))
	s.printf(" offset: %s\n", ms(se.Offset, 4))
	s.printf(" delay: %s\n", ms(se.Delay, 4))
	s.printf(" disper: %s\n", ms(se.Dispersion, 4))
	s.printf(" jitter: %s\n", ms(se.Jitter, 4))
	s.printf(" preferred: %s, preempt: %s\n", yesNo(se.GetPreferred()), yesNo(se.GetPreempt()))
	if se.AuthenticationKeyid != nil {
		s.printf(" authentication keyid: %d\n", *se.AuthenticationKeyid)
	}
	s.printf(" packets sent: %d, received: %d, authentication errors: %d\n",
		se.GetPacketsSent(), se.GetPacketsReceived(), se.GetAuthenticationErrors())
	if r := se.GetSelectionReason(); r != "" {
		s.printf(" selection reason: %s\n", r)
	}
	// RFC 9769: whether the peer's last packet carried the exact transmit
	// time of its previous one.
	xleave := "-"
	if se.Interleaved != nil {
		xleave = yesNo(*se.Interleaved)
	}
	s.printf(" interleaved mode: %s\n", xleave)
	s.printf(" last error: %s\n", dashIfEmpty(se.GetLastError()))
	var offs, dels, disps []string
	for stage := uint8(1); stage <= 8; stage++ {
		f := se.GetFilter(stage)
		if f == nil {
			f = &gen.NtpagentNtp_Ntp_Sessions_Session_Filter{}
		}
		offs, dels, disps = append(offs, f4(f.Offset)), append(dels, f4(f.Delay)), append(disps, f4(f.Dispersion))
	}
	s.printf(" filter delay : %s\n", strings.Join(dels, " "))
	s.printf(" filter offset: %s\n", strings.Join(offs, " "))
	s.printf(" filter disper: %s\n", strings.Join(disps, " "))
}

func sessionMap(root *gen.Device) map[gen.NtpagentNtp_Ntp_Sessions_Session_Key]*gen.NtpagentNtp_Ntp_Sessions_Session {
	if ss := root.GetNtp().GetSessions(); ss != nil {
		return ss.Session
	}
	return nil
}
