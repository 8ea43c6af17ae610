package netconf

import (
	"testing"
)

const nsACM = "urn:ietf:params:xml:ns:yang:ietf-netconf-acm"

// nacmXML is a /nacm configuration: a group of one user and a rule-list
// for it with one rule of each type (RFC 8341 §3.5.2).
const nacmXML = `<nacm xmlns="` + nsACM + `"><read-default>deny</read-default>` +
	`<groups><group><name>ops</name><user-name>alice</user-name></group></groups>` +
	`<rule-list><name>ops-rules</name><group>ops</group>` +
	`<rule><name>see-peers</name><module-name>ntpagent-ntp</module-name><path xmlns:ntpa="` + nsNtp + `">/ntpa:ntp/ntpa:unicast-peer</path><access-operations>read update</access-operations><action>permit</action></rule>` +
	`<rule><name>no-kill</name><module-name>ietf-netconf</module-name><rpc-name>kill-session</rpc-name><action>deny</action></rule>` +
	`<rule><name>events</name><notification-name>sync-state-change</notification-name><access-operations>*</access-operations><action>permit</action></rule>` +
	`</rule-list></nacm>`

// RFC 8341 §3.5: /nacm is configuration like any other — edited in the
// candidate, committed, read back from running, through edit-config and
// edit-data alike; its denied-* counters are state, shown by <get> and
// get-data of operational and refused in an edit.
func TestNacmIsConfigurationRFC8341(t *testing.T) {
	_, c := nmdaServer(t)
	wantOKReply(t, c.rpc(`<edit-config><target><candidate/></target><config>`+nacmXML+`</config></edit-config>`))
	wantOKReply(t, c.rpc(`<commit/>`))
	r := c.rpc(`<get-config><source><running/></source><filter type="subtree"><nacm xmlns="` + nsACM + `"/></filter></get-config>`)
	wantHolds(t, "get-config running", r, []string{`<read-default>deny</read-default>`, `<user-name>alice</user-name>`,
		`<rpc-name>kill-session</rpc-name>`, `<access-operations>read update</access-operations>`, `/ntpa:ntp/ntpa:unicast-peer</path>`},
		[]string{"denied-operations"})
	// RFC 8526 edit-data: a second rule-list through the NMDA operation.
	wantOKReply(t, c.rpc(`<edit-data xmlns="`+NSNMDA+`" xmlns:ds="`+NSDatastores+`"><datastore>ds:running</datastore><config><nacm xmlns="`+nsACM+`"><rule-list><name>all</name><group>*</group></rule-list></nacm></config></edit-data>`))
	wantHolds(t, "get-data running", getData(c, "running", ""), []string{`<rule-list><name>all</name><group>*</group></rule-list>`}, nil)
	// §3.5.2: the counters are state, present whether or not anything was denied.
	wantHolds(t, "get", c.rpc(`<get><filter type="subtree"><nacm xmlns="`+nsACM+`"/></filter></get>`),
		[]string{`<denied-operations>0</denied-operations>`, `<denied-data-writes>0</denied-data-writes>`, `<denied-notifications>0</denied-notifications>`}, nil)
	wantHolds(t, "get-data operational", getData(c, "operational", ""), []string{`<denied-operations>0</denied-operations>`}, nil)
	wantTag(t, "a counter in an edit", c.rpc(`<edit-config><target><candidate/></target><config><nacm xmlns="`+nsACM+`"><denied-operations>5</denied-operations></nacm></config></edit-config>`), "invalid-value")
	// The deviation keeps the published values: '*' or bit names.
	wantTag(t, "an unknown access operation", c.rpc(`<edit-config><target><candidate/></target><config><nacm xmlns="`+nsACM+`"><rule-list><name>x</name><rule><name>r</name><access-operations>read fly</access-operations><action>permit</action></rule></rule-list></nacm></config></edit-config>`), "invalid-value")
}
