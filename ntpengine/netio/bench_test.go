//go:build linux

package netio

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/vpninstance"
)

// echo answers every datagram on srv from the address it came to, until
// srv is closed.
func echo(srv *Transport) {
	for r := range srv.Received() {
		_ = srv.Send(r.Data, r.Src, Source{Addr: r.Dst.Addr()}, r.VPN)
	}
}

func benchPair(b *testing.B, resp Responder) (client, server *Transport, dst netip.AddrPort) {
	b.Helper()
	mk := func(listen netip.AddrPort, resp Responder) *Transport {
		tr, err := NewTransport(context.Background(), Config{Listen: []netip.AddrPort{listen}, Open: []string{vpninstance.Public},
			Logger: quietLogger, Responder: resp})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { tr.Close() })
		return tr
	}
	server = mk(netip.AddrPortFrom(netip.IPv4Unspecified(), 0), resp)
	client = mk(netip.AddrPortFrom(lo4, 0), nil)
	if resp == nil {
		go echo(server)
	}
	return client, server, netip.AddrPortFrom(lo4, server.LocalAddrs(vpninstance.Public)[0].Port())
}

// BenchmarkLoopbackRoundTrip: one 48-byte datagram at a time, client →
// server → client over 127.0.0.1, through Send and the Received channel.
func BenchmarkLoopbackRoundTrip(b *testing.B) {
	client, _, dst := benchPair(b, nil)
	payload := make([]byte, 48)
	b.ResetTimer()
	for b.Loop() {
		if err := client.Send(payload, dst, Source{}, vpninstance.Public); err != nil {
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
	client, _, dst := benchPair(b, nil)
	pipelined(b, client, dst)
}

// pipelined sends b.N datagrams to dst keeping up to 32 in flight and
// waits for their echoes.
func pipelined(b *testing.B, client *Transport, dst netip.AddrPort) {
	payload := make([]byte, 48)
	const window = 32
	inFlight, done := 0, 0
	b.ResetTimer()
	for i := 0; done < b.N; {
		for inFlight < window && i < b.N {
			if err := client.Send(payload, dst, Source{}, vpninstance.Public); err != nil {
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

// echoResponder answers every datagram on the reader's goroutine.
type echoResponder struct{}

func (echoResponder) Respond(in []Received, handled []bool, out *Replies) {
	for i, r := range in {
		handled[i] = out.Add(r.Data, r.Src, r.Dst.Addr())
	}
}

// BenchmarkLoopbackResponderPipelined is BenchmarkLoopbackPipelined with
// the server answering through a Responder (recvmmsg → sendmmsg on the
// reader's goroutine) instead of the channel and Send.
func BenchmarkLoopbackResponderPipelined(b *testing.B) {
	client, _, dst := benchPair(b, echoResponder{})
	pipelined(b, client, dst)
}
