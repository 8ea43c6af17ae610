package server

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkGetConfig100PeersOverSSH is one get-config of 100 peers through
// the whole stack: SSH channel, framing, parsing, encoding (base:1.1).
func BenchmarkGetConfig100PeersOverSSH(b *testing.B) {
	a := agentWith100Peers(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := dialNCBench(b, a)
		for pb.Next() {
			if r := c.RPC(`<get-config><source><running/></source></get-config>`); !strings.Contains(r, "10.0.0.100") {
				b.Error(r)
				return
			}
		}
	})
}

// agentWith100Peers starts an agent whose running holds 100 peers.
func agentWith100Peers(b *testing.B) *testAgent {
	a := startAgent(b)
	c := dialNCBench(b, a)
	var cfg strings.Builder
	cfg.WriteString(`<edit-config><target><running/></target><config><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">`)
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&cfg, `<unicast-peer><address>10.0.%d.%d</address><vpn-instance>_public_</vpn-instance><minpoll>4</minpoll></unicast-peer>`, i/250, i%250+1)
	}
	cfg.WriteString(`</ntp></config></edit-config>`)
	if r := c.RPC(cfg.String()); !strings.Contains(r, "<ok/>") {
		b.Fatal(r)
	}
	return a
}

// BenchmarkGetConfigSubtree100PeersOverSSH is the bench's latency sample:
// one session, one get-config at a time, selecting ntpagent-ntp's /ntp with
// a subtree filter, 100 peers, through SSH, framing and parsing (the
// reply is kept per stored tree and filter after the first).
func BenchmarkGetConfigSubtree100PeersOverSSH(b *testing.B) {
	a := agentWith100Peers(b)
	c := dialNCBench(b, a)
	for b.Loop() {
		if r := c.RPC(`<get-config><source><running/></source><filter type="subtree"><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"/></filter></get-config>`); !strings.Contains(r, "10.0.0.100") {
			b.Fatal(r)
		}
	}
}
