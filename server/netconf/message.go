package netconf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/server/netconf/xmlcodec"
)

// Namespaces of the protocol (RFC 6241 §3.1, RFC 5277 §4, RFC 6022, RFC 6243, RFC 6470).
const (
	NSBase          = "urn:ietf:params:xml:ns:netconf:base:1.0"
	NSNotification  = "urn:ietf:params:xml:ns:netconf:notification:1.0"
	NSMonitoring    = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
	NSWithDefaults  = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
	NSNotifications = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"
	NSSystem        = "urn:ntpagent:yang:ntpagent-system"
	nsXML           = "http://www.w3.org/XML/1998/namespace"
)

// DefaultMaxDepth is the deepest element nesting accepted in a message.
const DefaultMaxDepth = 64

// MaxElements bounds the number of elements in one message: each costs a
// few hundred bytes of heap, so 4M tiny <a/> in a 16 MiB message would
// otherwise cost hundreds of MiB.
const MaxElements = 100000

// MaxText bounds the total character data kept from one message.
const MaxText = 8 << 20

// MaxHelloMessage bounds the client <hello>, read before anything else.
const MaxHelloMessage = 1 << 20

// element is one parsed XML element with its namespace resolved. Decl holds
// the namespace declarations written on it and prefix the prefixes as
// written, so that a subtree can be handed on to the codec (as an
// xmlcodec.Node) with the declarations in scope: identityref values such as
// "ntpa:md5" depend on prefixes declared on ancestors.
type element struct {
	Name     xml.Name // Name.Space is the namespace URI
	prefix   string   // the prefix as written ("" for none)
	Attr     []attribute
	Decl     []xml.Attr // xmlns and xmlns:p declarations as written
	Children []*element
	Text     string // its character data, when it has no child element
	mixed    bool   // non-blank character data beside child elements
	parent   *element
	// start and end delimit the element's text in the message (start tag to
	// end tag).
	start, end int
	// src is the message, on the root element only (see text).
	src []byte
}

// text returns the element as the message wrote it, start tag to end tag.
func (e *element) text() []byte {
	r := e
	for r.parent != nil {
		r = r.parent
	}
	return r.src[e.start:e.end]
}

// attribute is an ordinary attribute: Name.Space is its namespace URI ("" for
// an unprefixed one), prefix the prefix it was written with.
type attribute struct {
	Name   xml.Name
	prefix string
	Value  string
}

// child returns the first child with the given namespace and local name.
// A child in no namespace matches too: clients such as ncclient send
// unqualified parameters (<config>, <filter>) inside a qualified <rpc>.
func (e *element) child(ns, local string) *element {
	var loose *element
	for _, c := range e.Children {
		if c.Name.Local == local {
			if c.Name.Space == ns {
				return c
			}
			if c.Name.Space == "" && loose == nil {
				loose = c
			}
		}
	}
	return loose
}

func (e *element) attr(local string) (string, bool) {
	for _, a := range e.Attr {
		if a.Name.Local == local && (a.Name.Space == "" || a.Name.Space == NSBase) {
			return a.Value, true
		}
	}
	return "", false
}

// scope returns the prefix bindings in force at e ("" is the default
// namespace). It costs the declarations on e and its ancestors: call it
// once per operation, not per element.
func (e *element) scope() map[string]string {
	var chain []*element
	for p := e; p != nil; p = p.parent {
		chain = append(chain, p)
	}
	m := map[string]string{}
	for i := len(chain) - 1; i >= 0; i-- {
		for _, d := range chain[i].Decl {
			m[declPrefix(d)] = d.Value
		}
	}
	return m
}

// declPrefix is the prefix an xmlns attribute declares, "" for xmlns itself.
func declPrefix(d xml.Attr) string {
	if d.Name.Space == "xmlns" {
		return d.Name.Local
	}
	return ""
}

func isDecl(a xml.Attr) bool {
	return a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns")
}

// The element as an xmlcodec.Node: <config> and <filter> content is decoded
// from the elements read here, so each message is tokenized once.

func (e *element) XMLName() (prefix, local string) { return e.prefix, e.Name.Local }
func (e *element) XMLDecls() []xml.Attr            { return e.Decl }
func (e *element) XMLAttrLen() int                 { return len(e.Attr) }
func (e *element) XMLAttr(i int) (prefix, local, value string) {
	a := e.Attr[i]
	return a.prefix, a.Name.Local, a.Value
}
func (e *element) XMLText() string              { return e.Text }
func (e *element) XMLMixed() bool               { return e.mixed }
func (e *element) XMLLen() int                  { return len(e.Children) }
func (e *element) XMLChild(i int) xmlcodec.Node { return e.Children[i] }
func (e *element) XMLSize() int                 { return e.end - e.start }

// nodes returns elements as codec nodes.
func nodes(elements []*element) []xmlcodec.Node {
	out := make([]xmlcodec.Node, len(elements))
	for i, e := range elements {
		out[i] = e
	}
	return out
}

// textBesideElements refuses character data beside the child elements of
// <config> or <filter>, which hold elements only.
func textBesideElements(e *element) error {
	if e.mixed {
		return malformed("Text outside of any element in <%s>.", e.Name.Local)
	}
	return nil
}

func malformed(format string, args ...any) *rpcerror.Error {
	return &rpcerror.Error{Type: rpcerror.TypeRPC, Tag: rpcerror.TagMalformedMessage, Message: fmt.Sprintf(format, args...)}
}

// bindings resolves prefixes while a message is read: for each prefix, the
// stack of namespaces declared for it by the open elements. A declaration
// costs one push and one pop and a lookup is one map access, so resolving
// is linear in the message however many declarations are in scope
// (Namespaces in XML 1.0 §6).
type bindings map[string][]string

func (b bindings) push(decl []xml.Attr) {
	for _, d := range decl {
		p := declPrefix(d)
		b[p] = append(b[p], d.Value)
	}
}

func (b bindings) pop(decl []xml.Attr) {
	for _, d := range decl {
		p := declPrefix(d)
		b[p] = b[p][:len(b[p])-1]
	}
}

func (b bindings) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	if s := b[prefix]; len(s) > 0 {
		return s[len(s)-1], true
	}
	return "", prefix == ""
}

// parseMessage parses one NETCONF message. It refuses DTDs (and so entity
// declarations, the "billion laughs" family), nesting deeper than maxDepth,
// more than MaxElements elements or MaxText bytes of text, unbound prefixes
// (Namespaces in XML 1.0 §5) and anything that is not one well-formed
// element, each as soon as it is read. Time and memory are linear in the
// size of the message. Errors are malformed-message rpc-errors.
func parseMessage(b []byte, maxDepth int) (*element, error) {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var root, cur *element
	depth := 0
	elements, textLen := 0, 0
	scope := bindings{}
	// starts holds the offset of each open element's start tag.
	var starts []int
	// texts holds one builder per open element (index depth-1), as pointers:
	// appending with += was quadratic for text split by comments.
	var texts []*strings.Builder
	for {
		offset := int(d.InputOffset())
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, malformed("The message is not well-formed XML: %v.", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && cur == nil {
				return nil, malformed("The message has more than one root element.")
			}
			depth++
			if depth > maxDepth {
				return nil, malformed("The message nests elements deeper than %d.", maxDepth)
			}
			elements++
			if elements > MaxElements {
				return nil, malformed("The message holds more than %d elements.", MaxElements)
			}
			if len(texts) < depth {
				texts = append(texts, new(strings.Builder))
			}
			texts[depth-1].Reset()
			el := &element{Name: t.Name, prefix: t.Name.Space, parent: cur}
			for _, a := range t.Attr {
				if isDecl(a) {
					el.Decl = append(el.Decl, a)
				}
			}
			scope.push(el.Decl)
			ns, ok := scope.lookup(el.prefix)
			if !ok {
				return nil, malformed("The prefix %q of element %s is not declared.", el.prefix, el.Name.Local)
			}
			el.Name.Space = ns
			for _, a := range t.Attr {
				if isDecl(a) {
					continue
				}
				at := attribute{Name: a.Name, prefix: a.Name.Space, Value: a.Value}
				if at.prefix != "" { // unprefixed attributes have no namespace
					if at.Name.Space, ok = scope.lookup(at.prefix); !ok {
						return nil, malformed("The prefix %q of attribute %s is not declared.", at.prefix, a.Name.Local)
					}
				}
				el.Attr = append(el.Attr, at)
			}
			if cur == nil {
				root = el
			} else {
				cur.Children = append(cur.Children, el)
			}
			starts = append(starts, offset)
			cur = el
		case xml.EndElement:
			if cur == nil {
				return nil, malformed("Unexpected end tag.")
			}
			if t.Name.Space != cur.prefix || t.Name.Local != cur.Name.Local {
				return nil, malformed("End tag %s does not match start tag %s.", t.Name.Local, cur.Name.Local)
			}
			if len(cur.Children) == 0 {
				cur.Text = texts[depth-1].String()
			} else if !cur.mixed && strings.TrimSpace(texts[depth-1].String()) != "" {
				cur.mixed = true // text before the first child
			}
			texts[depth-1].Reset()
			cur.start, cur.end = starts[len(starts)-1], int(d.InputOffset())
			starts = starts[:len(starts)-1]
			scope.pop(cur.Decl)
			depth--
			cur = cur.parent
		case xml.CharData:
			if cur == nil {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, malformed("Text outside the root element.")
				}
				continue
			}
			if len(cur.Children) == 0 {
				textLen += len(t)
				if textLen > MaxText {
					return nil, malformed("The message holds more than %d bytes of text.", MaxText)
				}
				texts[depth-1].Write(t)
			} else if !cur.mixed && len(bytes.TrimSpace(t)) != 0 {
				cur.mixed = true
			}
		case xml.Directive:
			return nil, malformed("DOCTYPE and other XML declarations are not accepted.")
		case xml.ProcInst:
			if t.Target != "xml" || root != nil {
				return nil, malformed("Processing instructions are not accepted.")
			}
		case xml.Comment:
		}
	}
	if root == nil {
		return nil, malformed("The message holds no element.")
	}
	if cur != nil {
		return nil, malformed("The message ends inside element %s.", cur.Name.Local)
	}
	root.src = b
	return root, nil
}

// writeElement writes e with the declarations and prefixes it was read
// with; each element whose namespace differs from its parent's carries it
// as the default namespace.
func writeElement(buf *bytes.Buffer, e *element, parentNS string) {
	buf.WriteByte('<')
	buf.WriteString(e.Name.Local)
	if e.Name.Space != parentNS {
		buf.WriteString(` xmlns="`)
		xmlEscape(buf, e.Name.Space)
		buf.WriteByte('"')
	}
	for _, d := range e.Decl {
		if d.Name.Space == "xmlns" {
			buf.WriteString(" xmlns:")
			buf.WriteString(d.Name.Local)
			buf.WriteString(`="`)
			xmlEscape(buf, d.Value)
			buf.WriteByte('"')
		}
	}
	for _, a := range e.Attr {
		buf.WriteByte(' ')
		if a.prefix != "" {
			buf.WriteString(a.prefix)
			buf.WriteByte(':')
		}
		buf.WriteString(a.Name.Local)
		buf.WriteString(`="`)
		xmlEscape(buf, a.Value)
		buf.WriteByte('"')
	}
	if len(e.Children) == 0 && e.Text == "" {
		buf.WriteString("/>")
		return
	}
	buf.WriteByte('>')
	if len(e.Children) == 0 {
		xmlEscape(buf, e.Text)
	}
	for _, c := range e.Children {
		writeElement(buf, c, e.Name.Space)
	}
	buf.WriteString("</")
	buf.WriteString(e.Name.Local)
	buf.WriteByte('>')
}

// xmlEscape writes s escaped for element text or a double-quoted attribute
// value. Newlines stay as they are so that YANG text in <get-schema> reads
// well. Bytes that are not UTF-8 and characters XML 1.0 cannot carry (most
// C0 controls) become U+FFFD, so that echoing a client's bad input in an
// error-message never makes our own reply malformed.
func xmlEscape(buf *bytes.Buffer, s string) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		var esc string
		size := 1
		switch {
		case c == '&':
			esc = "&amp;"
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '"':
			esc = "&quot;"
		case c == '\r':
			esc = "&#xD;"
		case c < 0x20 && c != '\n' && c != '\t':
			esc = "\uFFFD"
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			size = n
			if (r != utf8.RuneError || n != 1) && r != 0xFFFE && r != 0xFFFF {
				i += n
				continue
			}
			esc = "\uFFFD"
		default:
			i++
			continue
		}
		buf.WriteString(s[last:i])
		buf.WriteString(esc)
		i += size
		last = i
	}
	buf.WriteString(s[last:])
}
