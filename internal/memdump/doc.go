// Package memdump is the daemon's debug-only memory dump: at SIGUSR1 it
// writes a heap profile (runtime/pprof) and a breakdown of the memory the Go
// runtime holds (runtime/metrics) into a folder, for `make bench` to find
// where the memory goes. The daemon turns it on only when the environment
// names the folder (Env); it never serves anything on a network port.
//
// It owns only that dump; it imports nothing of ours but
// internal/atomicfile.
package memdump
