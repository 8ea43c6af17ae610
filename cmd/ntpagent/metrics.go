package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ntpagent/ntpagent/agent"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/server/netconf"
)

// ntpCollector reads the agent's operational state at each scrape (the same
// values a NETCONF <get> shows) and the NTP transport counters.
type ntpCollector struct {
	ag *agent.Agent

	synced, stratum, offset, jitter, freq, rootDelay, rootDisp *prometheus.Desc
	unsynced                                                   *prometheus.Desc
	virtualOffset                                              *prometheus.Desc
	peerOffset, peerDelay, peerJitter, peerReach, peerStratum  *prometheus.Desc
	peerSent, peerRcvd, peerAuthErr                            *prometheus.Desc
	rx, dropped, tx, txErr                                     *prometheus.Desc
	// packet counts /ntp/statistics, one counter each; statsStart is
	// its discontinuity-time.
	packet     []statCounter
	statsStart *prometheus.Desc
}

// statCounter is one leaf of /ntp/statistics exported as a counter.
type statCounter struct {
	desc  *prometheus.Desc
	value func(*gen.NtpagentNtp_Ntp_Statistics) *uint64
}

type ntpStats = gen.NtpagentNtp_Ntp_Statistics

// packetCounters are the /ntp/statistics leaves exported as
// ntpagent_ntp_NAME_total (receive-queue-overflows is already
// ntpagent_ntp_datagrams_dropped_total, from the same transport counter).
func packetCounters(d func(name, help string, labels ...string) *prometheus.Desc) []statCounter {
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
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("ntpagent_"+name, help, labels, nil)
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

func (c *ntpCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.synced, c.unsynced, c.stratum, c.offset, c.jitter, c.freq, c.rootDelay, c.rootDisp, c.virtualOffset,
		c.peerOffset, c.peerDelay, c.peerJitter, c.peerReach, c.peerStratum, c.peerSent, c.peerRcvd, c.peerAuthErr,
		c.rx, c.dropped, c.tx, c.txErr, c.statsStart} {
		ch <- d
	}
	for _, p := range c.packet {
		ch <- p.desc
	}
}

func msToSeconds(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p / 1e3
}

func (c *ntpCollector) Collect(ch chan<- prometheus.Metric) {
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	ctr := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	st := c.ag.State()
	if s := st.GetNtp().GetStatus(); s != nil {
		synced := 0.0
		if s.ClockState == gen.NtpagentNtp_Ntp_Status_ClockState_synchronized {
			synced = 1
		}
		g(c.synced, synced)
		if synced == 0 && s.UnsyncReason != gen.NtpagentNtp_UnsyncReason_UNSET {
			g(c.unsynced, 1, s.UnsyncReason.String())
		}
		g(c.stratum, float64(s.GetStratum()))
		g(c.offset, msToSeconds(s.Offset))
		g(c.jitter, msToSeconds(s.Jitter))
		g(c.freq, s.GetFrequency())
		g(c.rootDelay, msToSeconds(s.RootDelay))
		g(c.rootDisp, msToSeconds(s.RootDispersion))
		if s.VirtualClockOffset != nil {
			g(c.virtualOffset, msToSeconds(s.VirtualClockOffset))
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
		g(c.peerOffset, msToSeconds(s.Offset), l...)
		g(c.peerDelay, msToSeconds(s.Delay), l...)
		g(c.peerJitter, msToSeconds(s.Jitter), l...)
		g(c.peerReach, float64(s.GetReach()), l...)
		g(c.peerStratum, float64(s.GetStratum()), l...)
		ctr(c.peerSent, float64(s.GetPacketsSent()), l...)
		ctr(c.peerRcvd, float64(s.GetPacketsReceived()), l...)
		ctr(c.peerAuthErr, float64(s.GetAuthenticationErrors()), l...)
	}
	if s := st.GetNtp().GetStatistics(); s != nil {
		for _, p := range c.packet {
			if v := p.value(s); v != nil {
				ctr(p.desc, float64(*v))
			}
		}
		if t, err := time.Parse(time.RFC3339Nano, s.GetDiscontinuityTime()); err == nil {
			g(c.statsStart, float64(t.UnixNano())/1e9)
		}
	}
	ts := c.ag.TransportStats()
	ctr(c.rx, float64(ts.Received))
	ctr(c.dropped, float64(ts.Dropped))
	ctr(c.tx, float64(ts.Sent))
	ctr(c.txErr, float64(ts.SendErrors))
}

// netconfCollector reads the NETCONF server's RFC 6022 statistics at each
// scrape: the counters ietf-netconf-monitoring shows, nothing counted twice.
type netconfCollector struct {
	stats func() netconf.Statistics

	inSessions, inBadHellos, dropped, inRPCs, inBadRPCs, outErrors, outNotifs, rpcs, start *prometheus.Desc
}

func newNETCONFCollector(stats func() netconf.Statistics) *netconfCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("ntpagent_netconf_"+name, help, labels, nil)
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

func (c *netconfCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.inSessions, c.inBadHellos, c.dropped, c.inRPCs, c.inBadRPCs, c.outErrors, c.outNotifs, c.rpcs, c.start} {
		ch <- d
	}
}

func (c *netconfCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	ctr := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
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
	ch <- prometheus.MustNewConstMetric(c.start, prometheus.GaugeValue, float64(st.StartTime.UnixNano())/1e9)
}

// metricsHandler serves /metrics: the NTP state, the NETCONF server's
// statistics and the Go runtime and process collectors.
func metricsHandler(ag *agent.Agent, nc *netconf.Server) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newNTPCollector(ag), newNETCONFCollector(nc.Statistics), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}
