package agent

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/ntpengine"
	"github.com/ntpagent/ntpagent/ntpengine/ntpclock"
)

// Two agents on loopback: B serves its own clock at stratum 5 (a local
// reference); A is configured with B as its unicast peer. A runs a
// symmetric active association, B mobilizes a symmetric passive one (RFC
// 5905 §9.2 NEWPS), A synchronizes at stratum 6 and reports it in its state
// and with a sync-state-change notification.
func TestTwoAgentsSymmetricPeers(t *testing.T) {
	t.Parallel()
	const scale = 16
	b := startAgent(t, Options{Clock: fastClock(scale),
		Engine: ntpengine.Config{LocalStratum: 5}})
	a := startAgent(t, Options{Clock: fastClock(scale)})
	a.apply(t, config(false, nil, peer{address: "127.0.0.1", port: b.addr.Port()}))

	var st *gen.Device
	testtool.WaitFor(t, 30*time.Second, "A synchronized to B", func() bool {
		st = a.State()
		return st.GetNtp().GetStatus().ClockState == gen.NtpagentNtp_Ntp_Status_ClockState_synchronized
	})
	s := session(st, "127.0.0.1", b.addr.Port())
	if s == nil {
		t.Fatalf("no session for B: %s", describeSessions(st))
	}
	if got := st.GetNtp().GetStatus().GetStratum(); got != 6 {
		t.Errorf("stratum %d, want 6 (B's local stratum 5 + 1)", got)
	}
	if got := st.GetNtp().GetStatus().GetSystemPeer(); got != "127.0.0.1" {
		t.Errorf("system-peer %q, want 127.0.0.1", got)
	}
	if s.LocalMode != gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_active || !s.GetConfigured() {
		t.Errorf("A's session: mode %v configured %v, want symmetric-active configured", s.LocalMode, s.GetConfigured())
	}
	if s.SelectionStatus != gen.NtpagentNtp_Ntp_Sessions_Session_SelectionStatus_system_peer {
		t.Errorf("selection %v, want system-peer", s.SelectionStatus)
	}
	if s.GetStratum() != 5 || s.GetReach() == 0 || s.GetPacketsSent() == 0 || s.GetPacketsReceived() == 0 {
		t.Errorf("A's session for B: %s", describeSessions(st))
	}
	if len(s.Filter) != 8 {
		t.Errorf("filter has %d stages, want 8", len(s.Filter))
	}
	if s.GetLocalAddress() != "127.0.0.1" {
		t.Errorf("local-address %q, want 127.0.0.1", s.GetLocalAddress())
	}

	// The <get> output (configuration and state) is valid YANG data.
	full := config(false, nil, peer{address: "127.0.0.1", port: b.addr.Port()})
	a.StateProvider(full)
	yanglintGet(t, full)

	// B sees A through an ephemeral symmetric passive association.
	bs := b.State()
	yanglintGet(t, bs)
	ps := session(bs, "127.0.0.1", a.addr.Port())
	if ps == nil {
		t.Fatalf("B has no session for A: %s", describeSessions(bs))
	}
	if ps.LocalMode != gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_passive || ps.GetConfigured() {
		t.Errorf("B's session: mode %v configured %v, want ephemeral symmetric-passive", ps.LocalMode, ps.GetConfigured())
	}

	select {
	case n := <-a.Notifications():
		if !n.Synchronized || n.SystemPeer != "127.0.0.1" || n.Stratum != 6 {
			t.Errorf("notification %+v", n)
		}
		if n.UnsyncReason != "" || n.PreviousSystemPeer != "" {
			t.Errorf("notification %+v: a first synchronization has no reason and no previous peer", n)
		}
	default:
		t.Error("no sync-state-change notification")
	}

	if r := st.GetNtp().GetStatus().UnsyncReason; r != gen.NtpagentNtp_UnsyncReason_UNSET {
		t.Errorf("synchronized, yet unsync-reason %v", r)
	}

	// Removing the peer unsynchronizes A and says so, and why: no sources.
	a.apply(t, config(false, nil))
	st = a.State()
	if st.GetNtp().GetStatus().ClockState != gen.NtpagentNtp_Ntp_Status_ClockState_unsynchronized {
		t.Errorf("after removing the only peer: %s", describeSessions(st))
	}
	if r := st.GetNtp().GetStatus().UnsyncReason; r != gen.NtpagentNtp_UnsyncReason_no_sources {
		t.Errorf("unsync-reason %v, want no-sources", r)
	}
	yanglintGet(t, st)
	select {
	case n := <-a.Notifications():
		if n.Synchronized || n.PreviousSystemPeer != "127.0.0.1" || n.SystemPeer != "" || n.Stratum != 16 ||
			n.UnsyncReason != string(ntpengine.UnsyncNoSources) {
			t.Errorf("notification %+v, want unsynchronized at stratum 16 with previous 127.0.0.1, no-sources", n)
		}
	default:
		t.Error("no notification for the loss of synchronization")
	}
}

// TestEngineLearnsTheClockSlewRate: the engine plans phase corrections at
// the rate the configured clock can slew (the virtual clock's fast slew, the
// system clock's adjtime limit), unless the options set a rate themselves.
func TestEngineLearnsTheClockSlewRate(t *testing.T) {
	for _, c := range []struct {
		name     string
		clock    func() ntpclock.Clock
		explicit float64
		want     float64
	}{
		{"virtual clock default rate (83,333 ppm, to the ppb)", func() ntpclock.Clock { return ntpclock.NewVirtualFromHost() }, 0, 83333.333},
		{"virtual clock at 1000 ppm", func() ntpclock.Clock {
			v := ntpclock.NewVirtualFromHost()
			if err := v.SetMaxSlewRate(1000); err != nil {
				t.Fatal(err)
			}
			return v
		}, 0, 1000},
		{"an explicit engine rate wins", func() ntpclock.Clock { return ntpclock.NewVirtualFromHost() }, 700, 700},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, Clock: c.clock(), Logger: testLogger(t)}
			opts.Engine.MaxSlewRate = c.explicit
			a, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.opts.Engine.MaxSlewRate; got != c.want {
				t.Errorf("engine MaxSlewRate = %v, want %v", got, c.want)
			}
		})
	}
}
