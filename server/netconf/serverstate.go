package netconf

import (
	"bytes"
	"encoding/xml"
	"slices"
	"strings"

	goyang "github.com/openconfig/goyang/pkg/yang"

	"github.com/ntpagent/ntpagent/server/nacm"
)

// writeServerState writes the state the NETCONF server itself makes —
// /ncm:netconf-state (RFC 6022), /yanglib:yang-library and the deprecated
// /yanglib:modules-state (RFC 8525) — as filter f selects it (RFC 6241 §6,
// §8.9), for <get> and for <get-data> of <operational>, which adds
// max-depth (0: unbounded) and the origin annotation (all of it is state
// the device makes: or:system). What session access a may not read is
// left out (RFC 8341 §3.4.5).
func (s *Server) writeServerState(b *bytes.Buffer, f filterSpec, maxDepth int, origin bool, a *nacm.Access) error {
	parts := monitoringParts(f)
	readsAll := s.stateReadable(a)
	if !f.present && maxDepth == 0 && !origin && readsAll {
		s.writeMonitoringParts(b, parts)
		for _, top := range s.libraryTops {
			writeElement(b, top, "")
		}
		return nil
	}
	tops := s.libraryTops
	if len(parts) > 0 {
		if mon := s.monitoringElement(parts); mon != nil {
			tops = append([]*element{mon}, tops...)
		}
	}
	if !readsAll {
		// Pruned before the filters select: a filter never reaches what
		// the session may not read (nor learns of it by a selection).
		tops = s.readableState(a, tops)
	}
	var marks map[*element]selMark
	if f.xpath != "" {
		var err error
		if marks, err = s.xpathSelectState(f, tops); err != nil {
			return err
		}
	}
	for _, top := range tops {
		var e *element
		var whole map[*element]bool
		switch {
		case !f.present:
			e, whole = top, map[*element]bool{top: true}
		case f.xpath != "":
			e, whole = selected(top, marks)
		default:
			m := map[*element]selMark{}
			for _, fe := range f.subtree {
				if nameMatches(top, fe) {
					subtreeSelect(top, fe, m)
				}
			}
			e, whole = selected(top, m)
		}
		if e == nil {
			continue
		}
		if maxDepth > 0 {
			e = limitDepth(e, s.stateEntry(top), 0, maxDepth, whole)
		}
		if origin {
			c := *e // the rendered library is shared: annotate a copy
			c.Decl = append(slices.Clone(e.Decl), xml.Attr{Name: xml.Name{Space: "xmlns", Local: "or"}, Value: NSOrigin})
			c.Attr = append(slices.Clone(e.Attr), attribute{Name: xml.Name{Space: NSOrigin, Local: "origin"}, prefix: "or", Value: "or:system"})
			e = &c
		}
		writeElement(b, e, "")
	}
	return nil
}

// selected returns top pruned to what marks select (nil for nothing; top
// itself is never changed) and the elements selected whole, where
// get-data's max-depth starts counting.
func selected(top *element, marks map[*element]selMark) (*element, map[*element]bool) {
	if marks[top] == selNone {
		return nil, nil
	}
	whole := map[*element]bool{}
	for e, m := range marks {
		if m == selWhole {
			whole[e] = true
		}
	}
	return pruned(top, marks), whole
}

// stateEntry is the schema node of a top-level element of the server's
// state, from the module of its namespace.
func (s *Server) stateEntry(top *element) *goyang.Entry {
	for _, m := range s.cfg.Schema.Library() {
		if m.Namespace == top.Name.Space && m.Entry != nil {
			return m.Entry.Dir[top.Name.Local]
		}
	}
	return nil
}

// limitDepth returns a copy of e without what lies more than max levels
// below the nodes selected whole (RFC 8526 §3.1.1 max-depth: a selected
// node is level 1), keeping the keys of list entries. depth is e's level,
// 0 above the selection.
func limitDepth(e *element, entry *goyang.Entry, depth, max int, whole map[*element]bool) *element {
	if depth == 0 && whole[e] {
		depth = 1
	}
	var keys []string
	if entry != nil && entry.IsList() {
		keys = strings.Fields(entry.Key)
	}
	out := *e
	out.Children = nil
	for _, c := range e.Children {
		cd := 0
		if depth > 0 {
			cd = depth + 1
		}
		if cd > max && !slices.Contains(keys, c.Name.Local) {
			continue
		}
		var ce *goyang.Entry
		if entry != nil {
			ce = entry.Dir[c.Name.Local]
		}
		out.Children = append(out.Children, limitDepth(c, ce, cd, max, whole))
	}
	return &out
}
