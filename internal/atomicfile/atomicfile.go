package atomicfile

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// Write replaces path with data: it writes PATH.tmp in the same folder (a
// rename does not cross file systems) with mode perm (less the umask),
// syncs it, renames it over path and syncs the folder, so that the rename
// itself is durable. On failure the temporary file is removed and path is
// left as it was. Concurrent writers of one path must be serialized by the
// caller (they share the temporary name).
func Write(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = SyncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Remove removes path (absent is fine) and syncs its folder.
func Remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir fsyncs a folder, which makes the creation, renaming and removal
// of its entries durable (fsync(2)).
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// WarnIfShared logs at Warn each of paths (a folder or a file) that other
// users may read, write or enter: state files hold secrets (host keys,
// password hashes, key material). It changes nothing — the operator may
// have a reason — and skips paths that do not exist.
func WarnIfShared(log *slog.Logger, paths ...string) {
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			log.Warn("state file or folder is open to other users; chmod go-rwx it", "path", p, "mode", fmt.Sprintf("%04o", perm))
		}
	}
}
