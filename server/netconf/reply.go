package netconf

import (
	"bytes"
	"sort"
	"strings"

	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// replyOpen starts an <rpc-reply> in the base namespace carrying every
// attribute of the <rpc> (RFC 6241 §4.2), with the declarations that their
// prefixes need.
func replyOpen(buf *bytes.Buffer, rpc *element) {
	buf.WriteString(`<rpc-reply xmlns="` + NSBase + `"`)
	if rpc == nil {
		buf.WriteByte('>')
		return
	}
	// Each prefix is declared once with the namespace it had on the
	// attribute: the work is linear in the attributes, whatever the number
	// of declarations in scope. The declarations come first, then the
	// attributes.
	var declared map[string]bool // made at the first prefixed attribute
	for _, a := range rpc.Attr {
		if p := a.prefix; p != "" && p != "xml" && !declared[p] {
			if declared == nil {
				declared = map[string]bool{}
			}
			declared[p] = true
			buf.WriteString(" xmlns:" + p + `="`)
			xmlEscape(buf, a.Name.Space)
			buf.WriteByte('"')
		}
	}
	for _, a := range rpc.Attr {
		buf.WriteByte(' ')
		if p := a.prefix; p != "" {
			buf.WriteString(p)
			buf.WriteByte(':')
		}
		buf.WriteString(a.Name.Local)
		buf.WriteString(`="`)
		xmlEscape(buf, a.Value)
		buf.WriteByte('"')
	}
	buf.WriteByte('>')
}

// writeRPCErrors renders errors as <rpc-error> elements (RFC 6241 §4.3 and
// Appendix A). error-path holds prefixes of our modules (and "nc" for the
// base namespace); their namespaces are declared on the <error-path>
// element so that the path stays an XPath expression a client can
// evaluate. An error about a parameter of op (rpcerror.Error.Param) gets
// the path of that parameter.
func writeRPCErrors(buf *bytes.Buffer, errs []*rpcerror.Error, op *element, prefixes map[string]string) {
	for _, e := range errs {
		typ := e.Type
		if typ == "" {
			typ = rpcerror.TypeApplication
		}
		tag := e.Tag
		if tag == "" {
			tag = rpcerror.TagOperationFailed
		}
		sev := e.Severity
		if sev == "" {
			sev = "error"
		}
		buf.WriteString("<rpc-error><error-type>" + string(typ) + "</error-type><error-tag>" + string(tag) +
			"</error-tag><error-severity>" + sev + "</error-severity>")
		if e.AppTag != "" {
			buf.WriteString("<error-app-tag>")
			xmlEscape(buf, e.AppTag)
			buf.WriteString("</error-app-tag>")
		}
		path := e.Path
		if path == "" && e.Param != "" {
			path = paramPath(op, e.Param, prefixes)
		}
		if path != "" {
			buf.WriteString("<error-path")
			if strings.HasPrefix(path, "/nc:") {
				buf.WriteString(` xmlns:nc="` + NSBase + `"`)
			}
			var used []string
			for p := range prefixes {
				if strings.Contains(path, p+":") {
					used = append(used, p)
				}
			}
			sort.Strings(used)
			for _, p := range used {
				buf.WriteString(" xmlns:" + p + `="`)
				xmlEscape(buf, prefixes[p])
				buf.WriteByte('"')
			}
			buf.WriteByte('>')
			xmlEscape(buf, path)
			buf.WriteString("</error-path>")
		}
		msg := e.Message
		if msg == "" && e.Err != nil {
			msg = e.Err.Error()
		}
		if msg != "" {
			buf.WriteString(`<error-message xml:lang="en">`)
			xmlEscape(buf, msg)
			buf.WriteString("</error-message>")
		}
		if len(e.Info) > 0 {
			buf.WriteString("<error-info>")
			for _, in := range e.Info {
				buf.WriteString("<" + in.Name + ">")
				xmlEscape(buf, in.Value)
				buf.WriteString("</" + in.Name + ">")
			}
			buf.WriteString("</error-info>")
		}
		buf.WriteString("</rpc-error>")
	}
}

// paramPath is the error-path of a parameter of op: /nc:rpc/nc:OP/nc:PARAM
// for a base operation (RFC 6241 Appendix A), /p:OP/p:PARAM for an
// operation of one of our modules (prefix p); "" when op is unknown.
func paramPath(op *element, param string, prefixes map[string]string) string {
	if op == nil {
		return ""
	}
	if op.Name.Space == NSBase || op.Name.Space == "" {
		return "/nc:rpc/nc:" + op.Name.Local + "/nc:" + param
	}
	for p, ns := range prefixes {
		if ns == op.Name.Space {
			return "/" + p + ":" + op.Name.Local + "/" + p + ":" + param
		}
	}
	return ""
}
