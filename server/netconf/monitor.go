package netconf

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// monitoringParts decides which children of /ncm:netconf-state (RFC 6022)
// to render for a filter: all of them, but only those a subtree filter
// names when it names any (the filter is then applied at every depth on
// what is rendered). An XPath filter is evaluated on all of them.
func monitoringParts(f filterSpec) map[string]bool {
	all := map[string]bool{"capabilities": true, "datastores": true, "schemas": true, "sessions": true, "statistics": true}
	if !f.present || f.xpath != "" {
		return all
	}
	var sel map[string]bool
	for _, e := range f.subtree {
		if e.Name.Space != NSMonitoring || e.Name.Local != "netconf-state" {
			continue
		}
		if len(e.Children) == 0 {
			return all
		}
		if sel == nil {
			sel = map[string]bool{}
		}
		for _, c := range e.Children {
			if all[c.Name.Local] {
				sel[c.Name.Local] = true
			}
		}
	}
	return sel
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// monitoringElement renders the parts of netconf-state and parses them
// back, for filters that work on elements.
func (s *Server) monitoringElement(parts map[string]bool) *element {
	var full bytes.Buffer
	s.writeMonitoringParts(&full, parts)
	data, err := parseMessage(full.Bytes(), DefaultMaxDepth)
	if err != nil {
		// Our own rendering always parses; should it not, say so and
		// return nothing rather than unfiltered data.
		s.log.Error("netconf: monitoring state does not parse", "err", err)
		return nil
	}
	return data
}

// selMark is what a subtree filter selected of a data element.
type selMark uint8

const (
	selNone  selMark = iota
	selPath          // the element, for selected elements below it
	selWhole         // the element and everything below it
)

// subtreeSelect applies the filter element f, whose name matches the data
// element d, following RFC 6241 §6.2 without a schema: a filter element
// with no children and no text is a selection node (all of d); a leaf with
// text is a content match node; one with children is a containment node.
// It records selections in marks (so that several filter elements unite)
// and reports whether it selected anything.
func subtreeSelect(d, f *element, marks map[*element]selMark) bool {
	if len(f.Children) == 0 {
		if t := strings.TrimSpace(f.Text); t != "" && strings.TrimSpace(d.Text) != t {
			return false // a content match node at the top that fails
		}
		marks[d] = selWhole
		return true
	}
	var matches, others []*element
	for _, c := range f.Children {
		if len(c.Children) == 0 && strings.TrimSpace(c.Text) != "" {
			matches = append(matches, c)
		} else {
			others = append(others, c)
		}
	}
	// §6.2.5: sibling content match nodes are ANDed; one false test
	// selects nothing of this sibling set.
	var picked []*element
	for _, m := range matches {
		ok := false
		for _, dc := range d.Children {
			if nameMatches(dc, m) && len(dc.Children) == 0 && strings.TrimSpace(dc.Text) == strings.TrimSpace(m.Text) {
				picked = append(picked, dc)
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	// Only content match nodes: the whole matching element (§6.4.7, one
	// list entry selected by its key).
	if len(others) == 0 {
		marks[d] = selWhole
		return true
	}
	// Content match nodes that hold are output with whatever the selection
	// and containment nodes select (§6.2.5).
	any := len(picked) > 0
	for _, dc := range picked {
		marks[dc] = selWhole
	}
	for _, o := range others {
		for _, dc := range d.Children {
			if nameMatches(dc, o) && subtreeSelect(dc, o, marks) {
				any = true
			}
		}
	}
	if any && marks[d] == selNone {
		marks[d] = selPath
	}
	return any
}

// nameMatches reports whether data element d has the filter element f's
// name; a filter element without a namespace matches any (§6.2.1).
func nameMatches(d, f *element) bool {
	return d.Name.Local == f.Name.Local && (f.Name.Space == "" || f.Name.Space == d.Name.Space)
}

// pruned returns d cut down to what marks selected.
func pruned(d *element, marks map[*element]selMark) *element {
	if marks[d] == selWhole {
		return d
	}
	out := &element{Name: d.Name, Attr: d.Attr, Decl: d.Decl}
	for _, c := range d.Children {
		if marks[c] != selNone {
			out.Children = append(out.Children, pruned(c, marks))
		}
	}
	return out
}

// writeMonitoringParts renders the selected children of netconf-state.
func (s *Server) writeMonitoringParts(b *bytes.Buffer, parts map[string]bool) {
	b.WriteString(`<netconf-state xmlns="` + NSMonitoring + `">`)
	if parts["capabilities"] {
		b.WriteString("<capabilities>")
		for _, c := range s.caps {
			b.WriteString("<capability>")
			xmlEscape(b, c)
			b.WriteString("</capability>")
		}
		b.WriteString("</capabilities>")
	}
	if parts["datastores"] {
		locks := s.cfg.Store.Locks()
		b.WriteString("<datastores>")
		for _, ds := range []string{"running", "candidate", "startup"} {
			b.WriteString("<datastore><name>" + ds + "</name>")
			for _, l := range locks {
				if string(l.Datastore) == ds {
					fmt.Fprintf(b, "<locks><global-lock><locked-by-session>%d</locked-by-session><locked-time>%s</locked-time></global-lock></locks>",
						l.SessionID, rfc3339(l.Since))
				}
			}
			b.WriteString("</datastore>")
		}
		b.WriteString("</datastores>")
	}
	if parts["schemas"] {
		b.WriteString("<schemas>")
		// RFC 6022 §2.1.3: every schema <get-schema> serves, submodules
		// too (in their module's namespace).
		schema := func(name, revision, ns string) {
			b.WriteString("<schema><identifier>" + name + "</identifier><version>" + revision +
				`</version><format xmlns:ncm="` + NSMonitoring + `">ncm:yang</format><namespace>`)
			xmlEscape(b, ns)
			b.WriteString("</namespace><location>NETCONF</location></schema>")
		}
		for _, m := range s.cfg.Schema.Library() {
			schema(m.Name, m.Revision, m.Namespace)
			for _, sm := range m.Submodules {
				schema(sm.Name, sm.Revision, m.Namespace)
			}
		}
		b.WriteString("</schemas>")
	}
	if parts["sessions"] {
		b.WriteString("<sessions>")
		for _, x := range s.sessionList() {
			fmt.Fprintf(b, `<session><session-id>%d</session-id><transport xmlns:ncm="%s">ncm:%s</transport><username>`,
				x.info.ID, NSMonitoring, x.info.Transport)
			xmlEscape(b, x.info.User)
			b.WriteString("</username>")
			if x.info.SourceHost != "" {
				b.WriteString("<source-host>")
				xmlEscape(b, x.info.SourceHost)
				b.WriteString("</source-host>")
			}
			fmt.Fprintf(b, "<login-time>%s</login-time><in-rpcs>%d</in-rpcs><in-bad-rpcs>%d</in-bad-rpcs><out-rpc-errors>%d</out-rpc-errors><out-notifications>%d</out-notifications></session>",
				rfc3339(x.login), x.inRPCs.Load(), x.inBadRPCs.Load(), x.outErrors.Load(), x.outNotifications.Load())
		}
		b.WriteString("</sessions>")
	}
	if parts["statistics"] {
		st := &s.stats
		fmt.Fprintf(b, "<statistics><netconf-start-time>%s</netconf-start-time><in-bad-hellos>%d</in-bad-hellos><in-sessions>%d</in-sessions><dropped-sessions>%d</dropped-sessions><in-rpcs>%d</in-rpcs><in-bad-rpcs>%d</in-bad-rpcs><out-rpc-errors>%d</out-rpc-errors><out-notifications>%d</out-notifications></statistics>",
			rfc3339(s.start), uint32(st.inBadHellos.Load()), uint32(st.inSessions.Load()), uint32(st.droppedSessions.Load()),
			uint32(st.inRPCs.Load()), uint32(st.inBadRPCs.Load()), uint32(st.outRPCErrors.Load()), uint32(st.outNotifies.Load()))
	}
	b.WriteString("</netconf-state>")
}
