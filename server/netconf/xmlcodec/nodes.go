package xmlcodec

import (
	"encoding/xml"
	"slices"
	"strings"

	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// Node is an element of a document its caller has parsed already (the
// NETCONF layer parses each message once, with its own limits): the codec
// reads <config> and <filter> content from such elements instead of
// tokenizing their text a second time. Names are as written; the codec
// resolves prefixes itself, with the same rules as for text (Namespaces in
// XML 1.0 §5, a prefix bound to "" is not declared).
type Node interface {
	// XMLName is the element's prefix ("" for none) and local name.
	XMLName() (prefix, local string)
	// XMLDecls are the xmlns and xmlns:p attributes written on it.
	XMLDecls() []xml.Attr
	// XMLAttrLen and XMLAttr give its other attributes, as written.
	XMLAttrLen() int
	XMLAttr(i int) (prefix, local, value string)
	// XMLText is its character data when it has no child element.
	XMLText() string
	// XMLMixed reports non-blank character data beside child elements.
	XMLMixed() bool
	// XMLLen and XMLChild give its child elements in document order.
	XMLLen() int
	XMLChild(i int) Node
	// XMLSize is the length of its text in the document, tags included.
	XMLSize() int
}

// fromNodes builds the codec's elements from nodes (siblings, in document
// order) under the limits of lim, inScope holding the namespace
// declarations of their ancestors. It refuses what parseXML refuses of the
// same text, with the same messages (without line numbers, which a
// document parsed elsewhere does not carry).
func fromNodes(nodes []Node, lim Limits, inScope map[string]string) ([]*xelem, error) {
	lim = lim.withDefaults()
	size := 0
	for _, n := range nodes {
		size += n.XMLSize()
	}
	if int64(size) > lim.MaxBytes {
		return nil, tooBig("The XML content is %d bytes, more than the limit of %d.", size, lim.MaxBytes)
	}
	top := &scope{decl: map[string]string{}}
	for p, ns := range inScope {
		top.decl[p] = ns
	}
	b := nodeBuilder{lim: lim}
	roots := make([]*xelem, 0, len(nodes))
	for _, n := range nodes {
		x, err := b.build(n, top, 1)
		if err != nil {
			return nil, err
		}
		roots = append(roots, x)
	}
	return roots, nil
}

type nodeBuilder struct {
	lim   Limits
	count int
}

func (b *nodeBuilder) build(n Node, parent *scope, depth int) (*xelem, error) {
	b.count++
	if b.count > b.lim.MaxElements {
		return nil, tooBig("The XML content has more than %d elements.", b.lim.MaxElements)
	}
	if depth > b.lim.MaxDepth {
		return nil, tooBig("The XML content is nested deeper than %d elements.", b.lim.MaxDepth)
	}
	sc, empty := declare(parent, n.XMLDecls())
	if empty != "" {
		return nil, malformed("The prefix %q is bound to an empty namespace.", empty)
	}
	prefix, local := n.XMLName()
	ns, ok := sc.lookup(prefix)
	if !ok {
		return nil, malformed("The prefix %q of element %s is not declared.", prefix, local)
	}
	x := &xelem{ns: ns, local: local, prefix: prefix, scope: sc, text: n.XMLText(), mixed: n.XMLMixed()}
	if k := n.XMLAttrLen(); k > 0 {
		x.attrs = make([]xattr, 0, k)
		for i := range k {
			ap, al, v := n.XMLAttr(i)
			ans := ""
			if ap != "" {
				if ans, ok = sc.lookup(ap); !ok {
					return nil, malformed("The prefix %q of attribute %s is not declared.", ap, al)
				}
			}
			x.attrs = append(x.attrs, xattr{ans, al, v})
		}
	}
	if k := n.XMLLen(); k > 0 {
		x.kids = make([]*xelem, 0, k)
		for i := range k {
			c, err := b.build(n.XMLChild(i), sc, depth+1)
			if err != nil {
				return nil, err
			}
			x.kids = append(x.kids, c)
		}
	}
	return x, nil
}

// ParseConfigNodes is ParseConfigNS for content its caller has parsed:
// nodes are the children of <config>, inScope the declarations in scope
// at <config>.
func ParseConfigNodes(nodes []Node, lim Limits, inScope map[string]string) (*Tree, error) {
	s, err := Native()
	if err != nil {
		return nil, err
	}
	return s.ParseConfigNodes(nodes, lim, inScope)
}

// ParseConfigNodes is the package's ParseConfigNodes for the schema's
// model: every top-level element must be in one of its namespaces.
func (s *Schema) ParseConfigNodes(nodes []Node, lim Limits, inScope map[string]string) (*Tree, error) {
	roots, err := fromNodes(nodes, lim, inScope)
	if err != nil {
		return nil, err
	}
	return s.resolveRoots(roots)
}

// hasText reports character data in an element that should hold only
// child elements.
func (x *xelem) hasText() bool { return x.mixed || strings.TrimSpace(x.text) != "" }

// ParseConfigModels is ParseConfigNodes for a <config> whose top-level
// elements may belong to several models: each element goes to the schema
// of its namespace. It returns one tree per schema, in the order of
// schemas, nil for a schema the content does not touch. An element of no
// schema's namespace is unknown-namespace (RFC 6241 Appendix A).
func ParseConfigModels(nodes []Node, lim Limits, inScope map[string]string, schemas []*Schema) ([]*Tree, error) {
	roots, err := fromNodes(nodes, lim, inScope)
	if err != nil {
		return nil, err
	}
	parts := make([][]*xelem, len(schemas))
	for _, x := range roots {
		i := slices.IndexFunc(schemas, func(s *Schema) bool { return s.HasNamespace(x.ns) })
		if i < 0 {
			if x.ns == "" || len(schemas) == 0 {
				i = 0 // the first schema says what is wrong with it
			} else {
				e := badElement(rpcerror.TagUnknownNamespace, "", x.local, "No module of this device has namespace %q.", x.ns)
				e.Info = append(e.Info, rpcerror.InfoItem{Name: "bad-namespace", Value: x.ns})
				return nil, e
			}
		}
		parts[i] = append(parts[i], x)
	}
	trees := make([]*Tree, len(schemas))
	for i, p := range parts {
		if p == nil {
			continue
		}
		if trees[i], err = schemas[i].resolveRoots(p); err != nil {
			return nil, err
		}
	}
	return trees, nil
}
