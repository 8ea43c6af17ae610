package huawei

import (
	"fmt"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/server/netconf/xmlcodec"
)

func thousandPeers() *gen.Device {
	d := &gen.Device{}
	n := d.GetOrCreateNtp()
	for i := range 1000 {
		p := n.GetOrCreateUnicastPeer(fmt.Sprintf("127.1.%d.%d", i/250, i%250+1), "_public_")
		p.Minpoll, p.Maxpoll = ptr(uint8(6)), ptr(uint8(10))
	}
	return d
}

func BenchmarkProject1000Peers(b *testing.B) {
	d := thousandPeers()
	for b.Loop() {
		project(d)
	}
}

// BenchmarkGetConfigThroughView1000Peers is what a get-config through the
// view costs beyond the protocol: projection and encoding; the native
// encoding of the same tree beside it.
func BenchmarkGetConfigThroughView1000Peers(b *testing.B) {
	d := thousandPeers()
	v, err := New()
	if err != nil {
		b.Fatal(err)
	}
	native, err := xmlcodec.Native()
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	b.Run("native", func(b *testing.B) {
		for b.Loop() {
			buf, _ = native.AppendEncode(buf[:0], d, xmlcodec.EncodeOptions{})
		}
	})
	b.Run("huawei", func(b *testing.B) {
		for b.Loop() {
			buf, _ = v.Schema().AppendEncode(buf[:0], v.Project(d), xmlcodec.EncodeOptions{})
		}
	})
}

func BenchmarkApply1000Peers(b *testing.B) {
	d := thousandPeers()
	v := project(d)
	for b.Loop() {
		if err := apply(v, d); err != nil {
			b.Fatal(err)
		}
	}
}
