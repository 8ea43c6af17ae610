package xmlcodec

import (
	"maps"
	"strings"

	"github.com/antchfx/xpath"

	"github.com/ntpagent/ntpagent/yang"
)

// maxXPathLen bounds the select expression; the library's parser recurses
// on nesting.
const maxXPathLen = 4096

// maxXPathSteps bounds the navigation an evaluation may do (each step is a
// move of a navigator), so that an expression like //*[count(//*) > 0]
// over a large tree ends with an error instead of running for minutes.
const maxXPathSteps = 2_000_000

type xpathBudgetExceeded struct{}

// xpathFilter marks the nodes selected by an XPath 1.0 expression (RFC 6241
// §8.9): each selected node with its whole subtree, its ancestors, and the
// keys of the list entries on the way. Prefixes come from the namespace
// declarations in scope at the <filter> element; an unprefixed name test
// matches the local name in any of our namespaces.
func (t *lazyTree) xpathFilter(s *Schema, doc *dnode, expr string, ns map[string]string) (err error) {
	if len(expr) > maxXPathLen {
		return filterErr("The XPath expression is longer than %d characters.", maxXPathLen)
	}
	if strings.Count(expr, "(")+strings.Count(expr, "[") > 256 {
		return filterErr("The XPath expression is nested too deeply.")
	}
	// The client's declarations hide the prefixes it may leave undeclared.
	base := s.xpathPrefixes()
	if fs, ok := simplePath(s, expr, ns, base); ok {
		t.evalSet(fs, doc)
		return nil
	}
	prefixes := maps.Clone(base)
	for p, u := range ns {
		if p != "" {
			prefixes[p] = u
		}
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(xpathBudgetExceeded); ok {
				err = filterErr("The XPath expression %q needs too much work to evaluate (more than %d steps).", expr, maxXPathSteps)
				return
			}
			err = filterErr("The XPath expression %q cannot be evaluated: %v.", expr, r)
		}
	}()
	e, cerr := xpath.CompileWithNS(expr, prefixes)
	if cerr != nil {
		return filterErr("The XPath expression %q is not valid: %v.", expr, cerr)
	}
	steps := 0
	res := e.Evaluate(&navigator{t: t, root: doc, cur: doc, steps: &steps})
	it, ok := res.(*xpath.NodeIterator)
	if !ok {
		return filterErr("The XPath expression %q does not evaluate to a node-set.", expr)
	}
	for n := 0; it.MoveNext(); n++ {
		if n > 10_000_000 {
			return filterErr("The XPath expression %q selects too many nodes.", expr)
		}
		nav, ok := it.Current().(*navigator)
		if !ok {
			continue
		}
		switch {
		case nav.cur == doc:
			for _, c := range t.kids(doc) {
				mark(c, selFull)
			}
		default:
			mark(nav.cur, selFull) // a text node selects its leaf
		}
	}
	return nil
}

// undeclaredPrefixes are the prefixes an XPath filter may use without
// declaring them. Clients such as ncclient send <filter type="xpath"
// select="..."/> without declaring the prefixes they use. Like other
// servers, accept each module's own prefix and its module name (the RFC
// 7951 JSON form) for its namespace. Every module of the library, so that
// an expression naming another model's nodes compiles (and selects nothing
// here); the schema's own modules win a shared prefix.
func (s *Schema) undeclaredPrefixes() map[string]string {
	prefixes := map[string]string{}
	for _, ms := range [][]*yang.Module{s.ys.Library(), s.modules} {
		for _, m := range ms {
			prefixes[m.Prefix] = m.Namespace
			prefixes[m.Name] = m.Namespace
		}
	}
	return prefixes
}

// navigator is an xpath.NodeNavigator over the dnode tree. Leaves have one
// text child; there are no attributes.
type navigator struct {
	t     *lazyTree
	steps *int // shared by the copies of one evaluation
	root  *dnode
	cur   *dnode
	text  bool // on the text child of cur
}

var _ xpath.NodeNavigator = (*navigator)(nil)

func (n *navigator) NodeType() xpath.NodeType {
	switch {
	case n.text:
		return xpath.TextNode
	case n.cur == n.root:
		return xpath.RootNode
	}
	return xpath.ElementNode
}

func (n *navigator) LocalName() string {
	if n.text || n.cur == n.root {
		return ""
	}
	return n.cur.s.name
}

// Prefix is empty: name tests without a prefix match any namespace, and
// prefixed ones are compared by namespace URI (NamespaceURL).
func (n *navigator) Prefix() string { return "" }

// NamespaceURL lets prefixed name tests compare namespaces.
func (n *navigator) NamespaceURL() string {
	if n.text || n.cur == n.root {
		return ""
	}
	return n.cur.s.ns
}

func (n *navigator) Value() string {
	if n.text || n.cur.s.kind == kLeaf || n.cur.s.kind == kLeafList {
		return n.cur.text
	}
	var b strings.Builder
	n.t.stringValue(&b, n.cur)
	return b.String()
}

func (t *lazyTree) stringValue(b *strings.Builder, d *dnode) {
	if d.s.kind == kLeaf || d.s.kind == kLeafList {
		b.WriteString(d.text)
		return
	}
	for _, c := range t.kids(d) {
		t.stringValue(b, c)
	}
}

func (n *navigator) Copy() xpath.NodeNavigator { c := *n; return &c }

// step counts one move against the evaluation's budget.
func (n *navigator) step() {
	*n.steps++
	if *n.steps > maxXPathSteps {
		panic(xpathBudgetExceeded{})
	}
}

func (n *navigator) MoveToRoot() { n.step(); n.cur, n.text = n.root, false }

func (n *navigator) MoveToParent() bool {
	n.step()
	if n.text {
		n.text = false
		return true
	}
	if n.cur.parent == nil {
		return false
	}
	n.cur = n.cur.parent
	return true
}

func (n *navigator) MoveToNextAttribute() bool { return false }

func (n *navigator) isLeaf() bool {
	return n.cur != n.root && (n.cur.s.kind == kLeaf || n.cur.s.kind == kLeafList)
}

func (n *navigator) MoveToChild() bool {
	n.step()
	if n.text {
		return false
	}
	if n.isLeaf() {
		if n.cur.text == "" {
			return false
		}
		n.text = true
		return true
	}
	kids := n.t.kids(n.cur)
	if len(kids) == 0 {
		return false
	}
	n.cur = kids[0]
	return true
}

func (n *navigator) MoveToFirst() bool {
	n.step()
	if n.text || n.cur.parent == nil {
		return false
	}
	n.cur = n.cur.parent.kids[0]
	return true
}

func (n *navigator) MoveToNext() bool {
	n.step()
	if n.text || n.cur.parent == nil || int(n.cur.idx)+1 >= len(n.cur.parent.kids) {
		return false
	}
	n.cur = n.cur.parent.kids[n.cur.idx+1]
	return true
}

func (n *navigator) MoveToPrevious() bool {
	n.step()
	if n.text || n.cur.parent == nil || n.cur.idx == 0 {
		return false
	}
	n.cur = n.cur.parent.kids[n.cur.idx-1]
	return true
}

func (n *navigator) MoveTo(other xpath.NodeNavigator) bool {
	o, ok := other.(*navigator)
	if !ok || o.root != n.root {
		return false
	}
	*n = *o
	return true
}
