package netio

import (
	"encoding/binary"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// rxControl is what the control messages of one datagram say.
type rxControl struct {
	dst     netip.Addr // header destination address (pktinfo)
	ifIndex int        // arrival interface (pktinfo)
	rxTime  time.Time  // kernel receive time (SO_TIMESTAMPNS)
	hasTime bool
}

// oobSize holds a pktinfo (IPv6: 20 bytes) and a timespec (16 bytes), each
// behind a cmsg header, with room to spare.
const oobSize = 128

// parseControl reads the control messages the sockets ask for: IP_PKTINFO
// (struct in_pktinfo: ifindex, spec_dst, addr), IPV6_PKTINFO (struct
// in6_pktinfo: addr, ifindex) and SCM_TIMESTAMPNS (struct timespec). Others
// and malformed ones are ignored: a datagram is never dropped for its
// control data, it only loses the facts it lacks.
func parseControl(oob []byte) rxControl {
	var c rxControl
	ne := binary.NativeEndian
	// One message at a time (no slice of them is built: this runs for
	// every datagram). Bounded by the buffer: each step consumes at least
	// a header.
	for len(oob) >= unix.SizeofCmsghdr {
		h, d, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			break
		}
		oob = rest
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(d) >= 12:
			c.ifIndex = int(int32(ne.Uint32(d[0:4])))
			c.dst = netip.AddrFrom4([4]byte(d[8:12]))
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(d) >= 20:
			c.dst = netip.AddrFrom16([16]byte(d[0:16])).Unmap()
			c.ifIndex = int(int32(ne.Uint32(d[16:20])))
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS:
			var sec, nsec int64
			switch {
			case len(d) >= 16: // 64-bit timespec
				sec, nsec = int64(ne.Uint64(d[0:8])), int64(ne.Uint64(d[8:16]))
			case len(d) >= 8: // 32-bit time_t and long
				sec, nsec = int64(int32(ne.Uint32(d[0:4]))), int64(int32(ne.Uint32(d[4:8])))
			default:
				continue
			}
			if nsec < 0 || nsec >= 1e9 || sec <= 0 {
				continue
			}
			c.rxTime, c.hasTime = time.Unix(sec, nsec), true
		}
	}
	if c.ifIndex < 0 {
		c.ifIndex = 0
	}
	return c
}
