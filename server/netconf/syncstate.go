package netconf

import (
	"bytes"
	"encoding/xml"
	"strconv"

	"github.com/ntpagent/ntpagent/internal/notification"
)

// moduleNTP is the module that declares sync-state-change.
const moduleNTP = "ntpagent-ntp"

// PublishSyncStateChange sends ntpagent-ntp's sync-state-change
// notification to the NETCONF stream (RFC 5277 §4), with the current
// eventTime, like Publish.
func (s *Server) PublishSyncStateChange(n notification.SyncStateChange) {
	m, ok := s.cfg.Schema.ByName(moduleNTP)
	if !ok {
		s.cfg.Logger.Error("sync-state-change not sent: no module " + moduleNTP + " in the schema")
		return
	}
	s.publish(event{ns: m.Namespace, local: "sync-state-change", body: syncStateChangeXML(m.Namespace, n)})
}

// syncStateChangeXML renders the notification's event element in the
// order of its leaves in the module: clock-state, unsync-reason (only
// while unsynchronized), system-peer, previous-system-peer, stratum.
func syncStateChangeXML(ns string, n notification.SyncStateChange) []byte {
	var b bytes.Buffer
	b.WriteString(`<sync-state-change xmlns="` + ns + `">`)
	state := "unsynchronized"
	if n.Synchronized {
		state = "synchronized"
	}
	b.WriteString("<clock-state>" + state + "</clock-state>")
	if n.UnsyncReason != "" && !n.Synchronized {
		b.WriteString("<unsync-reason>")
		xml.EscapeText(&b, []byte(n.UnsyncReason))
		b.WriteString("</unsync-reason>")
	}
	if n.SystemPeer != "" {
		b.WriteString("<system-peer>")
		xml.EscapeText(&b, []byte(n.SystemPeer))
		b.WriteString("</system-peer>")
	}
	if n.PreviousSystemPeer != "" {
		b.WriteString("<previous-system-peer>")
		xml.EscapeText(&b, []byte(n.PreviousSystemPeer))
		b.WriteString("</previous-system-peer>")
	}
	b.WriteString("<stratum>" + strconv.Itoa(int(n.Stratum)) + "</stratum>")
	b.WriteString("</sync-state-change>")
	return b.Bytes()
}
