package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ntpagent/ntpagent/agent"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/server/netconf"
)

// ntpCollector reads the agent's operational state at each scrape (the same
// values a NETCONF <get> shows) and the NTP transport counters.
type ntpCollector struct {
	ag *agent.Agent

	synced, stratum, offset, jitter, freq, rootDelay, rootDisp metricDesc
	unsynced                                                   metricDesc
	virtualOffset                                              metricDesc
	peerOffset, peerDelay, peerJitter, peerReach, peerStratum  metricDesc
	peerSent, peerRcvd, peerAuthErr                            metricDesc
	rx, dropped, tx, txErr                                     metricDesc
	// packet counts /ntp/statistics, one counter each; statsStart is
	// its discontinuity-time.
	packet     []statCounter
	statsStart metricDesc
}

// statCounter is one leaf of /ntp/statistics exported as a counter.
type statCounter struct {
	desc  metricDesc
	value func(*gen.NtpagentNtp_Ntp_Statistics) *uint64
}

type ntpStats = gen.NtpagentNtp_Ntp_Statistics

// packetCounters are the /ntp/statistics leaves exported as
// ntpagent_ntp_NAME_total (receive-queue-overflows is already
// ntpagent_ntp_datagrams_dropped_total, from the same transport counter).
func packetCounters(d func(name, help string, labels ...string) metricDesc) []statCounter {
	c := func(name, help string, v func(*ntpStats) *uint64) statCounter {
		return statCounter{d("ntp_"+name+"_total", help), v}
	}
	return []statCounter{
		c("packets_received", "NTP datagrams handed to the engine (/ntp/statistics/packets-received).", func(s *ntpStats) *uint64 { return s.PacketsReceived }),
		c("packets_sent", "NTP packets the engine produced, polls and replies (packets-sent).", func(s *ntpStats) *uint64 { return s.PacketsSent }),
		c("client_requests", "Client requests (mode 3) received (client-requests).", func(s *ntpStats) *uint64 { return s.ClientRequests }),
		c("server_replies", "Server replies (mode 4) sent, kiss-o'-death and crypto-NAK included (server-replies).", func(s *ntpStats) *uint64 { return s.ServerReplies }),
		c("kiss_of_death_sent", "RATE and DENY kiss-o'-death replies sent (kiss-of-death-sent).", func(s *ntpStats) *uint64 { return s.KissOfDeathSent }),
		c("rate_limited", "Client requests refused by the rate limiter (rate-limited).", func(s *ntpStats) *uint64 { return s.RateLimited }),
		c("access_denied", "Packets from a denied source (access-denied).", func(s *ntpStats) *uint64 { return s.AccessDenied }),
		c("bad_format", "Datagrams dropped as malformed NTP (bad-format).", func(s *ntpStats) *uint64 { return s.BadFormat }),
		c("authentication_failures", "Packets that failed authentication (authentication-failures).", func(s *ntpStats) *uint64 { return s.AuthenticationFailures }),
		c("bogus_or_duplicate", "Association packets failing the RFC 5905 section 8 on-wire tests (bogus-or-duplicate).", func(s *ntpStats) *uint64 { return s.BogusOrDuplicate }),
		c("no_association_dropped", "Packets no association may take, dropped (no-association-dropped).", func(s *ntpStats) *uint64 { return s.NoAssociationDropped }),
		c("oversize_dropped", "Datagrams dropped on reception for being larger than any NTP packet (oversize-dropped).", func(s *ntpStats) *uint64 { return s.OversizeDropped }),
	}
}

func newNTPCollector(ag *agent.Agent) *ntpCollector {
	peer := []string{"address", "vpn_instance", "port", "mode"}
	d := func(name, help string, labels ...string) metricDesc {
		return newDesc("ntpagent_"+name, help, labels...)
	}
	return &ntpCollector{
		ag:            ag,
		synced:        d("synchronized", "1 when the clock has a system peer."),
		stratum:       d("stratum", "Stratum of the device (16: unsynchronized)."),
		unsynced:      d("unsynchronized", "1, labelled with why the clock is not synchronized (/ntp/status/unsync-reason); absent while it is.", "reason"),
		offset:        d("offset_seconds", "Combined offset of the clock from the system peer."),
		jitter:        d("jitter_seconds", "System jitter."),
		freq:          d("frequency_ppm", "Frequency correction of the disciplined clock."),
		virtualOffset: d("virtual_clock_offset_seconds", "The virtual clock's time minus the host clock's (/ntp/status/virtual-clock-offset): its true error when the host clock is the truth. Absent when the host clock is disciplined."),
		rootDelay:     d("root_delay_seconds", "Round-trip delay to the primary reference."),
		rootDisp:      d("root_dispersion_seconds", "Dispersion to the primary reference."),
		peerOffset:    d("peer_offset_seconds", "Offset of a peer (clock filter).", peer...),
		peerDelay:     d("peer_delay_seconds", "Round-trip delay to a peer.", peer...),
		peerJitter:    d("peer_jitter_seconds", "Jitter of a peer.", peer...),
		peerReach:     d("peer_reach", "Reach register of a peer (8 bits).", peer...),
		peerStratum:   d("peer_stratum", "Stratum of a peer.", peer...),
		peerSent:      d("peer_packets_sent_total", "Packets sent to a peer.", peer...),
		peerRcvd:      d("peer_packets_received_total", "Valid packets received from a peer.", peer...),
		peerAuthErr:   d("peer_authentication_errors_total", "Packets from a peer that failed authentication.", peer...),
		rx:            d("ntp_datagrams_received_total", "NTP datagrams received by the sockets."),
		dropped:       d("ntp_datagrams_dropped_total", "NTP datagrams dropped because the engine fell behind."),
		tx:            d("ntp_datagrams_sent_total", "NTP datagrams sent."),
		txErr:         d("ntp_send_errors_total", "NTP datagrams that could not be sent."),
		packet:        packetCounters(d),
		statsStart:    d("ntp_statistics_start_time_seconds", "When the NTP packet counters started (/ntp/statistics/discontinuity-time), Unix seconds."),
	}
}

func msToSeconds(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p / 1e3
}

func (c *ntpCollector) collect(e *exposition) {
	st := c.ag.State()
	if s := st.GetNtp().GetStatus(); s != nil {
		synced := 0.0
		if s.ClockState == gen.NtpagentNtp_Ntp_Status_ClockState_synchronized {
			synced = 1
		}
		e.add(c.synced, synced)
		if synced == 0 && s.UnsyncReason != gen.NtpagentNtp_UnsyncReason_UNSET {
			e.add(c.unsynced, 1, s.UnsyncReason.String())
		}
		e.add(c.stratum, float64(s.GetStratum()))
		e.add(c.offset, msToSeconds(s.Offset))
		e.add(c.jitter, msToSeconds(s.Jitter))
		e.add(c.freq, s.GetFrequency())
		e.add(c.rootDelay, msToSeconds(s.RootDelay))
		e.add(c.rootDisp, msToSeconds(s.RootDispersion))
		if s.VirtualClockOffset != nil {
			e.add(c.virtualOffset, msToSeconds(s.VirtualClockOffset))
		}
	}
	for k, s := range st.GetNtp().GetSessions().Session {
		mode := "unknown"
		switch s.LocalMode {
		case gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_active:
			mode = "symmetric-active"
		case gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_passive:
			mode = "symmetric-passive"
		case gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_client:
			mode = "client"
		}
		l := []string{k.Address, k.VpnInstance, strconv.Itoa(int(k.Port)), mode}
		e.add(c.peerOffset, msToSeconds(s.Offset), l...)
		e.add(c.peerDelay, msToSeconds(s.Delay), l...)
		e.add(c.peerJitter, msToSeconds(s.Jitter), l...)
		e.add(c.peerReach, float64(s.GetReach()), l...)
		e.add(c.peerStratum, float64(s.GetStratum()), l...)
		e.add(c.peerSent, float64(s.GetPacketsSent()), l...)
		e.add(c.peerRcvd, float64(s.GetPacketsReceived()), l...)
		e.add(c.peerAuthErr, float64(s.GetAuthenticationErrors()), l...)
	}
	if s := st.GetNtp().GetStatistics(); s != nil {
		for _, p := range c.packet {
			if v := p.value(s); v != nil {
				e.add(p.desc, float64(*v))
			}
		}
		if t, err := time.Parse(time.RFC3339Nano, s.GetDiscontinuityTime()); err == nil {
			e.add(c.statsStart, float64(t.UnixNano())/1e9)
		}
	}
	ts := c.ag.TransportStats()
	e.add(c.rx, float64(ts.Received))
	e.add(c.dropped, float64(ts.Dropped))
	e.add(c.tx, float64(ts.Sent))
	e.add(c.txErr, float64(ts.SendErrors))
}

// netconfCollector reads the NETCONF server's RFC 6022 statistics at each
// scrape: the counters ietf-netconf-monitoring shows, nothing counted twice.
type netconfCollector struct {
	stats func() netconf.Statistics

	inSessions, inBadHellos, dropped, inRPCs, inBadRPCs, outErrors, outNotifs, rpcs, start metricDesc
}

func newNETCONFCollector(stats func() netconf.Statistics) *netconfCollector {
	d := func(name, help string, labels ...string) metricDesc {
		return newDesc("ntpagent_netconf_"+name, help, labels...)
	}
	return &netconfCollector{
		stats:       stats,
		inSessions:  d("sessions_total", "NETCONF sessions started (RFC 6022 in-sessions)."),
		inBadHellos: d("bad_hellos_total", "NETCONF sessions refused for a bad client hello (RFC 6022 in-bad-hellos)."),
		dropped:     d("dropped_sessions_total", "NETCONF sessions ended without close-session or kill-session, idle timeouts included (RFC 6022 dropped-sessions)."),
		inRPCs:      d("rpcs_total", "NETCONF messages received after the hello (RFC 6022 in-rpcs)."),
		inBadRPCs:   d("bad_rpcs_total", "NETCONF messages that were not a valid rpc (RFC 6022 in-bad-rpcs)."),
		outErrors:   d("rpc_errors_total", "rpc-error elements sent (RFC 6022 out-rpc-errors)."),
		outNotifs:   d("notifications_total", "Notifications sent (RFC 6022 out-notifications)."),
		rpcs:        d("operation_rpcs_total", "Valid rpcs by operation (unknown operations as \"other\").", "operation"),
		start:       d("start_time_seconds", "When the NETCONF server started (RFC 6022 netconf-start-time), Unix seconds."),
	}
}

func (c *netconfCollector) collect(e *exposition) {
	st := c.stats()
	ctr := func(d metricDesc, v uint64, labels ...string) { e.add(d, float64(v), labels...) }
	ctr(c.inSessions, st.InSessions)
	ctr(c.inBadHellos, st.InBadHellos)
	ctr(c.dropped, st.DroppedSessions)
	ctr(c.inRPCs, st.InRPCs)
	ctr(c.inBadRPCs, st.InBadRPCs)
	ctr(c.outErrors, st.OutRPCErrors)
	ctr(c.outNotifs, st.OutNotifications)
	for op, n := range st.RPCs {
		ctr(c.rpcs, n, op)
	}
	e.add(c.start, float64(st.StartTime.UnixNano())/1e9)
}

// metricsHandler serves /metrics: the NTP state, the NETCONF server's
// statistics and the Go runtime's and the process's metrics, read at each
// scrape, in Prometheus's text format.
func metricsHandler(ag *agent.Agent, nc *netconf.Server) http.Handler {
	ntp, ncs := newNTPCollector(ag), newNETCONFCollector(nc.Statistics)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		var e exposition
		ntp.collect(&e)
		ncs.collect(&e)
		e.addRuntime()
		e.addProcess()
		w.Header().Set("Content-Type", expositionContentType)
		e.write(w)
	})
	return mux
}
