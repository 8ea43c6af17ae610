package server

import (
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/nctest"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"golang.org/x/crypto/ssh"
)

// 1,000 sessions opened and dropped: the server's own counts return to
// what they were (connections, unauthenticated connections, sessions,
// goroutines, heap), every NETCONF session that began was counted as
// started and as dropped (RFC 6022 in-sessions, dropped-sessions), and a
// session opened before is untouched. The assertions are on the server's
// state, not on how many client dials succeeded: on a loaded machine some
// dials may time out, which says nothing about the server.
func TestManySessionsOpenedAndDropped(t *testing.T) {
	// Eight workers from one address, each closing and redialling at
	// once: the server notices the closes asynchronously, so the default 8
	// unauthenticated connections per source would refuse some. This test
	// is about leaks, not that limit (startups_test.go).
	a := startAgent(t, func(c *agentConfig) { c.MaxSessions, c.MaxStartups, c.MaxStartupsPerSource = 64, 64, 64 })
	keeper := dialNC(t, a.addr, a.adminKey(), true)
	nctest.WantOK(t, keeper.RPC(`<lock><target><candidate/></target></lock>`))
	base := runtime.NumGoroutine()
	heapBefore := heapAfterGC()
	before := a.nc.Statistics()
	cfg := a.adminKey()
	const total, parallel = 1000, 8
	var (
		wg     sync.WaitGroup
		hellos atomic.Int64 // NETCONF sessions whose client sent its hello
		failed atomic.Int64
	)
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < total; i += parallel {
				switch i % 4 {
				case 0: // TCP connect and drop before SSH
					c, err := net.Dial("tcp", a.addr)
					if err != nil {
						failed.Add(1)
						continue
					}
					c.Close()
				case 1: // SSH session, the server's hello read, then drop
					conn, err := ssh.Dial("tcp", a.addr, cfg)
					if err != nil {
						failed.Add(1)
						continue
					}
					s, err := conn.NewSession()
					if err == nil {
						out, _ := s.StdoutPipe()
						if s.RequestSubsystem("netconf") == nil {
							buf := make([]byte, 512)
							_, _ = out.Read(buf)
						}
					}
					conn.Close()
				default: // both hellos, half an rpc, drop
					c, err := dialNCErr(t, a.addr, cfg, i%2 == 0)
					if err != nil {
						failed.Add(1)
						continue
					}
					hellos.Add(1)
					c.Raw("\n#50\n<rpc")
					c.Close()
				}
			}
		}(w)
	}
	wg.Wait()
	t.Logf("%d of %d client dials failed; %d NETCONF sessions sent their hello", failed.Load(), total, hellos.Load())
	if hellos.Load() == 0 {
		t.Fatal("no NETCONF session got through: the server served none")
	}
	// The keeper still holds its lock and gets answers.
	r := keeper.RPC(`<get><filter type="subtree"><netconf-state xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"><datastores/></netconf-state></filter></get>`)
	if !strings.Contains(r, "<locked-by-session>"+keeper.SessionID+"</locked-by-session>") {
		t.Fatalf("keeper lost its lock: %s", r)
	}
	// The server's counts return to the keeper alone (sessions end
	// asynchronously).
	testtool.WaitFor(t, 20*time.Second, "the server's connections and sessions back to the keeper's", func() bool {
		a.srv.mu.Lock()
		conns := len(a.srv.conns)
		a.srv.mu.Unlock()
		_, startups := a.srv.startups.count("")
		a.srv.limits.mu.Lock()
		sessions, authConns := a.srv.limits.sessions, a.srv.limits.conns
		a.srv.limits.mu.Unlock()
		return conns == 1 && startups == 0 && sessions == 1 && authConns == 1
	})
	testtool.WaitFor(t, 20*time.Second, "every NETCONF session begun counted as started and dropped", func() bool {
		st := a.nc.Statistics()
		return st.InSessions-before.InSessions == uint64(hellos.Load()) &&
			st.DroppedSessions-before.DroppedSessions == uint64(hellos.Load())
	})
	testtool.WaitFor(t, 20*time.Second, "goroutines back to their baseline", func() bool { return runtime.NumGoroutine() <= base+2 })
	// Memory returns to its baseline too (a generous bound: no per-session leak).
	if after := heapAfterGC(); after > heapBefore+16<<20 {
		t.Fatalf("heap %d bytes before, %d after 1,000 sessions", heapBefore, after)
	}
	nctest.WantOK(t, keeper.RPC(`<unlock><target><candidate/></target></unlock>`))
}

func heapAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
