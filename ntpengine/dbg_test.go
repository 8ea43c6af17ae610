package ntpengine_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/ntpagent/ntpagent/ntpengine/sim"
)

func TestDbg(t *testing.T) {
	if os.Getenv("DBG") == "" {
		t.Skip()
	}
	s := sim.Default()
	for _, n := range sim.Named() {
		if n.Name == os.Getenv("DBG") {
			s = n
		}
	}
	seed, _ := strconv.Atoi(os.Getenv("SEED"))
	r, _ := sim.Run(s, uint64(seed))
	t.Logf("sync %.0f rms %.1fus max %.1fus", r.SyncTime, r.RMSOffset*1e6, r.MaxOffset*1e6)
}
