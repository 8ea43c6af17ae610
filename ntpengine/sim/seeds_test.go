package sim

import (
	"os"
	"testing"
)

func TestSeedsDbg(t *testing.T) {
	name := os.Getenv("SCEN")
	if name == "" {
		t.Skip()
	}
	for _, s := range Named() {
		if s.Name != name {
			continue
		}
		for seed := uint64(1); seed <= 5; seed++ {
			r, _ := Run(s, seed)
			t.Logf("seed %d sync %.0f rms %.1fus max %.1fus steps %d", seed, r.SyncTime, r.RMSOffset*1e6, r.MaxOffset*1e6, r.Steps)
		}
	}
}
