package ntpengine_test

import (
	"os"
	"testing"

	"github.com/ntpagent/ntpagent/ntpengine/sim"
)

func TestDbg2(t *testing.T) {
	if os.Getenv("DBG2") == "" {
		t.Skip()
	}
	s := sim.Default()
	s.Symmetric = os.Getenv("DBG2") == "sym"
	s.Duration = 3000
	r, _ := sim.Run(s, 1)
	n := r.Nodes[0]
	println("clock error now", int(n.Clock.Error()*1e6), "offset status", n.Engine.Status(n.Clock.Now()).Offset.String())
}
