package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"golang.org/x/crypto/ssh"
)

// HostKeyFileName is the host key inside the state directory.
const HostKeyFileName = "ssh_host_ed25519_key"

// loadHostKey reads the ed25519 host key at path, creating it (mode 0600,
// OpenSSH private key format) when it is missing. Missing at a later start
// (firstStart false), that is worth a warning: every client will see a
// changed host key.
func loadHostKey(path string, firstStart bool, log *slog.Logger) (ssh.Signer, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("server: host key %s: %w", path, err)
		}
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("server: host key: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("server: generating host key: %w", err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "ntpagent host key")
	if err != nil {
		return nil, fmt.Errorf("server: encoding host key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("server: writing host key: %w", err)
	}
	if _, err := f.Write(pem.EncodeToMemory(blk)); err != nil {
		f.Close()
		return nil, fmt.Errorf("server: writing host key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("server: writing host key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("server: writing host key: %w", err)
	}
	if firstStart {
		log.Info("created the SSH host key", "file", path)
	} else {
		log.Warn("the SSH host key was missing: a new one was created, and clients will see a changed host key", "file", path)
	}
	return ssh.NewSignerFromKey(priv)
}
