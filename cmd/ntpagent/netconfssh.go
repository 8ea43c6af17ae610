package main

import (
	"context"
	"net"

	"github.com/ntpagent/ntpagent/server"
	"github.com/ntpagent/ntpagent/server/netconf"
)

// netconfOverSSH serves the SSH "netconf" subsystem with nc (RFC 6242 §3).
// Users of the admin role may write; every other role reads only, and is
// not shown key values (RFC 6241 §7 access-denied for writes).
func netconfOverSSH(nc *netconf.Server) server.SubsystemHandler {
	return server.SubsystemFunc(func(ctx context.Context, s *server.SubsystemSession) {
		host, _, err := net.SplitHostPort(s.RemoteAddr.String())
		if err != nil {
			host = s.RemoteAddr.String()
		}
		_ = nc.Serve(ctx, s.Channel, netconf.SessionInfo{
			ID: s.ID, User: s.User, ReadOnly: s.Role != server.RoleAdmin,
			SourceHost: host, Transport: "netconf-ssh",
			Subscribed: s.Waiting, TimedOut: s.TimedOut,
		})
	})
}
