//go:build linux

package netio

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/internal/vpninstance"
)

// A namespace vpn-instance's sockets are opened inside the namespace: a
// UDP socket there can bind an address that only the namespace has and is
// reached by a UDP and a TCP connection dialled in the instance; the
// default namespace cannot bind that address at all.
func TestVPNInstanceDialsInsideNamespace(t *testing.T) {
	needNetAdmin(t)
	ns := newNetns(t, "dial")
	ipCmd(t, "-n", ns, "addr", "add", "198.18.54.1/32", "dev", "lo")
	ipCmd(t, "-n", ns, "addr", "add", "fd00:54::1/128", "dev", "lo", "nodad")
	testtool.WaitLocalRoute(t, waitTimeout, ns, "fd00:54::1")
	v, err := FindVPN(ns, "")
	if err != nil {
		t.Fatal(err)
	}
	if v.Name() != ns || v.Namespace() == "" || v.Device() != "" {
		t.Fatalf("FindVPN(%s) = name %q namespace %q device %q", ns, v.Name(), v.Namespace(), v.Device())
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()

	for _, local := range []string{"198.18.54.1:0", "[fd00:54::1]:0"} {
		pc, err := v.ListenPacket(ctx, "udp", local)
		if err != nil {
			t.Fatalf("ListenPacket %s: %v", local, err)
		}
		defer pc.Close()
		c, err := v.DialContext(ctx, "udp", pc.LocalAddr().String())
		if err != nil {
			t.Fatalf("DialContext udp %s: %v", pc.LocalAddr(), err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		pc.SetReadDeadline(time.Now().Add(waitTimeout))
		buf := make([]byte, 16)
		n, from, err := pc.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "ping" || from.String() != c.LocalAddr().String() {
			t.Fatalf("listener in %s read %q from %v (%v), want ping from %v", ns, buf[:n], from, err, c.LocalAddr())
		}
	}

	// TCP (a DNS client falls back to it for a truncated answer).
	var ln net.Listener
	if err := v.inst.do(func() error {
		var err error
		ln, err = net.Listen("tcp", "198.18.54.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, err = c.Write([]byte("hello"))
			c.Close()
		}
		accepted <- err
	}()
	c, err := v.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("DialContext tcp %s: %v", ln.Addr(), err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hello" {
		t.Fatalf("tcp read %q, %v", got, err)
	}
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}

	pub, err := FindVPN(vpninstance.Public, "")
	if err != nil {
		t.Fatal(err)
	}
	if pc, err := pub.ListenPacket(ctx, "udp", "198.18.54.1:0"); err == nil {
		pc.Close()
		t.Fatal("the default namespace could bind the namespace's own address")
	}
}

// A device vpn-instance's sockets are bound to the device
// (SO_BINDTODEVICE), checked on the socket itself.
func TestVPNInstanceDialBindsDevice(t *testing.T) {
	needNetAdmin(t)
	v, err := FindVPN("lo", "")
	if err != nil {
		t.Fatal(err)
	}
	if v.Device() != "lo" || v.Namespace() != "" {
		t.Fatalf("FindVPN(lo) = device %q namespace %q", v.Device(), v.Namespace())
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	pc, err := v.ListenPacket(ctx, "udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c, err := v.DialContext(ctx, "udp4", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for what, conn := range map[string]syscall.Conn{"dialled": c.(*net.UDPConn), "listening": pc.(*net.UDPConn)} {
		rc, err := conn.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var dev string
		var gerr error
		if err := rc.Control(func(fd uintptr) {
			dev, gerr = unix.GetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE)
		}); err != nil || gerr != nil {
			t.Fatal(err, gerr)
		}
		if dev != "lo" {
			t.Errorf("%s socket bound to device %q, want lo", what, dev)
		}
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	pc.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 16)
	if n, _, err := pc.ReadFrom(buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
}

// Names are refused (they would be resolved outside the instance), as are
// networks other than UDP and TCP and vpn-instances that do not exist.
func TestVPNInstanceRefusesWhatItCannotOpenThere(t *testing.T) {
	v, err := FindVPN("", "")
	if err != nil || v.Name() != vpninstance.Public {
		t.Fatalf("FindVPN(\"\") = %q, %v", v.Name(), err)
	}
	ctx := context.Background()
	for _, c := range []struct{ network, address string }{
		{"udp", "localhost:53"}, {"tcp", "127.0.0.1"}, {"ip4", "127.0.0.1:53"}, {"unix", "/tmp/x"},
	} {
		if conn, err := v.DialContext(ctx, c.network, c.address); err == nil {
			conn.Close()
			t.Errorf("DialContext(%s, %s) succeeded", c.network, c.address)
		} else if c.network == "udp" && !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("DialContext(%s, %s) = %v, want ErrInvalidAddress", c.network, c.address, err)
		}
	}
	if pc, err := v.ListenPacket(ctx, "tcp", "127.0.0.1:0"); err == nil {
		pc.Close()
		t.Error("ListenPacket(tcp) succeeded")
	}
	_, err = FindVPN("nosuch-vpn", t.TempDir())
	var ve *VPNError
	if !errors.As(err, &ve) || !errors.Is(err, ErrUnknownVPN) {
		t.Errorf("FindVPN(nosuch-vpn) = %v, want a *VPNError with ErrUnknownVPN", err)
	}
	if _, err := FindVPN("../x", ""); !errors.Is(err, ErrBadVPNName) {
		t.Errorf("FindVPN(../x) = %v, want ErrBadVPNName", err)
	}
}
