//go:build !linux

package netio

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"

	"github.com/ntpagent/ntpagent/internal/vpninstance"
)

// ErrUnsupportedOS is what the NTP transport answers on systems other than
// Linux: it is built on recvmmsg/sendmmsg, IP_PKTINFO, SO_TIMESTAMPING,
// SO_BINDTODEVICE and network namespaces. The rest of the program builds and
// its management plane runs there; the NTP service does not start.
var ErrUnsupportedOS = errors.New("the NTP transport needs Linux")

// Transport is the NTP transport; on this system NewTransport always fails.
type Transport struct{}

// NewTransport reports ErrUnsupportedOS.
func NewTransport(context.Context, Config) (*Transport, error) { return nil, ErrUnsupportedOS }

// Received never delivers on this system.
func (*Transport) Received() <-chan Received { return nil }

// Stats is zero on this system.
func (*Transport) Stats() Stats { return Stats{} }

// OpenVPN reports ErrUnsupportedOS.
func (*Transport) OpenVPN(string) error { return ErrUnsupportedOS }

// CloseVPN does nothing on this system.
func (*Transport) CloseVPN(string) {}

// LocalAddrs is empty on this system.
func (*Transport) LocalAddrs(string) []netip.AddrPort { return nil }

// SourceAddress reports ErrUnsupportedOS.
func (*Transport) SourceAddress(string, string, netip.Addr) (netip.Addr, error) {
	return netip.Addr{}, ErrUnsupportedOS
}

// Send reports ErrUnsupportedOS.
func (*Transport) Send([]byte, netip.AddrPort, Source, string) error { return ErrUnsupportedOS }

// SendStamped reports ErrUnsupportedOS.
func (*Transport) SendStamped([]byte, netip.AddrPort, Source, string) (Sent, error) {
	return Sent{}, ErrUnsupportedOS
}

// TxTimestamping is TxUserSpace on this system.
func (*Transport) TxTimestamping() TxTimestamping { return TxUserSpace }

// Close does nothing on this system.
func (*Transport) Close() error { return nil }

// Replies collects the replies to one read; on this system nothing is read.
type Replies struct{ bufs [][]byte }

// Len is the number of replies added.
func (r *Replies) Len() int { return len(r.bufs) }

// Buffer has no room on this system.
func (*Replies) Buffer() []byte { return nil }

// Add refuses every reply on this system.
func (*Replies) Add([]byte, netip.AddrPort, netip.Addr) bool { return false }

// MarkTxTimestamp does nothing on this system.
func (*Replies) MarkTxTimestamp() {}

// Payload is the payload of reply i.
func (r *Replies) Payload(i int) []byte { return r.bufs[i] }

// VPNInstance is a vpn-instance; on this system only the public one exists.
type VPNInstance struct{ name string }

// FindVPN finds the public vpn-instance (the host's own network); any other
// name gives a *VPNError wrapping ErrUnknownVPN.
func FindVPN(name, _ string) (VPNInstance, error) {
	if name == "" || name == vpninstance.Public {
		return VPNInstance{name: vpninstance.Public}, nil
	}
	return VPNInstance{}, &VPNError{VPN: name, Op: "resolve", Err: ErrUnknownVPN}
}

// Name is the vpn-instance's name.
func (v VPNInstance) Name() string { return v.name }

// Namespace is empty: the public instance is the host's own network.
func (VPNInstance) Namespace() string { return "" }

// Device is empty: the public instance binds to no device.
func (VPNInstance) Device() string { return "" }

// DialContext dials in the host's own network.
func (VPNInstance) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// ListenPacket listens in the host's own network.
func (v VPNInstance) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	return v.ListenPacketControl(ctx, network, address, nil)
}

// ListenPacketControl is ListenPacket with control run on the socket
// before it is bound.
func (VPNInstance) ListenPacketControl(ctx context.Context, network, address string, control func(network, address string, c syscall.RawConn) error) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: control}
	return lc.ListenPacket(ctx, network, address)
}
