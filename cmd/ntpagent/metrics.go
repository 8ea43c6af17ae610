package main

import (
	"net/http"
	"strconv"

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
	peerOffset, peerDelay, peerJitter, peerReach, peerStratum  *prometheus.Desc
	peerSent, peerRcvd, peerAuthErr                            *prometheus.Desc
	rx, dropped, tx, txErr                                     *prometheus.Desc
}

func newNTPCollector(ag *agent.Agent) *ntpCollector {
	peer := []string{"address", "vpn_instance", "port", "mode"}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("ntpagent_"+name, help, labels, nil)
	}
	return &ntpCollector{
		ag:          ag,
		synced:      d("synchronized", "1 when the clock has a system peer."),
		stratum:     d("stratum", "Stratum of the device (16: unsynchronized)."),
		offset:      d("offset_seconds", "Combined offset of the clock from the system peer."),
		jitter:      d("jitter_seconds", "System jitter."),
		freq:        d("frequency_ppm", "Frequency correction of the disciplined clock."),
		rootDelay:   d("root_delay_seconds", "Round-trip delay to the primary reference."),
		rootDisp:    d("root_dispersion_seconds", "Dispersion to the primary reference."),
		peerOffset:  d("peer_offset_seconds", "Offset of a peer (clock filter).", peer...),
		peerDelay:   d("peer_delay_seconds", "Round-trip delay to a peer.", peer...),
		peerJitter:  d("peer_jitter_seconds", "Jitter of a peer.", peer...),
		peerReach:   d("peer_reach", "Reach register of a peer (8 bits).", peer...),
		peerStratum: d("peer_stratum", "Stratum of a peer.", peer...),
		peerSent:    d("peer_packets_sent_total", "Packets sent to a peer.", peer...),
		peerRcvd:    d("peer_packets_received_total", "Valid packets received from a peer.", peer...),
		peerAuthErr: d("peer_authentication_errors_total", "Packets from a peer that failed authentication.", peer...),
		rx:          d("ntp_datagrams_received_total", "NTP datagrams received by the sockets."),
		dropped:     d("ntp_datagrams_dropped_total", "NTP datagrams dropped because the engine fell behind."),
		tx:          d("ntp_datagrams_sent_total", "NTP datagrams sent."),
		txErr:       d("ntp_send_errors_total", "NTP datagrams that could not be sent."),
	}
}

func (c *ntpCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.synced, c.stratum, c.offset, c.jitter, c.freq, c.rootDelay, c.rootDisp,
		c.peerOffset, c.peerDelay, c.peerJitter, c.peerReach, c.peerStratum, c.peerSent, c.peerRcvd, c.peerAuthErr,
		c.rx, c.dropped, c.tx, c.txErr} {
		ch <- d
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
		g(c.stratum, float64(s.GetStratum()))
		g(c.offset, msToSeconds(s.Offset))
		g(c.jitter, msToSeconds(s.Jitter))
		g(c.freq, s.GetFrequency())
		g(c.rootDelay, msToSeconds(s.RootDelay))
		g(c.rootDisp, msToSeconds(s.RootDispersion))
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
