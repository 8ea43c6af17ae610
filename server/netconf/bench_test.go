package netconf

import (
	"fmt"
	"strings"
	"testing"
)

// benchSession is a session on a server whose running holds peers unicast
// peers, and the edit-config that made them.
func benchSession(b *testing.B, peers int) (*pipeClient, string) {
	srv := newTestServer(b)
	c := startChunkedSession(b, srv, 1)
	var cfg strings.Builder
	cfg.WriteString(`<edit-config><target><running/></target><config><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">`)
	for i := 0; i < peers; i++ {
		fmt.Fprintf(&cfg, `<unicast-peer><address>10.0.%d.%d</address><vpn-instance>_public_</vpn-instance><minpoll>4</minpoll><maxpoll>8</maxpoll></unicast-peer>`, i/250, i%250+1)
	}
	cfg.WriteString(`</ntp></config></edit-config>`)
	if r := c.rpc(cfg.String()); !strings.Contains(r, "<ok/>") {
		b.Fatal(r)
	}
	return c, cfg.String()
}

func BenchmarkGetConfig100Peers(b *testing.B) {
	c, _ := benchSession(b, 100)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := c.rpc(`<get-config><source><running/></source></get-config>`); !strings.Contains(r, "10.0.0.100") {
			b.Fatal(r[:200])
		}
	}
}

// A subtree filter is XML inside the message: the path of a filtered read.
func BenchmarkGetConfigSubtreeFilterOnePeerOf100(b *testing.B) {
	c, _ := benchSession(b, 100)
	const get = `<get-config><source><running/></source><filter type="subtree"><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">` +
		`<unicast-peer><address>10.0.0.50</address></unicast-peer></ntp></filter></get-config>`
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := c.rpc(get); !strings.Contains(r, "10.0.0.50") || strings.Contains(r, "10.0.0.51") {
			b.Fatal(r)
		}
	}
}

// An edit-config whose <config> holds 100 peers (the configuration they
// already have): parsing the message and its configuration, applying it
// to a copy of the candidate and finding nothing changed.
func BenchmarkEditConfig100Peers(b *testing.B) {
	c, edit := benchSession(b, 100)
	edit = strings.Replace(edit, "<running/>", "<candidate/>", 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := c.rpc(edit); !strings.Contains(r, "<ok/>") {
			b.Fatal(r)
		}
	}
}
