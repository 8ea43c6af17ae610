package cli

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ntpagent/ntpagent/datastore/rules"
)

// Parameter types. Each check mirrors the YANG type of the leaf it sets
// (yang/ntpagent-ntp.yang, yang/ntpagent-system.yang), so a value the CLI
// accepts is one the schema accepts; what a type cannot say (host addresses,
// key lengths) is left to datastore/rules.

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func uintRange(name string, lo, hi uint64) *paramSpec {
	return &paramSpec{name: name, check: func(tok string) (string, bool) {
		if tok == "" || len(tok) > 10 || strings.TrimLeft(tok, "0123456789") != "" {
			return "", false
		}
		v, err := strconv.ParseUint(tok, 10, 64)
		if err != nil || v < lo || v > hi {
			return "", false
		}
		return strconv.FormatUint(v, 10), true
	}}
}

func stringParam(name string, minLen, maxLen int, forbidden string) *paramSpec {
	return &paramSpec{name: name, check: func(tok string) (string, bool) {
		n := utf8.RuneCountInString(tok)
		if n < minLen || n > maxLen || !printable(tok) || strings.ContainsAny(tok, forbidden) {
			return "", false
		}
		return tok, true
	}}
}

// The YANG patterns of ipv4-host-address and domain-name, anchored as XSD
// patterns are (RFC 7950 §9.4.5).
var (
	ipv4Pattern = regexp.MustCompile(`^(([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\.){3}([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])$`)
	// Domain names that are not also dotted-quad numbers.
	domainPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.?$`)
	ifnumPattern  = regexp.MustCompile(`^[0-9]{1,5}(\.[0-9]{1,5})?$`)
)

var (
	pIPv4 = &paramSpec{name: "X.X.X.X", check: func(tok string) (string, bool) {
		return tok, ipv4Pattern.MatchString(tok)
	}}
	pIPv6 = &paramSpec{name: "X:X::X:X", check: func(tok string) (string, bool) {
		if len(tok) < 2 || len(tok) > 45 || !strings.Contains(tok, ":") {
			return "", false
		}
		a, err := netip.ParseAddr(tok)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", false
		}
		// RFC 5952 form, so that one address is one list entry.
		return rules.CanonicalPeerAddress(a.String()), true
	}}
	pDomain = &paramSpec{name: "STRING<1-253>", check: func(tok string) (string, bool) {
		if len(tok) > 253 || !domainPattern.MatchString(tok) {
			return "", false
		}
		// Lower case, as NETCONF stores it: one name is one list entry.
		return rules.CanonicalPeerAddress(tok), true
	}}
	// interface-name: 1..15 characters, no '/', ':' or white space.
	pIfName = stringParam("STRING<1-15>", 1, 15, "/: ?")
	pIfNum  = &paramSpec{name: "<0-99999>", check: func(tok string) (string, bool) {
		return tok, ifnumPattern.MatchString(tok)
	}}
	pVPN      = stringParam("STRING<1-31>", 1, 31, " ?")
	pSysname  = stringParam("STRING<1-246>", 1, 246, " ?")
	pLabel    = stringParam("STRING<1-256>", 1, 256, " ?")
	pPoll     = uintRange("INTEGER<3-17>", 3, 17)
	pDecStep  = uintRange("INTEGER<1-14>", 1, 14)
	pVersion  = uintRange("INTEGER<1-4>", 1, 4)
	pKeyID    = uintRange("INTEGER<1-4294967295>", 1, 4294967295)
	pCommitID = uintRange("INTEGER<1-4294967295>", 1, 4294967295)
	pPlainKey = &paramSpec{name: "STRING<1-512>", check: func(tok string) (string, bool) {
		// A clear-text key that looks like cipher text would be taken for it.
		if rules.IsCipher(tok) {
			return "", false
		}
		return stringParam("", 1, 512, "?").check(tok)
	}}
	pCipherKey = &paramSpec{name: "STRING<1-728>", check: func(tok string) (string, bool) {
		if rules.IsCipher(tok) {
			return tok, true // the datastore refuses one this device did not make
		}
		// VRP's cipher keyword also takes the key in clear text: it is stored
		// (and shown) in cipher form.
		return pPlainKey.check(tok)
	}}
	pPort = &paramSpec{name: "INTEGER<123,1025-65535>", check: func(tok string) (string, bool) {
		v, ok := uintRange("", 123, 65535).check(tok)
		if !ok {
			return "", false
		}
		n, _ := strconv.Atoi(v)
		return v, n == 123 || n >= 1025
	}}
	pRegex = &paramSpec{name: "STRING<1-255>", rest: true, check: func(tok string) (string, bool) {
		return tok, printable(tok)
	}}
)
