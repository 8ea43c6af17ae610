package agent

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine"
	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// BenchmarkServerReplies measures client requests (mode 3) answered per
// second by a running agent on loopback, with 4 client sockets keeping 32
// requests each in flight. b.N is the number of replies. (The comparison
// with chronyd is `make bench`, with cmd/ntpagent-bench ntp.)
func BenchmarkServerReplies(b *testing.B) {
	a := startAgent(b, Options{Engine: ntpengine.Config{LocalStratum: 5, RateLimit: ntpengine.RateLimit{Interval: -1}}})
	const sockets, window = 4, 32
	per := b.N/sockets + 1
	req := ntpPacket(packet.ModeClient, 4, time.Time{}, time.Now())
	b.ResetTimer()
	var wg sync.WaitGroup
	for range sockets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(a.addr))
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			buf := make([]byte, 2048)
			inflight, got := 0, 0
			for got < per {
				for inflight < window {
					c.Write(req)
					inflight++
				}
				c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				if _, err := c.Read(buf); err != nil {
					inflight = 0
					continue
				}
				inflight--
				got++
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "replies/s")
}
