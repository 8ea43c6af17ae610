package netconf

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A message's cost must be linear in its size whatever its shape: a reader
// of the message (hello, filter, config) may not do work per element that
// grows with the number of namespace declarations in scope, nor build text
// larger than the message before refusing it. Each shape is sent at the
// size limit and at 1/64 of it; the bytes allocated and the time spent per
// message byte at the limit must stay within a small factor of the small
// message's. A cost of O(elements × declarations) makes that factor grow
// with the size ratio (64 here) and fails.

// costShape builds a message of about n bytes: half of them namespace
// declarations in scope, half of them elements each declaring a prefix of
// its own (the two halves multiply in a reader that copies its scope).
type costShape struct {
	name  string
	hello bool // the message is the client hello, not an rpc after it
	build func(n int) string
}

// prefixDecls returns about n bytes of distinct prefix declarations.
func prefixDecls(n int) string {
	var b strings.Builder
	for i := 0; ; i++ {
		d := fmt.Sprintf(` xmlns:p%d="urn:x:%d"`, i, i)
		if b.Len()+len(d) > n {
			break
		}
		b.WriteString(d)
	}
	return b.String()
}

// repeatTo repeats unit until about n bytes.
func repeatTo(unit string, n int) string {
	return strings.Repeat(unit, max(1, n/len(unit)))
}

const ntpNS = "urn:ntpagent:yang:ntpagent-ntp"

func rpcWith(decls, body string) string {
	return `<rpc xmlns="` + NSBase + `" message-id="1"` + decls + `>` + body + `</rpc>`
}

var costShapes = []costShape{
	{"hello capabilities (RFC 6241 §8.1)", true, func(n int) string {
		return `<hello xmlns="` + NSBase + `"` + prefixDecls(n/2) + `><capabilities>` +
			`<capability>urn:ietf:params:netconf:base:1.0</capability>` +
			repeatTo(`<capability xmlns:q="urn:q">urn:x</capability>`, n/2) + `</capabilities></hello>`
	}},
	{"get-config subtree filter (RFC 6241 §6)", false, func(n int) string {
		return rpcWith(prefixDecls(n/2), `<get-config><source><running/></source><filter type="subtree">`+
			repeatTo(`<ntp xmlns="`+ntpNS+`"/>`, n/2)+`</filter></get-config>`)
	}},
	{"get subtree filter (RFC 6241 §7.7)", false, func(n int) string {
		return rpcWith(prefixDecls(n/2), `<get><filter type="subtree">`+
			repeatTo(`<ntp xmlns="`+ntpNS+`"><sessions/></ntp>`, n/2)+`</filter></get>`)
	}},
	{"get monitoring subtree filter (RFC 6022)", false, func(n int) string {
		return rpcWith(prefixDecls(n/2), `<get><filter type="subtree">`+
			repeatTo(`<netconf-state xmlns="`+NSMonitoring+`"><sessions><session/></sessions></netconf-state>`, n/2)+`</filter></get>`)
	}},
	{"validate inline config (RFC 6241 §8.6)", false, func(n int) string {
		return rpcWith(prefixDecls(n/2), `<validate><source><config>`+
			repeatTo(`<ntp xmlns="`+ntpNS+`"/>`, n/2)+`</config></source></validate>`)
	}},
	{"edit-config (RFC 6241 §7.2)", false, func(n int) string {
		return rpcWith(prefixDecls(n/2), `<edit-config><target><candidate/></target><config>`+
			repeatTo(`<ntp xmlns="`+ntpNS+`"/>`, n/2)+`</config></edit-config>`)
	}},
	{"rpc attributes copied to rpc-reply (RFC 6241 §4.2)", false, func(n int) string {
		var attrs strings.Builder
		for i := 0; attrs.Len() < n/2-32; i++ {
			fmt.Fprintf(&attrs, ` p%d:a%d="v"`, i%64, i)
		}
		return rpcWith(prefixDecls(n/2)+attrs.String(), `<get-config><source><running/></source></get-config>`)
	}},
}

// memConn is a session's transport that reads a fixed input and throws the
// output away.
type memConn struct {
	io.Reader
	replies int // <rpc-reply> elements written
}

func (c *memConn) Write(p []byte) (int, error) {
	c.replies += strings.Count(string(p), "<rpc-reply")
	return len(p), nil
}

func (c *memConn) Close() error { return nil }

// cpuTime is the CPU time of the process (the garbage collector's work
// counts): unlike the time elapsed, it does not grow when other processes
// share the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// messageCost serves one session that receives msg (after a plain hello
// unless msg is the hello, then followed by a small rpc) and returns the
// fewest bytes allocated and the least CPU time of runs.
func messageCost(t *testing.T, srv *Server, msg string, hello bool, runs int) (alloc uint64, fastest time.Duration) {
	t.Helper()
	input := helloBase10 + "]]>]]>" + msg + "]]>]]>"
	if hello {
		input = msg + "]]>]]>" + rpcWith("", "<get-config><source><running/></source></get-config>") + "]]>]]>"
	}
	fastest = time.Duration(1<<63 - 1)
	alloc = 1<<64 - 1
	for i := 0; i < runs; i++ {
		conn := &memConn{Reader: strings.NewReader(input)}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := cpuTime()
		err := srv.Serve(context.Background(), conn, SessionInfo{ID: uint32(1000 + i), User: "admin"})
		d := cpuTime() - start
		runtime.ReadMemStats(&after)
		if conn.replies != 1 {
			t.Fatalf("the session wrote %d rpc-replies, want 1 (%v)", conn.replies, err)
		}
		alloc = min(alloc, after.TotalAlloc-before.TotalAlloc)
		fastest = min(fastest, d)
	}
	return alloc, fastest
}

func TestMessageCostIsLinearInSize(t *testing.T) {
	// The default limit (16 MiB) in a full run; 1 MiB, the same shapes
	// (and still 64 times the small message), under -short.
	limit := DefaultMaxMessage
	if testing.Short() {
		limit = 1 << 20
	}
	const (
		allocSlop = 4  // bytes allocated per byte, worst shape at the limit vs the same shape small
		timeSlop  = 16 // CPU time per byte, same comparison
	)
	srv := newTestServerConfig(t, Config{MaxMessage: limit})
	for _, sh := range costShapes {
		t.Run(sh.name, func(t *testing.T) {
			lim := limit
			if sh.hello {
				lim = min(limit, MaxHelloMessage)
			}
			size := lim - 512 // room for the fixed part of the shape
			big := sh.build(size)
			little := sh.build(size / 64)
			if len(big) > lim || len(big) < lim-1024 {
				t.Fatalf("shape builds %d bytes, not at the limit %d", len(big), lim)
			}
			aSmall, tSmall := messageCost(t, srv, little, sh.hello, 5)
			aBig, tBig := messageCost(t, srv, big, sh.hello, 2)
			perSmall := float64(aSmall) / float64(len(little))
			perBig := float64(aBig) / float64(len(big))
			tpSmall := float64(tSmall) / float64(len(little))
			tpBig := float64(tBig) / float64(len(big))
			t.Logf("%d bytes: %d allocated (%.1f/byte), %v CPU; %d bytes: %d allocated (%.1f/byte), %v CPU",
				len(little), aSmall, perSmall, tSmall, len(big), aBig, perBig, tBig)
			if perBig > allocSlop*perSmall {
				t.Errorf("allocation per byte %.1f at %d bytes, %.1f× the %.1f at %d bytes: not linear",
					perBig, len(big), perBig/perSmall, perSmall, len(little))
			}
			if tpBig > timeSlop*tpSmall {
				t.Errorf("CPU time per byte %.0fns at %d bytes, %.1f× the %.0fns at %d bytes: not linear",
					tpBig, len(big), tpBig/tpSmall, tpSmall, len(little))
			}
		})
	}
}
