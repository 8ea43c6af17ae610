//go:build linux

package wirelab

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ntpagent/ntpagent/internal/testtool"
)

// chronyd is one `chronyd -d -x` inside a namespace, in a folder of its
// own; -x: it never touches the host clock. It runs as root (-u root), so
// that its 0700 socket folder needs no change of owner.
type chronyd struct {
	dir, sock, chronyc string
	cmd                *exec.Cmd
	log                *testtool.Buffer
	exited             chan struct{}
}

// startChronyd writes conf (which must not name a pidfile, command
// socket or command port: they are added) to a new folder in parent and
// starts chronyd in namespace ns with it; it returns once chronyc answers.
func startChronyd(ctx context.Context, bin, chronyc, ns, parent, name, conf string) (*chronyd, error) {
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("wirelab: %w", err)
	}
	c := &chronyd{dir: dir, sock: filepath.Join(dir, "chronyd.sock"), chronyc: chronyc, log: &testtool.Buffer{}, exited: make(chan struct{})}
	conf += fmt.Sprintf("cmdport 0\nbindcmdaddress %s\npidfile %s\n", c.sock, filepath.Join(dir, "chronyd.pid"))
	path := filepath.Join(dir, "chronyd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("wirelab: %w", err)
	}
	c.cmd = exec.Command("ip", "netns", "exec", ns, bin, "-d", "-x", "-u", "root", "-f", path)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("wirelab: start chronyd: %w", err)
	}
	go func() { c.cmd.Wait(); close(c.exited) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := c.run(ctx, "tracking"); err == nil {
			return c, nil
		}
		select {
		case <-c.exited:
			return nil, fmt.Errorf("wirelab: chronyd (%s) exited: %s", name, c.log.String())
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("wirelab: chronyd (%s) command socket did not answer: %s", name, c.log.String())
		}
	}
}

// stop ends chronyd (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (c *chronyd) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.exited
	}
}

func (c *chronyd) run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, c.chronyc, append([]string{"-h", c.sock}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("chronyc %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// trueError reads chronyd's clock minus the host clock, and its rate
// against the host clock in ppm, from `chronyc tracking` (see the package
// documentation): under -x, "System time" is the correction chronyd keeps
// over the host clock ("slow of NTP time": chronyd's clock is ahead of
// the host's) and "Frequency" the rate it keeps ("slow": chronyd's clock
// runs fast against the host's). synced is false before chronyd selected
// a source (Reference ID 00000000 or Leap status "Not synchronised").
func (c *chronyd) trueError(ctx context.Context) (offset time.Duration, freqPPM float64, synced bool, err error) {
	out, err := c.run(ctx, "tracking")
	if err != nil {
		return 0, 0, false, err
	}
	return parseTracking(out)
}

// parseTracking reads the fields trueError needs from chronyc tracking's
// output.
func parseTracking(out string) (offset time.Duration, freqPPM float64, synced bool, err error) {
	fields := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	// "0.000000123 seconds slow of NTP time"
	sys := strings.Fields(fields["System time"])
	if len(sys) < 3 {
		return 0, 0, false, fmt.Errorf("wirelab: chronyc tracking: no System time in %q", out)
	}
	secs, err := strconv.ParseFloat(sys[0], 64)
	if err != nil {
		return 0, 0, false, fmt.Errorf("wirelab: chronyc tracking: System time %q: %w", fields["System time"], err)
	}
	switch sys[2] {
	case "slow":
	case "fast":
		secs = -secs
	default:
		return 0, 0, false, fmt.Errorf("wirelab: chronyc tracking: System time %q", fields["System time"])
	}
	// "10.021 ppm slow"
	fr := strings.Fields(fields["Frequency"])
	if len(fr) < 3 {
		return 0, 0, false, fmt.Errorf("wirelab: chronyc tracking: no Frequency in %q", out)
	}
	ppm, err := strconv.ParseFloat(fr[0], 64)
	if err != nil {
		return 0, 0, false, fmt.Errorf("wirelab: chronyc tracking: Frequency %q: %w", fields["Frequency"], err)
	}
	switch fr[2] {
	case "slow":
	case "fast":
		ppm = -ppm
	default:
		return 0, 0, false, fmt.Errorf("wirelab: chronyc tracking: Frequency %q", fields["Frequency"])
	}
	ref := fields["Reference ID"]
	synced = ref != "" && !strings.HasPrefix(ref, "00000000") && fields["Leap status"] != "Not synchronised"
	return time.Duration(math.Round(secs * 1e9)), ppm, synced, nil
}

// measurements reads the samples chronyd logged of source (its
// configuration's `log measurements`, in its folder), At counted from
// start.
func (c *chronyd) measurements(source netip.Addr, start time.Time) ([]Measurement, error) {
	f, err := os.Open(filepath.Join(c.dir, "measurements.log"))
	if err != nil {
		return nil, fmt.Errorf("wirelab: %w", err)
	}
	defer f.Close()
	return parseMeasurementsLog(f, source.String(), start)
}
