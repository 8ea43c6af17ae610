package xmlcodec

import (
	"maps"
	"strings"
)

// The XPath filters clients send most are a path to a list entry by its
// keys, /ntpa:ntp/ntpa:unicast-peer[ntpa:address='192.0.2.1'], perhaps
// followed by a few more child steps. Such an expression selects exactly
// what the subtree filter with the same names and content match nodes
// selects (RFC 6241 §6.2.5: the entries whose leaves equal the values,
// whole, or the named descendants with the entries' keys), so it is
// evaluated as that subtree filter, which finds entries by their keys
// instead of building and navigating every entry of the list.
// Anything else (other axes, wildcards, functions, comparisons other than
// equality with a literal, a value not in its leaf's canonical form, whose
// string comparison XPath would make differently) goes to the general
// XPath evaluator.

// simplePath returns the subtree filter an XPath expression is equivalent
// to, or false. A prefix is looked up in declared (whose "" key, the
// default namespace, does not apply: an XPath name without a prefix is in
// no namespace), then in base: the client's declarations hide the
// prefixes it may leave undeclared.
func simplePath(s *Schema, expr string, declared, base map[string]string) ([]*felem, bool) {
	if _, ok := declared[""]; ok {
		declared = maps.Clone(declared)
		delete(declared, "")
	}
	p := pathParser{in: expr, sc: &scope{decl: declared, parent: &scope{decl: base}}}
	p.space()
	var root, cur *felem
	sn := s.root
	nonKey := false // a step before this one matched on a non-key leaf
	for p.more() {
		if nonKey {
			// The subtree filter would also write that leaf, which XPath
			// selects only as the entry's descendant.
			return nil, false
		}
		if !p.take('/') {
			return nil, false
		}
		ns, local, ok := p.qname()
		if !ok {
			return nil, false
		}
		next := schemaChild(sn, ns, local)
		if next == nil {
			return nil, false
		}
		f := &felem{ns: ns, local: local, scope: p.sc}
		for p.take('[') {
			if next.kind != kList {
				return nil, false
			}
			for {
				ln, ll, ok := p.qname()
				if !ok || !p.take('=') {
					return nil, false
				}
				lit, ok := p.literal()
				if !ok {
					return nil, false
				}
				leaf := schemaChild(next, ln, ll)
				if leaf == nil || leaf.kind != kLeaf || !canonical(leaf, lit, p.sc) {
					return nil, false
				}
				if _, isKey := next.keyIndex[leaf]; !isKey {
					nonKey = true
				}
				f.kids = append(f.kids, &felem{ns: ln, local: ll, text: lit, scope: p.sc})
				if !p.word("and") {
					break
				}
			}
			if !p.take(']') {
				return nil, false
			}
		}
		if cur == nil {
			root = f
		} else {
			cur.kids = append(cur.kids, f)
		}
		cur, sn = f, next
	}
	if root == nil {
		return nil, false
	}
	return []*felem{root}, true
}

// schemaChild is the schema node named ns:local under n; ns "" matches
// any namespace, and must then name one node.
func schemaChild(n *snode, ns, local string) *snode {
	var found *snode
	for _, c := range n.byName[local] {
		if ns == "" || c.ns == ns {
			if found != nil {
				return nil
			}
			found = c
		}
	}
	return found
}

// canonical reports whether text is a value of leaf in its canonical form:
// XPath compares the string values, the subtree filter the values.
func canonical(leaf *snode, text string, sc *scope) bool {
	v, err := leaf.lt.parse(text, leaf.elemType, sc)
	return err == nil && string(leaf.lt.format(nil, v)) == text
}

// pathParser reads the few tokens of a simple path.
type pathParser struct {
	in  string
	pos int
	sc  *scope // the prefixes
}

func (p *pathParser) more() bool { return p.pos < len(p.in) }

func (p *pathParser) space() {
	for p.pos < len(p.in) && strings.IndexByte(" \t\r\n", p.in[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *pathParser) take(c byte) bool {
	if p.pos < len(p.in) && p.in[p.pos] == c && !(c == '/' && p.pos+1 < len(p.in) && p.in[p.pos+1] == '/') {
		p.pos++
		p.space()
		return true
	}
	return false
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (p *pathParser) name() string {
	start := p.pos
	for p.pos < len(p.in) && isNameByte(p.in[p.pos]) {
		p.pos++
	}
	n := p.in[start:p.pos]
	if n == "" || n[0] == '-' || n[0] == '.' || n[0] >= '0' && n[0] <= '9' {
		return ""
	}
	return n
}

// qname reads [prefix:]local and resolves the prefix.
func (p *pathParser) qname() (ns, local string, ok bool) {
	first := p.name()
	if first == "" {
		return "", "", false
	}
	if p.pos < len(p.in) && p.in[p.pos] == ':' {
		p.pos++
		local = p.name()
		if local == "" {
			return "", "", false
		}
		for sc := p.sc; sc != nil && !ok; sc = sc.parent {
			ns, ok = sc.decl[first]
		}
		if !ok {
			return "", "", false
		}
	} else {
		local = first
	}
	if p.pos < len(p.in) && (p.in[p.pos] == '(' || p.in[p.pos] == ':') {
		return "", "", false // a function call or an axis
	}
	p.space()
	return ns, local, true
}

// word reads the operator name w when it stands alone.
func (p *pathParser) word(w string) bool {
	if strings.HasPrefix(p.in[p.pos:], w) {
		end := p.pos + len(w)
		if end < len(p.in) && isNameByte(p.in[end]) {
			return false
		}
		p.pos = end
		p.space()
		return true
	}
	return false
}

// literal reads an XPath string literal ('...' or "...", no escapes).
func (p *pathParser) literal() (string, bool) {
	if p.pos >= len(p.in) || (p.in[p.pos] != '\'' && p.in[p.pos] != '"') {
		return "", false
	}
	q := p.in[p.pos]
	end := strings.IndexByte(p.in[p.pos+1:], q)
	if end < 0 {
		return "", false
	}
	lit := p.in[p.pos+1 : p.pos+1+end]
	p.pos += end + 2
	p.space()
	return lit, true
}
