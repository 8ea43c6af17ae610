package netio

import (
	"errors"
	"fmt"
)

// Reasons a vpn-instance or a source-interface cannot be used. Test them with
// errors.Is on the *VPNError / *SourceError returned.
var (
	ErrUnknownVPN      = errors.New("no Linux device and no network namespace of that name")
	ErrBadVPNName      = errors.New("not a usable vpn-instance name")
	ErrNoSuchInterface = errors.New("no such interface")
	ErrInterfaceDown   = errors.New("interface is down")
	ErrNoUsableAddress = errors.New("no usable address")
	ErrNoSocket        = errors.New("no socket for this address family or source address")
	ErrClosed          = errors.New("transport closed")
	ErrAmbiguousSource = errors.New("both a source address and a source-interface given")
	ErrPayloadTooLarge = errors.New("payload larger than the receive buffer of a peer of ours")
	ErrInvalidAddress  = errors.New("invalid address")
)

// VPNError says why a vpn-instance could not be used.
type VPNError struct {
	VPN string
	// Op is what was attempted: "resolve", "enter namespace", "bind device", ….
	Op  string
	Err error
}

func (e *VPNError) Error() string {
	return fmt.Sprintf("vpn-instance %q: %s: %v", e.VPN, e.Op, e.Err)
}

func (e *VPNError) Unwrap() error { return e.Err }

// SourceError says why a source-interface gives no source address; a session
// shows it as its last error.
type SourceError struct {
	Interface string
	// Family is "IPv4" or "IPv6", the family of the peer.
	Family string
	// Reason is a short human text ("no global-scope IPv6 address").
	Reason string
	Err    error
}

func (e *SourceError) Error() string {
	return fmt.Sprintf("source-interface %s (%s): %s", e.Interface, e.Family, e.Reason)
}

func (e *SourceError) Unwrap() error { return e.Err }
