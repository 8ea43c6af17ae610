//go:build linux

package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

const nsNTP = "urn:ntpagent:yang:ntpagent-ntp"

// peerAddress returns the address of peer i: a loopback host address outside
// 127.127.0.0/16 (reference clocks, which the host-address rule of datastore/rules refuses), so that an agent that
// starts associations for these peers sends only to loopback.
func peerAddress(i int) string {
	return fmt.Sprintf("127.1.%d.%d", i/250, i%250+1)
}

// peerXML is one unicast-peer entry with every leaf the bench sets.
func peerXML(b *strings.Builder, i, minpoll int) {
	b.WriteString("<unicast-peer><address>")
	b.WriteString(peerAddress(i))
	b.WriteString("</address><vpn-instance>_public_</vpn-instance><minpoll>")
	b.WriteString(strconv.Itoa(minpoll))
	b.WriteString("</minpoll><maxpoll>10</maxpoll></unicast-peer>")
}

// editPeersRPC is an edit-config (merge) of peers [from, to) on the candidate.
func editPeersRPC(from, to, minpoll int) string {
	var b strings.Builder
	b.WriteString(`<edit-config><target><candidate/></target><config><ntp xmlns="` + nsNTP + `">`)
	for i := from; i < to; i++ {
		peerXML(&b, i, minpoll)
	}
	b.WriteString(`</ntp></config></edit-config>`)
	return b.String()
}

// removeNTPRPC removes all of /ntpa:ntp from the candidate (RFC 6241 §7.2
// "remove": no error when absent).
func removeNTPRPC() string {
	return `<edit-config><target><candidate/></target><config><ntp xmlns="` + nsNTP +
		`" xmlns:nc="` + nsBase + `" nc:operation="remove"/></config></edit-config>`
}

const (
	commitRPC = `<commit/>`
	// nativeFilter selects ntpagent-ntp's /ntp. The agent also answers
	// through its views (package view), whose copies of the same peers an
	// unfiltered reply would carry; netconfd has only ntpagent-ntp, so the
	// filter selects the same data from both.
	nativeFilter = `<filter type="subtree"><ntp xmlns="` + nsNTP + `"/></filter>`
	getConfigRPC = `<get-config><source><running/></source>` + nativeFilter + `</get-config>`
	// getRPC reads configuration and state (RFC 6241 §7.7).
	getRPC = `<get>` + nativeFilter + `</get>`
	// getDataConfigOriginRPC reads the configuration in use from
	// <operational> with its origin (RFC 8526 §3.1.1).
	getDataConfigOriginRPC = `<get-data xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-nmda" xmlns:ds="urn:ietf:params:xml:ns:yang:ietf-datastores">` +
		`<datastore>ds:operational</datastore><config-filter>true</config-filter><with-origin/></get-data>`
	// getDataOperationalOriginRPC reads all of <operational> with origin.
	getDataOperationalOriginRPC = `<get-data xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-nmda" xmlns:ds="urn:ietf:params:xml:ns:yang:ietf-datastores">` +
		`<datastore>ds:operational</datastore><with-origin/></get-data>`
	// capOperationalDefaults is announced by servers with RFC 8526's NMDA
	// operations.
	capOperationalDefaults = "urn:ietf:params:netconf:capability:with-operational-defaults:1.0"
)

// viewBench is how the bench reads and edits through one view of the
// agent's configuration (package view): the subtree filter of the view's
// top-level element, and an edit of peer 0 (peerAddress(0), _public_) in
// the view's model that changes running at every round.
type viewBench struct {
	name   string
	filter string
	edit   func(round int) string // the content of <config>
}

// viewBenches are the views measured, one line each.
var viewBenches = []viewBench{
	{name: "huawei", filter: `<ntp xmlns="http://www.huawei.com/netconf/vrp"/>`, edit: func(round int) string {
		return `<ntp xmlns="http://www.huawei.com/netconf/vrp"><ntpUCastCfgs><ntpUCastCfg><addrFamily>IPv4</addrFamily><ipv4Addr>` +
			peerAddress(0) + `</ipv4Addr><ipv6Addr>::</ipv6Addr><type>Peer</type><vpnName>_public_</vpnName><isPreferred>` +
			strconv.FormatBool(round%2 == 1) + `</isPreferred></ntpUCastCfg></ntpUCastCfgs></ntp>`
	}},
	{name: "ietf-ntp", filter: `<ntp xmlns="urn:ietf:params:xml:ns:yang:ietf-ntp"/>`, edit: func(round int) string {
		return `<ntp xmlns="urn:ietf:params:xml:ns:yang:ietf-ntp"><unicast-configuration><address>` + peerAddress(0) +
			`</address><type>uc-peer</type><minpoll>` + strconv.Itoa(4+round%2) + `</minpoll></unicast-configuration></ntp>`
	}},
	{name: "openconfig-system", filter: `<system xmlns="http://openconfig.net/yang/system"/>`, edit: func(round int) string {
		return `<system xmlns="http://openconfig.net/yang/system"><ntp><servers><server><address>` + peerAddress(0) +
			`</address><config><address>` + peerAddress(0) + `</address><association-type>PEER</association-type><prefer>` +
			strconv.FormatBool(round%2 == 1) + `</prefer></config></server></servers></ntp></system>`
	}},
}

// viewMeasure is the name of a measure taken through a view.
func viewMeasure(measure, view string) string { return measure + "-" + view }

// countPeers parses a get-config reply and counts unicast-peer entries of our
// namespace under <data>.
func countPeers(reply []byte) (int, error) {
	d := xml.NewDecoder(bytes.NewReader(reply))
	n, sawData := 0, false
	for range 10_000_000 {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("get-config reply is not XML: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch {
			case se.Name.Local == "data" && se.Name.Space == nsBase:
				sawData = true
			case se.Name.Local == "unicast-peer" && se.Name.Space == nsNTP:
				n++
			}
		}
	}
	if !sawData {
		return 0, fmt.Errorf("get-config reply without <data>: %.300s", reply)
	}
	return n, nil
}
