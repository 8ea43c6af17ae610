package xmlcodec

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// Limits bound what the decoder accepts; a zero field takes its default.
type Limits struct {
	MaxBytes    int64 // size of the XML text; default 16 MiB
	MaxDepth    int   // element nesting; default 64
	MaxElements int   // number of elements; default 500,000
}

// DefaultLimits are the limits used when a field of Limits is zero.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 16 << 20, MaxDepth: 64, MaxElements: 500_000}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxElements <= 0 {
		l.MaxElements = d.MaxElements
	}
	return l
}

// Namespace names of RFC 6241, RFC 6243 and XML itself.
const (
	nsBase = "urn:ietf:params:xml:ns:netconf:base:1.0"
	nsWD   = "urn:ietf:params:xml:ns:netconf:default:1.0"
	nsXML  = "http://www.w3.org/XML/1998/namespace"
	// nsYANG holds the insert, key and value attributes of edit-config
	// (RFC 7950 §5.3.1, §7.8.6).
	nsYANG = "urn:ietf:params:xml:ns:yang:1"
)

// xelem is a generic XML element with its names resolved to namespaces.
type xelem struct {
	ns, local string
	prefix    string
	attrs     []xattr
	kids      []*xelem
	text      string
	mixed     bool // text beside child elements (from a Node; parseXML keeps it in text)
	scope     *scope
	line      int
}

type xattr struct{ ns, local, value string }

// scope is one level of namespace declarations; lookups walk outwards.
type scope struct {
	parent *scope
	decl   map[string]string // prefix ("" for the default) → namespace
}

// declare returns the scope of an element with attributes attrs: parent,
// or a new scope with the xmlns declarations among them. empty names a
// prefix declared with an empty namespace, which Namespaces in XML 1.0 §5
// forbids (only the default namespace may be undeclared so).
func declare(parent *scope, attrs []xml.Attr) (sc *scope, empty string) {
	sc = parent
	for _, a := range attrs {
		if a.Name.Space != "xmlns" && (a.Name.Space != "" || a.Name.Local != "xmlns") {
			continue
		}
		if sc == parent {
			sc = &scope{parent: parent, decl: map[string]string{}}
		}
		p := a.Name.Local
		if a.Name.Space == "" {
			p = ""
		}
		if p != "" && a.Value == "" {
			return nil, p
		}
		sc.decl[p] = a.Value
	}
	return sc, ""
}

func (s *scope) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	for ; s != nil; s = s.parent {
		if ns, ok := s.decl[prefix]; ok {
			return ns, ns != "" || prefix == ""
		}
	}
	if prefix == "" {
		return "", true // no default namespace: the empty namespace
	}
	return "", false
}

func malformed(format string, args ...any) *rpcerror.Error {
	e := rpcerror.New(rpcerror.TagMalformedMessage, "", format, args...)
	e.Type = rpcerror.TypeRPC
	return e
}

func tooBig(format string, args ...any) *rpcerror.Error {
	e := rpcerror.New(rpcerror.TagTooBig, "", format, args...)
	e.Type = rpcerror.TypeRPC
	return e
}

// parseXML reads a sequence of top-level elements (the content of <config>
// or <filter>). inScope holds namespace declarations of the enclosing
// elements (prefix → namespace, "" for the default namespace).
//
// A document type declaration is refused: Go's decoder would not expand
// its entities, but refusing it outright gives a clear error instead of a
// confusing one about an unknown entity (the "billion laughs" shape).
func parseXML(data []byte, lim Limits, inScope map[string]string) ([]*xelem, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, tooBig("The XML content is %d bytes, more than the limit of %d.", len(data), lim.MaxBytes)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	top := &scope{decl: map[string]string{}}
	for p, ns := range inScope {
		top.decl[p] = ns
	}
	var roots []*xelem
	var stack []*xelem
	var textBuf []*strings.Builder // pointers: a Builder must not be copied when the slice grows
	count := 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, malformed("The XML is not well-formed: %s (line %d).", se.Msg, se.Line)
			}
			return nil, malformed("The XML is not well-formed: %v.", err)
		}
		line, _ := d.InputPos()
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > lim.MaxElements {
				return nil, tooBig("The XML content has more than %d elements.", lim.MaxElements)
			}
			if len(stack)+1 > lim.MaxDepth {
				return nil, tooBig("The XML content is nested deeper than %d elements (line %d).", lim.MaxDepth, line)
			}
			parent := top
			if len(stack) > 0 {
				parent = stack[len(stack)-1].scope
			}
			sc, empty := declare(parent, t.Attr)
			if empty != "" {
				return nil, malformed("The prefix %q is bound to an empty namespace (line %d).", empty, line)
			}
			ns, ok := sc.lookup(t.Name.Space)
			if !ok {
				return nil, malformed("The prefix %q of element %s is not declared (line %d).", t.Name.Space, t.Name.Local, line)
			}
			el := &xelem{ns: ns, local: t.Name.Local, prefix: t.Name.Space, scope: sc, line: line}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				ans := ""
				if a.Name.Space != "" {
					if ans, ok = sc.lookup(a.Name.Space); !ok {
						return nil, malformed("The prefix %q of attribute %s is not declared (line %d).", a.Name.Space, a.Name.Local, line)
					}
				}
				el.attrs = append(el.attrs, xattr{ans, a.Name.Local, a.Value})
			}
			if len(stack) == 0 {
				roots = append(roots, el)
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, el)
			}
			stack = append(stack, el)
			textBuf = append(textBuf, new(strings.Builder))
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, malformed("Unexpected end tag </%s> (line %d).", t.Name.Local, line)
			}
			el := stack[len(stack)-1]
			if el.prefix != t.Name.Space || el.local != t.Name.Local {
				return nil, malformed("Element <%s> is closed by </%s> (line %d).", qn(el.prefix, el.local), qn(t.Name.Space, t.Name.Local), line)
			}
			el.text = textBuf[len(textBuf)-1].String()
			stack = stack[:len(stack)-1]
			textBuf = textBuf[:len(textBuf)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, malformed("Text outside of any element (line %d).", line)
				}
				continue
			}
			textBuf[len(textBuf)-1].Write(t)
		case xml.Directive:
			return nil, malformed("Document type declarations (<!DOCTYPE>, <!ENTITY>) are not accepted (line %d).", line)
		case xml.ProcInst, xml.Comment:
		}
	}
	if len(stack) > 0 {
		return nil, malformed("The XML ends inside element <%s>.", stack[len(stack)-1].local)
	}
	return roots, nil
}

func qn(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

// unwrapConfig descends into a single <config> root in the base namespace,
// so that callers may pass either the <config> element or its content.
func unwrapConfig(roots []*xelem) []*xelem {
	if len(roots) == 1 && roots[0].local == "config" && (roots[0].ns == nsBase || roots[0].ns == "") {
		return roots[0].kids
	}
	return roots
}
