//go:build linux

package main

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// The access control row (RFC 8341): get-config of 1,000 peers by a user
// whom a 20-rule rule-list governs, against the same by the bench's own
// user, whom access control does not restrict.

const (
	nsACM           = "urn:ietf:params:xml:ns:yang:ietf-netconf-acm"
	nsSystem        = "urn:ntpagent:yang:ntpagent-system"
	nacmBenchUser   = "nacm-bench"
	nacmBenchPasswd = "Nacm-Bench-Password-1"
)

// nacmBenchRPC configures /nacm with a rule-list of 20 rules for the
// group of nacmBenchUser — operations, notifications and data rules, five
// of them with key predicates on peers the bench never configures, so
// every peer is judged and none is hidden — and adds that user.
func nacmBenchRPC() string {
	var b strings.Builder
	b.WriteString(`<edit-config><target><candidate/></target><config><nacm xmlns="` + nsACM + `">`)
	b.WriteString(`<groups><group><name>bench</name><user-name>` + nacmBenchUser + `</user-name></group></groups>`)
	b.WriteString(`<rule-list><name>admin</name><group>admin</group><rule><name>all</name><access-operations>*</access-operations><action>permit</action></rule></rule-list>`)
	b.WriteString(`<rule-list><name>bench</name><group>bench</group>`)
	rule := func(name, body string) {
		b.WriteString(`<rule><name>` + name + `</name>` + body + `</rule>`)
	}
	for i, rpc := range []string{"edit-config", "copy-config", "delete-config", "commit", "discard-changes"} {
		rule(fmt.Sprintf("r%02d", i), `<module-name>ietf-netconf</module-name><rpc-name>`+rpc+`</rpc-name><access-operations>exec</access-operations><action>deny</action>`)
	}
	for i, n := range []string{"netconf-config-change", "netconf-session-start", "netconf-session-end", "netconf-confirmed-commit", "sync-state-change"} {
		rule(fmt.Sprintf("r%02d", 5+i), `<notification-name>`+n+`</notification-name><access-operations>read</access-operations><action>permit</action>`)
	}
	for i := range 5 {
		rule(fmt.Sprintf("r%02d", 10+i), fmt.Sprintf(`<module-name>ntpagent-ntp</module-name><path xmlns:ntpa="%s">/ntpa:ntp/ntpa:unicast-peer[ntpa:address='198.51.100.%d']</path><access-operations>read</access-operations><action>deny</action>`, nsNTP, i+1))
	}
	for i, p := range []string{"/ntpa:ntp/ntpa:authentication", "/ntpa:ntp/ntpa:unicast-server", "/ntpa:ntp/ntpa:source-interface", "/ntps:system/ntps:local-user", "/ntpa:ntp/ntpa:unicast-peer"} {
		rule(fmt.Sprintf("r%02d", 15+i), `<path xmlns:ntpa="`+nsNTP+`" xmlns:ntps="`+nsSystem+`">`+p+`</path><access-operations>create update delete</access-operations><action>deny</action>`)
	}
	b.WriteString(`</rule-list></nacm><system xmlns="` + nsSystem + `"><local-user><name>` + nacmBenchUser + `</name><role>operator</role><password>` + nacmBenchPasswd + `</password></local-user></system>`)
	b.WriteString(`</config></edit-config>`)
	return b.String()
}

// removeNacmBenchRPC removes /nacm and the bench's user again.
func removeNacmBenchRPC() string {
	return `<edit-config><target><candidate/></target><config><nacm xmlns="` + nsACM + `" xmlns:nc="` + nsBase + `" nc:operation="remove"/>` +
		`<system xmlns="` + nsSystem + `"><local-user xmlns:nc="` + nsBase + `" nc:operation="remove"><name>` + nacmBenchUser + `</name></local-user></system></config></edit-config>`
}

// dialRestricted configures access control on s and opens a session of
// the user it governs.
func dialRestricted(ctx context.Context, s *server) (*Session, error) {
	if err := commitEdit(s.ctl, nacmBenchRPC()); err != nil {
		return nil, fmt.Errorf("configuring access control: %w", err)
	}
	t := *s.t
	cfg := *s.t.SSH
	cfg.User, cfg.Auth = nacmBenchUser, []ssh.AuthMethod{ssh.Password(nacmBenchPasswd)}
	t.SSH = &cfg
	sess, err := Dial(ctx, &t)
	if err != nil {
		return nil, err
	}
	if err := sess.SendHello(); err != nil {
		sess.Close(false)
		return nil, err
	}
	return sess, nil
}
