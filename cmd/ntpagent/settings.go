package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/ntpengine/ntpclock"
	"github.com/ntpagent/ntpagent/server"
	"github.com/ntpagent/ntpagent/server/netconf"
)

// settings are the daemon's start-up settings: flags, or the same keys in a
// settings file (--config FILE), flags winning.
type settings struct {
	StateDir      string
	NetconfListen string
	CLIListen     string
	NTPListen     string
	Clock         string // "virtual" or "system"
	LogLevel      string
	LogFormat     string
	MetricsListen string
	HostsFile     string
	DriftFile     string // relative: inside StateDir; empty: none
	LocalStratum  uint
	NoRateLimit   bool
	// VirtualClockOffset and VirtualClockFrequencyError start the virtual
	// clock off the host's time and rate (tests and demonstrations).
	VirtualClockOffset         time.Duration
	VirtualClockFrequencyError float64
	// Recover starts from the last good state of a damaged state folder
	// (command line only: a settings file that said it would repair
	// silently at every start).
	Recover bool
	// RunningFrom is datastore.ParseRunningFrom's input: auto (running
	// survives restarts; startup is loaded at the first start after a
	// boot), running or startup.
	RunningFrom string

	// SSHMaxStartups is OpenSSH's MaxStartups full; with
	// SSHMaxStartupsStart and SSHMaxStartupsRate, its start:rate:full.
	SSHMaxStartups          int
	SSHMaxStartupsStart     int
	SSHMaxStartupsRate      int
	SSHMaxStartupsPerSource int
	SSHPreambleTimeout      time.Duration
	SSHAdminReserve         int
	SSHMaxSessionsPerUser   int
	NetconfHelloTimeout     time.Duration

	Config string

	// settledPPM, when > 0, is the engine's SettledFrequencyPPM (tests
	// only: the loopback noise of a fast clock never settles to 1 ppm).
	settledPPM float64
}

// maxSettingsFile bounds a settings file.
const maxSettingsFile = 64 << 10

func newFlagSet(s *settings, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("ntpagent", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&s.StateDir, "state-dir", "./ntpagent-state", "folder for the configuration journal, host key and users")
	fs.StringVar(&s.NetconfListen, "netconf-listen", "127.0.0.1:8830", "NETCONF over SSH listen address (830 on a device)")
	fs.StringVar(&s.CLIListen, "cli-listen", "127.0.0.1:2222", "CLI over SSH listen address")
	fs.StringVar(&s.NTPListen, "ntp-listen", "127.0.0.1:10123", "NTP listen addresses, comma-separated ([::]:123 on a device: both families)")
	fs.StringVar(&s.Clock, "clock", "virtual", "clock to discipline: virtual (a software clock; never touches the host) or system (the host clock; needs CAP_SYS_TIME)")
	fs.StringVar(&s.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&s.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&s.MetricsListen, "metrics-listen", "", "serve Prometheus /metrics on this address (off when empty)")
	fs.StringVar(&s.HostsFile, "hosts-file", "", "resolve domain peers from this hosts(5) file first (then DNS)")
	fs.StringVar(&s.DriftFile, "drift-file", "ntp.drift", "frequency (drift) file, ppm, read at start and written hourly and at stop while synchronized; a relative path is inside --state-dir; empty: none")
	fs.UintVar(&s.LocalStratum, "local-stratum", 0, "serve the local clock at this stratum (1..15) while unsynchronized (0: off)")
	fs.BoolVar(&s.NoRateLimit, "no-rate-limit", false, "answer clients without rate limiting (benchmarks; by default each source gets 1 request/s on average, bursts of 8, then a RATE kiss-o'-death)")
	s.SSHMaxStartupsStart, s.SSHMaxStartupsRate, s.SSHMaxStartups = 16, 30, 32
	fs.Var((*maxStartups)(s), "ssh-max-startups", "SSH connections not yet logged in, from all sources together, as OpenSSH's start:rate:full: from start on a new one is dropped with probability rate %, rising to 100 % at full (a single number: a hard limit)")
	fs.DurationVar(&s.SSHPreambleTimeout, "ssh-preamble-timeout", 5*time.Second, "close an SSH connection whose client has sent no byte within this long")
	fs.IntVar(&s.SSHAdminReserve, "ssh-admin-reserve", 8, "sessions (and logged-in connections) kept for users of the admin role; other roles share the rest")
	fs.IntVar(&s.SSHMaxSessionsPerUser, "ssh-max-sessions-per-user", 32, "NETCONF and CLI sessions one user may hold at once")
	fs.IntVar(&s.SSHMaxStartupsPerSource, "ssh-max-startups-per-source", 8, "SSH connections not yet logged in, per source address (IPv6: per /64); more are closed at once")
	fs.DurationVar(&s.NetconfHelloTimeout, "netconf-hello-timeout", 60*time.Second, "end a NETCONF session whose client sends no <hello> within this long")
	fs.DurationVar(&s.VirtualClockOffset, "virtual-clock-offset", 0, "start the virtual clock this far from the host's time, e.g. 50ms or -2s (tests and demonstrations; the host clock is never touched)")
	fs.Float64Var(&s.VirtualClockFrequencyError, "virtual-clock-frequency-error", 0, "make the virtual clock run this many ppm fast (negative: slow) against the host's clock before any correction, within ±500 (tests and demonstrations)")
	fs.BoolVar(&s.Recover, "recover", false, "once, after the daemon refused to start because its state folder is damaged: start from the last good configuration and move the damaged files aside (NAME.damaged-TIME); command line only")
	fs.StringVar(&s.RunningFrom, "running-from", "auto", "where running comes from at start: auto (running survives a restart of the daemon; the first start after the host booted loads the startup configuration, if one was saved), running (always keep running) or startup (always load the saved startup configuration)")
	fs.StringVar(&s.Config, "config", "", "settings file: lines 'key = value' with the flag names as keys, '#' comments")
	return fs
}

// parseSettings reads args, then the settings file if --config names one;
// a flag given on the command line overrides the file.
func parseSettings(args []string, out io.Writer) (*settings, error) {
	s := &settings{}
	fs := newFlagSet(s, out)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if s.Config != "" {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		kv, err := readSettingsFile(s.Config)
		if err != nil {
			return nil, err
		}
		for _, e := range kv {
			if e.key == "config" {
				return nil, fmt.Errorf("%s:%d: a settings file cannot name another one", s.Config, e.line)
			}
			if e.key == "recover" {
				return nil, fmt.Errorf("%s:%d: recover is a command-line flag for one start, not a setting", s.Config, e.line)
			}
			if fs.Lookup(e.key) == nil {
				return nil, fmt.Errorf("%s:%d: unknown setting %q", s.Config, e.line, e.key)
			}
			if set[e.key] {
				continue
			}
			if err := fs.Set(e.key, e.value); err != nil {
				return nil, fmt.Errorf("%s:%d: %s: %w", s.Config, e.line, e.key, err)
			}
		}
	}
	return s, s.check()
}

type setting struct {
	key, value string
	line       int
}

func readSettingsFile(path string) ([]setting, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("settings file: %w", err)
	}
	if len(data) > maxSettingsFile {
		return nil, fmt.Errorf("settings file %s: larger than %d bytes", path, maxSettingsFile)
	}
	var out []setting
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want 'key = value'", path, n)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		v = strings.Trim(v, `"`)
		out = append(out, setting{key: k, value: v, line: n})
	}
	return out, sc.Err()
}

func (s *settings) check() error {
	switch s.Clock {
	case "virtual", "system":
	default:
		return fmt.Errorf("--clock %q: want virtual or system", s.Clock)
	}
	if _, err := s.level(); err != nil {
		return err
	}
	if s.Clock != "virtual" && (s.VirtualClockOffset != 0 || s.VirtualClockFrequencyError != 0) {
		return fmt.Errorf("--virtual-clock-offset and --virtual-clock-frequency-error apply to --clock virtual only (--clock %s)", s.Clock)
	}
	if f := s.VirtualClockFrequencyError; math.IsNaN(f) || math.Abs(f) > ntpclock.MaxFrequencyPPM {
		return fmt.Errorf("--virtual-clock-frequency-error %v: want a number of ppm within ±%v", f, ntpclock.MaxFrequencyPPM)
	}
	if _, err := datastore.ParseRunningFrom(s.RunningFrom); err != nil {
		return fmt.Errorf("--%w", err)
	}
	if s.LogFormat != "text" && s.LogFormat != "json" {
		return fmt.Errorf("--log-format %q: want text or json", s.LogFormat)
	}
	if _, err := s.ntpListen(); err != nil {
		return err
	}
	if s.LocalStratum > 15 {
		return fmt.Errorf("--local-stratum %d: want 0 (off) or 1..15", s.LocalStratum)
	}
	if s.StateDir == "" {
		return errors.New("--state-dir is empty")
	}
	if s.SSHMaxStartups < 1 {
		return fmt.Errorf("--ssh-max-startups %d: want 1 or more", s.SSHMaxStartups)
	}
	if s.SSHPreambleTimeout <= 0 {
		return fmt.Errorf("--ssh-preamble-timeout %v: want a positive duration such as 5s", s.SSHPreambleTimeout)
	}
	if s.SSHAdminReserve < 0 || s.SSHMaxSessionsPerUser < 1 {
		return fmt.Errorf("--ssh-admin-reserve %d, --ssh-max-sessions-per-user %d: want 0 or more, and 1 or more", s.SSHAdminReserve, s.SSHMaxSessionsPerUser)
	}
	if s.SSHMaxStartupsPerSource < 1 {
		return fmt.Errorf("--ssh-max-startups-per-source %d: want 1 or more", s.SSHMaxStartupsPerSource)
	}
	if s.NetconfHelloTimeout <= 0 {
		return fmt.Errorf("--netconf-hello-timeout %v: want a positive duration such as 60s", s.NetconfHelloTimeout)
	}
	return nil
}

// driftPath is the drift file's path: DriftFile, inside StateDir when it
// is relative; empty when there is none.
func (s *settings) driftPath() string {
	if s.DriftFile == "" || filepath.IsAbs(s.DriftFile) {
		return s.DriftFile
	}
	return filepath.Join(s.StateDir, s.DriftFile)
}

// sshLimits copies the SSH server's limits of s into c.
func (s *settings) sshLimits(c *server.Config) {
	c.MaxStartups = s.SSHMaxStartups
	c.MaxStartupsStart, c.MaxStartupsRate = s.SSHMaxStartupsStart, s.SSHMaxStartupsRate
	c.MaxStartupsPerSource = s.SSHMaxStartupsPerSource
	c.PreambleTimeout = s.SSHPreambleTimeout
	c.AdminReserve = s.SSHAdminReserve
	if s.SSHAdminReserve == 0 {
		c.AdminReserve = -1 // server.Config: 0 is the default, negative none
	}
	c.MaxSessionsPerUser = s.SSHMaxSessionsPerUser
}

// netconfLimits copies the NETCONF server's limits of s into c.
func (s *settings) netconfLimits(c *netconf.Config) {
	c.HelloTimeout = s.NetconfHelloTimeout
}

func (s *settings) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s.LogLevel)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s.LogLevel)
	}
	return l, nil
}

func (s *settings) ntpListen() ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	for _, f := range strings.Split(s.NTPListen, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		ap, err := netip.ParseAddrPort(f)
		if err != nil {
			return nil, fmt.Errorf("--ntp-listen %q: %w", f, err)
		}
		out = append(out, ap)
	}
	if len(out) == 0 {
		return nil, errors.New("--ntp-listen is empty")
	}
	return out, nil
}

// maxStartups is the flag.Value of --ssh-max-startups: "full" (a hard
// limit) or OpenSSH's "start:rate:full".
type maxStartups settings

func (m *maxStartups) String() string {
	if m == nil {
		return ""
	}
	if m.SSHMaxStartupsStart >= m.SSHMaxStartups {
		return strconv.Itoa(m.SSHMaxStartups)
	}
	return fmt.Sprintf("%d:%d:%d", m.SSHMaxStartupsStart, m.SSHMaxStartupsRate, m.SSHMaxStartups)
}

func (m *maxStartups) Set(v string) error {
	parts := strings.Split(v, ":")
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || i >= 3 {
			return fmt.Errorf("want full or start:rate:full (such as 16:30:32), not %q", v)
		}
		n[i] = x
	}
	switch {
	case len(parts) == 1 && n[0] >= 1:
		m.SSHMaxStartupsStart, m.SSHMaxStartupsRate, m.SSHMaxStartups = n[0], 100, n[0]
	case len(parts) == 3 && n[2] >= 1 && n[0] >= 1 && n[0] <= n[2] && n[1] >= 1 && n[1] <= 100:
		m.SSHMaxStartupsStart, m.SSHMaxStartupsRate, m.SSHMaxStartups = n[0], n[1], n[2]
	default:
		return fmt.Errorf("want full or start:rate:full with 1 <= start <= full and rate 1..100, not %q", v)
	}
	return nil
}
