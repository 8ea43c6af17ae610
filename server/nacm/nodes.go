package nacm

// Node is a schema node of a tree without Go structs (WithModules): the
// caller walks its data with Top and Child and asks Access.Reads of each
// instance. The zero Node is no node of the schema.
type Node struct{ n *node }

// Top is the top-level node name of module; module "" matches any.
func (s *Schema) Top(module, name string) Node { return Node{s.top(module, name)} }

// Valid tells whether x is a node of the schema.
func (x Node) Valid() bool { return x.n != nil }

// Child is the data node name below x.
func (x Node) Child(name string) Node {
	if x.n == nil {
		return Node{}
	}
	return Node{x.n.children[name]}
}

// Keys are the key leaves of a list, in key order; nil for other nodes.
func (x Node) Keys() []string {
	if x.n == nil || x.n.kind != kList {
		return nil
	}
	return x.n.keys
}

// KeyText is a key leaf's value as the rules compare it (an identity
// without its prefix), for the text of list entry's key leaf k.
func (x Node) KeyText(k, text string) string {
	if x.n == nil {
		return text
	}
	return x.n.keyText(k, text)
}

// Reads decides read access to one instance of x (RFC 8341 §3.4.5).
// keys holds the key values of the list entries on the instance's way,
// by depth (keys[0] for the top-level node; nil for a step that is no
// list entry). whole reports that every descendant of the instance gets
// the same answer, so the caller need not look further.
func (a *Access) Reads(x Node, keys [][]string) (permit, whole bool) {
	if a.open || x.n == nil {
		return true, true
	}
	d := a.staticFor(x.n, Read)
	if d.uniform {
		return d.permit, true
	}
	return a.decide(x.n, keys, Read), d.below
}
