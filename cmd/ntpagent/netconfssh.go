package main

import (
	"context"
	"net"

	"github.com/ntpagent/ntpagent/server"
	"github.com/ntpagent/ntpagent/server/netconf"
)

// netconfOverSSH serves the SSH "netconf" subsystem with nc (RFC 6242 §3).
// The user's role is its access control group (RFC 8341 external group);
// an admin of the users file is the recovery session.
func netconfOverSSH(nc *netconf.Server) server.SubsystemHandler {
	return server.SubsystemFunc(func(ctx context.Context, s *server.SubsystemSession) {
		host, _, err := net.SplitHostPort(s.RemoteAddr.String())
		if err != nil {
			host = s.RemoteAddr.String()
		}
		_ = nc.Serve(ctx, s.Channel, netconf.SessionInfo{
			ID: s.ID, User: s.User, ReadOnly: s.Role != server.RoleAdmin,
			Groups: []string{string(s.Role)}, Recovery: s.Recovery,
			SourceHost: host, Transport: "netconf-ssh",
			Subscribed: s.Waiting, TimedOut: s.TimedOut,
		})
	})
}
