package memdump

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"syscall"

	"github.com/ntpagent/ntpagent/internal/atomicfile"
)

// Env names the debug-only switch of the memory dump: when it holds a
// folder, the daemon calls Serve, and SIGUSR1 makes it write its heap
// profile and a memory breakdown there (HeapFile, then StatsFile, each
// replaced as a whole). Unset, no handler is installed and SIGUSR1 keeps
// its default action. Nothing is ever served on a port.
const (
	Env       = "NTPAGENT_DEBUG_MEMDUMP_DIR"
	HeapFile  = "heap.pprof"
	StatsFile = "mem.json"
)

// Stats is the breakdown written to StatsFile, in bytes, from
// runtime/metrics after a garbage collection.
type Stats struct {
	HeapObjects      uint64 `json:"heap-objects"`        // live objects and not yet swept dead ones
	HeapUnused       uint64 `json:"heap-unused"`         // reserved for objects, not in use (fragmentation)
	HeapFree         uint64 `json:"heap-free"`           // free, not returned to the OS
	HeapReleased     uint64 `json:"heap-released"`       // returned to the OS
	HeapStacks       uint64 `json:"stacks"`              // goroutine stacks
	OSStacks         uint64 `json:"os-stacks"`           // stacks of OS threads
	Metadata         uint64 `json:"runtime-metadata"`    // mcache, mspan, GC and other metadata
	ProfilingBuckets uint64 `json:"profiling-buckets"`   // memory profile buckets
	Other            uint64 `json:"other"`               // everything else the runtime holds
	Total            uint64 `json:"total"`               // all memory mapped by the Go runtime
	Goroutines       uint64 `json:"goroutines"`          // count, not bytes
	Threads          int    `json:"threads-created"`     // count of OS threads created
	MemProfileRate   int    `json:"memory-profile-rate"` // bytes between heap profile samples
}

// Read reads the breakdown after a collection.
func Read() Stats {
	runtime.GC()
	var st Stats
	into := map[string]*uint64{
		"/memory/classes/heap/objects:bytes":          &st.HeapObjects,
		"/memory/classes/heap/unused:bytes":           &st.HeapUnused,
		"/memory/classes/heap/free:bytes":             &st.HeapFree,
		"/memory/classes/heap/released:bytes":         &st.HeapReleased,
		"/memory/classes/heap/stacks:bytes":           &st.HeapStacks,
		"/memory/classes/os-stacks:bytes":             &st.OSStacks,
		"/memory/classes/metadata/other:bytes":        &st.Metadata,
		"/memory/classes/metadata/mcache/free:bytes":  &st.Metadata,
		"/memory/classes/metadata/mcache/inuse:bytes": &st.Metadata,
		"/memory/classes/metadata/mspan/free:bytes":   &st.Metadata,
		"/memory/classes/metadata/mspan/inuse:bytes":  &st.Metadata,
		"/memory/classes/profiling/buckets:bytes":     &st.ProfilingBuckets,
		"/memory/classes/other:bytes":                 &st.Other,
		"/memory/classes/total:bytes":                 &st.Total,
		"/sched/goroutines:goroutines":                &st.Goroutines,
	}
	samples := make([]metrics.Sample, 0, len(into))
	for n := range into {
		samples = append(samples, metrics.Sample{Name: n})
	}
	metrics.Read(samples)
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			*into[s.Name] += s.Value.Uint64()
		}
	}
	st.Threads = pprof.Lookup("threadcreate").Count()
	st.MemProfileRate = runtime.MemProfileRate
	return st
}

// Serve writes a dump into dir at each SIGUSR1 until ctx is done.
func Serve(ctx context.Context, dir string, log *slog.Logger) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	log.Warn("debug memory dump on SIGUSR1", "dir", dir, "env", Env)
	go func() {
		defer signal.Stop(sig)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
				if err := Write(dir); err != nil {
					log.Error("memory dump", "err", err)
				}
			}
		}
	}()
}

// Write writes the heap profile first and the breakdown last, so that a
// reader waiting for the breakdown finds both.
func Write(dir string) error {
	st := Read()
	f, err := os.CreateTemp(dir, HeapFile+".*")
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	err = pprof.Lookup("heap").WriteTo(f, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, HeapFile))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("heap profile: %w", err)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, StatsFile), append(b, '\n'), 0o644)
}
