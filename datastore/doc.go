// Package datastore owns ntpagent's configuration datastores (RFC 6241 §5.1):
// one candidate shared by every NETCONF and CLI session and the running
// configuration, with edits that apply whole or not at all, validation, locks
// (§7.5), commit and discard-changes (§8.3), confirmed commit (§8.4,
// :confirmed-commit:1.1), a bounded commit history with rollback, durable
// storage of running, and a subscription to committed changes.
//
// Files in the state directory (Options.Dir):
//
//	journal       append-only commit journal, one record a line:
//	              "<crc32 hex> <json>\n"; the json holds the commit's
//	              id, user, time, label and origin and the changed parts of
//	              the tree as an RFC 7951 document (ygot's emitter). The first
//	              record holds a whole tree. The journal is the durable truth.
//	running.json  a readable RFC 7951 copy of running, written when the
//	              journal is compacted and at Close; read only when there is
//	              no journal (first start from a hand-made configuration).
//	confirm.json  present while a confirmed commit is unconfirmed: the commit
//	              to return to if the process dies before the confirmation.
//	lock          flock'ed while a Store has the directory open.
//
// It owns the folder datastore/ (package datastore and datastore/internal).
// It must not touch datastore/xmlcodec (the XML codec), datastore/rules (the
// product rules and key ciphering, which it calls) or datastore/rpcerror (the
// error type every failure here is made of), nor gen/ (generated).
package datastore
