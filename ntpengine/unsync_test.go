package ntpengine

import (
	"testing"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// exchange answers every poll of e's single client association up to end
// (s) with reply's leap and stratum, from a server offset s ahead.
func exchange(t *testing.T, e *Engine, from, end, offset float64, leap packet.Leap, stratum uint8) {
	t.Helper()
	for s := from; s < end; s++ {
		for _, o := range e.Tick(at(s)).Packets {
			req, err := packet.Unmarshal(o.Data)
			if err != nil {
				t.Fatal(err)
			}
			h := serverReply(req, packet.ModeServer, s, offset, 0.001)
			h.Leap, h.Stratum = leap, stratum
			deliver(e, h, s+0.002, nil)
		}
	}
}

// TestUnsyncReason: Status.UnsyncReason names the stage at which
// synchronization stopped, and is empty once synchronized.
func TestUnsyncReason(t *testing.T) {
	burst := PeerConfig{Key: "p1", Address: peerAddr, Mode: AssocClient, IBurst: true}
	for _, tc := range []struct {
		name  string
		peers []PeerConfig
		run   func(e *Engine)
		want  UnsyncReason
	}{
		{"no association configured", nil, func(*Engine) {}, UnsyncNoSources},
		{"RFC5905 §13 no reply yet: unreachable", []PeerConfig{burst}, func(e *Engine) { e.Tick(at(10)) }, UnsyncUnreachable},
		{"RFC5905 §7.3 the only source is unsynchronized (leap 3)", []PeerConfig{burst},
			func(e *Engine) { exchange(t, e, 0, 30, 0, packet.LeapUnsync, 1) }, UnsyncSourcesUnsynchronized},
		{"RFC5905 §13 unreachable, then answering again unsynchronized: says so, not unreachable", []PeerConfig{burst},
			func(e *Engine) {
				exchange(t, e, 0, 30, 0, packet.LeapUnsync, 1)
				for s := 30.0; s < 1500; s++ {
					e.Tick(at(s)) // no replies: the reach register empties
				}
				exchange(t, e, 1500, 3000, 0, packet.LeapUnsync, 1)
			}, UnsyncSourcesUnsynchronized},
		{"RFC5905 §10 one sample: the clock filter is filling", []PeerConfig{{Key: "p1", Address: peerAddr, Mode: AssocClient}},
			func(e *Engine) { exchange(t, e, 0, 10, 0, packet.LeapNone, 1) }, UnsyncAcquiring},
		{"RFC5905 §11.3 offset beyond the panic threshold", []PeerConfig{burst},
			func(e *Engine) { exchange(t, e, 0, 30, 5000, packet.LeapNone, 1) }, UnsyncPanic},
		{"synchronized: no reason", []PeerConfig{burst},
			func(e *Engine) { exchange(t, e, 0, 60, 0.001, packet.LeapNone, 1) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustNew(t, Config{Peers: tc.peers})
			tc.run(e)
			st := e.Status(at(60))
			if st.UnsyncReason != tc.want || st.Synchronized != (tc.want == "") {
				t.Errorf("synchronized %v, reason %q, want %q", st.Synchronized, st.UnsyncReason, tc.want)
			}
		})
	}
}
