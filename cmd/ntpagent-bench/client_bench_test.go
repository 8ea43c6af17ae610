//go:build linux

package main

import (
	"context"
	"testing"
)

// BenchmarkClientGetConfig100 times the bench client itself (SSH, framing,
// reply check) against the in-process fake server holding 100 peers: the
// ceiling of what the client can measure on this machine.
func BenchmarkClientGetConfig100(b *testing.B) {
	tg, _ := testTarget(b, "fake", true, true)
	s, err := dialHello(context.Background(), tg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(true)
	if err := commitEdit(s, editPeersRPC(0, 100, 6)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.RPC(getConfigRPC); err != nil {
			b.Fatal(err)
		}
	}
}
