package cli

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// Local users (/system/local-user), in a small VRP-like form of the system
// view:
//
//	local-user NAME [ role { admin | operator } | password { PASSWORD |
//	    irreversible-cipher HASH } | authorized-key LINE ]
//	undo local-user NAME [ password | authorized-key LINE ]
//
// The datastore stores a password only as its bcrypt hash;
// display current-configuration shows it as "password irreversible-cipher
// HASH" to the admin role and leaves the line out for the others.

// userNamePattern is the YANG pattern of local-user/name.
var userNamePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)

var (
	pUserName = &paramSpec{name: "STRING<1-32>", check: func(tok string) (string, bool) {
		return tok, len(tok) <= 32 && userNamePattern.MatchString(tok)
	}}
	pPassword = &paramSpec{name: "STRING<1-72>", check: func(tok string) (string, bool) {
		// A clear-text password that looks like a hash would be taken for it.
		if rules.IsPasswordHash(tok) || len(tok) > 72 {
			return "", false
		}
		return stringParam("", 1, 72, "?").check(tok)
	}}
	pPasswordHash = &paramSpec{name: "STRING<60>", check: func(tok string) (string, bool) {
		return tok, rules.IsPasswordHash(tok)
	}}
	// An authorized_keys line takes the rest of the command line, as it is.
	pAuthorizedKey = &paramSpec{name: "STRING<1-1900>", rest: true, check: func(tok string) (string, bool) {
		return tok, printable(tok)
	}}
)

func localUserTree() *node {
	role := func(word, help string) *node { return kw(word, help).tagged("role").runs(cmdUserRole) }
	return kw("local-user", "Local user",
		prm(pUserName, "user", "User name",
			kw("authorized-key", "SSH public key the user logs in with",
				prm(pAuthorizedKey, "key", "A line of OpenSSH's authorized_keys format").runs(cmdUserKey)),
			kw("password", "Password (stored as a bcrypt hash)",
				kw("irreversible-cipher", "The password given as its bcrypt hash",
					prm(pPasswordHash, "password", "bcrypt hash").runs(cmdUserPassword)),
				prm(pPassword, "password", "Password in clear text").runs(cmdUserPassword)),
			kw("role", "What the user may do",
				role("admin", "Read and write the configuration"),
				role("operator", "Read the configuration without its secrets")),
		).runs(cmdUser))
}

func undoLocalUserTree() *node {
	return kw("local-user", "Local user",
		prm(pUserName, "user", "User name",
			kw("authorized-key", "SSH public key",
				prm(pAuthorizedKey, "key", "A line of OpenSSH's authorized_keys format").runs(cmdUndoUserKey)),
			kw("password", "Password").runs(cmdUndoUserPassword),
		).runs(cmdUndoUser))
}

// editUser runs f on the local user a names, created when create is true;
// otherwise an unknown user is an error.
func editUser(s *session, a args, create bool, f func(u *gen.NtpagentSystem_System_LocalUser) error) error {
	name := a["user"]
	return s.edit(func(root *gen.Device) error {
		u := root.GetSystem().GetLocalUser(name)
		if u == nil {
			if !create {
				return userNotConfigured(name)
			}
			u = root.GetOrCreateSystem().GetOrCreateLocalUser(name)
		}
		return f(u)
	})
}

func userNotConfigured(name string) error {
	return rpcerror.New(rpcerror.TagDataMissing, rules.UserPath(name, ""), "Local user %s is not configured.", name)
}

func cmdUser(s *session, a args) error {
	return editUser(s, a, true, func(*gen.NtpagentSystem_System_LocalUser) error { return nil })
}

var roleByWord = map[string]gen.E_NtpagentSystem_System_LocalUser_Role{
	"admin":    gen.NtpagentSystem_System_LocalUser_Role_admin,
	"operator": gen.NtpagentSystem_System_LocalUser_Role_operator,
}

func cmdUserRole(s *session, a args) error {
	return editUser(s, a, true, func(u *gen.NtpagentSystem_System_LocalUser) error {
		u.Role = roleByWord[a["role"]]
		return nil
	})
}

func cmdUserPassword(s *session, a args) error {
	return editUser(s, a, true, func(u *gen.NtpagentSystem_System_LocalUser) error {
		p := a["password"]
		u.Password = &p
		return nil
	})
}

func cmdUserKey(s *session, a args) error {
	return editUser(s, a, true, func(u *gen.NtpagentSystem_System_LocalUser) error {
		if !slices.Contains(u.AuthorizedKey, a["key"]) {
			u.AuthorizedKey = append(u.AuthorizedKey, a["key"])
		}
		return nil
	})
}

func cmdUndoUser(s *session, a args) error {
	name := a["user"]
	return s.edit(func(root *gen.Device) error {
		if root.GetSystem().GetLocalUser(name) == nil {
			return userNotConfigured(name)
		}
		root.System.DeleteLocalUser(name)
		return nil
	})
}

func cmdUndoUserPassword(s *session, a args) error {
	return editUser(s, a, false, func(u *gen.NtpagentSystem_System_LocalUser) error {
		u.Password = nil
		return nil
	})
}

func cmdUndoUserKey(s *session, a args) error {
	return editUser(s, a, false, func(u *gen.NtpagentSystem_System_LocalUser) error {
		i := slices.Index(u.AuthorizedKey, a["key"])
		if i < 0 {
			return rpcerror.New(rpcerror.TagDataMissing, rules.UserKeyPath(a["user"], a["key"]), "Local user %s has no such authorized key.", a["user"])
		}
		u.AuthorizedKey = slices.Delete(u.AuthorizedKey, i, i+1)
		return nil
	})
}

// userLines renders the local users, by name: the role when set, the
// password hash only with showSecrets, the authorized keys in order. A user
// with none of these shows as "local-user NAME".
func userLines(sys *gen.NtpagentSystem_System, showSecrets bool) []string {
	if sys == nil {
		return nil
	}
	names := make([]string, 0, len(sys.LocalUser))
	for name := range sys.LocalUser {
		names = append(names, name)
	}
	slices.Sort(names)
	var lines []string
	for _, name := range names {
		u := sys.LocalUser[name]
		n := len(lines)
		for w, r := range roleByWord {
			if u.Role == r {
				lines = append(lines, fmt.Sprintf("local-user %s role %s", name, w))
			}
		}
		if showSecrets && u.Password != nil && rules.IsPasswordHash(*u.Password) {
			lines = append(lines, fmt.Sprintf("local-user %s password irreversible-cipher %s", name, *u.Password))
		}
		for _, k := range u.AuthorizedKey {
			lines = append(lines, fmt.Sprintf("local-user %s authorized-key %s", name, k))
		}
		if len(lines) == n {
			lines = append(lines, "local-user "+name)
		}
	}
	return lines
}
