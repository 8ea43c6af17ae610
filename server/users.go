package server

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/atomicfile"
)

// Role is what a user may do.
type Role string

// The two roles: admin reads and writes, operator only reads.
const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
)

// UsersFileName is the users file inside the state directory.
const UsersFileName = "users.json"

// User is one account of the users file.
type User struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	// PasswordHash is a bcrypt hash; empty disables password login.
	PasswordHash string `json:"password-hash,omitempty"`
	// AuthorizedKeys are lines in OpenSSH authorized_keys format.
	AuthorizedKeys []string `json:"authorized-keys,omitempty"`

	fromFile bool // found in the users file, not in the configuration
}

// Users is the content of the users file.
type Users struct {
	Users []User `json:"users"`
}

// LoadUsers reads a users file. A missing file gives an empty set (a
// first start); a file that exists must hold users, each named once with a
// known role and well-formed keys: a damaged file is refused, never
// silently repaired (an empty one would otherwise recreate admin with a new
// password, a duplicated name would shadow a user).
func LoadUsers(path string) (*Users, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Users{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("server: reading users: %w", err)
	}
	var u Users
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&u); err != nil {
		return nil, fmt.Errorf("server: users file %s is not valid (%w): mend it, or set users with 'ntpagent user'", path, err)
	}
	if len(u.Users) == 0 {
		return nil, fmt.Errorf("server: users file %s holds no user: add one with 'ntpagent user add', or remove the file to have admin created at the next start", path)
	}
	seen := map[string]bool{}
	for i, x := range u.Users {
		if x.Name == "" {
			return nil, fmt.Errorf("server: users file %s: user %d has no name", path, i+1)
		}
		if seen[x.Name] {
			return nil, fmt.Errorf("server: users file %s: user %s is listed twice", path, x.Name)
		}
		seen[x.Name] = true
		if x.Role != RoleAdmin && x.Role != RoleOperator {
			return nil, fmt.Errorf("server: users file %s: user %s has role %q, want admin or operator", path, x.Name, x.Role)
		}
		for _, k := range x.AuthorizedKeys {
			if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k)); err != nil {
				return nil, fmt.Errorf("server: users file %s: user %s: bad key: %w", path, x.Name, err)
			}
		}
	}
	return &u, nil
}

// Save writes the users file durably (atomicfile) with mode 0600.
func (u *Users) Save(path string) error {
	b, err := json.MarshalIndent(u, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("server: writing users: %w", err)
	}
	return nil
}

// Delete removes a user; the last admin cannot be removed (nobody could
// configure the device any more).
func (u *Users) Delete(name string) error {
	i := slices.IndexFunc(u.Users, func(x User) bool { return x.Name == name })
	if i < 0 {
		return fmt.Errorf("server: no user %q", name)
	}
	if u.Users[i].Role == RoleAdmin && !slices.ContainsFunc(u.Users, func(x User) bool { return x.Name != name && x.Role == RoleAdmin }) {
		return fmt.Errorf("server: %s is the last admin; add another admin first", name)
	}
	u.Users = slices.Delete(u.Users, i, i+1)
	return nil
}

func (u *Users) find(name string) *User {
	for i := range u.Users {
		if u.Users[i].Name == name {
			return &u.Users[i]
		}
	}
	return nil
}

// Set adds or updates a user's role and, when password is not empty, its password.
func (u *Users) Set(name string, role Role, password string) error {
	if name == "" || strings.ContainsAny(name, " \t\n:/") {
		return fmt.Errorf("server: bad user name %q", name)
	}
	if role != RoleAdmin && role != RoleOperator {
		return fmt.Errorf("server: bad role %q", role)
	}
	x := u.find(name)
	if x == nil {
		u.Users = append(u.Users, User{Name: name})
		x = &u.Users[len(u.Users)-1]
	}
	x.Role = role
	if password != "" {
		h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
		if err != nil {
			return fmt.Errorf("server: hashing password: %w", err)
		}
		x.PasswordHash = string(h)
	}
	return nil
}

// AddKey adds an authorized public key (authorized_keys line) to a user.
func (u *Users) AddKey(name, line string) error {
	x := u.find(name)
	if x == nil {
		return fmt.Errorf("server: no user %q", name)
	}
	if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err != nil {
		return fmt.Errorf("server: bad key for %s: %w", name, err)
	}
	x.AuthorizedKeys = append(x.AuthorizedKeys, strings.TrimSpace(line))
	return nil
}

// dummyHash is checked against the password given for a user that does
// not exist (or has no password), so that such a login spends the time of
// a real check and names cannot be probed by timing. It is a bcrypt hash
// at bcrypt.DefaultCost (the cost of the hashes the device writes) of 32
// random bytes nobody kept; the check's result is never used, so the hash
// being public gives nothing away, and a constant spares every start the
// tens of milliseconds of hashing one.
const dummyHash = "$2a$10$laGkFr8tuTcnUCNuXZPjXutTqkos.5MbDtmoD1FSKZnR4/hShSeP2"

// checkPassword returns the role of user x (nil: no such user) when the
// password matches.
func checkPassword(x *User, password []byte) (Role, bool) {
	if x == nil || x.PasswordHash == "" {
		// Spend the same time as a real check so that names cannot be probed.
		_ = bcrypt.CompareHashAndPassword([]byte(dummyHash), password)
		return "", false
	}
	if bcrypt.CompareHashAndPassword([]byte(x.PasswordHash), password) != nil {
		return "", false
	}
	return x.Role, true
}

// checkKey returns the role of user x (nil: no such user) when key is one
// of its authorized keys.
func checkKey(x *User, key ssh.PublicKey) (Role, bool) {
	if x == nil {
		return "", false
	}
	want := key.Marshal()
	for _, line := range x.AuthorizedKeys {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err == nil && subtle.ConstantTimeCompare(k.Marshal(), want) == 1 {
			return x.Role, true
		}
	}
	return "", false
}

// lookupUser finds the user who logs in as name. The local users of the
// running configuration (/system/local-user) come first: a name configured
// there is that user, whatever the users file says of the same name. The
// users file holds the users of the first setup and of recovery (a user
// added there under a name the configuration does not use can always log
// in). nil when neither knows the name.
func lookupUser(running *gen.Device, file *Users, name string) *User {
	if u := running.GetSystem().GetLocalUser(name); u != nil {
		x := &User{Name: name, Role: RoleOperator, AuthorizedKeys: u.AuthorizedKey}
		if u.Role == gen.NtpagentSystem_System_LocalUser_Role_admin {
			x.Role = RoleAdmin
		}
		// The datastore stores only hashes; anything else never matches.
		if p := u.GetPassword(); rules.IsPasswordHash(p) {
			x.PasswordHash = p
		}
		return x
	}
	u := file.find(name)
	if u != nil {
		c := *u
		c.fromFile = true
		return &c
	}
	return nil
}

// randomPassword returns a 20-character password from an unambiguous alphabet.
func randomPassword() (string, error) {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", err
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b), nil
}

// usersFile is the users file as the server sees it: read again when it
// changes on disk, so that adding a user or a key needs no restart. The
// file is checked (one stat) at each authentication; a file that does not
// load (bad JSON, bad key, removed) is logged once and the last good users
// stay in force.
type usersFile struct {
	path string
	log  *slog.Logger

	mu    sync.Mutex
	users *Users
	seen  os.FileInfo // the version last looked at, good or bad
}

func newUsersFile(path string, log *slog.Logger, users *Users) *usersFile {
	f := &usersFile{path: path, log: log, users: users}
	f.seen, _ = os.Stat(path)
	return f
}

// current returns the users, reloading the file first if it changed.
func (f *usersFile) current() *Users {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	if err != nil {
		if f.seen != nil {
			f.log.Error("users file unreadable; keeping the users loaded before", "file", f.path, "err", err)
			f.seen = nil
		}
		return f.users
	}
	if f.seen != nil && os.SameFile(f.seen, fi) && fi.ModTime().Equal(f.seen.ModTime()) && fi.Size() == f.seen.Size() {
		return f.users
	}
	f.seen = fi
	u, err := LoadUsers(f.path)
	if err != nil {
		f.log.Error("users file changed but does not load; keeping the users loaded before", "file", f.path, "err", err)
		return f.users
	}
	f.users = u
	f.log.Info("users file reloaded", "file", f.path, "users", len(u.Users))
	return u
}
