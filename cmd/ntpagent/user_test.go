package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/gen"
)

// userRows runs "ntpagent user list" on stateDir and returns its rows by
// "NAME SOURCE", each the columns after those two: role, password, keys,
// whether it logs in.
func userRows(t *testing.T, stateDir string) (map[string]string, error) {
	t.Helper()
	var out bytes.Buffer
	err := runUser([]string{"list", "--state-dir", stateDir}, strings.NewReader(""), &out, &out)
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("no header:\n%s", out.String())
	}
	rows := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 6 {
			t.Fatalf("short row %q", l)
		}
		rows[f[0]+" "+f[4]] = strings.Join(append(f[1:4:4], f[5:]...), " ")
	}
	return rows, err
}

// ntpagent user list shows the users who may log in from both places:
// users.json and the running configuration's /system/local-user, whose
// entry is the one that logs in when a name is in both (the server looks
// there first). It reads the state folder while the datastore is open —
// as a running daemon holds it, with its lock — and changes nothing there.
func TestUserListShowsRunningsUsersAndWhichLogsIn(t *testing.T) {
	s := testSettings(t)
	for _, u := range []struct{ stdin, name, role string }{
		{"root-password-1\n", "root", "admin"},
		{"noc-password-1\n", "noc", "admin"},
	} {
		if err := runUser([]string{"add", u.name, "--role", u.role, "--state-dir", s.StateDir}, strings.NewReader(u.stdin), io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := userRows(t, s.StateDir)
	if err != nil {
		t.Fatalf("before the first start: %v", err)
	}
	if len(rows) != 2 || rows["root users.json"] != "admin yes 0 yes" || rows["noc users.json"] != "admin yes 0 yes" {
		t.Fatalf("before the first start: %v", rows)
	}

	store, err := datastore.Open(datastore.Options{Dir: filepath.Join(s.StateDir, "datastore"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	err = store.Edit(datastore.Session{User: "root"}, datastore.Running, datastore.EditOptions{}, func(d *gen.Device) error {
		sys := d.GetOrCreateSystem()
		pw := "carol-password-1"
		sys.GetOrCreateLocalUser("carol").Password = &pw
		sys.GetOrCreateLocalUser("carol").Role = gen.NtpagentSystem_System_LocalUser_Role_admin
		sys.GetOrCreateLocalUser("noc").AuthorizedKey = []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIPzw+FWpeabqTQW9eWKUp71wGrkEy+76hEgL0tMK4Yp noc@example"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(s.StateDir, "datastore", "journal")
	before, _ := os.ReadFile(journal)
	rows, err = userRows(t, s.StateDir)
	if err != nil {
		t.Fatalf("beside the open datastore: %v", err)
	}
	want := map[string]string{
		"carol running":   "admin yes 0 yes",
		"noc running":     "operator no 1 yes",
		"noc users.json":  "admin yes 0 no: running's noc takes precedence",
		"root users.json": "admin yes 0 yes",
	}
	for k, v := range want {
		if rows[k] != v {
			t.Errorf("%s: %q, want %q", k, rows[k], v)
		}
	}
	if len(rows) != len(want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	if after, _ := os.ReadFile(journal); !bytes.Equal(before, after) {
		t.Error("user list changed the journal")
	}
	// Changing the shadowed entry says that it is not the one used.
	var out bytes.Buffer
	if err := runUser([]string{"passwd", "noc", "--state-dir", s.StateDir}, strings.NewReader("noc-password-2\n"), &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "takes precedence at login") {
		t.Errorf("passwd of a name running configures: %q", out.String())
	}

	// A configuration that cannot be read: the users file is still listed
	// (the way back in), and the command fails saying what is missing.
	store.Close()
	if err := os.WriteFile(journal, []byte("00000000 {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rows, err = userRows(t, s.StateDir)
	if err == nil || !strings.Contains(err.Error(), "running configuration") {
		t.Fatalf("a damaged journal: %v", err)
	}
	if rows["root users.json"] != "admin yes 0 yes" {
		t.Fatalf("with the configuration unreadable: %v", rows)
	}
}
