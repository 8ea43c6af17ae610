package xmlcodec

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"

	goyang "github.com/openconfig/goyang/pkg/yang"
)

// ltype is a leaf's YANG type, resolved (typedefs flattened, leafrefs
// followed) and tied to the Go type ygot generated for it.
type ltype struct {
	kind    goyang.TypeKind
	fd      int       // decimal64 fraction-digits
	members []*ltype  // union members in order (RFC 7950 §9.12)
	enum    *enumMaps // enumeration, identityref
	// ipv6 is set for a string typedef of IPv6 addresses, and for a union
	// with such a member: an IPv6 address is then stored in the RFC 5952
	// form (as the CLI enters it), so that one address is one list entry
	// and "2001:DB8:0::1" finds the peer "2001:db8::1".
	ipv6 bool
	// domain is set for the domain-name typedef and unions holding it:
	// DNS names are case-insensitive (RFC 4343), so a name is stored in
	// lower case and "NTP.Example.net" is the peer "ntp.example.net".
	domain bool
	// xpathNS is set for XPath values (RFC 6991 xpath1.0 and RFC 8341's
	// node-instance-identifier): the namespaces of the prefixes (and
	// module names) a value may use, which its element must declare when
	// written (RFC 7950 §9.13: prefixes in XML are bound in scope).
	xpathNS map[string]string
	// wrap is the generated wrapper type that holds a member of a simple
	// union in the union's interface field (nil outside unions).
	wrap reflect.Type
}

// ipv6Typedef reports whether the typedef name is one whose values are IPv6
// addresses: ours (yang/ntpagent-ntp.yang) and those of RFC 6991.
func ipv6Typedef(name string) bool {
	switch name {
	case "ipv6-host-address", "ipv6-address", "ipv6-address-no-zone":
		return true
	}
	return false
}

// canonicalIPv6 returns the RFC 5952 text of an IPv6 address without a
// zone, or text unchanged when it is not one.
func canonicalIPv6(text string) string {
	if !strings.Contains(text, ":") {
		return text
	}
	a, err := netip.ParseAddr(text)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return text
	}
	return a.String()
}

type enumMaps struct {
	byName map[string]int64  // enumeration: YANG name → Go value
	byQ    map[qname]int64   // identityref: (namespace, name) → Go value
	names  map[int64]string  // Go value → name
	qnames map[int64]qname   // identityref: Go value → (namespace, name)
	prefix map[string]string // identityref: namespace → module prefix
}

type qname struct{ ns, name string }

func (s *Schema) leafType(e *goyang.Entry, yt *goyang.YangType, goType reflect.Type, depth int) (*ltype, error) {
	if yt == nil {
		return nil, errors.New("no type")
	}
	if depth > 16 {
		return nil, errors.New("leafref chain too long")
	}
	lt := &ltype{kind: yt.Kind, fd: yt.FractionDigits, ipv6: yt.Kind == goyang.Ystring && ipv6Typedef(yt.Name),
		domain: yt.Kind == goyang.Ystring && yt.Name == "domain-name"}
	if yt.Kind == goyang.Ystring && (yt.Name == "xpath1.0" || yt.Name == "node-instance-identifier") {
		lt.xpathNS = s.nsByPrefix
	}
	switch yt.Kind {
	case goyang.Yleafref:
		t, ok := s.ys.LeafrefTarget(e, yt.Path)
		if !ok || t.Type == nil {
			return nil, fmt.Errorf("leafref %s does not resolve", yt.Path)
		}
		return s.leafType(t, t.Type, goType, depth+1)
	case goyang.Yunion:
		for _, m := range yt.Type {
			mt, err := s.leafType(e, m, goType, depth+1)
			if err != nil {
				return nil, err
			}
			lt.members = append(lt.members, mt)
			lt.ipv6 = lt.ipv6 || mt.ipv6
			lt.domain = lt.domain || mt.domain
		}
	case goyang.Yenum, goyang.Yidentityref:
		if goType.Kind() == reflect.Interface {
			return nil, fmt.Errorf("an enumeration inside a union is not supported")
		}
		defs, ok := enumInfo(goType)
		if !ok {
			return nil, fmt.Errorf("Go type %s is not a generated enum", goType)
		}
		em := &enumMaps{byName: map[string]int64{}, byQ: map[qname]int64{}, names: map[int64]string{},
			qnames: map[int64]qname{}, prefix: map[string]string{}}
		for v, d := range defs {
			em.names[v] = d.Name
			em.byName[d.Name] = v
			if yt.Kind == goyang.Yidentityref {
				m, ok := s.ys.ByName(d.DefiningModule)
				if !ok {
					return nil, fmt.Errorf("identity %s of unknown module %s", d.Name, d.DefiningModule)
				}
				em.byQ[qname{m.Namespace, d.Name}] = v
				em.qnames[v] = qname{m.Namespace, d.Name}
				em.prefix[m.Namespace] = m.Prefix
			}
		}
		lt.enum = em
	case goyang.Ybits:
		return nil, fmt.Errorf("bits is not supported")
	}
	if goType.Kind() == reflect.Interface && yt.Kind != goyang.Yunion {
		// A member of a simple union: the generated wrapper type holds it.
		w, ok := s.unions[yt.Kind]
		if !ok {
			return nil, fmt.Errorf("no union wrapper type for %s in the model", yt.Kind)
		}
		if !w.Implements(goType) {
			return nil, fmt.Errorf("union wrapper %s is not a %s", w, goType)
		}
		lt.wrap = w
	}
	return lt, nil
}

// resolver resolves a prefix of a QName value (identityref) to a namespace
// through the in-scope namespace declarations (RFC 7950 §9.10.3).
type resolver interface {
	lookup(prefix string) (string, bool)
}

var errType = errors.New("not a valid value")

// parse turns the XML text of a leaf into a value of Go type t (the field
// type without its pointer, or a leaf-list's element type).
func (lt *ltype) parse(text string, t reflect.Type, r resolver) (reflect.Value, error) {
	if lt.ipv6 {
		text = canonicalIPv6(text)
	}
	if lt.domain {
		if _, err := netip.ParseAddr(text); err != nil {
			text = strings.ToLower(text)
		}
	}
	if lt.kind == goyang.Yunion {
		// RFC 7950 §9.12: the first member type that accepts the value.
		for _, m := range lt.members {
			if v, err := m.parse(text, t, r); err == nil {
				return v, nil
			}
		}
		return reflect.Value{}, fmt.Errorf("%w of any member type of the union", errType)
	}
	if t.Kind() == reflect.Interface {
		w := lt.wrap
		if w == nil || !w.Implements(t) {
			return reflect.Value{}, errType
		}
		v, err := lt.parse(text, w, r)
		if err != nil {
			return v, err
		}
		out := reflect.New(t).Elem()
		out.Set(v)
		return out, nil
	}
	v := reflect.New(t).Elem()
	if lt.kind != goyang.Ystring && lt.kind != goyang.Ybinary {
		// XML whitespace around a number, boolean or name is not part of
		// the value; strings are taken as they are.
		text = strings.TrimSpace(text)
	}
	switch lt.kind {
	case goyang.Ystring:
		if t.Kind() != reflect.String {
			return v, errType
		}
		v.SetString(text)
	case goyang.Yint8, goyang.Yint16, goyang.Yint32, goyang.Yint64:
		bits := map[goyang.TypeKind]int{goyang.Yint8: 8, goyang.Yint16: 16, goyang.Yint32: 32, goyang.Yint64: 64}[lt.kind]
		if !decimalInteger(text) {
			return v, fmt.Errorf("%w: %q is not a decimal integer", errType, text)
		}
		n, err := strconv.ParseInt(text, 10, bits)
		if err != nil {
			return v, fmt.Errorf("%w: %q is not an int%d", errType, text, bits)
		}
		switch t.Kind() {
		case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			v.SetInt(n)
		case reflect.String:
			v.SetString(strconv.FormatInt(n, 10))
		default:
			return v, errType
		}
	case goyang.Yuint8, goyang.Yuint16, goyang.Yuint32, goyang.Yuint64:
		bits := map[goyang.TypeKind]int{goyang.Yuint8: 8, goyang.Yuint16: 16, goyang.Yuint32: 32, goyang.Yuint64: 64}[lt.kind]
		if !decimalInteger(text) || text[0] == '-' {
			return v, fmt.Errorf("%w: %q is not an unsigned decimal integer", errType, text)
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(text, "+"), 10, bits)
		if err != nil {
			return v, fmt.Errorf("%w: %q is not a uint%d", errType, text, bits)
		}
		switch t.Kind() {
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			v.SetUint(n)
		case reflect.String:
			v.SetString(strconv.FormatUint(n, 10))
		default:
			return v, errType
		}
	case goyang.Ydecimal64:
		f, err := parseDecimal64(text, lt.fd)
		if err != nil {
			return v, err
		}
		switch t.Kind() {
		case reflect.Float64:
			v.SetFloat(f)
		case reflect.String:
			v.SetString(string(appendDecimal64(nil, f, lt.fd)))
		default:
			return v, errType
		}
	case goyang.Ybool:
		var b bool
		switch text {
		case "true":
			b = true
		case "false":
		default:
			return v, fmt.Errorf("%w: %q is not true or false", errType, text)
		}
		switch t.Kind() {
		case reflect.Bool:
			v.SetBool(b)
		case reflect.String:
			v.SetString(text)
		default:
			return v, errType
		}
	case goyang.Yempty:
		if text != "" {
			return v, fmt.Errorf("%w: a leaf of type empty has no content", errType)
		}
		if t.Kind() != reflect.Bool {
			return v, errType
		}
		v.SetBool(true)
	case goyang.Ybinary:
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
		if err != nil {
			return v, fmt.Errorf("%w: not base64 (RFC 7950 §9.8)", errType)
		}
		if t.Kind() != reflect.Slice || t.Elem().Kind() != reflect.Uint8 {
			return v, errType
		}
		v.SetBytes(b)
	case goyang.Yenum:
		n, ok := lt.enum.byName[text]
		if !ok {
			return v, fmt.Errorf("%w: %q is not one of %s", errType, text, lt.enumNames())
		}
		v.SetInt(n)
	case goyang.Yidentityref:
		prefix, name, found := strings.Cut(text, ":")
		if !found {
			prefix, name = "", text
		}
		ns, ok := "", false
		if r != nil {
			ns, ok = r.lookup(prefix)
		}
		if !ok {
			return v, fmt.Errorf("%w: prefix %q of %q is not declared", errType, prefix, text)
		}
		n, ok := lt.enum.byQ[qname{ns, name}]
		if !ok {
			return v, fmt.Errorf("%w: %q is not an identity derived from the base", errType, text)
		}
		v.SetInt(n)
	default:
		return v, fmt.Errorf("%w: type %s is not supported", errType, lt.kind)
	}
	return v, nil
}

// enumNames lists an enumeration's names in value order.
func (lt *ltype) enumNames() string {
	vals := make([]int64, 0, len(lt.enum.names))
	for n := range lt.enum.names {
		vals = append(vals, n)
	}
	slices.Sort(vals)
	names := make([]string, len(vals))
	for i, n := range vals {
		names[i] = lt.enum.names[n]
	}
	return strings.Join(names, ", ")
}

func decimalInteger(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '+' || s[0] == '-' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseDecimal64 parses the lexical form of RFC 7950 §9.3.2: an optional
// sign, digits, and optionally a point and at most fd digits.
func parseDecimal64(s string, fd int) (float64, error) {
	body := s
	if body != "" && (body[0] == '+' || body[0] == '-') {
		body = body[1:]
	}
	ip, fp, hasPoint := strings.Cut(body, ".")
	if ip == "" || !decimalInteger(ip) || ip[0] == '+' || ip[0] == '-' || (hasPoint && (fp == "" || !decimalInteger(fp) || fp[0] == '+' || fp[0] == '-')) {
		return 0, fmt.Errorf("%w: %q is not a decimal number", errType, s)
	}
	if len(fp) > fd {
		return 0, fmt.Errorf("%w: %q has more than %d fraction digits", errType, s, fd)
	}
	f, err := strconv.ParseFloat(strings.TrimPrefix(s, "+"), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%w: %q is out of range", errType, s)
	}
	// decimal64 holds 18 significant digits: |value| < 2^63 / 10^fd.
	if math.Abs(f) > math.MaxInt64/math.Pow10(fd) {
		return 0, fmt.Errorf("%w: %q is out of the range of decimal64 with %d fraction digits", errType, s, fd)
	}
	return f, nil
}

// appendDecimal64 writes the canonical form of RFC 7950 §9.3.2: rounded to
// the fraction digits, no trailing zeros but one digit after the point.
func appendDecimal64(b []byte, f float64, fd int) []byte {
	if fd < 1 {
		fd = 1
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'f', fd, 64)
	for len(b) > start && b[len(b)-1] == '0' && b[len(b)-2] != '.' {
		b = b[:len(b)-1]
	}
	if string(b[start:]) == "-0.0" {
		b = append(b[:start], "0.0"...)
	}
	return b
}

// format appends the canonical text of v (a value of the leaf's Go element
// type).
func (lt *ltype) format(b []byte, v reflect.Value) []byte {
	if v.Kind() == reflect.Interface {
		if v.IsNil() {
			return b
		}
		v = v.Elem()
		return lt.memberFor(v.Type()).format(b, v)
	}
	switch v.Kind() {
	case reflect.String:
		return append(b, v.String()...)
	case reflect.Bool:
		if lt.kind == goyang.Yempty || v.Type().Name() == "YANGEmpty" {
			return b
		}
		return strconv.AppendBool(b, v.Bool())
	case reflect.Int64:
		if lt.enum != nil {
			n := v.Int()
			if lt.kind == goyang.Yidentityref {
				q := lt.enum.qnames[n]
				return append(append(append(b, lt.enum.prefix[q.ns]...), ':'), q.name...)
			}
			return append(b, lt.enum.names[n]...)
		}
		return strconv.AppendInt(b, v.Int(), 10)
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return strconv.AppendInt(b, v.Int(), 10)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(b, v.Uint(), 10)
	case reflect.Float64:
		return appendDecimal64(b, v.Float(), lt.decimalDigits())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return base64.StdEncoding.AppendEncode(b, v.Bytes())
		}
	}
	return fmt.Append(b, v.Interface())
}

func (lt *ltype) decimalDigits() int {
	if lt.kind == goyang.Ydecimal64 {
		return lt.fd
	}
	for _, m := range lt.members {
		if d := m.decimalDigits(); d > 0 {
			return d
		}
	}
	return 0
}

// memberFor finds the union member whose wrapper type is t.
func (lt *ltype) memberFor(t reflect.Type) *ltype {
	for _, m := range lt.members {
		if m.wrap != nil && m.wrap == t {
			return m
		}
		if m.kind == goyang.Yunion {
			if mm := m.memberFor(t); mm != nil {
				return mm
			}
		}
	}
	if len(lt.members) == 0 {
		return lt
	}
	return &ltype{kind: goyang.Ystring}
}

// xpathPrefixes appends to out the prefixes of the XPath text that name
// one of lt.xpathNS's namespaces (each once): a name followed by one
// colon, outside quoted literals (RFC 7950 §9.13, XPath 1.0 §2.3).
func (lt *ltype) xpathPrefixes(out []string, text []byte) []string {
	var quote byte
	start := -1
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
			continue
		case c == '\'' || c == '"':
			quote, start = c, -1
			continue
		}
		nameChar := c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
		switch {
		case nameChar && start < 0:
			start = i
		case c == ':' && start >= 0 && (i+1 >= len(text) || text[i+1] != ':'):
			p := string(text[start:i])
			if _, ok := lt.xpathNS[p]; ok && !slices.Contains(out, p) {
				out = append(out, p)
			}
			start = -1
		case !nameChar:
			start = -1
		}
	}
	return out
}

// identityNS returns the namespace and prefix of an identityref value, for
// the xmlns declaration its element needs.
func (lt *ltype) identityNS(v reflect.Value) (ns, prefix string, ok bool) {
	if lt.kind != goyang.Yidentityref || v.Kind() != reflect.Int64 {
		return "", "", false
	}
	q := lt.enum.qnames[v.Int()]
	return q.ns, lt.enum.prefix[q.ns], q.ns != ""
}
