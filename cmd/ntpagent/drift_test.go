package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
)

// --drift-file: the default is ntp.drift in the state folder; a relative
// path is taken there, an absolute one as it is; the settings-file key has
// the flag's name, a flag wins, and an empty value turns the file off.
func TestSettingsDriftFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ntpagent.conf")
	os.WriteFile(file, []byte("state-dir = /var/lib/ntpagent\ndrift-file = /var/lib/ntp/ntp.drift\n"), 0o600)
	empty := filepath.Join(dir, "empty.conf")
	os.WriteFile(empty, []byte("drift-file = \"\"\n"), 0o600)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"default", []string{"--state-dir", "/srv/state"}, "/srv/state/ntp.drift"},
		{"relative: in the state folder", []string{"--state-dir", "/srv/state", "--drift-file", "freq/drift"}, "/srv/state/freq/drift"},
		{"absolute", []string{"--drift-file", "/var/lib/ntp/drift"}, "/var/lib/ntp/drift"},
		{"empty flag: none", []string{"--drift-file", ""}, ""},
		{"settings file", []string{"--config", file}, "/var/lib/ntp/ntp.drift"},
		{"a flag wins over the file", []string{"--config", file, "--drift-file", "x.drift"}, "/var/lib/ntpagent/x.drift"},
		{"empty in the settings file: none", []string{"--config", empty}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := parseSettings(c.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.driftPath(); got != c.want {
				t.Errorf("drift file %q, want %q", got, c.want)
			}
		})
	}
}

// The daemon reads STATE/ntp.drift at start: its engine begins in FSET
// (sync-state frequency-set) with that frequency; with --drift-file ""
// the same file is not read.
func TestDaemonReadsDriftFile(t *testing.T) {
	for _, c := range []struct {
		name      string
		driftFile string
		want      gen.E_NtpagentNtp_Ntp_Status_SyncState
		freq      float64
	}{
		{"default drift file", "ntp.drift", gen.NtpagentNtp_Ntp_Status_SyncState_frequency_set, 5.25},
		{"drift file off", "", gen.NtpagentNtp_Ntp_Status_SyncState_clock_not_set, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := testSettings(t)
			s.DriftFile = c.driftFile
			if err := os.WriteFile(filepath.Join(s.StateDir, "ntp.drift"), []byte("5.250\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			d := startDaemon(t, s)
			st := d.started.Agent.State().GetNtp().GetStatus()
			if st.SyncState != c.want || st.GetFrequency() != c.freq {
				t.Errorf("sync-state %v frequency %v, want %v %v", st.SyncState, st.GetFrequency(), c.want, c.freq)
			}
		})
	}
}
