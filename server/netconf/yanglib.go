package netconf

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/ntpagent/ntpagent/yang"
)

// Namespaces of the YANG library (RFC 8525) and of NMDA (RFC 8342, RFC 8526).
const (
	NSYangLibrary = "urn:ietf:params:xml:ns:yang:ietf-yang-library"
	NSDatastores  = "urn:ietf:params:xml:ns:yang:ietf-datastores"
	NSOrigin      = "urn:ietf:params:xml:ns:yang:ietf-origin"
	NSNMDA        = "urn:ietf:params:xml:ns:yang:ietf-netconf-nmda"
)

// The YANG library's single module set and schema: every datastore has the
// same modules.
const librarySet = "complete"

// featureCapability maps each ietf-netconf feature (RFC 6241 §10) to the
// capability that announces it in <hello> (RFC 6241 §8).
func featureCapability(feature string) string {
	switch feature {
	case "writable-running":
		return "urn:ietf:params:netconf:capability:writable-running:1.0"
	case "candidate":
		return "urn:ietf:params:netconf:capability:candidate:1.0"
	case "confirmed-commit":
		return "urn:ietf:params:netconf:capability:confirmed-commit:1.1"
	case "rollback-on-error":
		return "urn:ietf:params:netconf:capability:rollback-on-error:1.0"
	case "validate":
		return "urn:ietf:params:netconf:capability:validate:1.1"
	case "startup":
		return "urn:ietf:params:netconf:capability:startup:1.0"
	case "xpath":
		return "urn:ietf:params:netconf:capability:xpath:1.0"
	}
	return "" // url needs its scheme parameter: not offered
}

// withDefaultsParams are the RFC 6243 §4 parameters, the same for
// configuration and for <operational> (RFC 8526 §3.1.1.1).
const withDefaultsParams = "?basic-mode=explicit&also-supported=report-all,trim,report-all-tagged"

// capabilities lists the server <hello>: exactly what works. The protocol
// capabilities of ietf-netconf's supported features (RFC 6241 §8), the
// :yang-library:1.1 capability (RFC 8526 §2) whose content-id points to
// the YANG library (and :yang-library:1.0, RFC 7950 §5.6.4, for clients
// of /modules-state), and YANG 1.0 modules the server implements (RFC 7950
// §5.6.4: YANG 1.1 modules are announced only through the YANG library).
func capabilities(schema *yang.Schema) []string {
	caps := []string{
		"urn:ietf:params:netconf:base:1.0",
		"urn:ietf:params:netconf:base:1.1",
	}
	if m, ok := schema.ByName("ietf-netconf"); ok {
		for _, f := range m.Features {
			if c := featureCapability(f); c != "" {
				caps = append(caps, c)
			}
		}
	}
	caps = append(caps,
		"urn:ietf:params:netconf:capability:with-defaults:1.0"+withDefaultsParams,
		"urn:ietf:params:netconf:capability:notification:1.0",
		"urn:ietf:params:netconf:capability:interleave:1.0",
	)
	if m, ok := schema.ByName("ietf-netconf-nmda"); ok && m.Implemented {
		caps = append(caps, "urn:ietf:params:netconf:capability:with-operational-defaults:1.0"+withDefaultsParams)
	}
	if m, ok := schema.ByName("ietf-yang-library"); ok && m.Implemented {
		caps = append(caps, fmt.Sprintf("urn:ietf:params:netconf:capability:yang-library:1.1?revision=%s&content-id=%s",
			m.Revision, schema.ContentID()))
		// Clients of RFC 7895 (before NMDA) look for :yang-library:1.0
		// and read /modules-state, whose module-set-id is the content-id.
		caps = append(caps, fmt.Sprintf("urn:ietf:params:netconf:capability:yang-library:1.0?revision=%s&module-set-id=%s",
			m.Revision, schema.ContentID()))
	}
	for _, m := range schema.Library() {
		if !m.Implemented || m.YangVersion != "1" {
			continue
		}
		c := fmt.Sprintf("%s?module=%s&revision=%s", m.Namespace, m.Name, m.Revision)
		if len(m.Features) > 0 {
			c += "&features=" + strings.Join(m.Features, ",")
		}
		if len(m.Deviations) > 0 {
			c += "&deviations=" + strings.Join(m.Deviations, ",")
		}
		caps = append(caps, c)
	}
	return caps
}

// renderLibrary writes /yanglib:yang-library (RFC 8525 §3) and the
// deprecated /yanglib:modules-state (RFC 7895) for older clients. Both
// follow from the module list of package yang alone, which is fixed when
// the server starts: the content-id never changes while it runs, so no
// yang-library-update notification is ever sent.
func renderLibrary(schema *yang.Schema, datastores []string) []byte {
	var b bytes.Buffer
	lib := schema.Library()
	text := func(name, v string) {
		b.WriteString("<" + name + ">")
		xmlEscape(&b, v)
		b.WriteString("</" + name + ">")
	}
	// head writes what both lists say of a module first, in schema order
	// (the features of an import-only module are none).
	head := func(m *yang.Module) {
		text("name", m.Name)
		text("revision", m.Revision)
		text("namespace", m.Namespace)
	}
	// submodules lists a module's submodules (RFC 8525 §3 and RFC 7895
	// §2.2 alike: name and revision).
	submodules := func(m *yang.Module) {
		for _, sm := range m.Submodules {
			b.WriteString("<submodule>")
			text("name", sm.Name)
			text("revision", sm.Revision)
			b.WriteString("</submodule>")
		}
	}
	features := func(m *yang.Module) {
		for _, f := range m.Features {
			text("feature", f)
		}
	}
	b.WriteString(`<yang-library xmlns="` + NSYangLibrary + `" xmlns:ds="` + NSDatastores + `"><module-set>`)
	text("name", librarySet)
	for _, m := range lib {
		if !m.Implemented {
			continue
		}
		b.WriteString("<module>")
		head(m)
		submodules(m)
		features(m)
		for _, d := range m.Deviations {
			text("deviation", d)
		}
		b.WriteString("</module>")
	}
	for _, m := range lib {
		if m.Implemented {
			continue
		}
		b.WriteString("<import-only-module>")
		head(m)
		submodules(m)
		b.WriteString("</import-only-module>")
	}
	b.WriteString("</module-set><schema>")
	text("name", librarySet)
	text("module-set", librarySet)
	b.WriteString("</schema>")
	for _, ds := range datastores {
		b.WriteString("<datastore>")
		text("name", "ds:"+ds)
		text("schema", librarySet)
		b.WriteString("</datastore>")
	}
	text("content-id", schema.ContentID())
	b.WriteString(`</yang-library><modules-state xmlns="` + NSYangLibrary + `">`)
	text("module-set-id", schema.ContentID())
	for _, m := range lib {
		b.WriteString("<module>")
		head(m)
		features(m)
		for _, d := range m.Deviations {
			dm, _ := schema.ByName(d)
			b.WriteString("<deviation>")
			text("name", dm.Name)
			text("revision", dm.Revision)
			b.WriteString("</deviation>")
		}
		if m.Implemented {
			text("conformance-type", "implement")
		} else {
			text("conformance-type", "import")
		}
		submodules(m)
		b.WriteString("</module>")
	}
	b.WriteString("</modules-state>")
	return b.Bytes()
}

// nmdaDatastores are the datastores of RFC 8342 §5 that the server offers,
// in the YANG library and to <get-data>.
func nmdaDatastores() []string {
	return []string{"running", "candidate", "startup", "intended", "operational"}
}
