package xmlcodec

import (
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

func peerIn(addr, vpn, inner string) string {
	return `<unicast-peer><address>` + addr + `</address><vpn-instance>` + vpn + `</vpn-instance>` + inner + `</unicast-peer>`
}

// filterDevice: three public peers, one more 10.0.0.1 in VPN blue, a key,
// a sysname, and one session (state data).
func filterDevice(t testing.TB) *gen.Device {
	d := mustDecode(t, ntp(`<unsync><max-poll-interval>8</max-poll-interval><dec-step>2</dec-step></unsync>`+
		peer("10.0.0.1", `<minpoll>4</minpoll><maxpoll>6</maxpoll><authentication-keyid>7</authentication-keyid><preferred>true</preferred>`)+
		peerIn("10.0.0.1", "blue", `<minpoll>5</minpoll>`)+
		peer("2001:db8::1", `<source-interface>eth1</source-interface>`)+
		peer("ntp.example.net", `<port>1123</port><preempt>true</preempt>`)+
		`<authentication><enable>true</enable>`+key("7", `<mode>md5</mode><key-value>k</key-value>`)+`</authentication>`)+
		sys(`<sysname>edge-1</sysname>`))
	s := d.GetOrCreateNtp().GetOrCreateSessions().GetOrCreateSession("10.0.0.1", "_public_", 123)
	s.SetStratum(2)
	return d
}

const sessionXML = `<sessions><session><address>10.0.0.1</address><vpn-instance>_public_</vpn-instance><port>123</port><stratum>2</stratum></session></sessions>`

func TestSubtreeFilterRFC6241(t *testing.T) {
	d := filterDevice(t)
	p1 := peer("10.0.0.1", `<minpoll>4</minpoll><maxpoll>6</maxpoll><authentication-keyid>7</authentication-keyid><preferred>true</preferred>`)
	auth := `<authentication><enable>true</enable>` + key("7", `<mode>md5</mode><key-value>k</key-value>`) + `</authentication>`
	cases := []struct {
		name       string
		filter     string
		ns         map[string]string
		mode       WithDefaults
		configOnly bool
		want       string // config XML (canonicalized), or exact text when exact is set
		exact      bool
	}{
		{name: "RFC6241 6.4.2 an empty filter selects nothing", filter: "", want: "", exact: true},
		{name: "RFC6241 6.4.2 a filter of white space only selects nothing", filter: " \n\t ", want: "", exact: true},
		{name: "RFC6241 6.4.3 a selection node selects the entire subtree",
			filter: ntp(`<authentication/>`), want: ntp(auth)},
		{name: "RFC6241 6.4.3 a top-level selection node selects the whole module's data",
			filter: sys(``), want: sys(`<sysname>edge-1</sysname>`)},
		{name: "RFC6241 6.4.4 selecting one leaf of every list entry (keys come along)",
			filter: ntp(`<unicast-peer><address/></unicast-peer>`),
			want:   ntp(peer("10.0.0.1", ``) + peerIn("10.0.0.1", "blue", ``) + peer("2001:db8::1", ``) + peer("ntp.example.net", ``))},
		{name: "RFC6241 6.4.5 a content match node on the key selects the whole entry",
			filter: ntp(`<unicast-peer><address>ntp.example.net</address></unicast-peer>`),
			want:   ntp(peer("ntp.example.net", `<port>1123</port><preempt>true</preempt>`))},
		{name: "RFC6241 6.2.5 a content match on part of a key matches every entry with it",
			filter: ntp(`<unicast-peer><address>10.0.0.1</address></unicast-peer>`),
			want:   ntp(p1 + peerIn("10.0.0.1", "blue", `<minpoll>5</minpoll>`))},
		{name: "RFC6241 6.4.6 specific elements from a specific entry",
			filter: ntp(`<unicast-peer><address>10.0.0.1</address><vpn-instance>_public_</vpn-instance><minpoll/><preferred/></unicast-peer>`),
			want:   ntp(peer("10.0.0.1", `<minpoll>4</minpoll><preferred>true</preferred>`))},
		{name: "RFC6241 6.4.7 multiple subtrees: sibling filters are combined",
			filter: ntp(`<unicast-peer><address>2001:db8::1</address><source-interface/></unicast-peer>`+
				`<unicast-peer><address>ntp.example.net</address><vpn-instance>_public_</vpn-instance><port/></unicast-peer><unsync><dec-step/></unsync>`) + sys(`<sysname/>`),
			want: ntp(`<unsync><dec-step>2</dec-step></unsync>`+peer("2001:db8::1", `<source-interface>eth1</source-interface>`)+peer("ntp.example.net", `<port>1123</port>`)) + sys(`<sysname>edge-1</sysname>`)},
		{name: "RFC6241 6.4.7 two filters on the same entry: the union of their selections",
			filter: ntp(`<unicast-peer><address>ntp.example.net</address><port/></unicast-peer><unicast-peer><address>ntp.example.net</address><preempt/></unicast-peer>`),
			want:   ntp(peer("ntp.example.net", `<port>1123</port><preempt>true</preempt>`))},
		{name: "RFC6241 6.4.7 entries named by all their keys are found directly and shown in key order",
			filter: ntp(`<unicast-peer><address>ntp.example.net</address><vpn-instance>_public_</vpn-instance><port/></unicast-peer>` +
				`<unicast-peer><address>10.0.0.1</address><vpn-instance>blue</vpn-instance></unicast-peer>` +
				`<unicast-peer><address>10.0.0.1</address><vpn-instance>_public_</vpn-instance><minpoll/></unicast-peer>` +
				`<unicast-peer><address>10.0.0.1</address><vpn-instance>_public_</vpn-instance><maxpoll/></unicast-peer>` +
				`<unicast-peer><address>10.9.9.9</address><vpn-instance>_public_</vpn-instance></unicast-peer>`),
			want: `<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">` + peer("10.0.0.1", `<minpoll>4</minpoll><maxpoll>6</maxpoll>`) + peerIn("10.0.0.1", "blue", `<minpoll>5</minpoll>`) +
				peer("ntp.example.net", `<port>1123</port>`) + `</ntp>`, exact: true},
		{name: "RFC6241 6.4.7 an entry named by its keys and a selection of the whole list",
			filter: ntp(`<unicast-peer><address>ntp.example.net</address><vpn-instance>_public_</vpn-instance><port/></unicast-peer><unicast-peer><address/></unicast-peer>`),
			want:   ntp(peer("10.0.0.1", ``) + peerIn("10.0.0.1", "blue", ``) + peer("2001:db8::1", ``) + peer("ntp.example.net", `<port>1123</port>`))},
		{name: "RFC6241 6.4.8 attribute match expressions: our data carries no attributes, nothing matches",
			filter: ntp(`<unicast-peer xmlns:t="urn:example:t" t:kind="server"/>`), want: "", exact: true},
		{name: "RFC6241 6.2.1 an element without a namespace matches every namespace (wildcard)",
			filter: `<ntp><unsync/></ntp>`, want: ntp(`<unsync><max-poll-interval>8</max-poll-interval><dec-step>2</dec-step></unsync>`)},
		{name: "RFC6241 6.2.1 namespace selection: another namespace matches nothing",
			filter: `<ntp xmlns="urn:example:other"><unsync/></ntp>`, want: "", exact: true},
		{name: "RFC6241 6.2.1 prefixes declared outside the filter content (in scope at <filter>)",
			filter: `<n:ntp><n:unsync><n:dec-step/></n:unsync></n:ntp>`, ns: map[string]string{"n": nsNTP},
			want: ntp(`<unsync><dec-step>2</dec-step></unsync>`)},
		{name: "RFC6241 6.2.5 a content match on a non-key leaf",
			filter: ntp(`<unicast-peer><preferred>true</preferred></unicast-peer>`), want: ntp(p1)},
		{name: "RFC6241 6.2.5 a content match and a selection node: the match and the selection",
			filter: ntp(`<unicast-peer><preferred>true</preferred><maxpoll/></unicast-peer>`),
			want:   ntp(peer("10.0.0.1", `<maxpoll>6</maxpoll><preferred>true</preferred>`))},
		{name: "RFC6241 6.2.5 content match nodes are ANDed",
			filter: ntp(`<unicast-peer><address>10.0.0.1</address><minpoll>5</minpoll></unicast-peer>`),
			want:   ntp(peerIn("10.0.0.1", "blue", `<minpoll>5</minpoll>`))},
		{name: "RFC6241 6.2.5 a content match that fails selects nothing, not even the containers",
			filter: ntp(`<unicast-peer><address>192.0.2.99</address></unicast-peer>`), want: "", exact: true},
		{name: "RFC6241 6.2.5 values are compared in canonical form (04 is 4)",
			filter: ntp(`<unicast-peer><minpoll>04</minpoll><maxpoll/></unicast-peer>`),
			want:   ntp(peer("10.0.0.1", `<minpoll>4</minpoll><maxpoll>6</maxpoll>`))},
		{name: "RFC6241 6.2.3 a containment node with nothing selected below is left out",
			filter: ntp(`<unicast-peer><address>ntp.example.net</address><source-interface/></unicast-peer>`),
			want:   ntp(peer("ntp.example.net", ``))},
		{name: "RFC6241 6.2.4 a selection node for a leaf that is not set selects nothing",
			filter: ntp(`<unsync/><unicast-peer><address>2001:db8::1</address><minpoll/></unicast-peer>`),
			want:   ntp(`<unsync><max-poll-interval>8</max-poll-interval><dec-step>2</dec-step></unsync>` + peer("2001:db8::1", ``))},
		{name: "RFC6241 7.7 <get>: state data can be selected",
			filter: ntp(`<sessions/>`), want: `<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">` + sessionXML + `</ntp>`, exact: true},
		{name: "RFC6241 7.1 <get-config>: state data is never selected",
			filter: ntp(`<sessions/>`), configOnly: true, want: "", exact: true},
		{name: "RFC6243 3.1 report-all with a filter: defaults are selected too",
			filter: ntp(`<unicast-peer><address>ntp.example.net</address><minpoll/></unicast-peer>`), mode: WDReportAll,
			want: ntp(peer("ntp.example.net", `<minpoll>6</minpoll>`))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := encodeString(t, d, EncodeOptions{Subtree: []byte(c.filter), Namespaces: c.ns, WithDefaults: c.mode, ConfigOnly: c.configOnly})
			want := c.want
			if !c.exact && want != "" {
				want = canon(t, want)
			}
			if got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
	t.Run("RFC6241 6.4.1 no filter: everything", func(t *testing.T) {
		if a, b := encodeString(t, d, EncodeOptions{}), encodeString(t, d, EncodeOptions{Subtree: nil}); a != b || !strings.Contains(a, sessionXML) {
			t.Errorf("no filter differs from the full output")
		}
	})
	t.Run("a filter of more than 10,000 elements is too-big", func(t *testing.T) {
		err := Encode(&strings.Builder{}, d, EncodeOptions{Subtree: []byte(ntp(strings.Repeat(`<unsync/>`, 10_001)))})
		if errs := rpcerror.All(err); len(errs) != 1 || errs[0].Tag != rpcerror.TagTooBig {
			t.Errorf("got %v", err)
		}
	})
	t.Run("a malformed filter is malformed-message", func(t *testing.T) {
		err := Encode(&strings.Builder{}, d, EncodeOptions{Subtree: []byte(`<ntp><unsync></ntp>`)})
		if errs := rpcerror.All(err); len(errs) != 1 || errs[0].Tag != rpcerror.TagMalformedMessage {
			t.Errorf("got %v", err)
		}
	})
}

func TestXPathFilter(t *testing.T) {
	d := filterDevice(t)
	ns := map[string]string{"n": nsNTP, "s": nsSys, "": "urn:ietf:params:xml:ns:netconf:base:1.0"}
	cases := []struct {
		name, expr string
		want       string // config XML, canonicalized
		configOnly bool
	}{
		{"RFC6241 8.9 a list entry chosen by its key: the whole entry with its ancestors",
			`/n:ntp/n:unicast-peer[n:address='ntp.example.net']`, ntp(peer("ntp.example.net", `<port>1123</port><preempt>true</preempt>`)), true},
		{"RFC6241 8.9 a leaf of every entry: its ancestors and the entries' keys come along",
			`/n:ntp/n:unicast-peer/n:minpoll`, ntp(peer("10.0.0.1", `<minpoll>4</minpoll>`) + peerIn("10.0.0.1", "blue", `<minpoll>5</minpoll>`)), true},
		{"XPath 1.0 descendant axis", `//s:sysname`, sys(`<sysname>edge-1</sysname>`), true},
		{"XPath 1.0 numeric comparison in a predicate", `/n:ntp/n:unicast-peer[n:port > 1000]/n:port`, ntp(peer("ntp.example.net", `<port>1123</port>`)), true},
		{"XPath 1.0 and over both keys", `/n:ntp/n:unicast-peer[n:address='10.0.0.1' and n:vpn-instance='blue']`, ntp(peerIn("10.0.0.1", "blue", `<minpoll>5</minpoll>`)), true},
		{"XPath 1.0 union of two paths", `/n:ntp/n:authentication/n:enable | /s:system`, ntp(`<authentication><enable>true</enable></authentication>`) + sys(`<sysname>edge-1</sysname>`), true},
		{"XPath 1.0 text() nodes select their leaf", `/n:ntp/n:unsync/n:dec-step/text()`, ntp(`<unsync><dec-step>2</dec-step></unsync>`), true},
		{"an unprefixed name matches in any of our namespaces", `/ntp/unsync/dec-step`, ntp(`<unsync><dec-step>2</dec-step></unsync>`), true},
		{"a prefix of another namespace matches nothing", `/s:ntp`, "", true},
		{"RFC6241 8.9 state data is not selected by get-config", `/n:ntp/n:sessions`, "", true},
		{"XPath 1.0 the string-value of a container", `/n:ntp/n:unsync[. = '82']`, ntp(`<unsync><max-poll-interval>8</max-poll-interval><dec-step>2</dec-step></unsync>`), true},
		{"XPath 1.0 position: the last entry in output order", `/n:ntp/n:unicast-peer[last()]/n:port`, ntp(peer("ntp.example.net", `<port>1123</port>`)), true},
		{"XPath 1.0 sibling axes", `/n:ntp/n:unicast-peer[n:address='2001:db8::1']/preceding-sibling::n:unicast-peer[1]/n:minpoll`, ntp(peerIn("10.0.0.1", "blue", `<minpoll>5</minpoll>`)), true},
		{"XPath 1.0 parent axis", `//n:key-id/..`, ntp(`<authentication>` + key("7", `<mode>md5</mode><key-value>k</key-value>`) + `</authentication>`), true},
		{"XPath 1.0 our data has no attributes", `//@*`, "", true},
		{"XPath 1.0 predicates on a non-key leaf", `/n:ntp/n:unicast-peer[n:preferred='true']/n:address`, ntp(peer("10.0.0.1", ``)), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := encodeString(t, d, EncodeOptions{XPath: c.expr, Namespaces: ns, ConfigOnly: c.configOnly})
			want := c.want
			if want != "" {
				want = canon(t, want)
			}
			if got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
	t.Run("the root selects everything", func(t *testing.T) {
		if a, b := encodeString(t, d, EncodeOptions{XPath: "/"}), encodeString(t, d, EncodeOptions{}); a != b {
			t.Errorf("got\n%s\nwant\n%s", a, b)
		}
	})
	t.Run("state data in <get>", func(t *testing.T) {
		got := encodeString(t, d, EncodeOptions{XPath: "/n:ntp/n:sessions/n:session[n:stratum=2]", Namespaces: ns})
		if got != `<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">`+sessionXML+`</ntp>` {
			t.Errorf("got %s", got)
		}
	})
	for _, bad := range []string{
		`count(/n:ntp/n:unicast-peer)`, // not a node-set
		`/n:ntp[`,                      // syntax
		`/x:ntp`,                       // undeclared prefix
		`1 = 1`,                        // boolean
		strings.Repeat("(", 300) + "/" + strings.Repeat(")", 300),
		strings.Repeat("/n:ntp", 1000),
	} {
		t.Run("rejected: "+bad[:min(len(bad), 30)], func(t *testing.T) {
			err := Encode(&strings.Builder{}, d, EncodeOptions{XPath: bad, Namespaces: ns})
			if errs := rpcerror.All(err); len(errs) != 1 || errs[0].Tag != rpcerror.TagInvalidValue {
				t.Errorf("got %v, want invalid-value", err)
			}
		})
	}
	t.Run("an expression that needs too much work is refused", func(t *testing.T) {
		big := benchDevice(300)
		err := Encode(&strings.Builder{}, big, EncodeOptions{XPath: "//*[count(//*) > count(//*[1])]"})
		if errs := rpcerror.All(err); len(errs) != 1 || errs[0].Tag != rpcerror.TagInvalidValue || !strings.Contains(errs[0].Message, "too much work") {
			t.Errorf("got %v", err)
		}
	})
	if err := Encode(&strings.Builder{}, d, EncodeOptions{XPath: "/", Subtree: []byte("")}); err == nil {
		t.Error("a subtree and an XPath filter together were accepted")
	}
}

// TestXPathUndeclaredModulePrefixes: a select expression that uses a module's
// own prefix or its module name without declaring it still resolves, as
// ncclient users expect; a prefix the client declared wins.
func TestXPathUndeclaredModulePrefixes(t *testing.T) {
	d := &gen.Device{}
	for _, a := range []string{"10.0.0.1", "10.0.0.2"} {
		if _, err := d.GetOrCreateNtp().NewUnicastPeer(a, "_public_"); err != nil {
			t.Fatal(err)
		}
	}
	for _, expr := range []string{
		"/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.0.0.2']",
		"/ntpagent-ntp:ntp/ntpagent-ntp:unicast-peer[ntpagent-ntp:address='10.0.0.2']",
	} {
		got := encodeString(t, d, EncodeOptions{XPath: expr, ConfigOnly: true})
		if !strings.Contains(got, "10.0.0.2") || strings.Contains(got, "10.0.0.1") {
			t.Errorf("%s selected %s", expr, got)
		}
	}
	// A declared prefix that shadows ntpa with another namespace selects nothing of ours.
	got := encodeString(t, d, EncodeOptions{XPath: "/ntpa:ntp", Namespaces: map[string]string{"ntpa": "urn:other"}, ConfigOnly: true})
	if strings.Contains(got, "10.0.0") {
		t.Errorf("a client's own prefix declaration was overridden: %s", got)
	}
}
