package huawei

import (
	"strings"
	"testing"
)

func TestInterfaceNameRuleMapsVRPNamesToLinuxNames(t *testing.T) {
	for _, tc := range []struct {
		rule, vrp, linux, back string
	}{
		{"type lower-cased, '/' written '_'", "40GE1/0/22", "40ge1_0_22", "40GE1/0/22"},
		{"VRP reads the type in any case", "vlanif10", "vlanif10", "Vlanif10"},
		{"ce_ntp lower-cases the whole name", "40ge1/0/22", "40ge1_0_22", "40GE1/0/22"},
		{"sub-interface number after '.'", "Eth-Trunk10.100", "eth-trunk10.100", "Eth-Trunk10.100"},
		{"longest type wins (100GE over 10GE)", "100GE1/0/1", "100ge1_0_1", "100GE1/0/1"},
		{"4X10GE is a type of its own", "4x10ge2/0/1", "4x10ge2_0_1", "4X10GE2/0/1"},
		{"LoopBack", "LoopBack0", "loopback0", "LoopBack0"},
		{"a Linux name stays as it is", "eth0", "eth0", "eth0"},
		{"a Linux name that starts like a type but has no number", "geneve0", "geneve0", "geneve0"},
		{"exactly 15 characters", "100GE1/0/22.100", "100ge1_0_22.100", "100GE1/0/22.100"},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			linux, err := LinuxInterfaceName(tc.vrp)
			if err != nil || linux != tc.linux {
				t.Fatalf("LinuxInterfaceName(%q) = %q, %v; want %q", tc.vrp, linux, err, tc.linux)
			}
			if back := VRPInterfaceName(linux); back != tc.back {
				t.Fatalf("VRPInterfaceName(%q) = %q, want %q", linux, back, tc.back)
			}
			if again, err := LinuxInterfaceName(VRPInterfaceName(linux)); err != nil || again != linux {
				t.Fatalf("Linux → VRP → Linux of %q gives %q, %v", linux, again, err)
			}
		})
	}
}

func TestInterfaceNameRuleRefusesNamesWithoutALinuxForm(t *testing.T) {
	for _, tc := range []struct {
		rule, vrp, msg string
	}{
		{"longer than 15 characters once mapped", "Fabric-Port1/0/1", "longer than 15"},
		{"the Linux form of a VRP name is ambiguous as a VRP name", "GE1_0_1", "write it GE1/0/1"},
		{"'/' outside a VRP number", "foo/1", "neither a VRP interface"},
		{"white space", "eth 0", "neither a VRP interface"},
		{"too long for Linux", "averyveryverylongname", "neither a VRP interface"},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			linux, err := LinuxInterfaceName(tc.vrp)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("LinuxInterfaceName(%q) = %q, %v; want an error with %q", tc.vrp, linux, err, tc.msg)
			}
		})
	}
}

// TestInterfaceNameRuleIsABijectionOnLowerCaseLinuxNames checks the rule's
// round trips over generated names: every Linux name of a VRP type in lower
// case and a number comes back from its VRP name, and distinct Linux names
// have distinct VRP names.
func TestInterfaceNameRuleIsABijectionOnLowerCaseLinuxNames(t *testing.T) {
	seen := map[string]string{}
	numbers := []string{"0", "10", "1_0_22", "2_1.7", "3.4094"}
	for _, typ := range append(interfaceTypes, "eth", "ens", "wg") {
		for _, num := range numbers {
			linux := strings.ToLower(typ) + num
			if !isLinuxName(linux) {
				continue
			}
			vrp := VRPInterfaceName(linux)
			if prev, dup := seen[vrp]; dup {
				t.Fatalf("%q and %q both show as %q", prev, linux, vrp)
			}
			seen[vrp] = linux
			back, err := LinuxInterfaceName(vrp)
			if err != nil || back != linux {
				t.Fatalf("%q → %q → %q, %v", linux, vrp, back, err)
			}
		}
	}
	if len(seen) < 60 {
		t.Fatalf("only %d names checked", len(seen))
	}
}
