package memdump

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/internal/testtool"
)

// The debug memory dump answers SIGUSR1 with a gzip-compressed heap
// profile and a breakdown whose classes add up to the total the runtime
// maps (runtime/metrics: the /memory/classes leaves are disjoint and cover
// it), so that no class is missed.
func TestMemDumpOnSIGUSR1WritesHeapProfileAndBreakdown(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	Serve(ctx, dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	stats := filepath.Join(dir, StatsFile)
	testtool.WaitFor(t, 20*time.Second, "the memory dump", func() bool {
		_, err := os.Stat(stats)
		return err == nil
	})
	heap, err := os.ReadFile(filepath.Join(dir, HeapFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(heap, []byte{0x1f, 0x8b}) {
		t.Errorf("heap profile is not gzip-compressed protobuf: % x", heap[:min(len(heap), 4)])
	}
	b, err := os.ReadFile(stats)
	if err != nil {
		t.Fatal(err)
	}
	var st Stats
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if st.HeapObjects == 0 || st.HeapStacks == 0 || st.Goroutines == 0 || st.MemProfileRate <= 0 {
		t.Errorf("empty classes in %s", b)
	}
	parts := st.HeapObjects + st.HeapUnused + st.HeapFree + st.HeapReleased + st.HeapStacks + st.OSStacks +
		st.Metadata + st.ProfilingBuckets + st.Other
	if parts != st.Total {
		t.Errorf("classes add up to %d bytes, the total is %d", parts, st.Total)
	}
}
