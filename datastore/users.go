package datastore

import (
	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// sealSecrets turns the secrets of an edited tree t into their stored form
// before it is normalized, validated or stored: key values into this
// device's cipher form (sealKeys), passwords into bcrypt hashes
// (hashPasswords). base is the tree t was edited from (nil: none).
func (s *Store) sealSecrets(t, base *gen.Device) error {
	if err := s.sealKeys(t, base); err != nil {
		return err
	}
	return hashPasswords(t, base)
}

// hashPasswords replaces the passwords of t's local users that differ from
// base's by what rules.PasswordToStore gives: a password given in plain
// text is never stored, journaled or shown.
func hashPasswords(t, base *gen.Device) error {
	bu := localUsers(base)
	for name, u := range localUsers(t) {
		if u == nil || u.Password == nil {
			continue
		}
		old := ""
		if q := bu[name]; q != nil && q.Password != nil {
			if *q.Password == *u.Password {
				continue
			}
			old = *q.Password
		}
		h, err := rules.PasswordToStore(*u.Password, old)
		if err != nil {
			return rpcerror.New(rpcerror.TagInvalidValue, rules.UserPath(name, "password"), "The password of local user %s is refused: %s.", name, err)
		}
		u.Password = &h
	}
	return nil
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
