package main

import (
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// --virtual-clock-offset and --virtual-clock-frequency-error: defaults
// zero, the settings file's keys are the flags' names, a flag wins, and a
// frequency error beyond ±500 ppm, a non-number or either setting with the
// system clock is refused.
func TestSettingsVirtualClockStart(t *testing.T) {
	s, err := parseSettings(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.VirtualClockOffset != 0 || s.VirtualClockFrequencyError != 0 {
		t.Errorf("defaults: offset %v frequency error %v", s.VirtualClockOffset, s.VirtualClockFrequencyError)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "ntpagent.conf")
	os.WriteFile(file, []byte("virtual-clock-offset = 50ms\nvirtual-clock-frequency-error = -20.5\n"), 0o600)
	s, err = parseSettings([]string{"--config", file, "--virtual-clock-offset", "-2s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.VirtualClockOffset != -2*time.Second || s.VirtualClockFrequencyError != -20.5 {
		t.Errorf("file with a flag overriding it: offset %v frequency error %v", s.VirtualClockOffset, s.VirtualClockFrequencyError)
	}
	for _, bad := range [][]string{
		{"--virtual-clock-frequency-error", "500.5"},
		{"--virtual-clock-frequency-error", "-1000"},
		{"--virtual-clock-frequency-error", "NaN"},
		{"--virtual-clock-frequency-error", "+Inf"},
		{"--virtual-clock-frequency-error", "fast"},
		{"--virtual-clock-offset", "50"},
		{"--clock", "system", "--virtual-clock-offset", "1ms"},
		{"--clock", "system", "--virtual-clock-frequency-error", "1"},
	} {
		if _, err := parseSettings(bad, io.Discard); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// The daemon started with its virtual clock 50 ms ahead of the host's and
// 100 ppm fast shows that offset in /ntp/status/virtual-clock-offset and
// in /metrics, sees it grow at 100 µs per second, and serves that clock:
// a client's reply carries the host's time plus 50 ms. Started without the
// settings, the offset reads zero.
func TestDaemonVirtualClockOffset(t *testing.T) {
	s := testSettings(t)
	s.MetricsListen = "127.0.0.1:0"
	s.VirtualClockOffset = 50 * time.Millisecond
	s.VirtualClockFrequencyError = 100
	d := startDaemonWith(t, s, timeService{}) // the virtual clock on the host's clocks
	offset := func() time.Duration {
		st := d.started.Agent.State().GetNtp().GetStatus()
		if st.VirtualClockOffset == nil {
			t.Fatal("no virtual-clock-offset in /ntp/status")
		}
		return time.Duration(math.Round(*st.VirtualClockOffset * 1e6))
	}
	first := offset()
	// 100 ppm for the few seconds the daemon took to start: well under 1 ms.
	if first < 50*time.Millisecond || first > 51*time.Millisecond {
		t.Fatalf("virtual-clock-offset %v, want 50 ms and a little more", first)
	}
	time.Sleep(time.Second)
	grown := offset() - first
	// At least 1 s passed between the readings; a loaded machine may make
	// it longer, never shorter.
	if grown < 100*time.Microsecond || grown > 300*time.Microsecond {
		t.Errorf("virtual-clock-offset grew %v in about 1 s, want 100 µs/s at +100 ppm", grown)
	}
	m := scrapeMetrics(t, d.started.Metrics)
	got, ok := m["ntpagent_virtual_clock_offset_seconds"]
	if now := offset(); !ok || got < first.Seconds() || got > now.Seconds() {
		t.Errorf("ntpagent_virtual_clock_offset_seconds = %v (present %v), want between %v and %v", got, ok, first.Seconds(), now.Seconds())
	}

	// The served clock: T2 and T3 of a reply are the host's time + 50 ms.
	ntpAddr, err := netip.ParseAddrPort(d.started.NTP)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := packet.Header{Version: 4, Mode: packet.ModeClient, TransmitTime: packet.TimestampFromTime(time.Now())}
	before := time.Now()
	if _, err := c.WriteToUDPAddrPort(h.AppendHeader(nil), ntpAddr); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := c.ReadFromUDPAddrPort(buf)
	after := time.Now()
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	reply, err := packet.Unmarshal(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	served := reply.ReceiveTime.Time(before)
	if served.Before(before.Add(first)) || served.After(after.Add(first+time.Millisecond)) {
		t.Errorf("reply's receive time %v, want between %v and %v (host time + 50 ms)", served, before.Add(first), after.Add(first+time.Millisecond))
	}

	plain := testSettings(t)
	p := startDaemonWith(t, plain, timeService{})
	st := p.started.Agent.State().GetNtp().GetStatus()
	if st.VirtualClockOffset == nil || math.Abs(*st.VirtualClockOffset) > 0.1 {
		t.Errorf("virtual-clock-offset of a clock started on the host's time: %v ms, want about 0", st.VirtualClockOffset)
	}
}
