package main

import (
	"bufio"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/server"
)

const userUsage = `usage: ntpagent user add NAME [--role admin|operator] [--key 'AUTHORIZED_KEYS LINE'] [--no-password] [--state-dir DIR]
       ntpagent user passwd NAME [--state-dir DIR]
       ntpagent user del NAME [--state-dir DIR]
       ntpagent user list [--state-dir DIR]
The password is read from the terminal (twice), or as one line from standard input.
A running daemon picks the change up at the next login.
list shows the users of the users file and those of the running configuration
(/system/local-user), which take precedence over the same name in the file.`

// runUser is "ntpagent user ...": the users of the SSH server, for the
// first setup and for recovery, edited in STATE/ssh/users.json.
func runUser(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(userUsage)
	}
	verb, rest := args[0], args[1:]
	var name string
	if verb != "list" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return fmt.Errorf("user %s: name the user\n%s", verb, userUsage)
		}
		name, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("ntpagent user "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state-dir", "./ntpagent-state", "the daemon's --state-dir")
	role := fs.String("role", "operator", "admin (reads and writes) or operator (reads)")
	key := fs.String("key", "", "an SSH public key, as an authorized_keys line")
	noPassword := fs.Bool("no-password", false, "no password: the user logs in with its key only")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("user %s: unexpected argument %q", verb, fs.Arg(0))
	}
	dir := filepath.Join(*stateDir, "ssh")
	path := filepath.Join(dir, server.UsersFileName)
	users, err := server.LoadUsers(path)
	if err != nil {
		return err
	}
	switch verb {
	case "list":
		return listUsers(stdout, users, *stateDir)
	case "add", "passwd":
		exists := hasUser(users, name)
		if verb == "add" && exists {
			return fmt.Errorf("user add: %s exists (use 'ntpagent user passwd %s' to change its password)", name, name)
		}
		if verb == "passwd" && !exists {
			return fmt.Errorf("user passwd: no user %q", name)
		}
		pw := ""
		if verb == "passwd" || !*noPassword {
			if pw, err = readPassword(stdin, stderr, name); err != nil {
				return err
			}
		}
		r := server.Role(*role)
		if verb == "passwd" {
			r = roleOf(users, name)
		}
		if err := users.Set(name, r, pw); err != nil {
			return err
		}
		if *key != "" {
			if err := users.AddKey(name, *key); err != nil {
				return err
			}
		}
		if verb == "add" && pw == "" && *key == "" {
			return errors.New("user add: give a password or a --key: the user could not log in")
		}
	case "del":
		if err := users.Delete(name); err != nil {
			return err
		}
	default:
		return fmt.Errorf("user: unknown command %q\n%s", verb, userUsage)
	}
	if !hasAdmin(users) {
		return errors.New("user: the users would have no admin, and nobody could configure the device: add an admin first")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := users.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "user %s: %s saved in %s\n", verb, name, path)
	if verb != "del" {
		if running, err := datastore.ReadRunning(filepath.Join(*stateDir, "datastore")); err == nil && running.GetSystem().GetLocalUser(name) != nil {
			fmt.Fprintf(stdout, "user %s: note: the running configuration has a local-user %s, which takes precedence at login: this entry is not used while it is configured\n", verb, name)
		}
	}
	return nil
}

// listUsers prints the users who may log in: those of the users file and
// the local users of the running configuration, read from the state
// folder as they are now (datastore.ReadRunning: no lock, nothing
// written, so a running daemon is no obstacle). A name in both is listed
// twice, and only the configuration's entry logs in (the server looks
// there first). The users file is listed even when the configuration
// cannot be read — it is the way back in — and the error follows.
func listUsers(w io.Writer, file *server.Users, stateDir string) error {
	type row struct {
		name, role, source, login string
		password                  bool
		keys                      int
		rank                      int // 0: the entry that logs in
	}
	running, runErr := datastore.ReadRunning(filepath.Join(stateDir, "datastore"))
	var configured map[string]*gen.NtpagentSystem_System_LocalUser
	if sys := running.GetSystem(); sys != nil {
		configured = sys.LocalUser
	}
	var rows []row
	for _, u := range configured {
		role := server.RoleOperator
		if u.Role == gen.NtpagentSystem_System_LocalUser_Role_admin {
			role = server.RoleAdmin
		}
		rows = append(rows, row{name: u.GetName(), role: string(role), source: "running", login: "yes",
			password: u.Password != nil, keys: len(u.AuthorizedKey)})
	}
	for _, u := range file.Users {
		login := "yes"
		rank := 0
		if configured[u.Name] != nil {
			login, rank = "no: running's "+u.Name+" takes precedence", 1
		}
		rows = append(rows, row{name: u.Name, role: string(u.Role), source: server.UsersFileName, login: login,
			password: u.PasswordHash != "", keys: len(u.AuthorizedKeys), rank: rank})
	}
	// By name; for a name in both, the entry that logs in first.
	slices.SortStableFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.rank, b.rank))
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tPASSWORD\tKEYS\tSOURCE\tLOGS IN")
	for _, r := range rows {
		pw := "no"
		if r.password {
			pw = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.name, r.role, pw, r.keys, r.source, r.login)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if runErr != nil {
		return fmt.Errorf("user list: the users of the running configuration are not listed, and may take precedence over those above: %w", runErr)
	}
	return nil
}

func hasUser(u *server.Users, name string) bool { return roleOf(u, name) != "" }

func roleOf(u *server.Users, name string) server.Role {
	for _, x := range u.Users {
		if x.Name == name {
			return x.Role
		}
	}
	return ""
}

func hasAdmin(u *server.Users) bool {
	for _, x := range u.Users {
		if x.Role == server.RoleAdmin {
			return true
		}
	}
	return false
}

// readPassword asks twice on a terminal, or reads one line from a pipe.
func readPassword(stdin io.Reader, stderr io.Writer, name string) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "password for %s: ", name)
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(stderr, "again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return checkPassword(string(a))
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 1024)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return checkPassword(strings.TrimRight(line, "\r\n"))
}

func checkPassword(pw string) (string, error) {
	if len(pw) < 8 {
		return "", errors.New("the password is shorter than 8 characters")
	}
	return pw, nil
}
