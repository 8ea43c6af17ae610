package netconf

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
)

// benchOperational is a session on a server with 1,000 peers in running
// and a state provider that shows a session with its filter stages per
// peer, as the agent does.
func benchOperational(b *testing.B) *pipeClient {
	srv := newTestServerConfig(b, Config{State: func(d *gen.Device) {
		n := d.GetOrCreateNtp()
		n.GetOrCreateStatus().SetStratum(3)
		for i := 0; i < 1000; i++ {
			s := n.GetOrCreateSessions().GetOrCreateSession(fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), "_public_", 123)
			s.SetConfigured(true)
			s.SetReach(255)
			s.SetOffset(0.25)
			s.SetDelay(1.5)
			for st := uint8(0); st < 8; st++ {
				f := s.GetOrCreateFilter(st)
				f.SetOffset(0.25)
				f.SetDelay(1.5)
			}
		}
	}})
	c, _ := startPipeSession(b, srv, 1)
	if err := c.w.WriteMessage([]byte(helloBase11)); err != nil {
		b.Fatal(err)
	}
	c.r.SetChunked()
	c.w.SetChunked()
	var cfg strings.Builder
	cfg.WriteString(`<edit-config><target><running/></target><config><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">`)
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&cfg, `<unicast-peer><address>10.0.%d.%d</address><vpn-instance>_public_</vpn-instance><minpoll>4</minpoll><maxpoll>8</maxpoll></unicast-peer>`, i/250, i%250+1)
	}
	cfg.WriteString(`</ntp></config></edit-config>`)
	if r := c.rpc(cfg.String()); !strings.Contains(r, "<ok/>") {
		b.Fatal(r)
	}
	return c
}

func benchRPC(b *testing.B, rpc, want string) {
	c := benchOperational(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := c.rpc(rpc); !strings.Contains(r, want) {
			b.Fatal(r[:300])
		}
	}
}

// get-data of <operational> with origin against <get>, which returns the
// same data without origin; the configuration with origin against
// get-config (whose unfiltered replies are cached per stored tree).
func BenchmarkGet1000PeersWithState(b *testing.B) {
	benchRPC(b, `<get/>`, "10.0.3.250")
}

func BenchmarkGetDataOperationalOrigin1000Peers(b *testing.B) {
	benchRPC(b, wrapGetData("operational", "<with-origin/>"), "10.0.3.250")
}

func BenchmarkGetDataConfigOrigin1000Peers(b *testing.B) {
	benchRPC(b, wrapGetData("operational", "<config-filter>true</config-filter><with-origin/>"), "10.0.3.250")
}

func BenchmarkGetConfig1000PeersOverPipe(b *testing.B) {
	benchRPC(b, `<get-config><source><running/></source></get-config>`, "10.0.3.250")
}
