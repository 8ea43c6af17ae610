//go:build linux

package netio

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// helperEnv marks a run of this test binary started by
// TestDeviceVPNOverlappingAddresses inside its "router" namespace.
const helperEnv = "NTPAGENT_NETIO_DEVICE_HELPER"

// TestDeviceVPNOverlappingAddresses is the VRF case without a VRF module:
// a router namespace R has two links, vA to namespace A and vB to namespace
// B, with the same addresses on both (198.18.10.1/24 and fd00:10::1/64 on
// R's side, .2 / ::2 on the other). A vpn-instance named after a device
// binds its sockets to it (SO_BINDTODEVICE), so "vA" reaches A and "vB"
// reaches B although the addresses are the same, and replies arriving on
// each link are tagged with its vpn-instance. The sender runs inside R as a
// second process (this test binary, run by `ip netns exec`), so that the
// devices are in its own namespace.
func TestDeviceVPNOverlappingAddresses(t *testing.T) {
	needNetAdmin(t)
	nsR, nsA, nsB := newNetns(t, "r"), newNetns(t, "va"), newNetns(t, "vb")
	for _, p := range []struct{ dev, ns, peer string }{{"vA", nsA, "pA"}, {"vB", nsB, "pB"}} {
		vethPair(t,
			link{nsR, p.dev, []string{"198.18.10.1/24", "fd00:10::1/64", "fe80::1/64"}},
			link{p.ns, p.peer, []string{"198.18.10.2/24", "fd00:10::2/64", "fe80::2/64"}})
	}
	all := netip.AddrPortFrom(netip.IPv6Unspecified(), 123)
	for _, ns := range []string{nsA, nsB} {
		tr := nsTransport(t, ns, all)
		go func() { // echo, saying where the request arrived
			for r := range tr.Received() {
				_ = tr.Send([]byte(string(r.Data)+"@"+r.VPN), r.Src, Source{Addr: r.Dst.Addr()}, r.VPN)
			}
		}()
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", nsR, exe,
		"-test.run=^TestDeviceVPNHelper$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"="+nsA+","+nsB)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestDeviceVPNHelper") {
		t.Fatalf("sender in %s: %v\n%s", nsR, err, out)
	}
}

// TestDeviceVPNHelper is the sender side of TestDeviceVPNOverlappingAddresses;
// it does nothing unless started by it.
func TestDeviceVPNHelper(t *testing.T) {
	env := os.Getenv(helperEnv)
	if env == "" {
		t.Skip("started only by TestDeviceVPNOverlappingAddresses")
	}
	nsA, nsB, _ := strings.Cut(env, ",")
	tr := newTestTransport(t, Config{Listen: []netip.AddrPort{netip.AddrPortFrom(netip.IPv6Unspecified(), 123)}})
	for _, dst := range []string{"198.18.10.2", "fd00:10::2", "fe80::2"} {
		for _, c := range []struct{ vpn, peerNS string }{{"vA", nsA}, {"vB", nsB}, {"vA", nsA}} {
			to := mustAddr(dst)
			if to.IsLinkLocalUnicast() {
				to = to.WithZone(c.vpn)
			}
			msg := fmt.Sprintf("%s via %s", dst, c.vpn)
			if err := tr.Send([]byte(msg), netip.AddrPortFrom(to, 123), Source{}, c.vpn); err != nil {
				t.Fatal(err)
			}
			r := receive(t, tr)
			if want := msg + "@" + c.peerNS; string(r.Data) != want || r.VPN != c.vpn {
				t.Fatalf("reply %q in vpn-instance %q, want %q in %q", r.Data, r.VPN, want, c.vpn)
			}
		}
	}
	var ve *VPNError
	if err := tr.OpenVPN("vC"); !errors.As(err, &ve) || !errors.Is(err, ErrUnknownVPN) {
		t.Fatalf("OpenVPN(vC) = %v, want ErrUnknownVPN", err)
	}
}
