//go:build linux

package netio

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// echo answers every datagram on srv from the address it came to, until
// srv is closed.
func echo(srv *Transport) {
	for r := range srv.Received() {
		_ = srv.Send(r.Data, r.Src, Source{Addr: r.Dst.Addr()}, r.VPN)
	}
}

func benchPair(b *testing.B) (client, server *Transport, dst netip.AddrPort) {
	b.Helper()
	mk := func(listen netip.AddrPort) *Transport {
		tr, err := NewTransport(context.Background(), Config{Listen: []netip.AddrPort{listen}, Open: []string{PublicVPN}, Logger: quietLogger})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { tr.Close() })
		return tr
	}
	server = mk(netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
	client = mk(netip.AddrPortFrom(lo4, 0))
	go echo(server)
	return client, server, netip.AddrPortFrom(lo4, server.LocalAddrs(PublicVPN)[0].Port())
}

// BenchmarkLoopbackRoundTrip: one 48-byte datagram at a time, client →
// server → client over 127.0.0.1, through Send and the Received channel.
func BenchmarkLoopbackRoundTrip(b *testing.B) {
	client, _, dst := benchPair(b)
	payload := make([]byte, 48)
	b.ResetTimer()
	for b.Loop() {
		if err := client.Send(payload, dst, Source{}, PublicVPN); err != nil {
			b.Fatal(err)
		}
		select {
		case <-client.Received():
		case <-time.After(waitTimeout):
			b.Fatal("no reply")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
}

// BenchmarkLoopbackPipelined keeps up to 32 requests in flight, as a load
// generator does against a server.
func BenchmarkLoopbackPipelined(b *testing.B) {
	client, _, dst := benchPair(b)
	payload := make([]byte, 48)
	const window = 32
	inFlight, done := 0, 0
	b.ResetTimer()
	for i := 0; done < b.N; {
		for inFlight < window && i < b.N {
			if err := client.Send(payload, dst, Source{}, PublicVPN); err != nil {
				b.Fatal(err)
			}
			inFlight++
			i++
		}
		select {
		case <-client.Received():
			inFlight--
			done++
		case <-time.After(200 * time.Millisecond):
			// Lost datagrams (a full queue drops): count them as done.
			done += inFlight
			inFlight = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
}
