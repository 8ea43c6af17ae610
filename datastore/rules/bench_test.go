package rules

import (
	"fmt"
	"testing"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
)

func benchTree(n int) *gen.Device {
	d := &gen.Device{}
	key(d, 1, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5, "secret")
	for i := 0; i < n; i++ {
		p := peer(d, fmt.Sprintf("10.%d.%d.1", i/250, i%250), "_public_")
		p.Minpoll, p.Maxpoll, p.AuthenticationKeyid = ygot.Uint8(4), ygot.Uint8(8), ygot.Uint32(1)
		p.SourceInterface = ygot.String("eth0")
	}
	return d
}

func BenchmarkValidate1Peer(b *testing.B)     { benchValidate(b, 1) }
func BenchmarkValidate1000Peers(b *testing.B) { benchValidate(b, 1000) }

func benchValidate(b *testing.B, n int) {
	d := benchTree(n)
	b.ReportAllocs()
	for b.Loop() {
		if err := Validate(d, localNets); err != nil {
			b.Fatal(err)
		}
	}
}
