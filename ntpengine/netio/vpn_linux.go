package netio

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ntpagent/ntpagent/internal/vpninstance"
)

type vpnKind int

const (
	vpnPublic vpnKind = iota
	vpnDevice
	vpnNamespace
)

func (k vpnKind) String() string {
	switch k {
	case vpnDevice:
		return "device"
	case vpnNamespace:
		return "namespace"
	default:
		return "public"
	}
}

// vpnInstance is a resolved vpn-instance.
type vpnInstance struct {
	name   string
	kind   vpnKind
	device string // vpnDevice: the device to bind to (a VRF or any net device)
	nsPath string // vpnNamespace: the namespace file
}

// resolveVPN maps a vpn-instance name to what it means on this host:
// _public_ (or "") is the default namespace; a device of that
// name in the current namespace (a VRF, or any net device) is bound to with
// SO_BINDTODEVICE; otherwise netnsDir/NAME is a network namespace.
func resolveVPN(name, netnsDir string) (vpnInstance, error) {
	if name == "" || name == vpninstance.Public {
		return vpnInstance{name: vpninstance.Public, kind: vpnPublic}, nil
	}
	if name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return vpnInstance{}, &VPNError{VPN: name, Op: "resolve", Err: ErrBadVPNName}
	}
	if len(name) < unix.IFNAMSIZ {
		if _, err := net.InterfaceByName(name); err == nil {
			return vpnInstance{name: name, kind: vpnDevice, device: name}, nil
		}
	}
	p := filepath.Join(netnsDir, name)
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return vpnInstance{}, &VPNError{VPN: name, Op: "resolve", Err: ErrUnknownVPN}
		}
		return vpnInstance{}, &VPNError{VPN: name, Op: "resolve", Err: err}
	}
	if st.IsDir() {
		return vpnInstance{}, &VPNError{VPN: name, Op: "resolve", Err: fmt.Errorf("%s is a directory: %w", p, ErrUnknownVPN)}
	}
	return vpnInstance{name: name, kind: vpnNamespace, nsPath: p}, nil
}

// do runs fn in the vpn-instance's network namespace: directly for _public_
// and device instances, and for a namespace on a locked OS thread moved into
// it. fn must do its work on the calling goroutine (socket(2) and netlink
// requests happen on the thread that makes them).
func (v vpnInstance) do(fn func() error) error {
	if v.kind != vpnNamespace {
		return fn()
	}
	return inNetns(v.nsPath, fn)
}

// inNetns runs fn on a fresh goroutine whose OS thread has entered the network
// namespace at path. The thread returns to its own namespace afterwards; if it
// cannot, it stays locked so that the runtime ends the thread with the
// goroutine and no other goroutine ever runs in the wrong namespace.
func inNetns(path string, fn func() error) error {
	target, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open namespace: %w", err)
	}
	defer target.Close()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("open own namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Thread left locked on purpose: it dies with this goroutine.
			done <- errors.Join(ferr, fmt.Errorf("setns back to own namespace: %w", err))
			return
		}
		runtime.UnlockOSThread()
		done <- ferr
	}()
	return <-done
}
