package cli

import (
	"fmt"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/server/nacm"
	"github.com/ntpagent/ntpagent/yang"
)

// Access control in the CLI (RFC 8341, the NETCONF server's decisions): a
// command that amounts to a NETCONF operation needs exec access to it, an
// edit is judged by its effect on the candidate, and every display shows
// only what the user may read.

// factoryPolicy compiles the factory defaults, for a CLI that is given no
// policy.
func factoryPolicy() (*nacm.Policy, error) {
	ys, err := yang.Load()
	if err != nil {
		return nil, err
	}
	sch, err := nacm.NewSchema(ys.Library(), &gen.Device{})
	if err != nil {
		return nil, err
	}
	return nacm.Compile(nacm.FactoryDefault(), sch)
}

// access is the session's answers under the policy now; nil when there is
// no policy (every request is then denied).
func (s *session) access() *nacm.Access {
	p := s.c.policy()
	if p == nil {
		return nil
	}
	if s.acc == nil || s.accPolicy != p {
		s.acc, s.accPolicy = p.Access(nacm.Session{User: s.ts.User, ExternalGroups: []string{roleName(s.ts.Role)}, Recovery: s.ts.Recovery}), p
	}
	return s.acc
}

// may tells whether the user may execute the operation op (module, rpc).
func (s *session) may(op [2]string) bool {
	a := s.access()
	return a != nil && a.Exec(op[0], op[1])
}

// readable is a tree as the user may read it.
func (s *session) readable(root *gen.Device) *gen.Device {
	a := s.access()
	if a == nil {
		return &gen.Device{}
	}
	return a.Prune(root).(*gen.Device)
}

// writeCheck judges an edit's effect on the candidate (RFC 8341 §3.4.5);
// see the NETCONF server's: what changes is what access control guards.
func (s *session) writeCheck() func(before, after *gen.Device) error {
	a := s.access()
	return func(before, after *gen.Device) error {
		if a == nil {
			return rpcerror.New(rpcerror.TagAccessDenied, "", "Access control has no policy.")
		}
		if d := a.CheckWrite(before, after); d != nil {
			return &rpcerror.Error{Type: rpcerror.TypeApplication, Tag: rpcerror.TagAccessDenied, Path: d.Path,
				Message: fmt.Sprintf("Access control does not permit user %s to %s %s.", s.ts.User, d.Op, d.Path)}
		}
		return nil
	}
}

// saveCheck is writeCheck for save (copy-config of running to startup,
// RFC 8341 §3.2.6), which must also read its whole source, as NETCONF's
// copy-config: a running holding nodes the user may not read is refused
// rather than saved without them.
func (s *session) saveCheck() func(before, after *gen.Device) error {
	a, write := s.access(), s.writeCheck() // not under the store's lock, where the check runs
	return func(before, after *gen.Device) error {
		if a != nil && after != nil && a.Prune(after) != any(after) {
			return rpcerror.New(rpcerror.TagAccessDenied, "", "Access control does not permit user %s to read all of the running configuration.", s.ts.User)
		}
		return write(before, after)
	}
}

// readsKeys tells whether the user may read NTP key values (in cipher
// form): the rules' answer for the key-value leaf (nacm:default-deny-all),
// which decides whether a display shows "******" in their place.
func (s *session) readsKeys() bool {
	a := s.access()
	return a != nil && a.ReadsPath("/ntpagent-ntp:ntp/authentication/key/key-value")
}
