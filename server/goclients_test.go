package server

import (
	"strconv"
	"strings"
	"testing"
	"time"

	gonetconf "github.com/Juniper/go-netconf/netconf"
	"github.com/ntpagent/ntpagent/internal/nctest"
	"github.com/scrapli/scrapligo/driver/netconf"
	"github.com/scrapli/scrapligo/driver/opoptions"
	"github.com/scrapli/scrapligo/driver/options"
	"github.com/scrapli/scrapligo/transport"
)

// go-netconf v0.1.1 speaks base:1.0 only (end-of-message framing); its
// RPCReply.Ok is never set, so replies are matched on their text.
func TestGoNetconfBase10Client(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: interop with a Go NETCONF library over SSH; make test runs it")
	}
	a := startAgent(t)
	s, err := gonetconf.DialSSH(a.addr, a.adminPassword())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.SessionID == 0 {
		t.Fatal("no session id")
	}
	exec := func(op string) *gonetconf.RPCReply {
		t.Helper()
		r, err := s.Exec(gonetconf.RawMethod(op))
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		return r
	}
	exec(`<lock><target><candidate/></target></lock>`)
	exec(`<edit-config><target><candidate/></target>` + nctest.PeerConfig("192.0.2.10", "<maxpoll>12</maxpoll>") + `</edit-config>`)
	exec(`<validate><source><candidate/></source></validate>`)
	exec(`<commit/>`)
	exec(`<unlock><target><candidate/></target></unlock>`)
	r := exec(`<get-config><source><running/></source><filter type="subtree"><ntp xmlns="` + ntpNS + `"><unicast-peer><address>192.0.2.10</address></unicast-peer></ntp></filter></get-config>`)
	if !strings.Contains(r.Data, "<maxpoll>12</maxpoll>") {
		t.Fatalf("get-config: %s", r.Data)
	}
	yl := schemaDir(t, a)
	saveDataChildren(t, yl, "filtered", r.Data)
	r = exec(`<get-config><source><running/></source><with-defaults xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults">report-all</with-defaults></get-config>`)
	saveDataChildren(t, yl, "report-all", r.Data)
	if n := yanglintReplies(t, yl, "config", "*.xml"); n != 2 {
		t.Fatalf("%d replies validated", n)
	}
	r = exec(`<get><filter type="subtree"><netconf-state xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"><schemas/></netconf-state></filter></get>`)
	if !strings.Contains(r.Data, "<identifier>ntpagent-ntp</identifier>") {
		t.Fatalf("monitoring schemas: %s", r.Data)
	}
	// An error comes back as an RPCError.
	if _, err := s.Exec(gonetconf.RawMethod(`<edit-config><target><candidate/></target>` + nctest.PeerConfig("192.0.2.10", "<port>1</port>") + `</edit-config>`)); err == nil || !strings.Contains(err.Error(), "port") {
		t.Fatalf("bad port accepted: %v", err)
	}
}

// scrapligo announces only base:1.1 when the server offers it: chunked framing.
func TestScrapligoBase11Client(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: interop with a Go NETCONF library over SSH; make test runs it")
	}
	a := startAgent(t)
	port, _ := strconv.Atoi(portOf(a.addr))
	d, err := netconf.NewDriver("127.0.0.1",
		options.WithAuthUsername("admin"), options.WithAuthPassword(adminPassword),
		options.WithAuthNoStrictKey(), options.WithPort(port),
		options.WithTransportType(transport.StandardTransport),
		options.WithTimeoutOps(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Open(); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	check := func(what string, res string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if strings.Contains(res, "<rpc-error>") {
			t.Fatalf("%s: %s", what, res)
		}
	}
	r, err := d.Lock("candidate")
	check("lock", r.Result, err)
	r, err = d.EditConfig("candidate", `<config><ntp xmlns="`+ntpNS+`"><unicast-peer><address>192.0.2.20</address><vpn-instance>_public_</vpn-instance><preferred>true</preferred></unicast-peer></ntp></config>`)
	check("edit-config", r.Result, err)
	r, err = d.Validate("candidate")
	check("validate", r.Result, err)
	r, err = d.Commit()
	check("commit", r.Result, err)
	r, err = d.Unlock("candidate")
	check("unlock", r.Result, err)
	r, err = d.GetConfig("running", opoptions.WithFilter(`<ntp xmlns="`+ntpNS+`"/>`), opoptions.WithFilterType("subtree"))
	check("get-config", r.Result, err)
	if !strings.Contains(r.Result, "<preferred>true</preferred>") || r.NetconfVersion != "1.1" {
		t.Fatalf("get-config (netconf %s): %s", r.NetconfVersion, r.Result)
	}
	yl := schemaDir(t, a)
	saveDataChildren(t, yl, "subtree", r.Result)
	r, err = d.GetConfig("candidate")
	check("get-config candidate", r.Result, err)
	saveDataChildren(t, yl, "candidate", r.Result)
	if n := yanglintReplies(t, yl, "config", "*.xml"); n != 2 {
		t.Fatalf("%d replies validated", n)
	}
	r, err = d.Get(`<ntp xmlns="` + ntpNS + `"/>`)
	check("get", r.Result, err)
	if !strings.Contains(r.Result, "192.0.2.20") {
		t.Fatalf("get: %s", r.Result)
	}
	r, err = d.Discard()
	check("discard-changes", r.Result, err)
}

const ntpNS = "urn:ntpagent:yang:ntpagent-ntp"
