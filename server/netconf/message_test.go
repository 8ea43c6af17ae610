package netconf

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

func wantMalformed(t *testing.T, err error) {
	t.Helper()
	var e *rpcerror.Error
	if !errors.As(err, &e) || e.Tag != rpcerror.TagMalformedMessage {
		t.Fatalf("err = %v, want malformed-message", err)
	}
}

func TestParseMessageRefusesBadInput(t *testing.T) {
	for _, tc := range []struct{ name, xml string }{
		{"DTD with entities (billion laughs)", `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><rpc message-id="1">&b;</rpc>`},
		{"external entity", `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rpc>&x;</rpc>`},
		{"undefined entity", `<rpc message-id="1">&foo;</rpc>`},
		{"unclosed", `<rpc message-id="1"><get>`},
		{"mismatched end tag", `<rpc><get></rpc></get>`},
		{"two roots", `<a/><b/>`},
		{"text outside root", `<a/>junk`},
		{"empty", ``},
		{"unbound prefix", `<nc:rpc message-id="1"/>`},
		{"unbound attribute prefix", `<rpc a:b="1"/>`},
		{"processing instruction", `<rpc><?php x?></rpc>`},
		{"10,000-deep nesting", strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseMessage([]byte(tc.xml), 0)
			wantMalformed(t, err)
		})
	}
}

func TestParseMessageResolvesNamespaces(t *testing.T) {
	msg := `<?xml version="1.0"?><nc:rpc xmlns:nc="` + NSBase + `" xmlns:t="urn:ntpagent:yang:ntpagent-ntp" message-id="urn:uuid:1">` +
		`<nc:edit-config><nc:target><nc:candidate/></nc:target><nc:config><ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">` +
		`<key nc:operation="replace"><type>t:md5</type><v>a&amp;b&lt;</v></key></ntp></nc:config></nc:edit-config></nc:rpc>`
	el, err := parseMessage([]byte(msg), 0)
	if err != nil {
		t.Fatal(err)
	}
	if el.Name.Space != NSBase || el.Name.Local != "rpc" {
		t.Fatalf("root = %v", el.Name)
	}
	if id, _ := el.attr("message-id"); id != "urn:uuid:1" {
		t.Fatalf("message-id = %q", id)
	}
	cfg := el.child(NSBase, "edit-config").child(NSBase, "config")
	// The content is handed on as read, with the declarations in scope; its
	// span is its text as written.
	ntp := cfg.Children[0]
	want := `<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">` +
		`<key nc:operation="replace"><type>t:md5</type><v>a&amp;b&lt;</v></key></ntp>`
	if got := msg[ntp.start:ntp.end]; got != want || ntp.XMLSize() != len(want) {
		t.Fatalf("content\n got %s\nwant %s", got, want)
	}
	scope := cfg.scope()
	if scope["nc"] != NSBase || scope["t"] != "urn:ntpagent:yang:ntpagent-ntp" || len(scope) != 2 {
		t.Fatalf("scope = %v", scope)
	}
	key := cfg.Children[0].Children[0]
	if key.Attr[0].Name.Space != NSBase || key.Attr[0].Name.Local != "operation" || key.Children[1].Text != "a&b<" {
		t.Fatalf("key %+v", key)
	}
}

// Blanks and comments beside child elements are nothing; other text there
// is marked, wherever it is, for <config> and <filter> (elements only) and
// for containers, which hold no text.
func TestTextBesideElementsIsMarked(t *testing.T) {
	for _, c := range []struct {
		msg   string
		mixed bool
	}{
		{`<f><a/> <!-- c --><b x="1">t</b><c/></f>`, false},
		{"<f>\n  <a/>\n</f>", false},
		{`<f>x<a/></f>`, true},
		{`<f><a/>x<b/></f>`, true},
		{`<f><a/>x</f>`, true},
		{`<f>x</f>`, false}, // text only: the element's Text
	} {
		el, err := parseMessage([]byte(c.msg), 0)
		if err != nil {
			t.Fatal(err)
		}
		if el.XMLMixed() != c.mixed {
			t.Errorf("%s: mixed %v, want %v", c.msg, el.XMLMixed(), c.mixed)
		}
	}
}

func TestReplyCopiesRPCAttributes(t *testing.T) {
	// RFC 6241 §4.2: every attribute of <rpc> appears on <rpc-reply>.
	el, err := parseMessage([]byte(`<rpc xmlns="`+NSBase+`" xmlns:ex="http://example.net/content/1.0" message-id="101" ex:user-id="fred"><get/></rpc>`), 0)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var buf = new(bytesBuffer)
	replyOpen(&buf.Buffer, el)
	b.WriteString(buf.String())
	want := `<rpc-reply xmlns="` + NSBase + `" xmlns:ex="http://example.net/content/1.0" message-id="101" ex:user-id="fred">`
	if b.String() != want {
		t.Fatalf("got  %s\nwant %s", b.String(), want)
	}
}

// The message reader's cost is linear in its input whatever the input: a
// bound on the bytes allocated per input byte catches a reader that does
// per-element work growing with the declarations in scope.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		`<rpc message-id="1" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><get/></rpc>`,
		`<nc:rpc xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="x"><nc:get-config><nc:source><nc:running/></nc:source></nc:get-config></nc:rpc>`,
		`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`,
		`<a><b></a></b>`, `<a xmlns:p="u"><p:b p:c="d">e</p:b></a>`,
		`<a xmlns:p="u" xmlns:q="v" xmlns:r="w"><b xmlns:s="x"/><b xmlns:s="x"/><b xmlns:s="x"/><b xmlns:s="x"/></a>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		el, err := parseMessage(data, 32)
		runtime.ReadMemStats(&after)
		// A fixed part (decoder, buffers) plus a bounded amount per byte: an
		// element costs a few hundred bytes and takes at least 4 bytes (<a/>).
		if alloc, bound := after.TotalAlloc-before.TotalAlloc, uint64(64<<10+200*len(data)); alloc > bound {
			t.Fatalf("parsing %d bytes allocated %d, over %d", len(data), alloc, bound)
		}
		if err != nil {
			var e *rpcerror.Error
			if !errors.As(err, &e) || e.Tag != rpcerror.TagMalformedMessage {
				t.Fatalf("error %v is not malformed-message", err)
			}
			return
		}
		// What parses is handed on as read; the root's span is its text.
		if el.XMLSize() <= 0 || el.end > len(data) || data[el.start] != '<' || data[el.end-1] != '>' {
			t.Fatalf("the root's span [%d,%d) is not its text", el.start, el.end)
		}
		var b bytes.Buffer
		writeElement(&b, el, "")
		again, err := parseMessage(b.Bytes(), 64)
		if err != nil {
			t.Fatalf("re-serialized %q does not parse: %v", b.Bytes(), err)
		}
		if again.Name != el.Name || len(again.Children) != len(el.Children) {
			t.Fatalf("re-serialized %q reads as %v with %d children, want %v with %d", b.Bytes(), again.Name, len(again.Children), el.Name, len(el.Children))
		}
	})
}

type bytesBuffer struct{ bytes.Buffer }

func BenchmarkParseGetConfigRPC(b *testing.B) {
	msg := []byte(`<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="101"><get-config><source><running/></source></get-config></rpc>`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := parseMessage(msg, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// Text split by comments used to be joined with +=, which copies the whole
// text at every piece: 25,000 pieces cost ~300 MB of copying. The total
// allocation must stay linear in the message size.
func TestParseMessageTextSplitByCommentsIsLinear(t *testing.T) {
	const pieces = 25000
	msg := `<hello>` + strings.Repeat(`x<!---->`, pieces) + `</hello>`
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	el, err := parseMessage([]byte(msg), 0)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(el.Text) != pieces {
		t.Fatalf("text length = %d, want %d", len(el.Text), pieces)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Fatalf("parsing a %d-byte message allocated %d bytes", len(msg), alloc)
	}
	// A 2 MB message of the same shape is parsed too.
	big := `<hello>` + strings.Repeat(`x<!---->`, 2<<20/8) + `</hello>`
	if el, err := parseMessage([]byte(big), 0); err != nil || len(el.Text) != 2<<20/8 {
		t.Fatalf("2 MB message: %v", err)
	}
}

func TestParseMessageRefusesTooManyElements(t *testing.T) {
	msg := `<hello>` + strings.Repeat(`<a/>`, MaxElements) + `</hello>`
	_, err := parseMessage([]byte(msg), 0)
	wantMalformed(t, err)
	if !strings.Contains(err.Error(), "elements") {
		t.Fatalf("err = %v", err)
	}
	ok := `<hello>` + strings.Repeat(`<a/>`, MaxElements-1) + `</hello>`
	if _, err := parseMessage([]byte(ok), 0); err != nil {
		t.Fatalf("%d elements refused: %v", MaxElements, err)
	}
}
