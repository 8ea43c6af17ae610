package server

import (
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/nctest"
	"golang.org/x/crypto/ssh"
)

// 1,000 sessions opened and dropped: the server keeps serving, goroutines
// return to their baseline, and a session opened before is untouched.
func TestManySessionsOpenedAndDropped(t *testing.T) {
	// Eight workers from one address, each closing and redialling at
	// once: the server notices the closes asynchronously, so on a loaded
	// machine the default 8 unauthenticated connections per source would
	// refuse some. This test is about leaks, not that limit
	// (startups_test.go).
	a := startAgent(t, func(c *agentConfig) { c.MaxSessions, c.MaxStartups, c.MaxStartupsPerSource = 64, 64, 64 })
	keeper := dialNC(t, a.addr, a.adminKey(), true)
	nctest.WantOK(t, keeper.RPC(`<lock><target><candidate/></target></lock>`))
	base := runtime.NumGoroutine()
	heapBefore := heapAfterGC()
	cfg := a.adminKey()
	const total, parallel = 1000, 8
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < total; i += parallel {
				switch i % 4 {
				case 0: // TCP connect and drop before SSH
					c, err := net.Dial("tcp", a.addr)
					if err != nil {
						errs <- err
						continue
					}
					c.Close()
				case 1: // SSH session with hello exchange, then drop
					conn, err := ssh.Dial("tcp", a.addr, cfg)
					if err != nil {
						errs <- err
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
				default: // full hello, half an rpc, drop
					c, err := dialNCErr(t, a.addr, cfg, i%2 == 0)
					if err != nil {
						errs <- err
						continue
					}
					c.Raw("\n#50\n<rpc")
					c.Close()
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n < 3 {
			t.Logf("dial error: %v", err)
		}
		n++
	}
	if n > total/100 {
		t.Fatalf("%d of %d connections failed", n, total)
	}
	// The keeper still holds its lock and gets answers.
	r := keeper.RPC(`<get><filter type="subtree"><netconf-state xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"><datastores/></netconf-state></filter></get>`)
	if !strings.Contains(r, "<locked-by-session>"+keeper.SessionID+"</locked-by-session>") {
		t.Fatalf("keeper lost its lock: %s", r)
	}
	// Goroutines return to baseline (bounded wait: sessions end asynchronously).
	var now int
	for i := 0; i < 400; i++ { // bounded: 10 s
		now = runtime.NumGoroutine()
		if now <= base+2 {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if now > base+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before, %d after\n%s", base, now, buf[:runtime.Stack(buf, true)])
	}
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
