package server

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// RFC 7950 §7.7.7 and §7.8.6 with ncclient: rule-lists keep the order a
// client enters; yang:insert/yang:key place and move them, and their
// errors leave the candidate as it was; access control follows the order
// (RFC 8341 §3.4.5).
func TestNcclientOrderedByUserInsertRFC7950(t *testing.T) {
	if testing.Short() {
		t.Skip("interop with ncclient: not under -short")
	}
	t.Parallel()
	py := requireNcclient(t)
	a := startAgent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, repoFile("testdata", "netconf", "ncclient_order.py"), "127.0.0.1", portOf(a.addrs[1]), adminPassword)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil || !strings.Contains(buf.String(), "ALL OK") {
		t.Fatalf("ncclient script: %v\n%s", err, buf.String())
	}
	t.Logf("ncclient:\n%s", buf.String())
}
