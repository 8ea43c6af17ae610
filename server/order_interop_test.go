package server

import "testing"

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
	runNcclient(t, py, a, "ncclient_order.py", adminPassword)
}
