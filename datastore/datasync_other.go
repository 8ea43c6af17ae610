//go:build !linux

package datastore

import "os"

// datasync makes f's written data durable: fsync(2) where fdatasync(2) is
// not available.
func datasync(f *os.File) error { return f.Sync() }
