package datastore

import (
	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// sealSecrets turns the secrets of an edited tree t into their stored form
// before it is normalized, validated or stored: key values into this
// device's cipher form (sealKeys), passwords into bcrypt hashes
// (hashPasswords). base is the tree t was edited from (nil: none). A tree
// with more local users than the YANG allows is refused first, so that
// the work of one edit (a bcrypt hash per password) stays bounded even
// when the edit is not validated (test-option set). hashes, when not nil,
// keeps the hashes made and is looked in first (see Edit).
//
// sealSecrets reads only t, base and the device key, never the Store's
// datastores: the callers run it without the lock, which would otherwise
// hold every other session's reads and commits for as long as bcrypt takes.
func (s *Store) sealSecrets(t, base *gen.Device, hashes passwordHashes) error {
	if err := rules.CheckLocalUsersBound(t); err != nil {
		return err
	}
	if err := s.sealKeys(t, base); err != nil {
		return err
	}
	return s.hashPasswords(t, base, hashes)
}

// passwordHashes remembers what rules.PasswordToStore gave for a user's
// password, so that an edit applied a second time (its datastore changed
// while its passwords were hashed outside the lock) hashes nothing again.
// The user's name is part of the key: two users given the same text get
// two salts.
type passwordHashes map[passwordInput]passwordHash

type passwordInput struct{ user, given, old string }

type passwordHash struct {
	stored string
	err    error
}

// hashPasswords replaces the passwords of t's local users that differ from
// base's by what rules.PasswordToStore gives: a password given in plain
// text is never stored, journaled or shown.
func (s *Store) hashPasswords(t, base *gen.Device, hashes passwordHashes) error {
	bu := localUsers(base)
	for name, u := range localUsers(t) {
		if u == nil || u.Password == nil {
			continue
		}
		in := passwordInput{user: name, given: *u.Password}
		if q := bu[name]; q != nil && q.Password != nil {
			if *q.Password == *u.Password {
				continue
			}
			in.old = *q.Password
		}
		h, ok := hashes[in]
		if !ok {
			h.stored, h.err = s.passwordToStore(in.given, in.old)
			if hashes != nil {
				hashes[in] = h
			}
		}
		if h.err != nil {
			return rpcerror.New(rpcerror.TagInvalidValue, rules.UserPath(name, "password"), "The password of local user %s is refused: %s.", name, h.err)
		}
		u.Password = &h.stored
	}
	return nil
}

// passwordToStore is rules.PasswordToStore, or the function a test put in
// its place to watch the hashing.
func (s *Store) passwordToStore(given, old string) (string, error) {
	if s.hashPassword != nil {
		return s.hashPassword(given, old)
	}
	return rules.PasswordToStore(given, old)
}

// hashStoredPasswords returns t with the passwords that are not bcrypt
// hashes (only a running.json made by hand holds them) replaced by their
// hash, and how many there were: t itself when none, else a copy (stored
// trees are never changed in place). A password bcrypt cannot take (empty,
// over 72 bytes) is removed, so that it is never kept in clear text: the
// user then logs in only with a key.
func hashStoredPasswords(t *gen.Device) (*gen.Device, int) {
	n := 0
	c := t
	for name, u := range localUsers(t) {
		if u == nil || u.Password == nil || rules.IsPasswordHash(*u.Password) {
			continue
		}
		if c == t {
			c = copyTree(t)
		}
		cu := c.System.LocalUser[name]
		h, err := rules.PasswordToStore(*u.Password, "")
		if err != nil {
			cu.Password = nil
		} else {
			cu.Password = &h
		}
		n++
	}
	return c, n
}
