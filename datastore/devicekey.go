package datastore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/atomicfile"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// deviceKeyName is the file of the device's secret for key values
// (rules.KeyCipher): hexadecimal, mode 0600, made at first start.
const deviceKeyName = "device-key"

// loadDeviceKey reads the device's key cipher from dir, creating its secret
// when the file is missing. A file that group or others may read is refused:
// with it, any local user could open every stored NTP key. A missing file
// in a folder that already holds a configuration is made again with a
// warning: key values sealed with the lost one cannot be opened any more
// and must be entered again in plain text.
func loadDeviceKey(dir string, log *slog.Logger) (*rules.KeyCipher, error) {
	path := filepath.Join(dir, deviceKeyName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		secret := make([]byte, rules.DeviceKeySize)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("device key: %w", err)
		}
		if err := atomicfile.Write(path, []byte(hex.EncodeToString(secret)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("device key: %w", err)
		}
		if _, jerr := os.Stat(filepath.Join(dir, journalName)); jerr == nil {
			log.Warn("the device key was missing and a new one was made: stored key values sealed with the old one cannot be opened; enter them again in plain text", "file", path)
		} else {
			log.Info("made the device key that seals NTP key values", "file", path)
		}
		return rules.NewKeyCipher(secret)
	}
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("device key %s has mode %04o: others may read the secret that seals the NTP keys; run chmod 600 %s", path, perm, path)
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(secret) != rules.DeviceKeySize {
		return nil, fmt.Errorf("device key %s is not %d bytes in hexadecimal; restore it from a backup (with a new one, every stored key must be entered again in plain text)", path, rules.DeviceKeySize)
	}
	return rules.NewKeyCipher(secret)
}

// sealKeys puts the key values of t that differ from base's in this
// device's cipher form (rules.KeyCipher.SealInput); a cipher text this
// device did not make is refused, with its key's path.
func (s *Store) sealKeys(t, base *gen.Device) error {
	bk := keys(base)
	for id, k := range keys(t) {
		if k == nil || k.KeyValue == nil {
			continue
		}
		if q, ok := bk[id]; ok && q.KeyValue != nil && *q.KeyValue == *k.KeyValue {
			continue
		}
		v, err := s.keys.SealInput(*k.KeyValue)
		if err != nil {
			return rpcerror.New(rpcerror.TagInvalidValue, rules.KeyPath(id, "key-value"), "%s", rules.ForeignCipherMessage(id))
		}
		k.KeyValue = &v
	}
	return nil
}

// upgradeKeys re-seals, once at load, the key values stored in plain text
// or in the cipher form of the versions before the device key: in the
// trees of the history (so that a rollback brings back this device's
// form), and in running by a system commit, so that the journal's last
// record and running.json hold only this device's form.
func (s *Store) upgradeKeys() error {
	for i := range s.history {
		s.history[i].tree, _ = s.upgradeTree(s.history[i].tree)
	}
	next, n := s.upgradeTree(s.running)
	if n == 0 {
		return nil
	}
	s.log.Warn("key values stored in plain text or in the cipher form of earlier versions were sealed with this device's key, and passwords stored in clear text hashed", "secrets", n)
	if _, err := s.commitTree(Session{User: "system", Origin: OriginSystem}, next, "keys sealed with the device key", OriginSystem, nil); err != nil {
		return err
	}
	s.setCandidateTree(s.running)
	s.runValid = rules.Validate(s.running, s.ruleOptions()...) == nil
	return nil
}

// upgradeTree returns t with its key values in plain text or in the former
// cipher form sealed with the device key (rules.KeyCipher.Upgrade) and its
// clear-text passwords hashed (hashStoredPasswords), and how many there
// were: t itself when none, else a copy (stored trees are
// never changed in place).
func (s *Store) upgradeTree(t *gen.Device) (*gen.Device, int) {
	n := 0
	var c *gen.Device
	for id, k := range keys(t) {
		if k == nil || k.KeyValue == nil {
			continue
		}
		v, changed := s.keys.Upgrade(*k.KeyValue)
		if !changed {
			continue
		}
		if c == nil {
			c = copyTree(t)
		}
		c.Ntp.Authentication.Key[id].KeyValue = &v
		n++
	}
	if c == nil {
		c = t
	}
	c, m := hashStoredPasswords(c)
	if n+m == 0 {
		return t, 0
	}
	return c, n + m
}

// Keys returns the device's key cipher: the agent opens key values with it.
func (s *Store) Keys() *rules.KeyCipher { return s.keys }
