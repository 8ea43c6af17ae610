// Package gen holds the Go structs that ygot generates from the YANG modules
// in yang/. Never edit ntpagent.go by hand: change the YANG and run `make gen`
// (or `go generate ./gen`). TestGeneratedCodeIsFresh fails when it is stale.
//
// The fake root is Device; /ntp is Device.Ntp, /system is Device.System and
// /nacm (ietf-netconf-acm, RFC 8341, with ntpagent-nacm-deviations) is
// Device.Nacm.
package gen

//go:generate ../scripts/gen.sh
