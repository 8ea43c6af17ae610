package datastore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/atomicfile"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// The startup datastore (RFC 6241 §8.7) is the file startup: one record
// of the journal's format ("<crc32> <json>\n") holding a whole tree, the
// save's number, who saved it and when. It is replaced whole (atomicfile),
// so a crash leaves the old file or the new one; any other content is
// damage. bootIDName records the host's boot ID at the last start.
const (
	startupName = "startup"
	bootIDName  = "boot-id"
	// DefaultBootIDFile is where Linux gives the boot ID, a random UUID
	// made anew at each boot of the host.
	DefaultBootIDFile = "/proc/sys/kernel/random/boot_id"
)

// RunningFrom says where running comes from when the store opens.
type RunningFrom uint8

// The choices. The zero value is RunningFromAuto.
const (
	// RunningFromAuto keeps running across restarts of the process, and
	// loads startup into running at the first start after the host booted
	// (the boot ID differs from the one recorded in the state folder).
	RunningFromAuto RunningFrom = iota
	// RunningFromRunning always keeps running.
	RunningFromRunning
	// RunningFromStartup loads startup into running at every start.
	RunningFromStartup
)

// ParseRunningFrom reads "auto", "running" or "startup".
func ParseRunningFrom(s string) (RunningFrom, error) {
	switch s {
	case "auto", "":
		return RunningFromAuto, nil
	case "running":
		return RunningFromRunning, nil
	case "startup":
		return RunningFromStartup, nil
	}
	return 0, fmt.Errorf("running-from %q is not one of auto, running, startup", s)
}

func (r RunningFrom) String() string {
	switch r {
	case RunningFromRunning:
		return "running"
	case RunningFromStartup:
		return "startup"
	}
	return "auto"
}

// SavedInfo describes the content of startup: the save's number (1, 2, …
// over the folder's life), who saved it, when, and from which datastore.
type SavedInfo struct {
	ID     uint32
	User   string
	Time   time.Time
	Origin Origin
	// From is the datastore copied ("running", "candidate"), "config"
	// for inline content, or "" for an emptied startup (delete-config).
	From string
}

// readStartup reads the startup file; ok is false when there is none. Any
// content but one whole record is damage: the file is only ever replaced
// whole.
func readStartup(dir string) (t *gen.Device, info SavedInfo, ok bool, err error) {
	path := filepath.Join(dir, startupName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, info, false, nil
	}
	if err != nil {
		return nil, info, false, err
	}
	line, rest, found := bytes.Cut(data, []byte("\n"))
	if !found || len(rest) != 0 {
		return nil, info, false, newDamage(path, -1, "the startup configuration is not one whole record", nil, 0)
	}
	r, reason := decodeLine(line)
	if reason == "" && !r.Full {
		reason = "not a whole configuration"
	}
	if reason == "" {
		t, err = r.apply(nil)
		if err != nil {
			reason = err.Error()
		}
	}
	if reason != "" {
		return nil, info, false, newDamage(path, 0, "the startup configuration is unreadable: "+reason, nil, 0)
	}
	from, _ := strings.CutPrefix(r.Label, "from ")
	return t, SavedInfo{ID: r.ID, User: r.User, Time: r.Time, Origin: r.Origin, From: from}, true, nil
}

// loadStartup reads startup at Open. A damaged file refuses the start
// (DamageError naming it); with Options.Recover it is moved aside and the
// store starts without a startup configuration.
func (s *Store) loadStartup() error {
	t, info, ok, err := readStartup(s.dir)
	var d *DamageError
	if errors.As(err, &d) && s.recover {
		to := asideName(d.File, s.clock.Now().UTC().Format("20060102T150405Z"))
		if rerr := os.Rename(d.File, to); rerr != nil {
			return fmt.Errorf("recover: move %s aside: %w", d.File, rerr)
		}
		if rerr := atomicfile.SyncDir(s.dir); rerr != nil {
			return rerr
		}
		s.log.Warn("recovered from a damaged startup configuration: starting without one", "damage", d.Error(), "moved-aside", to)
		t, ok, err = nil, false, nil
	}
	if err != nil {
		return err
	}
	if ok {
		t, _ = s.upgradeTree(t)
	}
	s.setStartup(t, info, ok)
	return nil
}

// setStartup stores t as startup's content under a new generation; an
// absent startup reads as empty.
func (s *Store) setStartup(t *gen.Device, info SavedInfo, ok bool) {
	if t == nil {
		t = &gen.Device{}
	}
	s.startup, s.saved, s.hasStartup = t, info, ok
	s.lastGen++
	s.startGen = s.lastGen
}

// writeStartup makes t the durable content of startup. Called with s.mu held.
func (s *Store) writeStartup(sess Session, t *gen.Device, from string) error {
	user := sess.User
	if user == "" {
		user = "system"
	}
	info := SavedInfo{ID: s.saved.ID + 1, User: user, Time: s.clock.Now().UTC().Round(time.Microsecond), Origin: sessionOrigin(sess), From: from}
	label := ""
	if from != "" {
		label = "from " + from
	}
	rec, err := fullRecord(CommitInfo{ID: info.ID, User: info.User, Time: info.Time, Label: label, Origin: info.Origin}, t)
	if err != nil {
		return asRPCError(err)
	}
	line, err := encodeLine(rec)
	if err != nil {
		return asRPCError(err)
	}
	if err := atomicfile.Write(filepath.Join(s.dir, startupName), line, 0o600); err != nil {
		s.log.Error("cannot save the startup configuration", "err", err)
		return asRPCError(fmt.Errorf("the startup configuration could not be saved: %w", err))
	}
	old := s.startup
	s.setStartup(t, info, true)
	s.notify(Change{Old: old, New: t, SessionID: sess.ID, Datastore: Startup,
		Commit: CommitInfo{ID: info.ID, User: info.User, Time: info.Time, Label: label, Origin: info.Origin}})
	return nil
}

// Saved describes startup's content; false when nothing was saved yet.
func (s *Store) Saved() (SavedInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saved, s.hasStartup
}

// errNoStartup refuses to read from a startup nothing was saved to.
func errNoStartup() error {
	return rpcerror.New(rpcerror.TagOperationFailed, "", "The startup datastore holds no saved configuration yet: copy running to startup first.")
}

// startAfterBoot applies the restart rule (RunningFrom) at Open, after
// running is loaded: at the first start after a boot of the host, running
// becomes startup's content as a system commit; across restarts of the
// process running stays. The commit is durable before the boot ID is
// recorded, so a crash between the two loads startup again at the next
// start (the same tree: no second commit).
func (s *Store) startAfterBoot(mode RunningFrom, bootIDFile string) error {
	if bootIDFile == "" {
		bootIDFile = DefaultBootIDFile
	}
	current, readErr := readBootID(bootIDFile)
	recorded, _ := readBootID(filepath.Join(s.dir, bootIDName))
	boot := false
	switch mode {
	case RunningFromStartup:
		boot = true
	case RunningFromAuto:
		switch {
		case readErr != nil:
			s.log.Warn("cannot read the host's boot ID: running stays (a boot cannot be told from a restart)", "file", bootIDFile, "err", readErr)
		case recorded == "":
			// The first start of this folder (or of a version that
			// recorded no boot ID): no boot to tell apart.
		default:
			boot = recorded != current
		}
	}
	if boot {
		if err := s.runningFromStartup(); err != nil {
			return err
		}
	}
	if readErr == nil && current != recorded {
		if err := atomicfile.Write(filepath.Join(s.dir, bootIDName), []byte(current+"\n"), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func readBootID(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(string(data))
	if id == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return id, nil
}

// runningFromStartup commits startup's content as running. Without a
// saved configuration (a first installation) running stays; so does it
// when startup does not validate (a rule of this version it breaks), with
// an error in the log.
func (s *Store) runningFromStartup() error {
	if !s.hasStartup {
		s.log.Info("host boot: no startup configuration saved yet; running stays")
		return nil
	}
	if equalTree(s.startup, s.running) {
		return nil
	}
	if err := rules.Validate(s.startup, s.ruleOptions()...); err != nil {
		s.log.Error("host boot: the startup configuration does not validate; running stays", "err", err)
		return nil
	}
	if _, err := s.commitTree(Session{User: "system", Origin: OriginSystem}, s.startup, "loaded from startup at boot", OriginSystem, nil); err != nil {
		return err
	}
	s.log.Info("host boot: running loaded from the startup configuration", "saved", s.saved.ID, "saved-at", s.saved.Time)
	s.setCandidateTree(s.running)
	return nil
}

// copyToStartup is <copy-config> with target startup: t (validated here)
// becomes startup's durable content. Called with s.mu held.
func (s *Store) copyToStartup(sess Session, t *gen.Device, from string) error {
	if err := s.validateNext(t, s.runningDiff(t)); err != nil {
		return err
	}
	return s.writeStartup(sess, t, from)
}
