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
	rxTime  time.Time  // kernel receive time (SO_TIMESTAMPING or SO_TIMESTAMPNS)
	hasTime bool
}

// oobSize holds a pktinfo (IPv6: 20 bytes), an SCM_TIMESTAMPING (three
// timespecs, 48 bytes) and a sock_extended_err with its offender address
// (error queue, 44 bytes), each behind a cmsg header, with room to spare.
const oobSize = 256

// parseControl reads the control messages the sockets ask for: IP_PKTINFO
// (struct in_pktinfo: ifindex, spec_dst, addr), IPV6_PKTINFO (struct
// in6_pktinfo: addr, ifindex), SCM_TIMESTAMPING (struct scm_timestamping:
// three timespecs, the first the software timestamp) and SCM_TIMESTAMPNS
// (struct timespec). Others and malformed ones are ignored: a datagram is never dropped for its
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
		case h.Level == unix.SOL_SOCKET && (h.Type == unix.SCM_TIMESTAMPNS || h.Type == unix.SCM_TIMESTAMPING):
			// SCM_TIMESTAMPING's first timespec is the software
			// timestamp (the others, hardware, are not asked for).
			if t, ok := parseTimespec(d); ok {
				c.rxTime, c.hasTime = t, true
			}
		}
	}
	if c.ifIndex < 0 {
		c.ifIndex = 0
	}
	return c
}

// parseTimespec reads the struct timespec at the start of d (64-bit, or
// 32-bit time_t and long); a zero or malformed one is not a time.
func parseTimespec(d []byte) (time.Time, bool) {
	ne := binary.NativeEndian
	var sec, nsec int64
	switch {
	case len(d) >= 16 && unix.SizeofPtr == 8:
		sec, nsec = int64(ne.Uint64(d[0:8])), int64(ne.Uint64(d[8:16]))
	case len(d) >= 8 && unix.SizeofPtr == 4:
		sec, nsec = int64(int32(ne.Uint32(d[0:4]))), int64(int32(ne.Uint32(d[4:8])))
	default:
		return time.Time{}, false
	}
	if nsec < 0 || nsec >= 1e9 || sec <= 0 {
		return time.Time{}, false
	}
	return time.Unix(sec, nsec), true
}
