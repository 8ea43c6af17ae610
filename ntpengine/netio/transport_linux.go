package netio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntpagent/ntpagent/internal/vpninstance"
)

// Transport owns the NTP sockets of every vpn-instance in use and delivers
// what they receive on one bounded channel. Safe for concurrent use.
type Transport struct {
	cfg    Config
	listen []netip.AddrPort
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	recv   chan Received
	wg     sync.WaitGroup
	once   sync.Once

	mu     sync.Mutex // guards vpns and closed; held while opening sockets
	vpns   map[string]*vpnSockets
	closed bool

	received, dropped, truncated, stamped atomic.Uint64
	sent, sendErrors, readErrors          atomic.Uint64
	responded, txReports                  atomic.Uint64
}

type vpnSockets struct {
	inst  vpnInstance
	socks []*Socket
}

// NewTransport opens the sockets of the vpn-instances in cfg.Open and starts
// reading them. The transport stops when ctx is done or Close is called.
func NewTransport(ctx context.Context, cfg Config) (*Transport, error) {
	if len(cfg.Listen) == 0 {
		return nil, fmt.Errorf("netio: no listen address: %w", ErrInvalidAddress)
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.NetnsDir == "" {
		cfg.NetnsDir = DefaultNetnsDir
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	listen, err := expandListen(cfg.Listen)
	if err != nil {
		return nil, err
	}
	t := &Transport{
		cfg:    cfg,
		listen: listen,
		log:    cfg.Logger.With("component", "netio"),
		recv:   make(chan Received, cfg.QueueLen),
		vpns:   make(map[string]*vpnSockets),
	}
	t.ctx, t.cancel = context.WithCancel(ctx)
	for _, name := range cfg.Open {
		if err := t.OpenVPN(name); err != nil {
			t.cancel()
			t.shutdown()
			return nil, err
		}
	}
	go func() {
		<-t.ctx.Done()
		t.shutdown()
	}()
	return t, nil
}

// expandListen validates the listen addresses and adds 0.0.0.0:P for [::]:P.
func expandListen(in []netip.AddrPort) ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	seen := map[netip.AddrPort]bool{}
	add := func(ap netip.AddrPort) {
		if !seen[ap] {
			seen[ap] = true
			out = append(out, ap)
		}
	}
	for _, ap := range in {
		if !ap.IsValid() || ap.Addr().IsMulticast() {
			return nil, fmt.Errorf("netio: listen address %v: %w", ap, ErrInvalidAddress)
		}
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		if ap.Addr() == netip.IPv6Unspecified() {
			add(netip.AddrPortFrom(netip.IPv4Unspecified(), ap.Port()))
		}
		add(ap)
	}
	return out, nil
}

// Received is the channel of received datagrams. It is closed after Close.
func (t *Transport) Received() <-chan Received { return t.recv }

// Stats returns the counters.
func (t *Transport) Stats() Stats {
	return Stats{
		Received: t.received.Load(), Responded: t.responded.Load(), Dropped: t.dropped.Load(), Truncated: t.truncated.Load(),
		KernelStamped: t.stamped.Load(), TxReports: t.txReports.Load(), Sent: t.sent.Load(), SendErrors: t.sendErrors.Load(),
		ReadErrors: t.readErrors.Load(),
	}
}

// OpenVPN opens the listen sockets in vpn-instance name, if not yet open, so
// that packets of peers there (ephemeral symmetric-passive ones too) are
// received. What the name means is decided here: _public_ (or "")
// is the default namespace; a net device of that name in the current
// namespace (a Linux VRF, or any device) binds the sockets to it with
// SO_BINDTODEVICE; otherwise the network namespace NetnsDir/NAME holds them.
// Anything else is a *VPNError wrapping ErrUnknownVPN. On error nothing is
// left open.
func (t *Transport) OpenVPN(name string) error {
	_, err := t.vpn(name)
	return err
}

// vpn returns the open vpn-instance, opening it first if needed.
func (t *Transport) vpn(name string) (*vpnSockets, error) {
	if name == "" {
		name = vpninstance.Public
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	if v := t.vpns[name]; v != nil {
		return v, nil
	}
	inst, err := resolveVPN(name, t.cfg.NetnsDir)
	if err != nil {
		return nil, err
	}
	if inst.kind == vpnDevice {
		// Linux refuses a second socket on a port unless both sockets set
		// SO_REUSEADDR, even if one is bound to a device.
		if pub := t.vpns[vpninstance.Public]; pub != nil {
			for _, s := range pub.socks {
				if err := s.setReuseAddr(); err != nil {
					return nil, &VPNError{VPN: name, Op: "share port with _public_", Err: err}
				}
			}
		}
	}
	// The same holds the other way round: _public_ opened after a device.
	reuse := false
	if inst.kind == vpnPublic {
		for _, other := range t.vpns {
			reuse = reuse || other.inst.kind == vpnDevice
		}
	}
	v := &vpnSockets{inst: inst}
	for _, ap := range t.listen {
		s, err := openSocket(inst, ap, reuse)
		if err != nil {
			for _, s := range v.socks {
				s.Close()
			}
			return nil, err
		}
		v.socks = append(v.socks, s)
	}
	for _, s := range v.socks {
		t.wg.Add(1)
		go t.readLoop(s)
	}
	t.vpns[name] = v
	t.log.Info("vpn-instance open", "vpn", name, "kind", inst.kind.String(), "sockets", len(v.socks))
	return v, nil
}

// CloseVPN closes the sockets of vpn-instance name (no peer uses it any
// more). Closing one that is not open does nothing.
func (t *Transport) CloseVPN(name string) {
	if name == "" {
		name = vpninstance.Public
	}
	t.mu.Lock()
	v := t.vpns[name]
	delete(t.vpns, name)
	t.mu.Unlock()
	if v != nil {
		for _, s := range v.socks {
			s.Close()
		}
	}
}

// LocalAddrs returns the bound addresses of vpn-instance name's sockets
// (nil if it is not open).
func (t *Transport) LocalAddrs(name string) []netip.AddrPort {
	if name == "" {
		name = vpninstance.Public
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	v := t.vpns[name]
	if v == nil {
		return nil
	}
	out := make([]netip.AddrPort, len(v.socks))
	for i, s := range v.socks {
		out[i] = s.local
	}
	return out
}

// SourceAddress returns the address of interface ifname in vpn-instance vpn
// that packets to peer leave from (the error is a *SourceError or a
// *VPNError). It looks the interface up inside the vpn's namespace.
func (t *Transport) SourceAddress(vpn, ifname string, peer netip.Addr) (netip.Addr, error) {
	v, err := t.vpn(vpn)
	if err != nil {
		return netip.Addr{}, err
	}
	var addr netip.Addr
	err = v.inst.do(func() error {
		var err error
		addr, err = SourceAddress(ifname, peer)
		return err
	})
	return addr, err
}

// Send sends payload to dst in vpn-instance vpn (opening it if needed),
// leaving from src. Errors: *VPNError, *SourceError, or a wrapped ErrNoSocket
// / socket error; nothing is sent then.
func (t *Transport) Send(payload []byte, dst netip.AddrPort, src Source, vpn string) error {
	_, err := t.send(payload, dst, src, vpn, false)
	return err
}

// SendStamped is Send, also asking the kernel for the datagram's transmit
// timestamp where it can: it says when the datagram left (Sent), and with
// TxKernel the report comes later on the Received channel (Transmit set).
func (t *Transport) SendStamped(payload []byte, dst netip.AddrPort, src Source, vpn string) (Sent, error) {
	return t.send(payload, dst, src, vpn, true)
}

func (t *Transport) send(payload []byte, dst netip.AddrPort, src Source, vpn string, txStamp bool) (Sent, error) {
	s, to, from, err := t.route(dst, src, vpn)
	if err == nil {
		var sent Sent
		if sent, err = s.send(payload, to, from, txStamp && s.txStamp); err == nil {
			t.sent.Add(1)
			return sent, nil
		}
	}
	t.sendErrors.Add(1)
	return Sent{}, err
}

// route finds the socket, destination and source address of a datagram
// to dst in vpn-instance vpn, leaving from src.
func (t *Transport) route(dst netip.AddrPort, src Source, vpn string) (*Socket, netip.AddrPort, netip.Addr, error) {
	if src.Addr.IsValid() && src.Interface != "" {
		return nil, dst, netip.Addr{}, ErrAmbiguousSource
	}
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	if !dst.IsValid() {
		return nil, dst, netip.Addr{}, fmt.Errorf("send to %v: %w", dst, ErrInvalidAddress)
	}
	v, err := t.vpn(vpn)
	if err != nil {
		return nil, dst, netip.Addr{}, err
	}
	from := src.Addr.Unmap()
	if src.Interface != "" || needsZoneIndex(dst.Addr()) {
		// Interface names mean something only inside the vpn's namespace:
		// resolve them there, to an address and an interface index.
		err := v.inst.do(func() error {
			if src.Interface != "" {
				a, err := SourceAddress(src.Interface, dst.Addr())
				if err != nil {
					return err
				}
				from = a
				if dst.Addr().IsLinkLocalUnicast() && dst.Addr().Zone() == "" {
					dst = netip.AddrPortFrom(dst.Addr().WithZone(src.Interface), dst.Port())
				}
			}
			if needsZoneIndex(dst.Addr()) {
				ifc, err := net.InterfaceByName(dst.Addr().Zone())
				if err != nil {
					return fmt.Errorf("zone of %v: %w: %w", dst, ErrNoSuchInterface, err)
				}
				dst = netip.AddrPortFrom(dst.Addr().WithZone(strconv.Itoa(ifc.Index)), dst.Port())
			}
			return nil
		})
		if err != nil {
			return nil, dst, netip.Addr{}, err
		}
	}
	s, err := pickSocket(v.socks, dst.Addr(), from)
	return s, dst, from, err
}

// needsZoneIndex tells whether a's zone is an interface name (not an index).
func needsZoneIndex(a netip.Addr) bool {
	z := a.Zone()
	if z == "" {
		return false
	}
	_, err := strconv.Atoi(z)
	return err != nil
}

// pickSocket chooses the socket of dst's family that can send from src: one
// bound to src itself, else one bound to a wildcard address (which sets the
// source per datagram); with no src, a wildcard socket, else the first.
func pickSocket(socks []*Socket, dst, src netip.Addr) (*Socket, error) {
	var wildcard, first *Socket
	for _, s := range socks {
		if s.Is4() != dst.Is4() {
			continue
		}
		la := s.local.Addr()
		if src.IsValid() && la.WithZone("") == src.WithZone("") {
			return s, nil
		}
		if la.IsUnspecified() && wildcard == nil {
			wildcard = s
		}
		if first == nil {
			first = s
		}
	}
	switch {
	case wildcard != nil:
		return wildcard, nil
	case first != nil && !src.IsValid():
		return first, nil
	case first != nil:
		return nil, fmt.Errorf("send from %v: only %v is listened on: %w", src, first.local, ErrNoSocket)
	default:
		return nil, fmt.Errorf("send to %v: no %s listen address: %w", dst, familyName(dst), ErrNoSocket)
	}
}

// readLoop reads s until it is closed, delivering without ever blocking.
// With a Responder, it offers each read to it first and sends the replies
// in one batch before the next read.
func (t *Transport) readLoop(s *Socket) {
	defer t.wg.Done()
	b := newBatch(t.cfg.BatchSize)
	const maxConsecutiveErrors = 100
	errs := 0
	for {
		err := s.readLoop(b, func(fd uintptr, truncated int) bool {
			errs = 0
			t.handleBatch(s, fd, b, truncated)
			return true
		}, t.deliver)
		if err == nil || errors.Is(err, net.ErrClosed) || t.ctx.Err() != nil {
			return
		}
		t.readErrors.Add(1)
		errs++
		if errs >= maxConsecutiveErrors {
			t.log.Error("socket keeps failing, reader stops", "vpn", s.vpn, "local", s.local, "err", err)
			return
		}
		t.log.Warn("read error", "vpn", s.vpn, "local", s.local, "err", err)
		select {
		case <-t.ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// handleBatch answers (Responder) and delivers the datagrams of one read.
func (t *Transport) handleBatch(s *Socket, fd uintptr, b *batch, truncated int) {
	if truncated > 0 {
		t.truncated.Add(uint64(truncated))
	}
	resp := t.cfg.Responder
	handled := b.handled[:len(b.rs)]
	clear(handled)
	if resp != nil && len(b.rs) > 0 {
		b.out.reset(s.Is4())
		resp.Respond(b.rs, handled, b.out)
		answered := 0
		for _, h := range handled {
			if h {
				answered++
			}
		}
		t.responded.Add(uint64(answered))
		if b.out.n > 0 {
			if f, ok := resp.(ReplyFinisher); ok {
				f.FinishReplies(b.out)
			}
			sent, failed, err := s.sendReplies(fd, b.out)
			t.sent.Add(uint64(sent))
			if failed > 0 {
				t.sendErrors.Add(uint64(failed))
				t.log.Debug("replies not sent", "vpn", s.vpn, "local", s.local, "failed", failed, "err", err)
			}
		}
	}
	for i := range b.rs {
		if handled[i] {
			continue
		}
		r := b.rs[i]
		r.Data = append([]byte(nil), r.Data...) // the receiver owns it
		t.deliver(r)
	}
}

// deliver puts r on the Received channel without blocking (dropped and
// counted when it is full).
func (t *Transport) deliver(r Received) {
	select {
	case t.recv <- r:
		switch {
		case r.Transmit:
			t.txReports.Add(1)
		case r.KernelTimestamp:
			t.received.Add(1)
			t.stamped.Add(1)
		default:
			t.received.Add(1)
		}
	default:
		t.dropped.Add(1)
	}
}

// Close closes every socket, waits for the readers to stop and closes the
// Received channel.
func (t *Transport) Close() error {
	t.cancel()
	t.shutdown()
	return nil
}

func (t *Transport) shutdown() {
	t.once.Do(func() {
		t.mu.Lock()
		t.closed = true
		vpns := t.vpns
		t.vpns = map[string]*vpnSockets{}
		t.mu.Unlock()
		for _, v := range vpns {
			for _, s := range v.socks {
				s.Close()
			}
		}
		t.wg.Wait()
		close(t.recv)
	})
}

// TxTimestamping says how the transmit times of datagrams are taken: TxKernel
// when every open socket has kernel transmit timestamps, else TxUserSpace.
func (t *Transport) TxTimestamping() TxTimestamping {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, v := range t.vpns {
		for _, s := range v.socks {
			if !s.txStamp {
				return TxUserSpace
			}
		}
	}
	return TxKernel
}
