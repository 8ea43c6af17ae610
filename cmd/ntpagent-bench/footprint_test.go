//go:build linux

package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// The footprint rows: the start time against its own goal of 150 ms (met
// and missed), the memory rows with no peer, their details among the notes.
func TestReportFootprintRows(t *testing.T) {
	for _, tc := range []struct {
		startMS float64
		want    string
	}{
		{120, "| start: exec → NETCONF port accepting, 1,000 peers in running | 120 ms (p90 130, n=10) | netconfd: — | — | ≤ 150 ms **met** |"},
		{151, "| start: exec → NETCONF port accepting, 1,000 peers in running | 151 ms (p90 130, n=10) | netconfd: — | — | ≤ 150 ms **missed** |"},
		{100, "| start: exec → NETCONF port accepting, 1,000 peers in running | 100 ms (p90 130, n=10) | netconfd: 50.0 ms (p90 60.0, n=10) | 2.00× | ≤ 150 ms **met** |"},
	} {
		rs := []Result{
			{Server: "ntpagent", Measure: mStart1000, Unit: "ms", Median: tc.startMS, P90: 130, N: 10},
			{Server: "ntpagent", Measure: mHeapIdle, Unit: "MiB", Median: 3.5, N: 1},
		}
		if tc.startMS == 100 {
			rs = append(rs, Result{Server: "netconfd", Measure: mStart1000, Unit: "ms", Median: 50, P90: 60, N: 10})
		}
		rs = append(rs, []Result{
			{Server: "ntpagent", Measure: mStacks1000, Unit: "MiB", Median: 0.5, N: 1, Note: "24 goroutines"},
			{Server: "ntpagent", Measure: mBinaryStripped, Unit: "MiB", Median: 17.3, N: 1, Note: "links google.golang.org/grpc v1"},
		}...)
		var tb strings.Builder
		if err := WriteReport(&tb, rs, Machine{}, nil, nil); err != nil {
			t.Fatal(err)
		}
		table := tb.String()
		for _, want := range []string{
			tc.want,
			"| Go heap objects idle (after GC) | 3.50 MiB | — | — | reported |",
			"| binary, stripped (-ldflags='-s -w') | 17.3 MiB | — | — | reported |",
			"- ntpagent, stacks-1000: 24 goroutines",
			"- ntpagent, binary-stripped: links google.golang.org/grpc v1",
		} {
			if !strings.Contains(table, want) {
				t.Errorf("table lacks %q:\n%s", want, table)
			}
		}
	}
}

// The binary facts agree with `go version -m` on the same file: its size,
// and exactly the gRPC and protobuf modules it lists as dependencies.
func TestReadBinaryAgreesWithGoVersion(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := readBinary(self)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(self)
	if b.size != fi.Size() {
		t.Errorf("size %d, file %d", b.size, fi.Size())
	}
	out, err := exec.Command("go", "version", "-m", self).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	var want []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "dep" && (f[1] == "google.golang.org/grpc" || f[1] == "google.golang.org/protobuf" || f[1] == "github.com/golang/protobuf") {
			want = append(want, f[1]+" "+f[2])
		}
	}
	if strings.Join(b.flagged, ",") != strings.Join(want, ",") {
		t.Errorf("flagged %v, go version -m lists %v", b.flagged, want)
	}
	if _, err := readBinary(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing binary was read")
	}
	if got := (binaryFacts{}).note(); got != "links neither gRPC nor protobuf" {
		t.Errorf("note = %q", got)
	}
}

// The whole step against the real daemon: it starts, answers the memory
// dump, takes 1,000 peers over NETCONF and starts again with them; the
// peers show in the heap (the 1,000-peer heap is larger than the idle one).
func TestFootprintAgainstTheDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the daemon several times")
	}
	work := t.TempDir()
	agent := filepath.Join(work, "ntpagent")
	build := exec.Command("go", "build", "-o", agent, "github.com/ntpagent/ntpagent/cmd/ntpagent")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var detail strings.Builder
	rs, err := RunFootprint(ctx, FootprintConfig{Agent: agent, Stripped: agent, MainPackage: "github.com/ntpagent/ntpagent/cmd/ntpagent", Work: work, Key: signer,
		Starts: 1, Settle: 0, Top: 10, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, &detail)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Result{}
	for _, r := range rs {
		got[r.Measure] = r
	}
	for _, m := range []string{mStart1000, mHeapIdle, mHeap1000, mStacksIdle, mStacks1000, mRSSStartIdle, mRSSStart1000, mHeapServed, mRSSServed, mBinaryStripped} {
		if got[m].Median <= 0 {
			t.Errorf("%s: %+v", m, got[m])
		}
	}
	if got[mHeap1000].Median <= got[mHeapIdle].Median {
		t.Errorf("heap with 1,000 peers %.2f MiB, idle %.2f MiB: the peers are not in running", got[mHeap1000].Median, got[mHeapIdle].Median)
	}
	// The allocation sites name who holds the memory: the associations
	// with 1,000 peers, the parsed modules (loaded beside the datastore's
	// open, on a goroutine of their own) at idle.
	want := []string{"| heap objects (live) |", "ntpengine.newAssociation", "yang.LoadFS"}
	if strings.Contains(got[mBinaryStripped].Note, "google.golang.org/grpc") {
		// What links it: a chain of imports from the daemon's main package.
		want = append(want, "- imported through github.com/ntpagent/ntpagent/cmd/ntpagent → ")
	}
	for _, want := range want {
		if !strings.Contains(detail.String(), want) {
			t.Errorf("detail lacks %q:\n%s", want, detail.String())
		}
	}
}

// The file-backed resident pages split into the executable's and other
// files' add up to the kernel's RssFile (read just before; pages may fault
// in between, hence the margin), and the executable's own pages are part
// of it: this test binary is running.
func TestFileResidentSplitsRssFile(t *testing.T) {
	kb, err := readStatusKB(os.Getpid(), "RssFile")
	if err != nil {
		t.Fatal(err)
	}
	exe, other, err := fileResident(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	file := kb[0] / 1024
	if exe <= 0 || exe > file+0.5 {
		t.Errorf("executable's pages %.2f MiB of RssFile %.2f MiB", exe, file)
	}
	if sum := exe + other; sum < file*0.9-0.5 || sum > file*1.1+0.5 {
		t.Errorf("executable %.2f + other files %.2f = %.2f MiB, RssFile %.2f MiB", exe, other, sum, file)
	}
}
