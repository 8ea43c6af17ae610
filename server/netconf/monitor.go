package netconf

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// monitoringParts decides which children of /ncm:netconf-state (RFC 6022)
// a <get> filter selects. Selection below those children is not refined:
// the whole child is returned.
func monitoringParts(f filterSpec) map[string]bool {
	all := map[string]bool{"capabilities": true, "datastores": true, "schemas": true, "sessions": true, "statistics": true}
	if !f.present {
		return all
	}
	if f.xpath != "" {
		for _, alt := range strings.Split(f.xpath, "|") {
			steps := strings.Split(strings.Trim(strings.TrimSpace(alt), "/"), "/")
			if len(steps) == 0 || localPart(steps[0]) != "netconf-state" {
				continue
			}
			if len(steps) == 1 {
				return all
			}
			sel := map[string]bool{}
			name := localPart(steps[1])
			if i := strings.IndexByte(name, '['); i >= 0 {
				name = name[:i]
			}
			if all[name] {
				sel[name] = true
			}
			return sel
		}
		return nil
	}
	for _, e := range f.subtree {
		if e.Name.Space != NSMonitoring || e.Name.Local != "netconf-state" {
			continue
		}
		if len(e.Children) == 0 {
			return all
		}
		sel := map[string]bool{}
		for _, c := range e.Children {
			if all[c.Name.Local] {
				sel[c.Name.Local] = true
			}
		}
		return sel
	}
	return nil
}

func localPart(step string) string {
	if i := strings.IndexByte(step, ':'); i >= 0 {
		return step[i+1:]
	}
	return step
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// writeMonitoring writes /ncm:netconf-state as the filter selects it.
func (s *Server) writeMonitoring(b *bytes.Buffer, f filterSpec) {
	parts := monitoringParts(f)
	if len(parts) == 0 {
		return
	}
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
		for _, ds := range []string{"running", "candidate"} {
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
		for _, m := range s.cfg.Schema.Modules() {
			b.WriteString("<schema><identifier>" + m.Name + "</identifier><version>" + m.Revision +
				`</version><format xmlns:ncm="` + NSMonitoring + `">ncm:yang</format><namespace>`)
			xmlEscape(b, m.Namespace)
			b.WriteString("</namespace><location>NETCONF</location></schema>")
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
			rfc3339(s.start), st.inBadHellos.Load(), st.inSessions.Load(), st.droppedSessions.Load(),
			st.inRPCs.Load(), st.inBadRPCs.Load(), st.outRPCErrors.Load(), st.outNotifies.Load())
	}
	b.WriteString("</netconf-state>")
}
