package netconf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/ntpagent/ntpagent/datastore/rpcerror"
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
// the namespace declarations written on it, so that a subtree can be
// re-serialized standalone with every prefix still bound (identityref values
// such as "ntpa:md5" depend on prefixes declared on ancestors).
type element struct {
	Name     xml.Name
	Attr     []xml.Attr // ordinary attributes; Name.Space is the namespace URI or ""
	Decl     []xml.Attr // xmlns and xmlns:p declarations as written
	Children []*element
	Text     string
	parent   *element
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

// scope returns the prefix bindings in force at e.
func (e *element) scope() map[string]string {
	var chain []*element
	for p := e; p != nil; p = p.parent {
		chain = append(chain, p)
	}
	m := map[string]string{}
	for i := len(chain) - 1; i >= 0; i-- {
		for _, d := range chain[i].Decl {
			if d.Name.Space == "xmlns" {
				m[d.Name.Local] = d.Value
			}
		}
	}
	return m
}

func malformed(format string, args ...any) *rpcerror.Error {
	return &rpcerror.Error{Type: rpcerror.TypeRPC, Tag: rpcerror.TagMalformedMessage, Message: fmt.Sprintf(format, args...)}
}

// parseMessage parses one NETCONF message. It refuses DTDs (and so entity
// declarations, the "billion laughs" family), nesting deeper than maxDepth
// and anything that is not one well-formed element. Errors are
// malformed-message rpc-errors.
func parseMessage(b []byte, maxDepth int) (*element, error) {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var root, cur *element
	depth := 0
	elements, textLen := 0, 0
	// texts holds one builder per open element (index depth-1), as pointers:
	// appending with += was quadratic for text split by comments.
	var texts []*strings.Builder
	for {
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
			el := &element{Name: t.Name, parent: cur}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					el.Decl = append(el.Decl, a)
				} else {
					el.Attr = append(el.Attr, a)
				}
			}
			if cur == nil {
				root = el
			} else {
				cur.Children = append(cur.Children, el)
			}
			cur = el
		case xml.EndElement:
			if cur == nil {
				return nil, malformed("Unexpected end tag.")
			}
			if t.Name != cur.Name {
				return nil, malformed("End tag %s does not match start tag %s.", t.Name.Local, cur.Name.Local)
			}
			if len(cur.Children) == 0 {
				cur.Text = texts[depth-1].String()
			}
			texts[depth-1].Reset()
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
	if err := resolve(root, map[string]string{"xml": nsXML}); err != nil {
		return nil, err
	}
	return root, nil
}

// resolve replaces the prefixes of RawToken names by namespace URIs,
// refusing unbound prefixes (Namespaces in XML 1.0 §5).
func resolve(e *element, scope map[string]string) error {
	if len(e.Decl) > 0 {
		s := make(map[string]string, len(scope)+len(e.Decl))
		for k, v := range scope {
			s[k] = v
		}
		for _, d := range e.Decl {
			if d.Name.Space == "xmlns" {
				s[d.Name.Local] = d.Value
			} else {
				s[""] = d.Value
			}
		}
		scope = s
	}
	ns, ok := scope[e.Name.Space]
	if !ok && e.Name.Space != "" {
		return malformed("The prefix %q of element %s is not declared.", e.Name.Space, e.Name.Local)
	}
	e.Name.Space = ns
	for i, a := range e.Attr {
		if a.Name.Space == "" {
			continue // unprefixed attributes have no namespace
		}
		ns, ok := scope[a.Name.Space]
		if !ok {
			return malformed("The prefix %q of attribute %s is not declared.", a.Name.Space, a.Name.Local)
		}
		e.Attr[i].Name.Space = ns
	}
	for _, c := range e.Children {
		if err := resolve(c, scope); err != nil {
			return err
		}
	}
	return nil
}

// innerXML re-serializes the children of e as standalone XML: each element
// carries its namespace as a default xmlns and the first level re-declares
// every prefix in scope, so values holding prefixes keep their meaning.
func (e *element) innerXML() []byte {
	var buf bytes.Buffer
	scope := e.scope()
	for _, c := range e.Children {
		writeElement(&buf, c, scope, true, "")
	}
	return buf.Bytes()
}

func writeElement(buf *bytes.Buffer, e *element, scope map[string]string, top bool, parentNS string) {
	buf.WriteByte('<')
	buf.WriteString(e.Name.Local)
	if top || e.Name.Space != parentNS {
		buf.WriteString(` xmlns="`)
		xmlEscape(buf, e.Name.Space)
		buf.WriteByte('"')
	}
	local := scope
	copied := false
	if top {
		keys := make([]string, 0, len(scope))
		for k := range scope {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "" || k == "xml" {
				continue
			}
			fmt.Fprintf(buf, ` xmlns:%s="`, k)
			xmlEscape(buf, scope[k])
			buf.WriteByte('"')
		}
	} else {
		for _, d := range e.Decl {
			if d.Name.Space == "xmlns" {
				if !copied {
					copied = true
					local = make(map[string]string, len(scope)+1)
					for k, v := range scope {
						local[k] = v
					}
				}
				local[d.Name.Local] = d.Value
				fmt.Fprintf(buf, ` xmlns:%s="`, d.Name.Local)
				xmlEscape(buf, d.Value)
				buf.WriteByte('"')
			}
		}
	}
	for _, a := range e.Attr {
		buf.WriteByte(' ')
		if a.Name.Space != "" {
			p := prefixFor(local, a.Name.Space)
			if p == "" {
				p = "a"
				fmt.Fprintf(buf, `xmlns:%s="`, p)
				xmlEscape(buf, a.Name.Space)
				buf.WriteString(`" `)
			}
			buf.WriteString(p)
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
		writeElement(buf, c, local, false, e.Name.Space)
	}
	buf.WriteString("</")
	buf.WriteString(e.Name.Local)
	buf.WriteByte('>')
}

func prefixFor(scope map[string]string, ns string) string {
	if ns == nsXML {
		return "xml"
	}
	best := ""
	for p, u := range scope {
		if u == ns && p != "" && (best == "" || p < best) {
			best = p
		}
	}
	return best
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
