package testtool

import (
	"bytes"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// InCI tells whether the tests run under CI=true.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require returns the path of program name, or ends the test: Fatal under
// CI=true, Skip otherwise. Under -short (make unit) it skips at once: a test
// that drives a real program is an interop test, which make test runs.
func Require(t testing.TB, name string) string {
	t.Helper()
	skipShort(t, "drives "+name)
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed (scripts/install-test-deps.sh installs it)")
	}
	return p
}

// Missing ends the test for a missing prerequisite described by why: Fatal
// under CI=true, Skip otherwise (and always Skip under -short).
func Missing(t testing.TB, why string) {
	t.Helper()
	skipShort(t, why)
	if InCI() {
		t.Fatal("CI=true and a test prerequisite is missing: " + why)
	}
	t.Skip(why)
}

// RequireRoot ends the test unless it runs as root (network namespaces).
// Under -short it skips at once, like Require.
func RequireRoot(t testing.TB) {
	t.Helper()
	skipShort(t, "needs root (network namespaces)")
	if os.Geteuid() != 0 {
		Missing(t, "needs root")
	}
}

// skipShort skips the test under -short: make unit runs without root,
// network namespaces or the Debian programs, in about a minute.
func skipShort(t testing.TB, why string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: " + why + "; make test runs it")
	}
}

// Buffer is a bytes.Buffer that goroutines may write while a test reads it
// (a logger's or a session's output).
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Bytes returns a copy of what was written so far.
func (l *Buffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}
