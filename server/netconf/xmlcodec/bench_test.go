package xmlcodec

import (
	"fmt"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
)

// benchDevice has n peers with a few leaves each, a key and a sysname.
func benchDevice(n int) *gen.Device {
	d := &gen.Device{}
	nt := d.GetOrCreateNtp()
	for i := 0; i < n; i++ {
		p := nt.GetOrCreateUnicastPeer(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), "_public_")
		p.SetMinpoll(4)
		p.SetMaxpoll(10)
		p.SetPreferred(i == 0)
		p.SetSourceInterface("eth0")
	}
	k := nt.GetOrCreateAuthentication().GetOrCreateKey(1)
	k.SetMode(gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5)
	k.SetKeyValue("%^%#x%^%#")
	d.GetOrCreateSystem().SetSysname("bench")
	return d
}

func benchEncode(b *testing.B, n int, opt EncodeOptions) {
	d := benchDevice(n)
	buf, err := AppendEncode(nil, d, opt)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if buf, err = AppendEncode(buf[:0], d, opt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetConfig100Peers(b *testing.B)  { benchEncode(b, 100, EncodeOptions{ConfigOnly: true}) }
func BenchmarkGetConfig1000Peers(b *testing.B) { benchEncode(b, 1000, EncodeOptions{ConfigOnly: true}) }
func BenchmarkGetConfig1000PeersReportAll(b *testing.B) {
	benchEncode(b, 1000, EncodeOptions{ConfigOnly: true, WithDefaults: WDReportAll})
}

// The filters select one peer of a stored tree, as get-config's do (Frozen).
func BenchmarkSubtreeFilterOnePeerOf1000(b *testing.B) {
	benchEncode(b, 1000, EncodeOptions{ConfigOnly: true, Frozen: true, Subtree: []byte(ntp(`<unicast-peer><address>10.0.1.244</address><vpn-instance>_public_</vpn-instance></unicast-peer>`))})
}

// An address without its vpn-instance, one key of two: the subtree filter
// the key path of BenchmarkXPathOnePeerOf1000 is evaluated as.
func BenchmarkSubtreeFilterOneKeyOf1000(b *testing.B) {
	benchEncode(b, 1000, EncodeOptions{ConfigOnly: true, Frozen: true, Subtree: []byte(ntp(`<unicast-peer><address>10.0.1.244</address></unicast-peer>`))})
}

func BenchmarkXPathOnePeerOf1000(b *testing.B) {
	benchEncode(b, 1000, EncodeOptions{ConfigOnly: true, Frozen: true, XPath: "/n:ntp/n:unicast-peer[n:address='10.0.1.244']", Namespaces: map[string]string{"n": nsNTP}})
}

// The same node-set by the general XPath evaluator (the parentheses make it
// no key path).
func BenchmarkXPathGeneralOnePeerOf1000(b *testing.B) {
	benchEncode(b, 1000, EncodeOptions{ConfigOnly: true, Frozen: true, XPath: "(/n:ntp/n:unicast-peer[n:address='10.0.1.244'])", Namespaces: map[string]string{"n": nsNTP}})
}

func BenchmarkEditOnePeerWith1000(b *testing.B) {
	d := benchDevice(1000)
	edit := []byte(ntp(peer("10.0.1.244", `<minpoll>5</minpoll>`)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		t, err := ParseConfig(edit, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if err := t.Apply(d, "", StopOnError); err != nil {
			b.Fatal(err)
		}
	}
}
