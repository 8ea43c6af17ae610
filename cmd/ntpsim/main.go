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
	markdown := fs.Bool("markdown", false, "print a Markdown table")
	chrony := fs.Bool("chrony", false, "print the table of chrony's ported simulation tests instead")
	chronyRef := fs.String("chrony-figures", "", "chrony's own figures beside ours: summary TSVs of scripts/chrony-sim-reference.sh, comma-separated (a later file's runs replace an earlier's)")
	worldFile := fs.String("world", "", "run the world described in this file (the text form of sim.Parse) and print its measured nodes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *seeds < 1 || *seeds > 1000 {
		return fmt.Errorf("-seeds %d not in 1..1000", *seeds)
	}
	var tw *tabwriter.Writer
	row := func(cells ...string) {
		if *markdown {
			fmt.Fprintf(out, "| %s |\n", strings.Join(cells, " | "))
			return
		}
		fmt.Fprintf(tw, "%s\t\n", strings.Join(cells, "\t"))
	}
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := func(cells ...string) {
		row(cells...)
		if *markdown {
			row(strings.Split(strings.Repeat("---,", len(cells)-1)+"---", ",")...)
		}
	}
	switch {
	case *worldFile != "":
		if err := worldTable(header, row, *worldFile, *seeds); err != nil {
			return err
		}
		return tw.Flush()
	case *chrony:
		if err := chronyTable(out, header, row, *seeds, *only, *chronyRef); err != nil {
			return err
		}
		return tw.Flush()
	}
	if *list {
		for _, s := range sim.Named() {
			fmt.Fprintln(out, s.Name)
		}
		return nil
	}
	cols := []string{"scenario", "seeds", "sync time (s)", "RMS offset (us)", "max offset (us)", "RMS freq (ppm)", "packets/h", "never synced"}
	header(cols...)
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
		row(s.Name, fmt.Sprint(sum.Seeds), pm(sum.SyncTime, 1, "%.0f"), pm(sum.RMSOffset, 1e6, "%.1f"),
			fmt.Sprintf("%.0f", sum.MaxOffset*1e6), pm(sum.RMSFreq, 1e6, "%.3f"),
			fmt.Sprintf("%.0f", sum.PacketsPerHour.Mean), fmt.Sprint(sum.NeverSynced))
	}
	return tw.Flush()
}

func pm(s sim.Stats, scale float64, f string) string {
	if math.IsNaN(s.Mean) {
		return "-"
	}
	return fmt.Sprintf(f+" ± "+f, s.Mean*scale, s.SD*scale)
}
