package netio

import (
	"errors"
	"net/netip"
	"testing"
)

func TestPickSource(t *testing.T) {
	eth := interfaceInfo{name: "eth1", index: 3, up: true, addrs: []netip.Addr{
		mustAddr("169.254.7.7"), mustAddr("198.18.0.1"), mustAddr("198.18.0.9"),
		mustAddr("fe80::1"), mustAddr("fd00::1"), mustAddr("2001:db8::1"),
	}}
	onlyLL := interfaceInfo{name: "eth2", up: true, addrs: []netip.Addr{mustAddr("169.254.1.1"), mustAddr("fe80::2")}}
	down := eth
	down.up = false
	lo := interfaceInfo{name: "lo", up: true, addrs: []netip.Addr{mustAddr("127.0.0.1"), mustAddr("::1")}}
	tests := []struct {
		name string
		ifc  interfaceInfo
		peer string
		want string
		err  error
	}{
		{"IPv4 peer: first IPv4 address, skipping link-local", eth, "198.18.5.5", "198.18.0.1", nil},
		{"IPv4-mapped peer counts as IPv4", eth, "::ffff:198.18.5.5", "198.18.0.1", nil},
		{"IPv4 link-local peer may use a link-local source", eth, "169.254.9.9", "169.254.7.7", nil},
		{"IPv6 peer: global scope first (ULA is global scope)", eth, "2001:db8::99", "fd00::1", nil},
		{"link-local IPv6 peer: link-local source zoned to the interface", eth, "fe80::99", "fe80::1%eth1", nil},
		{"only link-local: no IPv4 source for a global peer", onlyLL, "198.18.0.2", "", ErrNoUsableAddress},
		{"only link-local: no IPv6 source for a global peer", onlyLL, "fd00::2", "", ErrNoUsableAddress},
		{"down interface", down, "198.18.5.5", "", ErrInterfaceDown},
		{"loopback peer may use ::1", lo, "::1", "::1", nil},
		{"no IPv6 global address on lo", lo, "2001:db8::1", "", ErrNoUsableAddress},
		{"no link-local on lo", lo, "fe80::1", "", ErrNoUsableAddress},
		{"invalid peer", eth, "", "", ErrInvalidAddress},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var peer netip.Addr
			if tc.peer != "" {
				peer = mustAddr(tc.peer)
			}
			got, err := pickSource(tc.ifc, peer)
			if tc.err != nil {
				var se *SourceError
				if !errors.Is(err, tc.err) || !errors.As(err, &se) || se.Interface != tc.ifc.name || se.Reason == "" {
					t.Fatalf("pickSource = %v, %v; want *SourceError for %s wrapping %v", got, err, tc.ifc.name, tc.err)
				}
				return
			}
			if err != nil || got != mustAddr(tc.want) {
				t.Fatalf("pickSource = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestSourceErrorText(t *testing.T) {
	_, err := SourceAddress("ntpnosuch0", mustAddr("fd00::1"))
	if err == nil || err.Error() != `source-interface ntpnosuch0 (IPv6): no such interface` {
		t.Fatalf("error text %q", err)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
