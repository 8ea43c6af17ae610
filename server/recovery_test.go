package server

import (
	"testing"

	"github.com/ntpagent/ntpagent/gen"
)

// RFC 8341 §3.4.3: the recovery session is an admin of the users file (the
// first setup's and recovery's user); an admin configured in
// /system/local-user, and an operator of the file, are not.
func TestRecoverySessionIsTheUsersFileAdminRFC8341(t *testing.T) {
	file := &Users{Users: []User{{Name: "root", Role: RoleAdmin}, {Name: "watch", Role: RoleOperator}, {Name: "shadowed", Role: RoleAdmin}}}
	running := &gen.Device{}
	running.GetOrCreateSystem().GetOrCreateLocalUser("cfgadmin").Role = gen.NtpagentSystem_System_LocalUser_Role_admin
	running.GetOrCreateSystem().GetOrCreateLocalUser("shadowed").Role = gen.NtpagentSystem_System_LocalUser_Role_admin
	for _, c := range []struct {
		user     string
		recovery bool
	}{
		{"root", true},
		{"watch", false},
		{"cfgadmin", false},
		{"shadowed", false}, // the configuration's user of that name wins
	} {
		u := lookupUser(running, file, c.user)
		if u == nil {
			t.Fatalf("%s not found", c.user)
		}
		p := permissions(u, u.Role)
		if got := p.Extensions["recovery"] == "true"; got != c.recovery {
			t.Errorf("%s: recovery %t, want %t", c.user, got, c.recovery)
		}
		if p.Extensions["role"] != string(u.Role) {
			t.Errorf("%s: role %q", c.user, p.Extensions["role"])
		}
	}
}
