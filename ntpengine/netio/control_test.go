//go:build linux

package netio

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// cmsg builds one control message as the kernel lays it out.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func pktinfo4(ifindex int32, specDst, addr [4]byte) []byte {
	d := make([]byte, 12)
	binary.NativeEndian.PutUint32(d[0:4], uint32(ifindex))
	copy(d[4:8], specDst[:])
	copy(d[8:12], addr[:])
	return cmsg(unix.IPPROTO_IP, unix.IP_PKTINFO, d)
}

func pktinfo6(addr [16]byte, ifindex int32) []byte {
	d := make([]byte, 20)
	copy(d[0:16], addr[:])
	binary.NativeEndian.PutUint32(d[16:20], uint32(ifindex))
	return cmsg(unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, d)
}

func timestampns(sec, nsec int64) []byte {
	d := make([]byte, 16)
	binary.NativeEndian.PutUint64(d[0:8], uint64(sec))
	binary.NativeEndian.PutUint64(d[8:16], uint64(nsec))
	return cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, d)
}

func TestParseControl(t *testing.T) {
	ts := time.Unix(1764000000, 123456789)
	tests := []struct {
		name    string
		oob     []byte
		dst     string
		ifIndex int
		hasTime bool
	}{
		{"IP_PKTINFO: ipi_addr is the header destination, not ipi_spec_dst",
			append(pktinfo4(7, [4]byte{127, 0, 0, 1}, [4]byte{127, 0, 0, 2}), timestampns(ts.Unix(), int64(ts.Nanosecond()))...),
			"127.0.0.2", 7, true},
		{"IPV6_PKTINFO then timestamp",
			append(pktinfo6(netip.MustParseAddr("fd00::5").As16(), 4), timestampns(ts.Unix(), int64(ts.Nanosecond()))...),
			"fd00::5", 4, true},
		{"timestamp first", append(timestampns(ts.Unix(), int64(ts.Nanosecond())), pktinfo4(1, [4]byte{}, [4]byte{10, 0, 0, 1})...),
			"10.0.0.1", 1, true},
		{"no timestamp: caller falls back", pktinfo4(2, [4]byte{}, [4]byte{198, 18, 0, 1}), "198.18.0.1", 2, false},
		{"bad nanoseconds ignored", timestampns(ts.Unix(), 2e9), "", 0, false},
		{"short pktinfo ignored", cmsg(unix.IPPROTO_IP, unix.IP_PKTINFO, make([]byte, 8)), "", 0, false},
		{"unknown message ignored", cmsg(unix.SOL_SOCKET, unix.SCM_RIGHTS, make([]byte, 4)), "", 0, false},
		{"empty", nil, "", 0, false},
		{"garbage", []byte{1, 2, 3}, "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := parseControl(tc.oob)
			if tc.dst == "" {
				if c.dst.IsValid() {
					t.Fatalf("dst = %v, want none", c.dst)
				}
			} else if c.dst != mustAddr(tc.dst) {
				t.Fatalf("dst = %v, want %v", c.dst, tc.dst)
			}
			if c.ifIndex != tc.ifIndex || c.hasTime != tc.hasTime {
				t.Fatalf("ifIndex %d hasTime %v, want %d %v", c.ifIndex, c.hasTime, tc.ifIndex, tc.hasTime)
			}
			if tc.hasTime && !c.rxTime.Equal(ts) {
				t.Fatalf("rxTime = %v, want %v", c.rxTime, ts)
			}
		})
	}
}

// TestParseControlAgreesWithXNet checks our pktinfo reading against
// golang.org/x/net's own parser of the same bytes.
func TestParseControlAgreesWithXNet(t *testing.T) {
	oob4 := append(pktinfo4(9, [4]byte{1, 2, 3, 4}, [4]byte{198, 18, 7, 7}), timestampns(1, 2)...)
	var cm4 ipv4.ControlMessage
	if err := cm4.Parse(oob4); err != nil {
		t.Fatal(err)
	}
	c := parseControl(oob4)
	if want, _ := netip.AddrFromSlice(cm4.Dst); c.dst != want.Unmap() || c.ifIndex != cm4.IfIndex {
		t.Fatalf("ours %v/%d, x/net %v/%d", c.dst, c.ifIndex, cm4.Dst, cm4.IfIndex)
	}
	oob6 := append(timestampns(1, 2), pktinfo6(netip.MustParseAddr("fe80::1234").As16(), 11)...)
	var cm6 ipv6.ControlMessage
	if err := cm6.Parse(oob6); err != nil {
		t.Fatal(err)
	}
	c = parseControl(oob6)
	if want, _ := netip.AddrFromSlice(cm6.Dst); c.dst != want || c.ifIndex != cm6.IfIndex {
		t.Fatalf("ours %v/%d, x/net %v/%d", c.dst, c.ifIndex, cm6.Dst, cm6.IfIndex)
	}
}

// FuzzParseControl: any bytes as control data never panic and never yield
// a negative interface index or an impossible timestamp.
func FuzzParseControl(f *testing.F) {
	f.Add(append(pktinfo4(7, [4]byte{127, 0, 0, 1}, [4]byte{127, 0, 0, 2}), timestampns(1764000000, 5)...))
	f.Add(append(pktinfo6(netip.MustParseAddr("fd00::5").As16(), 4), timestampns(1, 999999999)...))
	f.Add(cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, make([]byte, 8)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, oob []byte) {
		c := parseControl(oob)
		if c.ifIndex < 0 {
			t.Fatalf("negative ifindex %d", c.ifIndex)
		}
		if c.hasTime && (c.rxTime.Nanosecond() < 0 || c.rxTime.Unix() <= 0) {
			t.Fatalf("bad time %v", c.rxTime)
		}
		if c.dst.IsValid() && c.dst.Is4In6() {
			t.Fatalf("mapped dst %v", c.dst)
		}
	})
}

func TestDecode(t *testing.T) {
	read := time.Unix(1764000000, 0)
	stamp := time.Unix(1763999999, 999000000)
	s4 := &Socket{vpn: "v", local: netip.MustParseAddrPort("0.0.0.0:123")}
	s6 := &Socket{vpn: "v", local: netip.MustParseAddrPort("[::]:123")}
	tests := []struct {
		name     string
		s        *Socket
		oob      []byte
		from     string
		src, dst string
		ifIndex  int
		rx       time.Time
		kernel   bool
	}{
		{"no kernel timestamp: the time of the read, flagged", s4,
			pktinfo4(3, [4]byte{}, [4]byte{198, 18, 0, 1}), "198.18.0.2:5000", "198.18.0.2:5000", "198.18.0.1:123", 3, read, false},
		{"kernel timestamp wins", s4,
			append(pktinfo4(3, [4]byte{}, [4]byte{198, 18, 0, 1}), timestampns(stamp.Unix(), int64(stamp.Nanosecond()))...),
			"198.18.0.2:5000", "198.18.0.2:5000", "198.18.0.1:123", 3, stamp, true},
		{"no pktinfo: the bound address", s4, nil, "198.18.0.2:5000", "198.18.0.2:5000", "0.0.0.0:123", 0, read, false},
		{"link-local addresses get the interface index as zone", s6,
			pktinfo6(netip.MustParseAddr("fe80::1").As16(), 7), "[fe80::2%eth0]:123", "[fe80::2%7]:123", "[fe80::1%7]:123", 7, read, false},
		{"IPv4-mapped source is unmapped", s6,
			pktinfo6(netip.MustParseAddr("fd00::1").As16(), 2), "[::ffff:198.18.0.9]:40000", "198.18.0.9:40000", "[fd00::1]:123", 2, read, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.s.decode([]byte("d"), tc.oob, netip.MustParseAddrPort(tc.from), read)
			if r.Src.String() != tc.src || r.Dst.String() != tc.dst || r.IfIndex != tc.ifIndex ||
				!r.RxTime.Equal(tc.rx) || r.KernelTimestamp != tc.kernel || r.VPN != "v" {
				t.Fatalf("got src %v dst %v if %d rx %v kernel %v, want %s %s %d %v %v",
					r.Src, r.Dst, r.IfIndex, r.RxTime, r.KernelTimestamp, tc.src, tc.dst, tc.ifIndex, tc.rx, tc.kernel)
			}
		})
	}
}
