package main

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// TestMetricsNTPStatistics: /metrics exports /ntp/statistics as
// ntpagent_ntp_*_total counters, read at scrape time: two client requests,
// a datagram too short to be NTP and an oversized one move exactly their
// counters; the counters' start time is exported too.
func TestMetricsNTPStatistics(t *testing.T) {
	s := testSettings(t)
	s.MetricsListen = "127.0.0.1:0"
	d := startDaemon(t, s)
	ntpAddr, err := netip.ParseAddrPort(d.started.NTP)
	if err != nil {
		t.Fatal(err)
	}
	before := scrapeMetrics(t, d.started.Metrics)
	if before["ntpagent_ntp_statistics_start_time_seconds"] <= 0 {
		t.Errorf("start time %v", before["ntpagent_ntp_statistics_start_time_seconds"])
	}

	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 2048)
	for i := range 2 {
		h := packet.Header{Version: 4, Mode: packet.ModeClient, TransmitTime: packet.TimestampFromTime(time.Now())}
		if _, err := c.WriteToUDPAddrPort(h.AppendHeader(nil), ntpAddr); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
			t.Fatalf("request %d: no reply: %v", i, err)
		}
	}
	for _, b := range [][]byte{make([]byte, 20), make([]byte, 3000)} {
		if _, err := c.WriteToUDPAddrPort(b, ntpAddr); err != nil {
			t.Fatal(err)
		}
	}

	want := map[string]float64{
		"ntpagent_ntp_packets_received_total":        3,
		"ntpagent_ntp_packets_sent_total":            2,
		"ntpagent_ntp_client_requests_total":         2,
		"ntpagent_ntp_server_replies_total":          2,
		"ntpagent_ntp_kiss_of_death_sent_total":      0,
		"ntpagent_ntp_rate_limited_total":            0,
		"ntpagent_ntp_access_denied_total":           0,
		"ntpagent_ntp_bad_format_total":              1,
		"ntpagent_ntp_authentication_failures_total": 0,
		"ntpagent_ntp_bogus_or_duplicate_total":      0,
		"ntpagent_ntp_no_association_dropped_total":  0,
		"ntpagent_ntp_oversize_dropped_total":        1,
	}
	var after map[string]float64
	// The short datagram goes through the engine's queue: scrape until it
	// and the oversized one are counted.
	testtool.WaitFor(t, 10*time.Second, "the bad and the oversized datagram counted", func() bool {
		after = scrapeMetrics(t, d.started.Metrics)
		return after["ntpagent_ntp_bad_format_total"] > before["ntpagent_ntp_bad_format_total"] &&
			after["ntpagent_ntp_oversize_dropped_total"] > before["ntpagent_ntp_oversize_dropped_total"]
	})
	for name, delta := range want {
		b, okb := before[name]
		a, oka := after[name]
		if !okb || !oka || a-b != delta {
			t.Errorf("%s: %v -> %v (present %v, %v), want +%v", name, b, a, okb, oka, delta)
		}
	}
}
