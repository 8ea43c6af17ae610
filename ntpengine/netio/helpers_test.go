//go:build linux

package netio

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/vpninstance"
	"golang.org/x/sys/unix"
)

// quietLogger keeps the transports' Info lines out of test output.
var quietLogger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))

// waitTimeout bounds every wait in these tests.
const waitTimeout = 5 * time.Second

func newTestTransport(t *testing.T, cfg Config) *Transport {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger
	}
	if cfg.Open == nil {
		cfg.Open = []string{vpninstance.Public}
	}
	tr, err := NewTransport(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewTransport(%+v): %v", cfg.Listen, err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// receive waits (bounded) for the next datagram.
func receive(t *testing.T, tr *Transport) Received {
	t.Helper()
	select {
	case r, ok := <-tr.Received():
		if !ok {
			t.Fatal("Received channel closed")
		}
		return r
	case <-time.After(waitTimeout):
		t.Fatalf("no datagram within %v", waitTimeout)
	}
	return Received{}
}

// localAddr returns the bound address of tr's socket of vpn with address a.
func localAddr(t *testing.T, tr *Transport, vpn string, a netip.Addr) netip.AddrPort {
	t.Helper()
	for _, ap := range tr.LocalAddrs(vpn) {
		if ap.Addr() == a {
			return ap
		}
	}
	t.Fatalf("no socket on %v in %q: %v", a, vpn, tr.LocalAddrs(vpn))
	return netip.AddrPort{}
}

// dropTxSockets closes the transmit sockets of tr's sockets in vpn, as if
// the process could not open them: stamped datagrams then leave from the
// sockets themselves.
func dropTxSockets(tr *Transport, vpn string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, s := range tr.vpns[vpn].socks {
		s.txMu.Lock()
		if s.txfd >= 0 {
			unix.Close(s.txfd)
			s.txfd = -1
		}
		s.txMu.Unlock()
	}
}
