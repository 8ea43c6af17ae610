package server

import (
	"strings"
	"testing"
)

const ntpNS = "urn:ntpagent:yang:ntpagent-ntp"

func peerConfig(addr, extra string) string {
	return `<config><ntp xmlns="` + ntpNS + `"><unicast-peer><address>` + addr +
		`</address><vpn-instance>_public_</vpn-instance>` + extra + `</unicast-peer></ntp></config>`
}

func TestNETCONFEditCommitGetConfig(t *testing.T) {
	a := startAgent(t)
	for _, base11 := range []bool{false, true} {
		c := dialNC(t, a.addr, a.adminKey(), base11)
		if c.chunked != base11 {
			t.Fatalf("base11=%v: chunked=%v", base11, c.chunked)
		}
		addr := "10.0.0.1"
		if base11 {
			addr = "10.0.0.2"
		}
		wantOK(t, c.rpc(`<edit-config><target><candidate/></target>`+peerConfig(addr, "<minpoll>4</minpoll>")+`</edit-config>`))
		wantOK(t, c.rpc(`<validate><source><candidate/></source></validate>`))
		wantOK(t, c.rpc(`<commit/>`))
		r := c.rpc(`<get-config><source><running/></source></get-config>`)
		if !strings.Contains(r, "<address>"+addr+"</address>") || !strings.Contains(r, "<minpoll>4</minpoll>") {
			t.Fatalf("get-config after commit: %s", r)
		}
		wantOK(t, c.rpc(`<close-session/>`))
	}
}

func TestNETCONFReplyCopiesAttributesAndBaseNamespace(t *testing.T) {
	a := startAgent(t)
	c := dialNC(t, a.addr, a.adminKey(), false)
	c.next++
	if err := c.w.WriteMessage([]byte(`<nc:rpc xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:ex="urn:example" message-id="urn:uuid:42" ex:user="fred"><nc:get-config><nc:source><nc:running/></nc:source></nc:get-config></nc:rpc>`)); err != nil {
		t.Fatal(err)
	}
	r := c.read()
	if !strings.HasPrefix(r, `<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:ex="urn:example" message-id="urn:uuid:42" ex:user="fred">`) &&
		!strings.HasPrefix(r, `<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:ex="urn:example" message-id="urn:uuid:42" ex:user="fred">`) {
		t.Fatalf("reply = %s", r)
	}
}
