// Package nacm is the NETCONF Access Control Model (RFC 8341) as a pure
// decision procedure: it compiles the /nacm configuration once per running
// generation (Compile) and answers, for one session's user and groups
// (Policy.Access), whether the user may execute a protocol operation
// (§3.4.4), read, create, update or delete a data node (§3.4.5), and
// receive a notification (§3.4.6). On data trees (ygot structs bound to
// their YANG schema entries: the native tree and each view's, since the
// rules apply to every implemented module's data) it prunes what a user
// may not read (Prune) and finds the first node of an edit the user may
// not write (CheckWrite); data without Go structs (the NETCONF server's
// own state) is walked by its caller, node by node (Top, Child, Reads).
//
// It owns no state beyond what Compile returns, which is read-only and
// safe for concurrent use; it does no I/O, keeps no counters and knows no
// protocol: the NETCONF server and the CLI ask it, count the denials and
// render the errors.
//
// Rule-lists and rules are ordered-by user in the published module and
// the generated code keeps them as ordered maps: FromGen takes them in
// their configured order, the order RFC 8341 §3.4.5 evaluates them in,
// and CheckWrite counts moving an entry as an update of it.
package nacm
