//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// StartTimeConfig times a server other than ntpagent from exec until its
// Unix socket accepts a connection (netconfd's ncxserver socket: sshd hands
// it each NETCONF session through netconf-subsystem).
type StartTimeConfig struct {
	Name    string   // server name of the results
	Command []string // the server and its arguments
	Dir     string   // its working directory
	Socket  string   // the Unix socket it listens on
	Runs    int      // timed starts, after one untimed
	Note    string
}

// RunStartTime starts the server Runs+1 times and reports the median of the
// timed starts as measure start-1000.
func RunStartTime(ctx context.Context, c StartTimeConfig) ([]Result, error) {
	var starts []time.Duration
	for i := range c.Runs + 1 {
		took, err := startOnce(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("%s start %d: %w", c.Name, i, err)
		}
		if i > 0 {
			starts = append(starts, took)
		}
	}
	r := durations(c.Name, mStart1000, starts)
	r.Note = c.Note
	return []Result{r}, nil
}

func startOnce(ctx context.Context, c StartTimeConfig) (time.Duration, error) {
	if err := os.Remove(c.Socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	cmd := exec.Command(c.Command[0], c.Command[1:]...)
	cmd.Dir = c.Dir
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	took, err := awaitAccepting(ctx, "unix", c.Socket, t0, done)
	stop()
	return took, err
}

// startupXML is a configuration file of n peers, the bench's peers 0..n-1
// (netconfd --startup=FILE).
func startupXML(n int) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<config xmlns="` + nsBase + `"><ntp xmlns="` + nsNTP + `">`)
	for i := range n {
		peerXML(&b, i, 6)
	}
	b.WriteString("</ntp></config>\n")
	return b.String()
}
