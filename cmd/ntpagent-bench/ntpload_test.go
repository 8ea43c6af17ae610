//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func reply(li, vn, mode, stratum byte, origin, xmt uint64) []byte {
	b := make([]byte, ntpHeaderLen)
	b[0] = li<<6 | vn<<3 | mode
	b[1] = stratum
	binary.BigEndian.PutUint64(b[24:32], origin)
	binary.BigEndian.PutUint64(b[40:48], xmt)
	return b
}

// RFC 5905 §7.3, §7.4 and §8: what a client accepts as a server's answer.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want replyKind
	}{
		{"§8 mode 4 from a synchronized server", reply(0, 4, 4, 2, 7, 9), replyValid},
		{"§7.3 LI 3: unsynchronized", reply(3, 4, 4, 2, 7, 9), replyUnsync},
		{"§7.3 stratum 16: unsynchronized", reply(0, 4, 4, 16, 7, 9), replyUnsync},
		{"§7.4 stratum 0: kiss-o'-death", reply(3, 4, 4, 0, 7, 9), replyKoD},
		{"§8 not mode 4", reply(0, 4, 3, 2, 7, 9), replyInvalid},
		{"version 3", reply(0, 3, 4, 2, 7, 9), replyInvalid},
		{"§8 origin 0 (bogus)", reply(0, 4, 4, 2, 0, 9), replyInvalid},
		{"§8 transmit 0", reply(0, 4, 4, 2, 7, 0), replyInvalid},
		{"short", reply(0, 4, 4, 2, 7, 9)[:47], replyInvalid},
	} {
		if got, _ := classify(tc.b); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	req := make([]byte, ntpHeaderLen)
	request(req, 42)
	if req[0] != 0x23 || binary.BigEndian.Uint64(req[40:48]) != 42 {
		t.Errorf("request header %x, transmit %d", req[0], binary.BigEndian.Uint64(req[40:48]))
	}
}

// responder answers every mode 3 request as a stratum-1 server, except that
// it ignores every dropEvery-th one (0: none) and sends garbage first when
// noise is set.
func responder(t *testing.T, dropEvery int, noise bool) *net.UDPAddr {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { c.Close(); wg.Wait() })
	wg.Go(func() {
		buf := make([]byte, 1024)
		for i := 1; i < 10_000_000; i++ {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if n < ntpHeaderLen || buf[0]&7 != 3 || dropEvery > 0 && i%dropEvery == 0 {
				continue
			}
			if noise {
				c.WriteToUDP([]byte("not ntp"), from)
			}
			c.WriteToUDP(reply(0, 4, 4, 1, binary.BigEndian.Uint64(buf[40:48]), 1), from)
		}
	})
	return c.LocalAddr().(*net.UDPAddr)
}

func TestNTPLoadCountsReplies(t *testing.T) {
	addr := responder(t, 0, false)
	r, err := RunNTPLoad(context.Background(), NTPLoad{Name: "fake", Addr: addr, Senders: 2, Window: 4,
		Warmup: 20 * time.Millisecond, Duration: 200 * time.Millisecond, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.N == 0 || r.Median <= 0 || r.Measure != mNTPRate || r.Server != "fake" {
		t.Fatalf("%+v", r)
	}
	if !strings.Contains(r.Note, "invalid 0") || !strings.Contains(r.Note, "KoD 0") {
		t.Errorf("note %q", r.Note)
	}
}

// Datagrams that answer nothing of ours are counted invalid, never valid;
// unanswered windows are counted lost and resent.
func TestNTPLoadInvalidAndLost(t *testing.T) {
	addr := responder(t, 3, true)
	r, err := RunNTPLoad(context.Background(), NTPLoad{Name: "fake", Addr: addr, Senders: 1, Window: 2,
		Duration: 300 * time.Millisecond, Timeout: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.Note, "invalid 0,") || strings.Contains(r.Note, "lost 0,") {
		t.Errorf("note %q: want invalid and lost counted", r.Note)
	}
}

func TestNTPLoadRefusesNonLoopback(t *testing.T) {
	_, err := RunNTPLoad(context.Background(), NTPLoad{Addr: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 123}, Senders: 1, Window: 1, Duration: time.Millisecond})
	if err == nil {
		t.Fatal("load against 192.0.2.1 accepted")
	}
}

// Servers take turns; one that never answers gets a 0/s result and an error,
// the other keeps its count.
func TestNTPRounds(t *testing.T) {
	good := responder(t, 0, false)
	silent, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	mk := func(name string, a *net.UDPAddr) NTPLoad {
		return NTPLoad{Name: name, Addr: a, Senders: 1, Window: 2, Duration: 200 * time.Millisecond, Timeout: 20 * time.Millisecond}
	}
	rs, err := RunNTPRounds(context.Background(), []NTPLoad{mk("good", good), mk("silent", silent.LocalAddr().(*net.UDPAddr))}, 2)
	if err == nil || !strings.Contains(err.Error(), "silent") {
		t.Fatalf("err = %v, want silent's", err)
	}
	if len(rs) != 2 || rs[0].Server != "good" || rs[0].N == 0 || rs[1].Server != "silent" || rs[1].N != 0 || rs[1].Measure != mNTPRate {
		t.Fatalf("%+v", rs)
	}
	if !strings.Contains(rs[0].Note, "in 2 rounds") {
		t.Errorf("note %q", rs[0].Note)
	}
}

// With a pid, the server's CPU time per reply is reported too (here the
// test process, which runs the fake server).
func TestNTPLoadCPUPerReply(t *testing.T) {
	addr := responder(t, 0, false)
	l := NTPLoad{Name: "fake", Addr: addr, Senders: 2, Window: 8, Warmup: 20 * time.Millisecond,
		Duration: 300 * time.Millisecond, Timeout: 50 * time.Millisecond, PID: os.Getpid()}
	rs, err := RunNTPRounds(context.Background(), []NTPLoad{l}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[1].Measure != mNTPCPU || rs[1].Unit != "ns" || rs[1].N != rs[0].N {
		t.Fatalf("%+v", rs)
	}
	// A reply over loopback costs this process well over 100 ns and far
	// under a second of CPU time.
	if rs[1].Median < 100 || rs[1].Median > 1e9 {
		t.Errorf("CPU time per reply %v ns", rs[1].Median)
	}
	l.PID = 1 << 30 // no such process
	if _, err := RunNTPRounds(context.Background(), []NTPLoad{l}, 1); err == nil || !strings.Contains(err.Error(), "cpu time") {
		t.Errorf("a missing process: err = %v", err)
	}
}

func TestParseStatTicks(t *testing.T) {
	// proc(5): pid (comm) state ppid pgrp session tty tpgid flags minflt
	// cminflt majflt cmajflt utime stime ...
	stat := "4242 (a b) c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 17 0 0 20 0 3 0\n"
	if n, err := parseStatTicks(stat); err != nil || n != 267 {
		t.Errorf("got %d, %v; want 267", n, err)
	}
	for _, bad := range []string{"", "4242 (x S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 0 0 0 0 0 u 17"} {
		if _, err := parseStatTicks(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A port where nothing listens answers with ICMP port unreachable, which a
// connected socket reports as ECONNREFUSED: the load counts its windows
// lost, resends them at the timeout's pace, and ends on time with an error.
func TestNTPLoadRefusedPort(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().(*net.UDPAddr)
	c.Close() // nothing listens there now
	r, err := RunNTPLoad(context.Background(), NTPLoad{Name: "closed", Addr: addr, Senders: 1, Window: 4,
		Duration: 300 * time.Millisecond, Timeout: 20 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "no valid reply") {
		t.Fatalf("err = %v", err)
	}
	if r.N != 0 || strings.Contains(r.Note, "lost 0,") || strings.Contains(r.Note, "sent 0,") {
		t.Errorf("result %+v: want nothing answered, windows sent and lost", r)
	}
}
