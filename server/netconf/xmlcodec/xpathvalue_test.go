package xmlcodec

import (
	"strings"
	"testing"
)

// RFC 7950 §9.13 and RFC 6991 xpath1.0: the prefixes in an XPath value
// (a NACM rule's path) are bound where the value is written, so a client
// (libyang: yanglint) can resolve them; a prefix inside a quoted literal
// or an axis is none.
func TestXPathValuesDeclareTheirPrefixesRFC7950(t *testing.T) {
	cfg := `<nacm xmlns="` + nsNACM + `"><rule-list><name>l</name><rule><name>r</name>` +
		`<path xmlns:ntpa="` + nsNTP + `">/ntpa:ntp/ntpa:unicast-peer[ntpa:address='2001:db8::1'][ntpa:vpn-instance='_public_']</path><action>deny</action></rule>` +
		`<rule><name>s</name><path>/ntpagent-system:system</path><action>deny</action></rule></rule-list></nacm>`
	out := encodeString(t, mustDecode(t, cfg), EncodeOptions{ConfigOnly: true})
	for _, want := range []string{
		`<path xmlns:ntpa="` + nsNTP + `">/ntpa:ntp/ntpa:unicast-peer[ntpa:address='2001:db8::1'][ntpa:vpn-instance='_public_']</path>`,
		`<path xmlns:ntpagent-system="urn:ntpagent:yang:ntpagent-system">/ntpagent-system:system</path>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "xmlns:db8=") {
		t.Errorf("a quoted literal's colon became a prefix:\n%s", out)
	}
	yanglint(t, "config", out)
}
