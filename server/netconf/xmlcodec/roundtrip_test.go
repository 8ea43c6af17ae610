package xmlcodec

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
)

// randomDevice builds a configuration that satisfies the module's must
// statements (so yanglint accepts it): minpoll ≤ maxpoll, IPv6 peers use
// version 4, unsync leaves together, key ids that exist.
func randomDevice(r *rand.Rand) *gen.Device {
	d := &gen.Device{}
	nt := d.GetOrCreateNtp()
	var keys []uint32
	if r.Intn(2) == 0 {
		a := nt.GetOrCreateAuthentication()
		if r.Intn(2) == 0 {
			a.SetEnable(r.Intn(2) == 0)
		}
		for i := 0; i < r.Intn(4); i++ {
			id := uint32(1 + r.Intn(1000))
			k := a.GetOrCreateKey(id)
			k.SetMode(gen.E_NtpagentNtp_Ntp_Authentication_Key_Mode(1 + r.Intn(5)))
			k.SetKeyValue(fmt.Sprintf("%%^%%#k%d&<x>%%^%%#", r.Intn(99)))
			if r.Intn(2) == 0 {
				k.SetTrusted(r.Intn(2) == 0)
			}
			keys = append(keys, id)
		}
	}
	if r.Intn(2) == 0 {
		u := nt.GetOrCreateUnsync()
		u.SetMaxPollInterval(uint8(3 + r.Intn(15)))
		u.SetDecStep(uint8(1 + r.Intn(14)))
	}
	for _, af := range []gen.E_NtpagentNtp_AddressFamily{gen.NtpagentNtp_AddressFamily_ipv4, gen.NtpagentNtp_AddressFamily_ipv6} {
		if r.Intn(2) == 0 {
			s := nt.GetOrCreateSourceInterface(af)
			s.SetInterface(fmt.Sprintf("eth%d", r.Intn(4)))
			if r.Intn(2) == 0 {
				s.SetVpnInstance("vrf" + fmt.Sprint(r.Intn(3)))
			}
		}
	}
	for i := 0; i < r.Intn(12); i++ {
		var addr string
		v6 := false
		switch r.Intn(3) {
		case 0:
			addr = fmt.Sprintf("10.%d.%d.%d", r.Intn(256), r.Intn(256), 1+r.Intn(254))
		case 1:
			addr = fmt.Sprintf("2001:db8::%x", 1+r.Intn(0xfff))
			v6 = true
		default:
			addr = fmt.Sprintf("ntp%d.example.net", r.Intn(50))
		}
		vpn := "_public_"
		if r.Intn(3) == 0 {
			vpn = "blue"
		}
		p := nt.GetOrCreateUnicastPeer(addr, vpn)
		if r.Intn(2) == 0 {
			if v6 {
				p.SetVersion(4)
			} else {
				p.SetVersion(uint8(1 + r.Intn(4)))
			}
		}
		if r.Intn(2) == 0 {
			p.SetPort(uint16(1025 + r.Intn(60000)))
		}
		if len(keys) > 0 && r.Intn(2) == 0 {
			p.SetAuthenticationKeyid(keys[r.Intn(len(keys))])
		}
		if r.Intn(2) == 0 {
			p.SetSourceInterface("ge0-" + fmt.Sprint(r.Intn(9)))
		}
		if r.Intn(2) == 0 {
			p.SetPreferred(r.Intn(2) == 0)
		}
		if r.Intn(2) == 0 {
			p.SetPreempt(r.Intn(2) == 0)
		}
		lo := uint8(3 + r.Intn(15))
		hi := lo + uint8(r.Intn(int(18-lo)))
		switch r.Intn(3) {
		case 0:
			p.SetMinpoll(lo)
			p.SetMaxpoll(hi)
		case 1:
			if lo <= 10 {
				p.SetMinpoll(lo)
			}
		}
	}
	if r.Intn(2) == 0 {
		d.GetOrCreateSystem().SetSysname(fmt.Sprintf("edge-%d", r.Intn(100)))
	}
	return d
}

// TestRoundTripRandomTrees: for random configurations, the XML we write in
// every with-defaults mode decodes to a tree with the same effective
// content, the explicit form to the very same tree (checked against ygot's
// own RFC 7951 JSON), and every output is canonical.
func TestRoundTripRandomTrees(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for i := 0; i < 150; i++ {
		d := randomDevice(r)
		explicit := encodeString(t, d, EncodeOptions{ConfigOnly: true})
		back, err := DecodeConfig([]byte(explicit))
		if err != nil {
			t.Fatalf("tree %d: our output does not decode: %v\n%s", i, err, explicit)
		}
		j1, err1 := ygot.EmitJSON(d, &ygot.EmitJSONConfig{Format: ygot.RFC7951})
		j2, err2 := ygot.EmitJSON(back, &ygot.EmitJSONConfig{Format: ygot.RFC7951})
		if err1 != nil || err2 != nil || j1 != j2 {
			t.Fatalf("tree %d: decoded tree differs (%v, %v):\n%s\n%s", i, err1, err2, j1, j2)
		}
		for _, mode := range []WithDefaults{WDReportAll, WDTrim} {
			out := encodeString(t, d, EncodeOptions{WithDefaults: mode, ConfigOnly: true})
			b2, err := DecodeConfig([]byte(out))
			if err != nil {
				t.Fatalf("tree %d, %s: %v", i, mode, err)
			}
			if a, b := encodeString(t, d, EncodeOptions{WithDefaults: WDReportAll}), encodeString(t, b2, EncodeOptions{WithDefaults: WDReportAll}); a != b {
				t.Fatalf("tree %d, %s: effective configuration differs:\n%s\n%s", i, mode, a, b)
			}
		}
	}
}

// TestRandomTreesValidateWithYanglint runs yanglint over several random
// configurations in each with-defaults mode.
func TestRandomTreesValidateWithYanglint(t *testing.T) {
	bin := testtool.Require(t, "yanglint")
	r := rand.New(rand.NewSource(11))
	dir := t.TempDir()
	for i := 0; i < 8; i++ {
		d := randomDevice(r)
		for _, mode := range []WithDefaults{WDExplicit, WDReportAll, WDTrim} {
			f := filepath.Join(dir, fmt.Sprintf("t%d-%s.xml", i, mode))
			if err := os.WriteFile(f, []byte(encodeString(t, d, EncodeOptions{WithDefaults: mode, ConfigOnly: true})), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, yanglintArgs("config", f)...).CombinedOutput()
			if err != nil {
				b, _ := os.ReadFile(f)
				t.Errorf("yanglint rejects %s: %v\n%s\n%s", filepath.Base(f), err, out, b)
			}
		}
	}
}
