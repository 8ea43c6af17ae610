package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// ntpEpoch is 1900-01-01 in Unix seconds (RFC 5905 §6).
const ntpEpoch = 2208988800

func request(b []byte, seq uint64) {
	clear(b)
	b[0] = 0<<6 | 4<<3 | 3 // LI 0, version 4, mode 3 (client)
	b[2] = 6               // poll
	b[3] = 0xec            // precision -20
	// The transmit timestamp: now, with a sequence number in the low
	// fraction bits so that every request is distinct.
	now := time.Now()
	sec := uint64(now.Unix()+ntpEpoch) << 32
	frac := (uint64(now.Nanosecond()) << 32) / 1e9
	binary.BigEndian.PutUint64(b[40:], sec|(frac&^0xffff)|(seq&0xffff))
}

func main() {
	target := flag.String("target", "127.0.0.1:10123", "server address")
	duration := flag.Duration("duration", 5*time.Second, "how long to measure")
	sockets := flag.Int("sockets", 4, "client sockets (one goroutine each)")
	window := flag.Int("window", 32, "requests in flight per socket")
	timeout := flag.Duration("timeout", 200*time.Millisecond, "a request unanswered this long is lost")
	flag.Parse()
	ap, err := netip.ParseAddrPort(*target)
	if err != nil || !(ap.Addr().IsLoopback() || ap.Addr().IsPrivate()) {
		fmt.Fprintln(os.Stderr, "ntpload: -target must be a loopback (or test namespace) address:port")
		os.Exit(2)
	}
	if *sockets < 1 || *sockets > 256 || *window < 1 || *window > 4096 || *duration <= 0 || *duration > 10*time.Minute {
		fmt.Fprintln(os.Stderr, "ntpload: -sockets 1..256, -window 1..4096, -duration up to 10m")
		os.Exit(2)
	}
	var replies, lost, bytes atomic.Uint64
	stop := time.Now().Add(*duration)
	var wg sync.WaitGroup
	errs := make(chan error, *sockets)
	for i := range *sockets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ap))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			req := make([]byte, 48)
			buf := make([]byte, 2048)
			seq := uint64(i) << 48
			send := func() error {
				seq++
				request(req, seq)
				_, err := c.Write(req)
				return err
			}
			inflight := 0
			for time.Now().Before(stop) {
				for inflight < *window {
					if err := send(); err != nil {
						errs <- err
						return
					}
					inflight++
				}
				c.SetReadDeadline(time.Now().Add(*timeout))
				n, err := c.Read(buf)
				if err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						lost.Add(uint64(inflight))
						inflight = 0
						continue
					}
					// ICMP port unreachable and the like: count and go on.
					lost.Add(1)
					inflight--
					continue
				}
				inflight--
				if n >= 48 && buf[0]&7 == 4 {
					replies.Add(1)
					bytes.Add(uint64(n))
				}
			}
		}()
	}
	start := time.Now()
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		fmt.Fprintln(os.Stderr, "ntpload:", err)
		os.Exit(1)
	default:
	}
	r := replies.Load()
	mean := 0.0
	if r > 0 {
		mean = float64(bytes.Load()) / float64(r)
	}
	fmt.Printf("target=%s replies_per_s=%.0f replies=%d lost=%d mean_reply_bytes=%.1f sockets=%d window=%d\n",
		*target, float64(r)/elapsed.Seconds(), r, lost.Load(), mean, *sockets, *window)
}
