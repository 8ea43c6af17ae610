package xmlcodec

import "reflect"

// nsOrigin is the namespace of ietf-origin (RFC 8342 §7.4).
const nsOrigin = "urn:ietf:params:xml:ns:yang:ietf-origin"

// Origins decides the origin (RFC 8342 §5.3.4) of every node Encode
// writes, for origin filters and the origin annotation. Origins are the
// names of ietf-origin identities without prefix, e.g. "intended".
type Origins struct {
	// Config is the origin of configuration in use, Default that of a
	// default value that is not set, State that of config false nodes
	// whose parent is configuration.
	Config, Default, State string
	// Entry, when set, gives the origin of a list entry from its struct
	// pointer (e.g. *gen.NtpagentNtp_Ntp_Sessions_Session); "" keeps the
	// rules above. Config false nodes inherit their parent's origin.
	Entry func(entry any) string
	// Keep, when set, is an origin filter (RFC 8526 §3.1.1): a
	// configuration leaf (not a list key) whose origin it refuses is left
	// out, and so are containers and list entries left empty by that.
	// State nodes are not filtered.
	Keep func(origin string) bool
	// Annotate writes the or:origin attribute on each element whose origin
	// differs from its parent's.
	Annotate bool
}

// nmdaWriter is the xmlWriter's part for the <get-data> options.
type nmdaWriter struct {
	o         *Origins
	annotate  bool
	stateOnly bool
	// lazy: list entries and presence containers are written only once
	// something inside them is, their keys held back until then.
	lazy     bool
	maxDepth int
	base     int // len(pending) at the node the filter selected
	// spare are key buffers of closed list entries, for the next ones.
	spare [][]byte
}

// recycle keeps a closed entry's key buffer for reuse.
func (n *nmdaWriter) recycle(b []byte) { n.spare = append(n.spare, b[:0]) }

func newXMLWriter(b []byte, mode WithDefaults, opt EncodeOptions) *xmlWriter {
	x := &xmlWriter{buf: b, tagged: mode == WDReportAllTagged}
	if opt.StateOnly || opt.MaxDepth > 0 || opt.Origins != nil {
		n := &nmdaWriter{o: opt.Origins, stateOnly: opt.StateOnly, maxDepth: opt.MaxDepth}
		n.annotate = n.o != nil && n.o.Annotate
		n.lazy = opt.StateOnly || (n.o != nil && n.o.Keep != nil)
		x.nmda = n
	}
	return x
}

// selectedAt makes depth count from a node the filter selected, about to
// be opened with depth open elements above it; the returned func undoes it.
func (n *nmdaWriter) selectedAt(depth int) func() {
	saved := n.base
	n.base = depth
	return func() { n.base = saved }
}

func (x *xmlWriter) parentPend() *pend {
	if len(x.pending) == 0 {
		return nil
	}
	return &x.pending[len(x.pending)-1]
}

// open settles a container or list entry about to be pushed: hidden below
// max-depth, its origin, and whether it is written at once.
func (n *nmdaWriter) open(x *xmlWriter, p *pend, v reflect.Value, force bool) bool {
	parent := x.parentPend()
	depth := len(x.pending) + 1 - n.base
	p.hidden = (parent != nil && parent.hidden) || (n.maxDepth > 0 && depth > n.maxDepth)
	if n.o != nil {
		p.origin = n.origin(p.s, parent, v)
	}
	switch {
	case n.lazy:
		return false
	case p.hidden:
		if force {
			x.flush() // the node at the depth limit holds something
		}
		return false
	}
	return force
}

// leaf decides a leaf's origin and whether it is held back: left out by
// config-filter, the origin filter or max-depth, or a list key kept until
// its entry is written.
func (n *nmdaWriter) leaf(x *xmlWriter, s *snode, v reflect.Value, text []byte, dflt bool) (origin string, held bool) {
	parent := x.parentPend()
	if n.o != nil {
		origin = n.origin(s, parent, v)
	}
	if !s.isKey && s.config {
		if n.stateOnly || (n.o != nil && n.o.Keep != nil && !n.o.Keep(origin)) {
			return origin, true
		}
	}
	hidden := parent != nil && parent.hidden
	if !hidden && !s.isKey && n.maxDepth > 0 && len(x.pending)+1-n.base > n.maxDepth {
		hidden = true
	}
	if hidden {
		x.flush() // the node at the depth limit holds something
		return origin, true
	}
	if n.lazy && s.isKey && parent != nil && !parent.written {
		buf := x.buf
		if parent.keys == nil && len(n.spare) > 0 {
			parent.keys, n.spare = n.spare[len(n.spare)-1], n.spare[:len(n.spare)-1]
		}
		x.buf = parent.keys
		x.writeLeaf(s, v, text, dflt, origin)
		parent.keys, x.buf = x.buf, buf
		return origin, true
	}
	return origin, false
}

// origin is a node's origin: a list entry's from Origins.Entry; a
// configuration node's Config (Default for a default not set); a state
// node's its state parent's, or State.
func (n *nmdaWriter) origin(s *snode, parent *pend, v reflect.Value) string {
	if s.kind == kList && n.o.Entry != nil && v.IsValid() {
		var e any
		switch {
		case v.Kind() == reflect.Pointer:
			e = v.Interface()
		case v.CanAddr():
			e = v.Addr().Interface()
		}
		if e != nil {
			if o := n.o.Entry(e); o != "" {
				return o
			}
		}
	}
	switch {
	case s.config && !v.IsValid() && (s.kind == kLeaf || s.kind == kLeafList):
		return n.o.Default
	case s.config:
		return n.o.Config
	case parent != nil && !parent.s.config:
		return parent.origin
	}
	return n.o.State
}

// originAttr writes the origin annotation of the element at position i
// of the open elements when it differs from its parent's.
func (n *nmdaWriter) originAttr(x *xmlWriter, origin string, i int) {
	if !n.annotate || origin == "" {
		return
	}
	if i > 0 && x.pending[i-1].origin == origin {
		return
	}
	x.buf = append(x.buf, ` or:origin="or:`...)
	x.buf = append(x.buf, origin...)
	x.buf = append(x.buf, '"')
}
