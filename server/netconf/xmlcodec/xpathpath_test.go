package xmlcodec

import (
	"testing"
)

// A key path is evaluated as the equivalent subtree filter (simplePath);
// what it selects must be exactly what the general XPath evaluator selects.
// "(EXPR)" is the same node-set to XPath but not a simple path, so it
// takes the general evaluator: the two replies must be equal, and the
// expressions meant for the fast path must take it.
func TestXPathKeyPathSelectsWhatTheGeneralEvaluatorSelects(t *testing.T) {
	d := filterDevice(t)
	native, err := Native()
	if err != nil {
		t.Fatal(err)
	}
	ns := map[string]string{"n": nsNTP, "s": nsSys}
	for _, c := range []struct {
		expr string
		fast bool
	}{
		{`/n:ntp/n:unicast-peer[n:address='10.0.0.1']`, true}, // a key of two: both vpn-instances
		{`/n:ntp/n:unicast-peer[n:address='10.0.0.1'][n:vpn-instance='blue']`, true},
		{`/n:ntp/n:unicast-peer[n:address='10.0.0.1' and n:vpn-instance="_public_"]`, true},
		{` /n:ntp / n:unicast-peer [ n:address = '2001:db8::1' ] / n:source-interface `, true},
		{`/n:ntp/n:unicast-peer[n:address='10.0.0.1']/n:minpoll`, true},
		{`/ntp/unicast-peer[address='ntp.example.net']`, true},                                 // unprefixed: any of our namespaces
		{`/ntpagent-ntp:ntp/ntpagent-ntp:unicast-peer[ntpagent-ntp:address='10.0.0.1']`, true}, // the module name as prefix
		{`/n:ntp/n:unicast-peer[n:preferred='true']`, true},                                    // a non-key leaf on the last step
		{`/n:ntp/n:unicast-peer[n:address='192.0.2.99']`, true},                                // no such entry
		{`/n:ntp/n:authentication/n:key[n:key-id='7']`, true},                                  // a single key
		{`/n:ntp/n:unicast-peer`, true},
		{`/n:ntp/n:unicast-peer[n:preferred='true']/n:address`, false}, // XPath does not select the matched leaf
		{`/n:ntp/n:authentication/n:key[n:key-id='07']`, false},        // not canonical: XPath compares strings
		{`/n:ntp/n:unicast-peer[n:address!='10.0.0.1']`, false},
		{`/n:ntp/n:unicast-peer[n:port=1123]`, false},
		{`//n:unicast-peer[n:address='10.0.0.1']`, false},
		{`/n:ntp/*[n:address='10.0.0.1']`, false},
		{`/n:ntp/n:unicast-peer[1]`, false},
		{`/n:ntp/n:unicast-peer[n:address='10.0.0.1'] | /s:system`, false},
		{`/n:ntp/child::n:unicast-peer[n:address='10.0.0.1']`, false},
		{`/n:ntp/n:no-such-node[n:address='10.0.0.1']`, false},
	} {
		t.Run(c.expr, func(t *testing.T) {
			prefixes := map[string]string{"n": nsNTP, "s": nsSys, "ntpagent-ntp": nsNTP}
			if _, fast := simplePath(native, c.expr, prefixes, nil); fast != c.fast {
				t.Errorf("taken as a key path: %v, want %v", fast, c.fast)
			}
			for _, configOnly := range []bool{true, false} {
				got := encodeString(t, d, EncodeOptions{XPath: c.expr, Namespaces: ns, ConfigOnly: configOnly})
				want := encodeString(t, d, EncodeOptions{XPath: "(" + c.expr + ")", Namespaces: ns, ConfigOnly: configOnly})
				if got != want {
					t.Errorf("config only %v:\n got %s\nwant %s", configOnly, got, want)
				}
			}
		})
	}
}
