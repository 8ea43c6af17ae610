// Package datastore owns ntpagent's configuration datastores (RFC 6241 §5.1):
// one candidate shared by every NETCONF and CLI session, the running
// configuration and the startup configuration (§8.7), with edits that apply whole or not at all, validation, locks
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
//	              record holds a whole tree. An ordered-by user list (the
//	              rule-lists of /nacm and their rules) is an array in the
//	              list's order, which every reading keeps (RFC 7951 §5.4).
//	              The journal is the durable truth:
//	              it is created whole (temporary file, fsync, rename, fsync of
//	              the folder) and grows by one fdatasync'ed line per commit.
//	running.json  the snapshot: a readable RFC 7951 copy of running, written
//	              at compaction (before the journal is swapped) and at Close,
//	              so it is always the tree of a commit the journal holds. At a
//	              first start (no journal, no format file) it is a
//	              configuration made by hand, imported as commit 1.
//	format        "ntpagent-datastore 1": written once the first journal
//	              exists; from then on a missing journal is damage.
//	confirm.json  present while a confirmed commit is unconfirmed: the commit
//	              to return to if the process dies before the confirmation.
//	lock          flock'ed while a Store has the directory open.
//	startup       the startup configuration (RFC 6241 §8.7): one record of
//	              the journal's format holding a whole tree and who saved
//	              it, replaced whole (temporary file, fsync, rename, fsync of
//	              the folder) by each copy-config to startup or save. Absent
//	              until the first save.
//	boot-id       the host's boot ID (/proc/sys/kernel/random/boot_id) at
//	              the last start. Running survives a restart of the
//	              process; at the first start after the host booted (the
//	              boot ID differs) running becomes startup's content, as a
//	              system commit, unless nothing was saved yet
//	              (Options.RunningFrom forces either behaviour).
//
// Integrity: a crash can leave only one kind of damage, a journal tail
// without its end of line (the append that was never acknowledged); Open cuts
// it off and logs a warning naming its offset and size. Any other damage — a
// complete record whose checksum or content is wrong, a missing record (ids
// are consecutive), an empty or missing journal, an unreadable snapshot or
// one of a commit the journal does not hold, a damaged confirm.json or
// startup — makes Open refuse with a *DamageError and change nothing
// (startup included: the file is only ever replaced whole). Options.Recover
// starts from the last good state instead (the records before the damage,
// or the snapshot when it is newer; no startup), moves the damaged files aside as
// NAME.damaged-TIME and logs what was lost. (A journal cut exactly at a
// record boundary, after the last snapshot, looks like a shorter journal: no
// file tells it apart.)
//
// One file per concept: store.go (the Store, its datastores, generations,
// reads), open.go (Open, loading, Close), edit.go (edit, validate, copy,
// delete, discard), commit.go (commit, history, rollback), confirm.go
// (confirmed commit), startup.go (the startup datastore and the restart
// rule), lock.go (locks, the end of a session), compact.go
// (journal compaction and the broken store), journal.go (the record
// format), rfc7951.go (reading the stored trees: a direct walk over the
// generated structs, ygot's Unmarshal only for what it cannot place),
// integrity.go (damage and recovery), subscribe.go (committed changes of
// running, and of startup for RFC 6470's notification; with copies of the
// old and new trees, or WithoutTrees for a reader of the edits only), tree.go (copy,
// compare and diff of trees), devicekey.go and
// users.go (secrets), readrunning.go (running read by another process,
// without the lock).
//
// It owns the folder datastore/ except datastore/rules (the product rules and
// key ciphering, which it calls). It must not touch internal/rpcerror (the
// error type every failure here is made of) nor gen/ (generated), and it
// knows nothing of NETCONF, its XML or SSH.
package datastore
