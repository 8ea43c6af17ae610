package rules

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// A local user's password is stored only as a bcrypt hash. An edit may give
// the password in plain text; the datastore replaces it by its hash
// (PasswordToStore) before anything is stored or validated, so no plain
// password reaches a stored tree, the journal or a reply.

// maxPasswordBytes is bcrypt's limit: it reads at most 72 bytes of input.
const maxPasswordBytes = 72

// IsPasswordHash tells whether s is a bcrypt hash ("$2a$", "$2b$" or "$2y$",
// cost, salt and hash).
func IsPasswordHash(s string) bool {
	if !strings.HasPrefix(s, "$2") {
		return false
	}
	_, err := bcrypt.Cost([]byte(s))
	return err == nil
}

// PasswordToStore returns what to store for a password given in an edit:
// a bcrypt hash as it is; the stored hash old when the plain text matches
// it (setting the same password again changes nothing, which keeps
// repeated Ansible runs idempotent); otherwise a new hash of the text. The
// error never contains the password.
func PasswordToStore(given, old string) (string, error) {
	if IsPasswordHash(given) {
		return given, nil
	}
	if given == "" {
		return "", fmt.Errorf("the password is empty (remove the password to allow only key logins)")
	}
	if len(given) > maxPasswordBytes {
		return "", fmt.Errorf("the password is longer than %d bytes", maxPasswordBytes)
	}
	if IsPasswordHash(old) && bcrypt.CompareHashAndPassword([]byte(old), []byte(given)) == nil {
		return old, nil
	}
	h, err := bcrypt.GenerateFromPassword([]byte(given), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hashing the password: %w", err)
	}
	return string(h), nil
}

// checkUsers checks the authorized keys of the local users: each one line
// of OpenSSH's authorized_keys format, listed once.
func checkUsers(sys *gen.NtpagentSystem_System, add func(tag rpcerror.Tag, appTag, path, format string, args ...any)) {
	if sys == nil {
		return
	}
	for _, name := range sortedKeys(sys.LocalUser) {
		u := sys.LocalUser[name]
		for i, line := range u.AuthorizedKey {
			if strings.ContainsAny(line, "\r\n") {
				add(rpcerror.TagInvalidValue, "", UserPath(name, "authorized-key"), "Authorized key %d of local user %s is more than one line.", i+1, name)
				continue
			}
			if _, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(line)); err != nil || len(rest) != 0 {
				add(rpcerror.TagInvalidValue, "", UserPath(name, "authorized-key"), "Authorized key %d of local user %s is not an OpenSSH authorized_keys line (\"ssh-ed25519 AAAA... comment\").", i+1, name)
				continue
			}
			if slices.Index(u.AuthorizedKey, line) < i {
				add(rpcerror.TagInvalidValue, "", UserPath(name, "authorized-key"), "Authorized key %d of local user %s is listed twice.", i+1, name)
			}
		}
	}
}
