package datastore

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/gen"
)

func peersTree(n int) *gen.Device {
	d := &gen.Device{}
	for i := 0; i < n; i++ {
		p := d.GetOrCreateNtp().GetOrCreateUnicastPeer(fmt.Sprintf("10.%d.%d.%d", i/62500%250+1, i/250%250, i%250+1), "_public_")
		p.SetMinpoll(4)
		p.SetMaxpoll(10)
		p.SetPreferred(i == 0)
	}
	return d
}

// BenchmarkEditCommit1000Peers: edit one peer of 1,000 in the candidate and
// commit, with the journal record made durable (fdatasync) — the issue's
// "edit one peer + commit with 1,000 peers configured, including fsync".
// Reports the median and the 90th percentile besides the mean.
func BenchmarkEditCommit1000Peers(b *testing.B) {
	benchEditCommit(b, 1000)
}

func BenchmarkEditCommit100Peers(b *testing.B) {
	benchEditCommit(b, 100)
}

func benchEditCommit(b *testing.B, n int) {
	s, err := Open(Options{Dir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LocalPrefixes: noPrefixes})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	sess := Session{ID: 1, User: "bench", Origin: OriginNETCONF}
	if err := s.Copy(sess, Running, "", peersTree(n)); err != nil {
		b.Fatal(err)
	}
	addrs := make([]string, 0, n)
	for k := range s.Snapshot(Running).Ntp.UnicastPeer {
		addrs = append(addrs, k.Address)
	}
	slices.Sort(addrs)
	times := make([]time.Duration, 0, b.N)
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		addr, minpoll := addrs[i%len(addrs)], uint8(3+i%7)
		if err := s.Edit(sess, Candidate, EditOptions{}, func(d *gen.Device) error {
			d.Ntp.GetUnicastPeer(addr, "_public_").SetMinpoll(minpoll)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Commit(sess, CommitOptions{}); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(t0))
	}
	b.StopTimer()
	// CPU time of the process per operation (GC included): unlike the wall
	// clock, it does not count waiting for a CPU the machine's other loads
	// hold.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "median-µs")
	b.ReportMetric(float64(times[len(times)*9/10].Microseconds()), "p90-µs")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSnapshot1000Peers: a deep copy of running with 1,000 peers
// (what every get-config and every edit starts from).
func BenchmarkSnapshot1000Peers(b *testing.B) {
	s, err := Open(Options{Dir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LocalPrefixes: noPrefixes})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Copy(Session{ID: 1}, Running, "", peersTree(1000)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Snapshot(Running)
	}
}
