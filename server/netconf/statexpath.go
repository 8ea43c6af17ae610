package netconf

import (
	"fmt"
	"strings"

	"github.com/antchfx/xpath"
	goyang "github.com/openconfig/goyang/pkg/yang"

	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// maxStateXPathSteps bounds the navigation of one XPath evaluation over the
// server's state, as the codec bounds it over the configuration.
const maxStateXPathSteps = 2_000_000

type stateXPathBudget struct{}

// xpathPrefixes are the prefixes an XPath filter may use: those declared
// in scope at the filter, and, where not declared, each module's own
// prefix and its name (clients such as ncclient send select expressions
// without declarations).
func (s *Server) xpathPrefixes(declared map[string]string) map[string]string {
	p := map[string]string{}
	for _, m := range s.cfg.Schema.Library() {
		p[m.Prefix] = m.Namespace
		p[m.Name] = m.Namespace
	}
	for k, v := range declared {
		if k != "" {
			p[k] = v
		}
	}
	return p
}

// xpathSelectState evaluates an XPath filter (RFC 6241 §8.9) over the
// server's state elements, tops being the children of the document root.
// It returns the marks pruned() takes: each selected node whole, its
// ancestors and the keys of the list entries on the way (RFC 7950 §7.8.5)
// as a path.
func (s *Server) xpathSelectState(f filterSpec, tops []*element) (marks map[*element]selMark, err error) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stateXPathBudget); ok {
				err = &rpcerror.Error{Type: rpcerror.TypeApplication, Tag: rpcerror.TagInvalidValue,
					Message: fmt.Sprintf("The XPath expression %q needs too much work to evaluate.", f.xpath)}
				return
			}
			err = &rpcerror.Error{Type: rpcerror.TypeApplication, Tag: rpcerror.TagInvalidValue,
				Message: fmt.Sprintf("The XPath expression %q cannot be evaluated: %v.", f.xpath, r)}
		}
	}()
	e, cerr := xpath.CompileWithNS(f.xpath, s.xpathPrefixes(f.nsmap))
	if cerr != nil {
		return nil, &rpcerror.Error{Type: rpcerror.TypeApplication, Tag: rpcerror.TagInvalidValue,
			Message: fmt.Sprintf("The XPath expression %q is not valid: %v.", f.xpath, cerr)}
	}
	doc := &element{Children: tops}
	steps := 0
	it, ok := e.Evaluate(&elemNav{stack: []*element{doc}, idx: []int{-1}, steps: &steps}).(*xpath.NodeIterator)
	if !ok {
		return nil, &rpcerror.Error{Type: rpcerror.TypeApplication, Tag: rpcerror.TagInvalidValue,
			Message: fmt.Sprintf("The XPath expression %q does not evaluate to a node-set.", f.xpath)}
	}
	marks = map[*element]selMark{}
	for it.MoveNext() {
		nav, ok := it.Current().(*elemNav)
		if !ok {
			continue
		}
		if len(nav.stack) == 1 { // the root: everything
			for _, t := range tops {
				marks[t] = selWhole
			}
			continue
		}
		marks[nav.stack[len(nav.stack)-1]] = selWhole
		for _, a := range nav.stack[1 : len(nav.stack)-1] {
			if marks[a] == selNone {
				marks[a] = selPath
			}
		}
	}
	for _, t := range tops {
		s.markKeys(t, s.stateEntry(t), marks)
	}
	return marks, nil
}

// markKeys selects the keys of the list entries on a selection's path.
func (s *Server) markKeys(e *element, entry *goyang.Entry, marks map[*element]selMark) {
	if marks[e] != selPath || entry == nil {
		return
	}
	var keys []string
	if entry.IsList() {
		keys = strings.Fields(entry.Key)
	}
	for _, c := range e.Children {
		for _, k := range keys {
			if c.Name.Local == k && marks[c] == selNone {
				marks[c] = selWhole
			}
		}
		s.markKeys(c, entry.Dir[c.Name.Local], marks)
	}
}

// elemNav is an xpath.NodeNavigator over parsed elements. An element
// without children and with text has one text child; there are no
// attributes.
type elemNav struct {
	stack []*element // from the document root to the current element
	idx   []int      // idx[i]: position of stack[i] among its parent's children
	text  bool       // on the text child of the current element
	steps *int       // shared by the copies of one evaluation
}

var _ xpath.NodeNavigator = (*elemNav)(nil)

func (n *elemNav) cur() *element { return n.stack[len(n.stack)-1] }

func (n *elemNav) step() {
	*n.steps++
	if *n.steps > maxStateXPathSteps {
		panic(stateXPathBudget{})
	}
}

func (n *elemNav) NodeType() xpath.NodeType {
	switch {
	case n.text:
		return xpath.TextNode
	case len(n.stack) == 1:
		return xpath.RootNode
	}
	return xpath.ElementNode
}

func (n *elemNav) LocalName() string {
	if n.text || len(n.stack) == 1 {
		return ""
	}
	return n.cur().Name.Local
}

// Prefix is empty: prefixed name tests compare namespaces (NamespaceURL).
func (n *elemNav) Prefix() string { return "" }

func (n *elemNav) NamespaceURL() string {
	if n.text || len(n.stack) == 1 {
		return ""
	}
	return n.cur().Name.Space
}

func (n *elemNav) Value() string {
	var b strings.Builder
	stringValue(&b, n.cur())
	return b.String()
}

func stringValue(b *strings.Builder, e *element) {
	if len(e.Children) == 0 {
		b.WriteString(e.Text)
	}
	for _, c := range e.Children {
		stringValue(b, c)
	}
}

func (n *elemNav) Copy() xpath.NodeNavigator {
	c := *n
	c.stack = append([]*element(nil), n.stack...)
	c.idx = append([]int(nil), n.idx...)
	return &c
}

func (n *elemNav) MoveToRoot() {
	n.step()
	n.stack, n.idx, n.text = n.stack[:1], n.idx[:1], false
}

func (n *elemNav) MoveToParent() bool {
	n.step()
	if n.text {
		n.text = false
		return true
	}
	if len(n.stack) == 1 {
		return false
	}
	n.stack, n.idx = n.stack[:len(n.stack)-1], n.idx[:len(n.idx)-1]
	return true
}

func (n *elemNav) MoveToNextAttribute() bool { return false }

func (n *elemNav) MoveToChild() bool {
	n.step()
	if n.text {
		return false
	}
	c := n.cur()
	if len(c.Children) > 0 {
		n.stack, n.idx = append(n.stack, c.Children[0]), append(n.idx, 0)
		return true
	}
	if len(n.stack) > 1 && c.Text != "" {
		n.text = true
		return true
	}
	return false
}

// sibling moves to the sibling at position i, if there is one.
func (n *elemNav) sibling(i func(int) int) bool {
	n.step()
	if n.text || len(n.stack) == 1 {
		return false
	}
	parent := n.stack[len(n.stack)-2]
	j := i(n.idx[len(n.idx)-1])
	if j < 0 || j >= len(parent.Children) {
		return false
	}
	n.stack[len(n.stack)-1], n.idx[len(n.idx)-1] = parent.Children[j], j
	return true
}

func (n *elemNav) MoveToFirst() bool    { return n.sibling(func(int) int { return 0 }) }
func (n *elemNav) MoveToNext() bool     { return n.sibling(func(i int) int { return i + 1 }) }
func (n *elemNav) MoveToPrevious() bool { return n.sibling(func(i int) int { return i - 1 }) }

func (n *elemNav) MoveTo(other xpath.NodeNavigator) bool {
	o, ok := other.(*elemNav)
	if !ok || o.stack[0] != n.stack[0] {
		return false
	}
	n.stack = append(n.stack[:0], o.stack...)
	n.idx = append(n.idx[:0], o.idx...)
	n.text = o.text
	return true
}
