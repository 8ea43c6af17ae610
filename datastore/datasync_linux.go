package datastore

import (
	"os"
	"syscall"
)

// datasync makes f's written data durable. On Linux fdatasync(2) skips the
// metadata a journal append does not need (times), which fsync would also
// write.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
