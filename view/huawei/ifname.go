package huawei

import (
	"fmt"
	"strings"
)

// The interface-name rule maps a VRP interface name to the name of a Linux
// interface and back; README's "Huawei interface names" is its user's text.
//
// A VRP name is an interface type followed by its number: slot/card/port
// numbers joined by '/', and a sub-interface number after '.'
// (40GE1/0/22, Eth-Trunk10.100, Vlanif10). VRP reads the type without
// regard to case. Linux names are case-sensitive, at most 15 bytes, and may
// not hold '/'. So:
//
//   - VRP → Linux: the type in lower case, then the number with each '/'
//     written '_': 40GE1/0/22 → 40ge1_0_22, Vlanif10 → vlanif10,
//     Eth-Trunk10.100 → eth-trunk10.100. A result longer than 15 bytes is
//     refused. A name that does not start with a VRP type is already a
//     Linux name and stays as it is (eth0), unless it looks like the Linux
//     form of a VRP name in another case (GE1_0_1): that one is refused,
//     since it would name the same interface as GE1/0/1.
//   - Linux → VRP: a name made of a VRP type in lower case and a number in
//     the Linux form becomes the VRP name with the type in VRP's spelling
//     (40ge1_0_22 → 40GE1/0/22); every other name stays as it is (eth0).
//
// Linux → VRP → Linux gives back the Linux name, except for Linux names
// that spell a VRP type with capitals and a number (Vlanif10): they have no
// VRP spelling of their own, are shown as they are, and the same text in an
// edit names vlanif10. VRP → Linux → VRP gives back the VRP name with its
// type in VRP's spelling.

// linuxNameMax is the longest Linux interface name (IFNAMSIZ-1).
const linuxNameMax = 15

// interfaceTypes are VRP's interface types in VRP's spelling, longest
// first so that a name is matched by its longest type.
var interfaceTypes = []string{
	"Fabric-Port", "Stack-Port", "FCoE-Port", "Eth-Trunk", "LoopBack",
	"Ethernet", "4X10GE", "Tunnel", "Vlanif", "100GE", "Vbdif", "10GE",
	"25GE", "40GE", "MEth", "NULL", "Nve", "GE",
}

// splitType returns the VRP type that name starts with (compared without
// regard to case, the longest that matches) and the rest of the name.
func splitType(name string) (typ, rest string, ok bool) {
	for _, t := range interfaceTypes {
		if len(name) > len(t) && strings.EqualFold(name[:len(t)], t) {
			return t, name[len(t):], true
		}
	}
	return "", "", false
}

// isNumber reports whether s is an interface number whose slot separator
// is sep: digits, groups joined by sep, and an optional ".digits".
func isNumber(s string, sep byte) bool {
	if main, sub, found := strings.Cut(s, "."); found {
		if !isDigits(sub) {
			return false
		}
		s = main
	}
	for _, g := range strings.Split(s, string(sep)) {
		if !isDigits(g) {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
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

// isLinuxName reports whether s is a valid Linux interface name in the
// sense of ntpagent-ntp's interface-name typedef.
func isLinuxName(s string) bool {
	return s != "" && len(s) <= linuxNameMax && !strings.ContainsAny(s, "/: \t\r\n\v\f")
}

// LinuxInterfaceName maps a VRP interface name to the Linux name by the
// interface-name rule; the error is a sentence for the operator.
func LinuxInterfaceName(vrp string) (string, error) {
	if typ, rest, ok := splitType(vrp); ok {
		if isNumber(rest, '/') {
			linux := strings.ToLower(typ) + strings.ReplaceAll(rest, "/", "_")
			if len(linux) > linuxNameMax {
				return "", fmt.Errorf("The interface %s has no Linux name: %s is longer than %d characters.", vrp, linux, linuxNameMax)
			}
			return linux, nil
		}
		if isNumber(rest, '_') && strings.Contains(rest, "_") {
			return "", fmt.Errorf("The interface name %s is ambiguous: write it %s%s.", vrp, typ, strings.ReplaceAll(rest, "_", "/"))
		}
	}
	if !isLinuxName(vrp) {
		return "", fmt.Errorf("The interface name %s is neither a VRP interface (type and number, such as 40GE1/0/22) nor a Linux interface name.", vrp)
	}
	return vrp, nil
}

// VRPInterfaceName maps a Linux interface name to the name the VRP view
// shows, by the interface-name rule.
func VRPInterfaceName(linux string) string {
	typ, rest, ok := splitType(linux)
	if !ok || linux[:len(typ)] != strings.ToLower(typ) || !isNumber(rest, '_') {
		return linux
	}
	return typ + strings.ReplaceAll(rest, "_", "/")
}
