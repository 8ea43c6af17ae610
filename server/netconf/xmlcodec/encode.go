package xmlcodec

import (
	"cmp"
	"fmt"
	"io"
	"reflect"
	"slices"

	goyang "github.com/openconfig/goyang/pkg/yang"
	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// WithDefaults is a with-defaults retrieval mode (RFC 6243 §3). The zero
// value is explicit, the basic mode of this server (§2.1): what was set is
// what is shown.
type WithDefaults uint8

// The with-defaults modes.
const (
	WDExplicit WithDefaults = iota
	WDReportAll
	WDTrim
	WDReportAllTagged
)

var withDefaultsNames = [...]string{WDExplicit: "explicit", WDReportAll: "report-all", WDTrim: "trim", WDReportAllTagged: "report-all-tagged"}

// String is the mode's name in RFC 6243.
func (m WithDefaults) String() string {
	if int(m) < len(withDefaultsNames) {
		return withDefaultsNames[m]
	}
	return fmt.Sprintf("with-defaults(%d)", uint8(m))
}

// ParseWithDefaults reads a mode by its RFC 6243 name.
func ParseWithDefaults(name string) (WithDefaults, bool) {
	for m, n := range withDefaultsNames {
		if n == name {
			return WithDefaults(m), true
		}
	}
	return 0, false
}

// EncodeOptions selects what Encode writes.
type EncodeOptions struct {
	// WithDefaults is the RFC 6243 mode; the zero value is the basic mode
	// (explicit).
	WithDefaults WithDefaults
	// ConfigOnly leaves out config false nodes (get-config).
	ConfigOnly bool
	// Subtree, when not nil, is the content of <filter type="subtree">
	// (RFC 6241 §6). An empty, non-nil Subtree selects nothing.
	Subtree []byte
	// SubtreeNodes, when not nil, is the same content parsed already (the
	// children of <filter>, as the NETCONF layer read them); Subtree and
	// SubtreeNodes are not both given.
	SubtreeNodes []Node
	// XPath, when not empty, is the select expression of
	// <filter type="xpath"> (RFC 6241 §8.9).
	XPath string
	// Namespaces are the declarations in scope at the <filter> element
	// (prefix → namespace, "" for the default namespace): the XPath
	// prefixes, and the namespaces of an unprefixed subtree filter.
	Namespaces map[string]string
	// StateOnly keeps only config false nodes, with their ancestors and
	// the keys of their list entries (RFC 8526 §3.1.1 config-filter
	// false). ConfigOnly is config-filter true.
	StateOnly bool
	// MaxDepth, when not 0, is how many levels below each selected node
	// are written, the node itself being level 1 (RFC 8526 §3.1.1
	// max-depth); without a filter the top-level nodes are the selected
	// ones. A list entry always carries its keys.
	MaxDepth int
	// Origins, when not nil, decides the origin of every node (RFC 8342
	// §5.3.4) for origin filters and annotations.
	Origins *Origins
	// Frozen promises that root and everything under it never change
	// again (a stored tree of the datastore): filters may then keep
	// indexes of its lists for the next calls (keyindex.go).
	Frozen bool
	// Withheld, when set, tells which absent nodes were left out of the
	// tree on purpose (access control pruned them, RFC 8341 §3.4.5):
	// report-all and report-all-tagged do not fill their defaults in, so
	// a node the reader may not read is not shown at all. It is asked of
	// a zero field of a struct, given the struct's address and the
	// field's index.
	Withheld func(parent uintptr, field int) bool
}

// Encode writes root as the children of <data> (or <config>): one element
// per top-level node, each with its module's namespace as default xmlns.
// Output is canonical: list keys first in key order, other children in
// schema order (RFC 7950 §7.8.5), list entries sorted by key, no
// whitespace, so the same tree always gives the same bytes.
func Encode(w io.Writer, root *gen.Device, opt EncodeOptions) error {
	s, err := Native()
	if err != nil {
		return err
	}
	return s.Encode(w, root, opt)
}

// AppendEncode is Encode appending to a byte slice.
func AppendEncode(b []byte, root *gen.Device, opt EncodeOptions) ([]byte, error) {
	s, err := Native()
	if err != nil {
		return b, err
	}
	return s.AppendEncode(b, root, opt)
}

// Encode is the package's Encode for a root of the schema's model (nil
// writes nothing but the defaults report-all asks for).
func (s *Schema) Encode(w io.Writer, root ygot.GoStruct, opt EncodeOptions) error {
	b, err := s.AppendEncode(nil, root, opt)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// AppendEncode is Encode appending to a byte slice.
func (s *Schema) AppendEncode(b []byte, root ygot.GoStruct, opt EncodeOptions) ([]byte, error) {
	mode := opt.WithDefaults
	if mode > WDReportAllTagged {
		e := rpcerror.New(rpcerror.TagInvalidValue, "", "The with-defaults mode %d is not report-all, trim, explicit or report-all-tagged.", uint8(mode))
		e.Info = []rpcerror.InfoItem{{Name: "bad-element", Value: "with-defaults"}}
		return b, e
	}
	if opt.ConfigOnly && opt.StateOnly {
		return b, rpcerror.New(rpcerror.TagInvalidValue, "", "ConfigOnly and StateOnly select nothing together.")
	}
	wk := walker{mode: mode, configOnly: opt.ConfigOnly}
	if mode == WDReportAll || mode == WDReportAllTagged {
		wk.withheld = opt.Withheld
	}
	var rv reflect.Value
	if root != nil && !reflect.ValueOf(root).IsNil() {
		rv = reflect.ValueOf(root).Elem()
		if rv.Type() != s.root.structType {
			return b, rpcerror.New(rpcerror.TagOperationFailed, "", "The schema encodes %s, not %T.", s.root.structType, root)
		}
	}
	subtree := opt.Subtree != nil || opt.SubtreeNodes != nil
	if !subtree && opt.XPath == "" {
		xw := newXMLWriter(b, mode, opt)
		wk.sink = xw
		wk.walkKids(s.root, rv)
		return xw.buf, nil
	}
	lt := &lazyTree{w: wk}
	if opt.Frozen {
		lt.keys = &s.keyIndexes
	}
	doc := &dnode{s: s.root, sv: rv}
	if subtree && opt.XPath != "" {
		return b, rpcerror.New(rpcerror.TagInvalidValue, "", "A filter is either a subtree or an XPath expression, not both.")
	}
	if subtree {
		// A filter is small; its size bounds the work (each filter node
		// may scan a whole list).
		lim := Limits{MaxBytes: 1 << 20, MaxElements: 10_000}
		var roots []*xelem
		var err error
		if opt.SubtreeNodes != nil {
			roots, err = fromNodes(opt.SubtreeNodes, lim, opt.Namespaces)
		} else {
			roots, err = parseXML(opt.Subtree, lim, opt.Namespaces)
		}
		if err != nil {
			return b, err
		}
		lt.subtreeFilter(doc, roots, s.annotations)
	}
	if opt.XPath != "" {
		if err := lt.xpathFilter(s, doc, opt.XPath, opt.Namespaces); err != nil {
			return b, err
		}
	}
	xw := newXMLWriter(b, mode, opt)
	lt.emitSelected(xw, doc)
	return xw.buf, nil
}

// sink receives the walk of a data tree. open starts a container or list
// entry (v: its struct or pointer, invalid for a container shown only for
// its defaults), which a sink writes only once something is inside it (or
// at once when force is true: a presence container, a list entry).
type sink interface {
	open(s *snode, v reflect.Value, force bool)
	leaf(s *snode, v reflect.Value, text []byte, dflt bool)
	close(s *snode)
}

type walker struct {
	mode       WithDefaults
	configOnly bool
	// withheld is EncodeOptions.Withheld in the report-all modes (nil
	// otherwise: nothing else fills in absent nodes).
	withheld func(parent uintptr, field int) bool
	sink     sink
	scratch  []byte
}

// walkKids walks the children of a container or list entry whose struct is
// sv; sv is invalid for a container that is absent but whose defaults are
// reported (RFC 6243 report-all: a non-presence container always exists).
func (w *walker) walkKids(sn *snode, sv reflect.Value) {
	for _, c := range sn.children {
		if w.configOnly && !c.config {
			continue
		}
		var f reflect.Value
		if sv.IsValid() {
			f = sv.Field(c.field)
			if w.isWithheld(sv, c.field) {
				continue
			}
		}
		switch c.kind {
		case kContainer:
			var cv reflect.Value
			if f.IsValid() && !f.IsNil() {
				cv = f.Elem()
			} else if c.presence || (w.mode != WDReportAll && w.mode != WDReportAllTagged) {
				continue
			}
			w.sink.open(c, cv, c.presence)
			w.walkKids(c, cv)
			w.sink.close(c)
		case kList:
			if f.IsValid() && c.listLen(f) > 0 {
				w.walkList(c, f)
			}
		case kLeaf:
			w.walkLeaf(c, f)
		case kLeafList:
			w.walkLeafList(c, f)
		}
	}
}

// isWithheld tells whether field of the struct sv was left out on
// purpose (EncodeOptions.Withheld): its defaults are not filled in.
func (w *walker) isWithheld(sv reflect.Value, field int) bool {
	return w.withheld != nil && sv.CanAddr() && sv.Field(field).IsZero() && w.withheld(sv.Addr().Pointer(), field)
}

func (w *walker) walkLeaf(c *snode, f reflect.Value) {
	if f.IsValid() && leafSet(f) {
		v := f
		if v.Kind() == reflect.Ptr {
			v = v.Elem()
		}
		w.scratch = c.lt.format(w.scratch[:0], v)
		dflt := !c.isKey && len(c.defaults) == 1 && string(w.scratch) == c.defaults[0]
		if dflt && w.mode == WDTrim {
			return // RFC 6243 §3.2: a value equal to the default is left out
		}
		w.sink.leaf(c, v, w.scratch, dflt && w.mode == WDReportAllTagged)
		return
	}
	if len(c.defaults) == 1 && !c.isKey && (w.mode == WDReportAll || w.mode == WDReportAllTagged) {
		w.sink.leaf(c, reflect.Value{}, c.defaultBytes[0], w.mode == WDReportAllTagged)
	}
}

func (w *walker) walkLeafList(c *snode, f reflect.Value) {
	if f.IsValid() && f.Len() > 0 {
		for i := 0; i < f.Len(); i++ {
			w.scratch = c.lt.format(w.scratch[:0], f.Index(i))
			w.sink.leaf(c, f.Index(i), w.scratch, false)
		}
		return
	}
	// RFC 7950 §7.7.2: the defaults of a leaf-list are used when it has no
	// values at all.
	if w.mode == WDReportAll || w.mode == WDReportAllTagged {
		for _, d := range c.defaultBytes {
			w.sink.leaf(c, reflect.Value{}, d, w.mode == WDReportAllTagged)
		}
	}
}

// keyed is a list entry with its first two key values ready for
// comparison.
type keyed struct {
	val  reflect.Value
	strs [2]string
	nums [2]uint64
}

// entries is a list's entries in canonical order: ks[order[i]] is the i-th.
type entries struct {
	ks    []keyed
	order []int32
	keys  []reflect.Value // map keys, when asked for
	rest  []string        // keys after the second, formatted, for lists with more than two
}

func (es *entries) cmp(a, b int32) int {
	x, y := &es.ks[a], &es.ks[b]
	for i := range x.strs {
		if r := cmp.Compare(x.nums[i], y.nums[i]); r != 0 {
			return r
		}
		if r := cmp.Compare(x.strs[i], y.strs[i]); r != 0 {
			return r
		}
	}
	if es.rest != nil {
		return cmp.Compare(es.rest[a], es.rest[b])
	}
	return 0
}

// sortedEntries returns the entries of list m in its order: an
// ordered-by user list in the order the client gave (RFC 7950 §7.7.7);
// ordered-by system, any stable order will do, and sorting by key makes
// the output canonical (the map's own order is random).
func (w *walker) sortedEntries(c *snode, m reflect.Value, wantKey bool) *entries {
	if c.list.Ordered {
		return userOrderedEntries(c, m, wantKey)
	}
	n := m.Len()
	es := &entries{ks: make([]keyed, 0, n), order: make([]int32, n)}
	if wantKey {
		es.keys = make([]reflect.Value, 0, n)
	}
	if len(c.keys) > 2 {
		es.rest = make([]string, 0, n)
	}
	it := m.MapRange()
	kbuf := reflect.New(c.keyType).Elem() // SetIterKey avoids a copy per entry
	var rest []byte                       // the keys after the second, one string per entry
	for it.Next() {
		k := keyed{val: it.Value()}
		kbuf.SetIterKey(it)
		if wantKey {
			es.keys = append(es.keys, it.Key())
		}
		rest = rest[:0]
		for i := range c.keys {
			kv := kbuf
			if len(c.keys) > 1 {
				kv = kv.Field(c.keyField[i])
			}
			if i >= len(k.strs) {
				rest = append(c.keys[i].lt.format(rest, kv), 0)
				continue
			}
			switch kv.Kind() {
			case reflect.String:
				k.strs[i] = kv.String()
			case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				k.nums[i] = uint64(kv.Int()) ^ (1 << 63)
			case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				k.nums[i] = kv.Uint()
			case reflect.Bool:
				if kv.Bool() {
					k.nums[i] = 1
				}
			default:
				k.strs[i] = string(c.keys[i].lt.format(nil, kv))
			}
		}
		if es.rest != nil {
			es.rest = append(es.rest, string(rest))
		}
		es.ks = append(es.ks, k)
	}
	for i := range es.order {
		es.order[i] = int32(i)
	}
	slices.SortFunc(es.order, es.cmp)
	return es
}

// userOrderedEntries are the entries of the ordered-by user list m in
// its stored order.
func userOrderedEntries(c *snode, m reflect.Value, wantKey bool) *entries {
	keys, vals := c.list.Entries(m)
	es := &entries{ks: make([]keyed, len(vals)), order: make([]int32, len(vals))}
	for i, v := range vals {
		es.ks[i].val, es.order[i] = v, int32(i)
	}
	if wantKey {
		es.keys = keys
	}
	return es
}

func (w *walker) walkList(c *snode, m reflect.Value) {
	if !c.list.Ordered && m.Len() == 1 {
		it := m.MapRange()
		it.Next()
		w.sink.open(c, it.Value(), true)
		w.walkKids(c, it.Value().Elem())
		w.sink.close(c)
		return
	}
	es := w.sortedEntries(c, m, false)
	for _, i := range es.order {
		w.sink.open(c, es.ks[i].val, true)
		w.walkKids(c, es.ks[i].val.Elem())
		w.sink.close(c)
	}
}

// xmlWriter writes the walk as XML text.
type xmlWriter struct {
	buf     []byte
	tagged  bool
	pending []pend // open elements; written marks those whose start tag is out
	// unwritten counts the pending elements at the end of pending whose
	// start tag is not out yet.
	unwritten int
	nmda      *nmdaWriter // nil unless a get-data option is in use
}

type pend struct {
	s       *snode
	written bool
	hidden  bool   // below max-depth: never written
	origin  string // the element's origin, with Origins
	keys    []byte // list keys held back until the entry is written
}

func (x *xmlWriter) open(s *snode, v reflect.Value, force bool) {
	p := pend{s: s}
	if x.nmda != nil {
		force = x.nmda.open(x, &p, v, force)
	}
	x.pending = append(x.pending, p)
	x.unwritten++
	if force {
		x.flush()
	}
}

// flush writes the start tags of the open elements that are not out yet
// (and not hidden below max-depth).
func (x *xmlWriter) flush() {
	if x.unwritten == 0 {
		return
	}
	i := len(x.pending) - x.unwritten
	for ; i < len(x.pending) && !x.pending[i].hidden; i++ {
		p := &x.pending[i]
		p.written = true
		x.buf = append(x.buf, p.s.startTag...)
		x.nsAttrs(p.s, i == 0)
		if x.nmda != nil {
			x.nmda.originAttr(x, p.origin, i)
		}
		x.buf = append(x.buf, '>')
		x.buf = append(x.buf, p.keys...)
	}
	x.unwritten = len(x.pending) - i
}

// nsAttrs declares the default namespace on top-level elements and where
// the namespace changes (an augment), and the wd prefix on top-level
// elements in report-all-tagged mode (RFC 6243 §6).
func (x *xmlWriter) nsAttrs(s *snode, top bool) {
	if top || s.nsChanges {
		x.buf = append(x.buf, s.nsAttr...)
	}
	if top && x.tagged {
		x.buf = append(x.buf, ` xmlns:wd="`+nsWD+`"`...)
	}
	if top && x.nmda != nil && x.nmda.annotate {
		x.buf = append(x.buf, ` xmlns:or="`+nsOrigin+`"`...)
	}
}

func (x *xmlWriter) leaf(s *snode, v reflect.Value, text []byte, dflt bool) {
	origin := ""
	if x.nmda != nil {
		var held bool
		if origin, held = x.nmda.leaf(x, s, v, text, dflt); held {
			return
		}
	}
	x.flush()
	x.writeLeaf(s, v, text, dflt, origin)
}

// writeLeaf writes one leaf element at the current position.
func (x *xmlWriter) writeLeaf(s *snode, v reflect.Value, text []byte, dflt bool, origin string) {
	x.buf = append(x.buf, s.startTag...)
	if len(x.pending) == 0 || s.nsChanges || x.tagged {
		x.nsAttrs(s, len(x.pending) == 0)
	}
	if x.nmda != nil {
		x.nmda.originAttr(x, origin, len(x.pending))
	}
	if s.lt.kind == goyang.Yidentityref && v.IsValid() {
		if ns, prefix, ok := s.lt.identityNS(v); ok {
			x.buf = append(x.buf, " xmlns:"...)
			x.buf = append(x.buf, prefix...)
			x.buf = append(x.buf, `="`...)
			x.buf = appendEscaped(x.buf, ns, true)
			x.buf = append(x.buf, '"')
		}
	}
	if s.lt.xpathNS != nil {
		for _, p := range s.lt.xpathPrefixes(nil, text) {
			x.buf = append(x.buf, " xmlns:"...)
			x.buf = append(x.buf, p...)
			x.buf = append(x.buf, `="`...)
			x.buf = appendEscaped(x.buf, s.lt.xpathNS[p], true)
			x.buf = append(x.buf, '"')
		}
	}
	if dflt {
		x.buf = append(x.buf, ` wd:default="true"`...)
	}
	if len(text) == 0 {
		x.buf = append(x.buf, "/>"...)
		return
	}
	x.buf = append(x.buf, '>')
	x.buf = appendEscaped(x.buf, text, false)
	x.buf = append(x.buf, s.endTag...)
}

func (x *xmlWriter) close(s *snode) {
	p := x.pending[len(x.pending)-1]
	x.pending = x.pending[:len(x.pending)-1]
	if p.keys != nil {
		x.nmda.recycle(p.keys)
	}
	if !p.written {
		x.unwritten--
		return // nothing inside: a non-presence container is not shown
	}
	x.buf = append(x.buf, s.endTag...)
}

// appendEscaped escapes XML text (and, in attributes, quotes). Characters
// that XML 1.0 cannot carry at all are replaced by U+FFFD.
func appendEscaped[T string | []byte](b []byte, s T, attr bool) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var rep string
		switch {
		case c == '&':
			rep = "&amp;"
		case c == '<':
			rep = "&lt;"
		case c == '>':
			rep = "&gt;"
		case c == '"' && attr:
			rep = "&quot;"
		case c == '\r':
			rep = "&#xD;"
		case attr && c == '\n':
			rep = "&#xA;"
		case attr && c == '\t':
			rep = "&#x9;"
		case c < 0x20 && c != '\n' && c != '\t':
			rep = "\uFFFD"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, rep...)
		last = i + 1
	}
	return append(b, s[last:]...)
}
