package netconf

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// forget empties the cache, so that the next get-config evaluates its
// filter on the tree.
func (c *replyCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = [len(c.entries)]replyEntry{}
}

const nsNTPTest = "urn:ntpagent:yang:ntpagent-ntp"

// startChunkedSession is startPipeSession with the client's hello sent,
// announcing base:1.1: the session then frames in chunks.
func startChunkedSession(tb testing.TB, srv *Server, id uint32) *pipeClient {
	tb.Helper()
	c, _ := startPipeSession(tb, srv, id)
	if err := c.w.WriteMessage([]byte(helloBase11)); err != nil {
		tb.Fatal(err)
	}
	c.r.SetChunked()
	c.w.SetChunked()
	return c
}

// rawRPC sends <rpc> with the attributes attrs (declarations included)
// around body and returns the reply from <data> on (the rpc-reply start
// tag carries the message-id, which differs from request to request).
func (c *pipeClient) rawRPC(attrs, body string) string {
	c.tb.Helper()
	c.next++
	if err := c.w.WriteMessage(fmt.Appendf(nil, `<rpc xmlns="%s" message-id="%d"%s>%s</rpc>`, NSBase, c.next, attrs, body)); err != nil {
		c.tb.Fatal(err)
	}
	m, err := c.r.ReadMessage()
	if err != nil {
		c.tb.Fatal(err)
	}
	r := string(m)
	if i := strings.Index(r, ">"); i >= 0 {
		r = r[i+1:]
	}
	return r
}

// randomPeers is an edit-config (replace of /ntp in running) with a random
// set of unicast peers and servers, some leaves set and some not.
func randomPeers(rng *rand.Rand) string {
	var b strings.Builder
	b.WriteString(`<edit-config><target><running/></target><default-operation>replace</default-operation><config><ntp xmlns="` + nsNTPTest + `">`)
	for i := range rng.IntN(12) {
		fmt.Fprintf(&b, `<unicast-peer><address>10.0.0.%d</address><vpn-instance>_public_</vpn-instance>`, i+1)
		if rng.IntN(2) == 0 {
			fmt.Fprintf(&b, `<minpoll>%d</minpoll>`, 4+rng.IntN(3))
		}
		if rng.IntN(3) == 0 {
			b.WriteString(`<preempt>true</preempt>`)
		}
		b.WriteString(`</unicast-peer>`)
	}
	for i := range rng.IntN(4) {
		fmt.Fprintf(&b, `<unicast-server><address>10.0.1.%d</address><vpn-instance>_public_</vpn-instance><iburst>true</iburst></unicast-server>`, i+1)
	}
	b.WriteString(`</ntp></config></edit-config>`)
	return b.String()
}

// randomFilter is a get-config filter and the attributes (declarations)
// its <rpc> carries: subtree filters of every kind RFC 6241 §6.2 names
// (selection, containment, content match), written with prefixes or
// default namespaces, and XPath filters (§8.9).
func randomFilter(rng *rand.Rand) (attrs, filter string) {
	addr := fmt.Sprintf("10.0.0.%d", 1+rng.IntN(14))
	sub := func(s string) string { return `<filter type="subtree">` + s + `</filter>` }
	switch rng.IntN(9) {
	case 0:
		return "", sub(`<ntp xmlns="` + nsNTPTest + `"/>`)
	case 1:
		return "", sub(`<ntp xmlns="` + nsNTPTest + `"><unicast-peer/></ntp>`)
	case 2:
		return "", sub(`<ntp xmlns="` + nsNTPTest + `"><unicast-peer><address>` + addr + `</address></unicast-peer></ntp>`)
	case 3:
		return ` xmlns:n="` + nsNTPTest + `"`, sub(`<n:ntp><n:unicast-peer><n:address>` + addr + `</n:address><n:minpoll/></n:unicast-peer></n:ntp>`)
	case 4:
		return "", sub(`<ntp xmlns="` + nsNTPTest + `"><unicast-peer><minpoll>5</minpoll></unicast-peer><unicast-server/></ntp>`)
	case 5:
		// The same text as case 3, its prefix bound to a namespace of
		// nothing here: it selects nothing.
		return ` xmlns:n="urn:example:other"`, sub(`<n:ntp><n:unicast-peer><n:address>` + addr + `</n:address><n:minpoll/></n:unicast-peer></n:ntp>`)
	case 6:
		return ` xmlns:n="` + nsNTPTest + `"`, `<filter type="xpath" select="/n:ntp/n:unicast-peer[n:address='` + addr + `']"/>`
	case 7:
		return ` xmlns:n="` + nsNTPTest + `"`, `<filter type="xpath" select="/n:ntp/n:unicast-server"/>`
	}
	return "", sub(" \n")
}

// A get-config reply kept in the reply cache is the reply the filter
// gives when evaluated on the tree: for random trees and random filters,
// the second request (from the cache) and a request after the cache was
// emptied (evaluated again) give the first reply's bytes; an edit of
// running changes what the next request returns.
func TestCachedGetConfigRepliesAreTheEvaluatedOnes(t *testing.T) {
	srv := newTestServer(t)
	c := startChunkedSession(t, srv, 1)
	rng := rand.New(rand.NewPCG(17, 6241))
	for tree := range 20 {
		if r := c.rpc(randomPeers(rng)); !strings.Contains(r, "<ok/>") {
			t.Fatal(r)
		}
		unfiltered := `<get-config><source><running/></source></get-config>`
		for range 15 {
			attrs, filter := randomFilter(rng)
			get := `<get-config><source><running/></source>` + filter + `</get-config>`
			for _, g := range []string{get, unfiltered} {
				first := c.rawRPC(attrs, g)
				if strings.Contains(first, "rpc-error") {
					t.Fatalf("tree %d, %s: %s", tree, g, first)
				}
				cached := c.rawRPC(attrs, g)
				srv.replies.forget()
				evaluated := c.rawRPC(attrs, g)
				if cached != first || evaluated != first {
					t.Fatalf("tree %d, rpc attributes %q, %s:\nfirst:     %s\ncached:    %s\nevaluated: %s", tree, attrs, g, first, cached, evaluated)
				}
			}
		}
	}
}

// The filter's prefixes are part of what it selects: the same filter text
// under another binding of its prefix is not served the other's reply.
func TestCachedGetConfigReplyFollowsThePrefixBindings(t *testing.T) {
	srv := newTestServer(t)
	c := startChunkedSession(t, srv, 1)
	edit := `<edit-config><target><running/></target><config><ntp xmlns="` + nsNTPTest + `">` +
		`<unicast-peer><address>10.0.0.1</address><vpn-instance>_public_</vpn-instance></unicast-peer></ntp></config></edit-config>`
	if r := c.rpc(edit); !strings.Contains(r, "<ok/>") {
		t.Fatal(r)
	}
	get := `<get-config><source><running/></source><filter type="subtree"><n:ntp/></filter></get-config>`
	ours := c.rawRPC(` xmlns:n="`+nsNTPTest+`"`, get)
	other := c.rawRPC(` xmlns:n="urn:example:other"`, get)
	if !strings.Contains(ours, "10.0.0.1") {
		t.Fatalf("n bound to ntpagent-ntp: %s", ours)
	}
	if strings.Contains(other, "10.0.0.1") {
		t.Fatalf("n bound to another namespace selected ntpagent-ntp's peers: %s", other)
	}
	// And the other way round, once both replies are kept.
	if again := c.rawRPC(` xmlns:n="`+nsNTPTest+`"`, get); again != ours {
		t.Fatalf("again: %s, want %s", again, ours)
	}
}
