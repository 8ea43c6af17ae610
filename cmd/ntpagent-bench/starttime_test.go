//go:build linux

package main

import (
	"context"
	"encoding/xml"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The startup file is one <config> of the bench's peers, each with the
// leaves the edits set.
func TestStartupXMLHoldsTheBenchPeers(t *testing.T) {
	var cfg struct {
		XMLName xml.Name `xml:"urn:ietf:params:xml:ns:netconf:base:1.0 config"`
		Peers   []struct {
			Address string `xml:"address"`
			Minpoll int    `xml:"minpoll"`
		} `xml:"urn:ntpagent:yang:ntpagent-ntp ntp>unicast-peer"`
	}
	if err := xml.Unmarshal([]byte(startupXML(1000)), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Peers) != 1000 || cfg.Peers[0].Address != peerAddress(0) || cfg.Peers[999].Address != peerAddress(999) || cfg.Peers[5].Minpoll != 6 {
		t.Errorf("%d peers, first %+v", len(cfg.Peers), cfg.Peers[:min(len(cfg.Peers), 1)])
	}
}

// A start is timed until the server's Unix socket accepts, and every
// started server is stopped: here the test binary itself plays the server.
func TestStartTimeUntilTheSocketAccepts(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	rs, err := RunStartTime(context.Background(), StartTimeConfig{
		Name: "helper", Socket: sock, Runs: 2, Dir: dir,
		Command: []string{"env", "BENCH_HELPER_UNIX=" + sock, os.Args[0], "-test.run=^TestHelperUnixServer$"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Server != "helper" || rs[0].Measure != mStart1000 || rs[0].N != 2 || rs[0].Median <= 0 {
		t.Errorf("results %+v", rs)
	}
	if _, err := net.Dial("unix", sock); err == nil {
		t.Error("the last server still accepts: it was not stopped")
	}
	_, err = RunStartTime(context.Background(), StartTimeConfig{Name: "x", Socket: sock, Runs: 1, Command: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "exited before") {
		t.Errorf("a server that exits at once: %v", err)
	}
}

// TestHelperUnixServer is the server of TestStartTimeUntilTheSocketAccepts
// when run with BENCH_HELPER_UNIX; otherwise it does nothing.
func TestHelperUnixServer(t *testing.T) {
	path := os.Getenv("BENCH_HELPER_UNIX")
	if path == "" {
		t.Skip("only as the helper server of TestStartTimeUntilTheSocketAccepts")
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	select {
	case <-stop:
	case <-time.After(30 * time.Second):
	}
	ln.Close()
	os.Exit(0)
}
