package xmlcodec

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
)

// RFC 6243 report-all with EncodeOptions.Withheld (access control left
// nodes out, RFC 8341 §3.4.5): a withheld leaf or non-presence container
// gets no default, whatever the filter; the others still do.
func TestWithheldNodesGetNoDefaultRFC6243(t *testing.T) {
	d := wdDevice(t)
	p3 := d.Ntp.UnicastPeer[gen.NtpagentNtp_Ntp_UnicastPeer_Key{Address: "10.0.0.3", VpnInstance: "_public_"}]
	minpoll := fieldIndex(t, p3, "Minpoll")
	auth := fieldIndex(t, d.Ntp, "Authentication")
	withheld := func(parent uintptr, field int) bool {
		return (parent == reflect.ValueOf(p3).Pointer() && field == minpoll) || (parent == reflect.ValueOf(d.Ntp).Pointer() && field == auth)
	}
	for _, c := range []struct {
		name string
		opt  EncodeOptions
	}{
		{"report-all", EncodeOptions{WithDefaults: WDReportAll}},
		{"report-all-tagged", EncodeOptions{WithDefaults: WDReportAllTagged}},
		{"report-all, subtree filter", EncodeOptions{WithDefaults: WDReportAll, Subtree: []byte(ntp(`<unicast-peer/><authentication/>`))}},
		{"report-all, xpath filter", EncodeOptions{WithDefaults: WDReportAll, XPath: "/ntpa:ntp", Namespaces: map[string]string{"ntpa": nsNTP}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			without := encodeString(t, d, c.opt)
			c.opt.Withheld = withheld
			with := encodeString(t, d, c.opt)
			p3Of := func(s string) string {
				i := strings.Index(s, "<address>10.0.0.3</address>")
				if i < 0 {
					t.Fatalf("no peer 10.0.0.3 in %s", s)
				}
				return s[i : i+strings.Index(s[i:], "</unicast-peer>")]
			}
			if !strings.Contains(p3Of(without), "minpoll") || !strings.Contains(without, "<authentication") {
				t.Fatalf("report-all without Withheld fills no default: %s", without)
			}
			if strings.Contains(p3Of(with), "minpoll") || strings.Contains(with, "<authentication") {
				t.Errorf("a withheld node got its default: %s", with)
			}
			if !strings.Contains(p3Of(with), "maxpoll") {
				t.Errorf("the other defaults are gone: %s", with)
			}
		})
	}
}

func fieldIndex(t *testing.T, structPtr any, name string) int {
	t.Helper()
	f, ok := reflect.TypeOf(structPtr).Elem().FieldByName(name)
	if !ok {
		t.Fatalf("no field %s", name)
	}
	return f.Index[0]
}
