// Package atomicfile replaces small files durably: after a crash or a power
// loss a file written with Write holds its old content or its new content,
// never a mix or nothing. It owns no state and touches only the file it is
// given and a temporary file next to it.
//
// Used by the datastore (running, journal, confirmed-commit marker) and by
// the agent (the NTP drift file).
package atomicfile
