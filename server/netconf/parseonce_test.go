package netconf

import (
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/server/netconf/xmlcodec"
	"github.com/openconfig/ygot/ygot"
)

// The <config> of a message is decoded from the elements the message
// parser read (each message is tokenized once) exactly as the codec decodes
// the same text: the same tree, or an error with the same tag.
func TestConfigFromParsedElementsDecodesAsItsText(t *testing.T) {
	const ntp = `urn:ntpagent:yang:ntpagent-ntp`
	peer := `<unicast-peer><address>10.0.0.1</address><vpn-instance>_public_</vpn-instance><minpoll>5</minpoll></unicast-peer>`
	for _, c := range []struct{ name, decls, config string }{
		{"peers and a key", ``, `<ntp xmlns="` + ntp + `">` + peer +
			`<authentication><enable>true</enable><key><key-id>3</key-id><mode>md5</mode><key-value>k</key-value></key></authentication></ntp>`},
		{"prefix declared on <rpc>", ` xmlns:n="` + ntp + `"`, `<n:ntp>` + strings.ReplaceAll(strings.ReplaceAll(peer, "<", "<n:"), "<n:/", "</n:") + `</n:ntp>`},
		{"operation attributes", ` xmlns:nc="` + NSBase + `"`, `<ntp xmlns="` + ntp + `"><unicast-peer nc:operation="delete"><address>10.0.0.1</address><vpn-instance>_public_</vpn-instance></unicast-peer></ntp>`},
		{"comments and blanks", ``, "<!-- c -->\n<ntp xmlns=\"" + ntp + "\">\n  " + peer + "\n</ntp>\n"},
		{"a default namespace declared on <rpc> is not ours", ``, `<ntp>` + peer + `</ntp>`},
		{"a prefix bound to the empty namespace", ``, `<p:ntp xmlns:p="">` + peer + `</p:ntp>`},
		{"a container holding text", ``, `<ntp xmlns="` + ntp + `">text` + peer + `</ntp>`},
		{"a leaf holding elements", ``, `<ntp xmlns="` + ntp + `"><unicast-peer><address>10.0.0.1</address><vpn-instance>_public_</vpn-instance><minpoll><x/></minpoll></unicast-peer></ntp>`},
		{"an unknown element", ``, `<ntp xmlns="` + ntp + `"><peer/></ntp>`},
		{"text between top-level elements", ``, `<ntp xmlns="` + ntp + `"/>text<ntp xmlns="` + ntp + `"/>`},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := `<rpc xmlns="` + NSBase + `" message-id="1"` + c.decls + `><edit-config><target><candidate/></target><config>` + c.config + `</config></edit-config></rpc>`
			el, err := parseMessage([]byte(msg), 0)
			if err != nil {
				t.Fatal(err)
			}
			cfg := el.child(NSBase, "edit-config").child(NSBase, "config")
			fromNodes, nodesErr := treeOf(func() (*xmlcodec.Tree, error) {
				if err := textBesideElements(cfg); err != nil {
					return nil, err
				}
				return xmlcodec.ParseConfigNodes(nodes(cfg.Children), xmlcodec.Limits{}, cfg.scope())
			})
			text := msg[cfg.Children[0].start:cfg.Children[len(cfg.Children)-1].end]
			fromText, textErr := treeOf(func() (*xmlcodec.Tree, error) {
				return xmlcodec.ParseConfigNS([]byte(text), xmlcodec.Limits{}, cfg.scope())
			})
			if tagOf(nodesErr) != tagOf(textErr) {
				t.Fatalf("from elements: %v; from text: %v", nodesErr, textErr)
			}
			if nodesErr == nil && fromNodes != fromText {
				t.Fatalf("from elements:\n%s\nfrom text:\n%s", fromNodes, fromText)
			}
		})
	}
}

// treeOf applies the edit parse returns to an empty tree, as RFC 7951 JSON.
func treeOf(parse func() (*xmlcodec.Tree, error)) (string, error) {
	tree, err := parse()
	if err != nil {
		return "", err
	}
	d := &gen.Device{}
	if err := tree.Apply(d, xmlcodec.OpMerge, xmlcodec.ContinueOnError); err != nil {
		return "", err
	}
	return ygot.EmitJSON(d, &ygot.EmitJSONConfig{Format: ygot.RFC7951})
}

func tagOf(err error) rpcerror.Tag {
	if err == nil {
		return ""
	}
	return rpcerror.All(err)[0].Tag
}

// <config> and a subtree <filter> hold elements only (RFC 6241 §7.2, §6):
// text beside them is refused and changes nothing.
func TestTextBesideConfigOrFilterElementsIsRefused(t *testing.T) {
	srv := newTestServer(t)
	cl, _ := startPipeSession(t, srv, 1)
	if err := cl.w.WriteMessage([]byte(helloBase10)); err != nil {
		t.Fatal(err)
	}
	const ntp = `<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><unicast-peer><address>10.0.0.9</address><vpn-instance>_public_</vpn-instance></unicast-peer></ntp>`
	for _, rpc := range []string{
		`<edit-config><target><candidate/></target><config>junk` + ntp + `</config></edit-config>`,
		`<get-config><source><running/></source><filter type="subtree">` + ntp + `junk</filter></get-config>`,
	} {
		if r := cl.rpc(rpc); !strings.Contains(r, "<error-tag>malformed-message</error-tag>") || !strings.Contains(r, "Text outside of any element") {
			t.Errorf("%s: %s", rpc, r)
		}
	}
	if r := cl.rpc(`<get-config><source><candidate/></source></get-config>`); strings.Contains(r, "10.0.0.9") {
		t.Errorf("a refused edit changed the candidate: %s", r)
	}
}
