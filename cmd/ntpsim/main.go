// Command ntpsim runs the engine simulation scenarios of ntpengine/sim and
// prints one row per scenario: time to synchronize, RMS and max offset and
// RMS frequency error after 420 s, as mean ± sd over seeds — the figures
// chrony's own simulation suite reports.
package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/ntpagent/ntpagent/ntpengine/sim"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		slog.Error("ntpsim", "err", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ntpsim", flag.ContinueOnError)
	seeds := fs.Int("seeds", 20, "seeds per scenario")
	only := fs.String("run", "", "only scenarios whose name contains this")
	duration := fs.Float64("duration", 0, "override the simulated duration (s)")
	list := fs.Bool("list", false, "list the scenarios and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *seeds < 1 || *seeds > 1000 {
		return fmt.Errorf("-seeds %d not in 1..1000", *seeds)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	if *list {
		for _, s := range sim.Named() {
			fmt.Fprintln(out, s.Name)
		}
		return nil
	}
	fmt.Fprintf(tw, "scenario\tseeds\tsync time (s)\tRMS offset (us)\tmax offset (us)\tRMS freq (ppm)\tpackets/h\tnever synced\t\n")
	for _, s := range sim.Named() {
		if *only != "" && !strings.Contains(s.Name, *only) {
			continue
		}
		if *duration > 0 {
			s.Duration = *duration
		}
		sum, err := sim.RunSeeds(s, *seeds)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.0f\t%s\t%.0f\t%d\t\n", s.Name, sum.Seeds,
			pm(sum.SyncTime, 1, "%.0f"), pm(sum.RMSOffset, 1e6, "%.1f"), sum.MaxOffset*1e6,
			pm(sum.RMSFreq, 1e6, "%.3f"), sum.PacketsPerHour.Mean, sum.NeverSynced)
	}
	return tw.Flush()
}

func pm(s sim.Stats, scale float64, f string) string {
	if math.IsNaN(s.Mean) {
		return "-"
	}
	return fmt.Sprintf(f+" ± "+f, s.Mean*scale, s.SD*scale)
}
