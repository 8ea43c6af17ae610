package xmlcodec

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
)

// nmdaDevice is wdDevice with a second, learned session (an ephemeral
// symmetric-passive association: configured false) and a status.
func nmdaDevice(t testing.TB) *gen.Device {
	d := wdDevice(t)
	d.Ntp.Sessions.Session[gen.NtpagentNtp_Ntp_Sessions_Session_Key{Address: "10.0.0.1", VpnInstance: "_public_", Port: 123}].SetConfigured(true)
	s := d.Ntp.Sessions.GetOrCreateSession("10.9.9.9", "_public_", 123)
	s.SetConfigured(false)
	s.SetStratum(3)
	d.Ntp.GetOrCreateStatus().SetStratum(3)
	return d
}

// testOrigins are the origins the server uses for <operational>.
func testOrigins(annotate bool, keep func(string) bool) *Origins {
	return &Origins{Config: "intended", Default: "default", State: "system", Annotate: annotate, Keep: keep,
		Entry: func(e any) string {
			if s, ok := e.(*gen.NtpagentNtp_Ntp_Sessions_Session); ok && !s.GetConfigured() {
				return "learned"
			}
			return ""
		}}
}

const (
	ntpNS   = `<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">`
	ntpOrNS = `<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp" xmlns:or="urn:ietf:params:xml:ns:yang:ietf-origin"`
	keys1   = `<address>10.0.0.1</address><vpn-instance>_public_</vpn-instance>`
)

func TestGetDataOptionsRFC8526(t *testing.T) {
	d := nmdaDevice(t)
	peerKeys := func(a string) string {
		return `<unicast-peer><address>` + a + `</address><vpn-instance>_public_</vpn-instance></unicast-peer>`
	}
	for _, c := range []struct {
		name       string
		opt        EncodeOptions
		want, omit []string
	}{
		{"RFC8526 3.1.1 config-filter false: state nodes with their ancestors and list keys, no configuration",
			EncodeOptions{StateOnly: true},
			[]string{ntpNS + `<status><stratum>3</stratum></status><sessions><session>` + keys1 + `<port>123</port><local-mode>symmetric-active</local-mode><configured>true</configured>`},
			[]string{"unicast-peer", "minpoll", "<system"}},
		{"RFC8526 3.1.1 max-depth 1: the top-level nodes only",
			EncodeOptions{MaxDepth: 1},
			[]string{ntpNS + `</ntp>`},
			[]string{"unicast-peer", "status"}},
		{"RFC8526 3.1.1 max-depth 2: list entries keep their keys",
			EncodeOptions{MaxDepth: 2},
			[]string{ntpNS + peerKeys("10.0.0.1") + peerKeys("10.0.0.2") + peerKeys("10.0.0.3") + `<status></status><sessions></sessions></ntp>`},
			[]string{"minpoll", "stratum"}},
		{"RFC8526 3.1.1 max-depth counts from the node a subtree filter selects",
			EncodeOptions{MaxDepth: 1, Subtree: []byte(`<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><unicast-peer/></ntp>`)},
			[]string{ntpNS + peerKeys("10.0.0.1") + peerKeys("10.0.0.2") + peerKeys("10.0.0.3") + `</ntp>`},
			[]string{"minpoll", "status"}},
		{"RFC8342 5.3.4 with-origin: configuration in use is intended, state the device makes system, a learned association learned",
			EncodeOptions{Origins: testOrigins(true, nil)},
			[]string{ntpOrNS + ` or:origin="or:intended"><unicast-peer>` + keys1 + `<minpoll>4</minpoll>`,
				`<status or:origin="or:system"><stratum>3</stratum>`,
				`<sessions or:origin="or:system"><session>` + keys1,
				`<session or:origin="or:learned"><address>10.9.9.9</address>`},
			[]string{`<stratum or:origin`, `<address or:origin`}},
		{"RFC8342 5.3.4 with-origin and report-all: a default not set has origin default",
			EncodeOptions{Origins: testOrigins(true, nil), WithDefaults: WDReportAll},
			[]string{`<unicast-peer><address>10.0.0.3</address><vpn-instance>_public_</vpn-instance><version or:origin="or:default">4</version>`,
				`<unicast-peer>` + keys1 + `<version or:origin="or:default">4</version><port or:origin="or:default">123</port><preferred or:origin="or:default">false</preferred><minpoll>4</minpoll>`},
			nil},
		{"RFC8526 3.1.1 origin-filter default: configuration of other origins is left out, state is not filtered",
			EncodeOptions{Origins: testOrigins(false, func(o string) bool { return o == "default" }), WithDefaults: WDReportAll},
			[]string{`<unicast-peer>` + keys1 + `<version>4</version><port>123</port><preferred>false</preferred><maxpoll>10</maxpoll>`,
				`<status><stratum>3</stratum></status>`},
			[]string{`<minpoll>4</minpoll>`, "or:origin"}},
		{"RFC8526 3.1.1 origin-filter intended without defaults: list entries with nothing left are not written",
			EncodeOptions{Origins: testOrigins(false, func(o string) bool { return o == "intended" })},
			[]string{`<unicast-peer>` + keys1 + `<minpoll>4</minpoll></unicast-peer>`},
			[]string{`10.0.0.3`}},
	} {
		got := encodeString(t, d, c.opt)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: lacks\n  %s\nin\n  %s", c.name, w, got)
			}
		}
		for _, o := range c.omit {
			if strings.Contains(got, o) {
				t.Errorf("%s: holds %s:\n  %s", c.name, o, got)
			}
		}
	}
}

// The get-data options validate as data with yanglint (origin annotations
// included, with ietf-origin loaded).
func TestGetDataOutputValidatesWithYanglint(t *testing.T) {
	d := nmdaDevice(t)
	for _, opt := range []EncodeOptions{
		{Origins: testOrigins(true, nil), WithDefaults: WDReportAll},
		{StateOnly: true, Origins: testOrigins(true, nil)},
		{MaxDepth: 3},
	} {
		yanglintNMDA(t, encodeString(t, d, opt))
	}
}

// yanglintNMDA validates a get-data reply's content as <get> data with our
// modules and ietf-origin loaded (the or:origin annotation is checked).
func yanglintNMDA(t *testing.T, data string) {
	t.Helper()
	bin := testtool.Require(t, "yanglint")
	f := filepath.Join(t.TempDir(), "data.xml")
	if err := os.WriteFile(f, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, yanglintArgs("get", f, "../../../yang/ietf/ietf-origin@2018-02-14.yang")...).CombinedOutput()
	if err != nil {
		t.Errorf("yanglint -t get rejects our output: %v\n%s\n%s", err, out, data)
	}
}

// The codec's share of get-data on <operational> with origin, against
// BenchmarkGetConfig1000Peers: every element's origin is decided, and
// written where it changes.
func BenchmarkGetData1000PeersWithOrigin(b *testing.B) {
	benchEncode(b, 1000, EncodeOptions{ConfigOnly: true, Origins: testOrigins(true, nil)})
}

func BenchmarkGetData1000PeersOriginFilter(b *testing.B) {
	benchEncode(b, 1000, EncodeOptions{Origins: testOrigins(false, func(o string) bool { return o == "intended" })})
}
