package ietfntp_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// loadPeers configures n public peers natively and commits.
func loadPeers(b *testing.B, c interface{ OK(string) }, n int) {
	var cfg strings.Builder
	for i := range n {
		fmt.Fprintf(&cfg, `<unicast-peer><address>10.%d.%d.1</address><vpn-instance>_public_</vpn-instance><minpoll>6</minpoll></unicast-peer>`,
			i/250, i%250+1)
	}
	c.OK(edit("candidate", `<ntp xmlns="`+nsNative+`">`+cfg.String()+`</ntp>`))
	c.OK(`<commit/>`)
}

// BenchmarkGetConfig1000 reads 1,000 peers natively and through ietf-ntp
// (a subtree filter naming each model) on an in-memory NETCONF session.
func BenchmarkGetConfig1000(b *testing.B) {
	f := newFixture(b, nil)
	c := f.session(b, false)
	loadPeers(b, c, 1000)
	for _, m := range []struct{ name, ns string }{{"native", nsNative}, {"ietf-ntp", nsIETF}} {
		b.Run(m.name, func(b *testing.B) {
			rpc := getConfig("running", `<ntp xmlns="`+m.ns+`"/>`)
			if got := c.RPC(rpc); strings.Count(got, "<address>") != 1000 {
				b.Fatalf("%s: %d peers in the reply", m.name, strings.Count(got, "<address>"))
			}
			b.ResetTimer()
			for b.Loop() {
				c.RPC(rpc)
			}
		})
	}
}

// BenchmarkEditCommit1000 changes one peer's minpoll among 1,000 and
// commits, natively and through ietf-ntp.
func BenchmarkEditCommit1000(b *testing.B) {
	f := newFixture(b, nil)
	c := f.session(b, false)
	loadPeers(b, c, 1000)
	for _, m := range []struct {
		name string
		cfg  func(minpoll int) string
	}{
		{"native", func(p int) string {
			return fmt.Sprintf(`<ntp xmlns="%s"><unicast-peer><address>10.0.1.1</address><vpn-instance>_public_</vpn-instance><minpoll>%d</minpoll></unicast-peer></ntp>`, nsNative, p)
		}},
		{"ietf-ntp", func(p int) string {
			return fmt.Sprintf(`<ntp xmlns="%s"><unicast-configuration><address>10.0.1.1</address><type>uc-peer</type><minpoll>%d</minpoll></unicast-configuration></ntp>`, nsIETF, p)
		}},
	} {
		b.Run(m.name, func(b *testing.B) {
			i := 0
			var editTime time.Duration
			for b.Loop() {
				i++
				t0 := time.Now()
				c.OK(edit("candidate", m.cfg(4+i%2)))
				editTime += time.Since(t0)
				c.OK(`<commit/>`)
			}
			b.ReportMetric(float64(editTime.Nanoseconds())/float64(i), "edit-ns/op")
		})
	}
}
