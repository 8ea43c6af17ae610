package datastore

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/atomicfile"
)

const (
	journalName = "journal"
	runningName = "running.json"
	confirmName = "confirm.json"
)

// record is one line of the journal: a commit and the parts of the tree it
// changed (or, with Full, the whole tree), as an RFC 7951 document.
type record struct {
	ID     uint32          `json:"id"`
	User   string          `json:"user,omitempty"`
	Time   time.Time       `json:"time"`
	Label  string          `json:"label,omitempty"`
	Origin Origin          `json:"origin"`
	Full   bool            `json:"full,omitempty"`
	Top    bool            `json:"top,omitempty"` // Set carries /system, /nacm, /ntp/unsync and /ntp/authentication/enable
	Set    json.RawMessage `json:"set,omitempty"`
	Del    *deletions      `json:"del,omitempty"`
}

type deletions struct {
	Peers            []peerKey `json:"unicast-peer,omitempty"`
	Servers          []peerKey `json:"unicast-server,omitempty"`
	Keys             []uint32  `json:"key,omitempty"`
	SourceInterfaces []string  `json:"source-interface,omitempty"`
}

type peerKey struct {
	Address     string `json:"address"`
	VpnInstance string `json:"vpn-instance"`
}

func (r *record) info() CommitInfo {
	return CommitInfo{ID: r.ID, User: r.User, Time: r.Time, Label: r.Label, Origin: r.Origin}
}

func newRecord(ci CommitInfo) record {
	return record{ID: ci.ID, User: ci.User, Time: ci.Time.UTC(), Label: ci.Label, Origin: ci.Origin}
}

// emitRFC7951 renders a tree with ygot's RFC 7951 emitter, module names on
// the top-level nodes, compact.
func emitRFC7951(d *gen.Device) (json.RawMessage, error) {
	m, err := ygot.ConstructIETFJSON(d, &ygot.RFC7951JSONConfig{AppendModuleName: true})
	if err != nil {
		return nil, fmt.Errorf("encode RFC 7951 JSON: %w", err)
	}
	return json.Marshal(m)
}

// fullRecord encodes the whole tree.
func fullRecord(ci CommitInfo, tree *gen.Device) (record, error) {
	r := newRecord(ci)
	r.Full = true
	var err error
	r.Set, err = emitRFC7951(tree)
	return r, err
}

// deltaRecord encodes what turns old into next: list entries added or
// changed, list entries deleted, and the non-list parts when they changed.
func deltaRecord(ci CommitInfo, old, next *gen.Device) (record, error) {
	return deltaRecordDiff(ci, old, next, diffEntries(old, next))
}

// deltaRecordDiff is deltaRecord with d = diffEntries(old, next) known.
func deltaRecordDiff(ci CommitInfo, old, next *gen.Device, d entryDiff) (record, error) {
	r := newRecord(ci)
	set := &gen.Device{}
	if !equalTop(old, next) {
		r.Top = true
		set.System = next.System
		set.Nacm = next.Nacm
		if n := next.Ntp; n != nil && (n.Unsync != nil || authEnable(n) != nil || n.AllowUnauthenticatedPassivePeers != nil) {
			set.Ntp = &gen.NtpagentNtp_Ntp{Unsync: n.Unsync, AllowUnauthenticatedPassivePeers: n.AllowUnauthenticatedPassivePeers}
			if e := authEnable(n); e != nil {
				set.Ntp.Authentication = &gen.NtpagentNtp_Ntp_Authentication{Enable: e}
			}
		}
	}
	ntp := func() *gen.NtpagentNtp_Ntp {
		if set.Ntp == nil {
			set.Ntp = &gen.NtpagentNtp_Ntp{}
		}
		return set.Ntp
	}
	var del deletions
	np := peers(next)
	for _, k := range d.changed {
		n := ntp()
		if n.UnicastPeer == nil {
			n.UnicastPeer = map[gen.NtpagentNtp_Ntp_UnicastPeer_Key]*gen.NtpagentNtp_Ntp_UnicastPeer{}
		}
		n.UnicastPeer[k] = np[k]
	}
	for _, k := range d.deleted {
		del.Peers = append(del.Peers, peerKey{k.Address, k.VpnInstance})
	}
	ok, nk := keys(old), keys(next)
	for id, k := range nk {
		if !equalKey(ok[id], k) {
			n := ntp()
			if n.Authentication == nil {
				n.Authentication = &gen.NtpagentNtp_Ntp_Authentication{}
			}
			if n.Authentication.Key == nil {
				n.Authentication.Key = map[uint32]*gen.NtpagentNtp_Ntp_Authentication_Key{}
			}
			n.Authentication.Key[id] = k
		}
	}
	for id := range ok {
		if _, ok := nk[id]; !ok {
			del.Keys = append(del.Keys, id)
		}
	}
	oserv, nserv := servers(old), servers(next)
	for k, v := range nserv {
		if !equalServer(oserv[k], v) {
			n := ntp()
			if n.UnicastServer == nil {
				n.UnicastServer = map[gen.NtpagentNtp_Ntp_UnicastServer_Key]*gen.NtpagentNtp_Ntp_UnicastServer{}
			}
			n.UnicastServer[k] = v
		}
	}
	for k := range oserv {
		if _, ok := nserv[k]; !ok {
			del.Servers = append(del.Servers, peerKey{k.Address, k.VpnInstance})
		}
	}
	os, ns := sourceInterfaces(old), sourceInterfaces(next)
	for af, si := range ns {
		if !equalSourceInterface(os[af], si) {
			n := ntp()
			if n.SourceInterface == nil {
				n.SourceInterface = map[gen.E_NtpagentNtp_AddressFamily]*gen.NtpagentNtp_Ntp_SourceInterface{}
			}
			n.SourceInterface[af] = si
		}
	}
	for af := range os {
		if _, ok := ns[af]; !ok {
			del.SourceInterfaces = append(del.SourceInterfaces, familyName(af))
		}
	}
	byKey := func(a, b peerKey) int {
		if a.Address != b.Address {
			return cmp.Compare(a.Address, b.Address)
		}
		return cmp.Compare(a.VpnInstance, b.VpnInstance)
	}
	slices.SortFunc(del.Peers, byKey)
	slices.SortFunc(del.Servers, byKey)
	slices.Sort(del.Keys)
	slices.Sort(del.SourceInterfaces)
	if del.Peers != nil || del.Servers != nil || del.Keys != nil || del.SourceInterfaces != nil {
		r.Del = &del
	}
	var err error
	r.Set, err = emitRFC7951(set)
	return r, err
}

// apply returns the tree the record describes, given the tree of the
// previous record (prev is not changed).
func (r *record) apply(prev *gen.Device) (*gen.Device, error) {
	return r.applyTo(prev, false)
}

// applyTo is apply; with inPlace it changes prev and returns it.
func (r *record) applyTo(prev *gen.Device, inPlace bool) (*gen.Device, error) {
	set, err := decodeRFC7951(r.Set)
	if err != nil {
		return nil, err
	}
	if r.Full {
		return set, normalize(set)
	}
	t := prev
	if !inPlace || t == nil {
		t = copyTree(prev)
	}
	n := t.GetOrCreateNtp()
	if r.Top {
		t.System = set.System
		t.Nacm = set.Nacm
		n.Unsync = set.GetNtp().GetUnsync()
		n.AllowUnauthenticatedPassivePeers = allowUnauthPassive(set.Ntp)
		if e := authEnable(set.Ntp); e != nil {
			n.GetOrCreateAuthentication().Enable = e
		} else if n.Authentication != nil {
			n.Authentication.Enable = nil
		}
	}
	for k, p := range peers(set) {
		n.GetOrCreateUnicastPeerMap()[k] = p
	}
	for k, v := range servers(set) {
		n.GetOrCreateUnicastServerMap()[k] = v
	}
	for id, k := range keys(set) {
		n.GetOrCreateAuthentication().GetOrCreateKeyMap()[id] = k
	}
	for af, si := range sourceInterfaces(set) {
		n.GetOrCreateSourceInterfaceMap()[af] = si
	}
	if d := r.Del; d != nil {
		for _, k := range d.Peers {
			delete(n.UnicastPeer, gen.NtpagentNtp_Ntp_UnicastPeer_Key{Address: k.Address, VpnInstance: k.VpnInstance})
		}
		for _, k := range d.Servers {
			delete(n.UnicastServer, gen.NtpagentNtp_Ntp_UnicastServer_Key{Address: k.Address, VpnInstance: k.VpnInstance})
		}
		for _, id := range d.Keys {
			if n.Authentication != nil {
				delete(n.Authentication.Key, id)
			}
		}
		for _, name := range d.SourceInterfaces {
			af := gen.NtpagentNtp_AddressFamily_ipv4
			if name == "ipv6" {
				af = gen.NtpagentNtp_AddressFamily_ipv6
			}
			delete(n.SourceInterface, af)
		}
	}
	return t, normalize(t)
}

// encodeLine frames a record: "<crc32 of json, 8 hex digits> <json>\n".
func encodeLine(r record) ([]byte, error) {
	js, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode journal record: %w", err)
	}
	line := make([]byte, 0, len(js)+10)
	line = fmt.Appendf(line, "%08x ", crc32.ChecksumIEEE(js))
	line = append(line, js...)
	return append(line, '\n'), nil
}

// decodeLine parses one journal line (without its newline); a non-empty
// reason says why it is not a valid record.
func decodeLine(line []byte) (r record, reason string) {
	if len(line) < 10 || line[8] != ' ' {
		return r, "not a journal record"
	}
	sum, err := strconv.ParseUint(string(line[:8]), 16, 32)
	if err != nil {
		return r, "not a journal record"
	}
	if uint32(sum) != crc32.ChecksumIEEE(line[9:]) {
		return r, "checksum mismatch"
	}
	if err := json.Unmarshal(line[9:], &r); err != nil {
		return r, fmt.Sprintf("unreadable: %v", err)
	}
	if r.ID == 0 {
		return r, "no commit id"
	}
	return r, ""
}

// journalRead is what readJournal found: the records of the complete,
// valid lines, the length of that prefix, and the torn tail after it.
type journalRead struct {
	recs []record
	size int64 // bytes of complete, valid records
	torn int64 // bytes after them: an append a crash cut short
}

// readJournal reads the journal at path. The journal is created whole (its
// first record is written to a temporary file that is renamed into place)
// and grows by appends of one line each, acknowledged only after
// fdatasync. So the only damage a crash can leave is a tail without its
// newline — the one append that was never acknowledged — which is returned
// as torn. Anything else is damage, returned as a *DamageError with the
// records before it: a complete line whose checksum or JSON is wrong, a
// commit id that is not the previous one plus one (a lost record), a first
// record that is not a whole tree, or no complete record at all.
func readJournal(path string) (journalRead, error) {
	var jr journalRead
	data, err := os.ReadFile(path)
	if err != nil {
		return jr, err
	}
	damage := func(off int64, format string, args ...any) (journalRead, error) {
		return jr, newDamage(path, off, fmt.Sprintf(format, args...), jr.recs, jr.size)
	}
	if len(data) == 0 {
		return damage(0, "the journal is empty")
	}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break // torn tail without its newline
		}
		r, why := decodeLine(data[:i])
		if why != "" {
			return damage(jr.size, "record %d: %s", len(jr.recs)+1, why)
		}
		if n := len(jr.recs); n == 0 && !r.Full {
			return damage(0, "the first record (commit %d) does not hold a whole tree", r.ID)
		} else if n > 0 && r.ID != jr.recs[n-1].ID+1 {
			return damage(jr.size, "commit %d follows commit %d: records are missing", r.ID, jr.recs[n-1].ID)
		}
		jr.recs = append(jr.recs, r)
		jr.size += int64(i + 1)
		data = data[i+1:]
	}
	jr.torn = int64(len(data))
	if len(jr.recs) == 0 {
		// The first record is written whole before the journal exists.
		return damage(0, "the first record is incomplete (%d bytes without an end of line)", jr.torn)
	}
	return jr, nil
}

// journal is the open journal file, appended to with one fdatasync per
// commit.
type journal struct {
	dir      string
	f        *os.File
	size     int64
	records  int
	fullSize int64 // length of the first (whole-tree) record
}

func openJournalAppend(dir string, size int64, records int) (*journal, error) {
	f, err := os.OpenFile(filepath.Join(dir, journalName), os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, fmt.Errorf("truncate journal: %w", err)
	}
	if _, err := f.Seek(size, 0); err != nil {
		f.Close()
		return nil, err
	}
	return &journal{dir: dir, f: f, size: size, records: records}, nil
}

// append writes one line and makes it durable before returning. On failure
// the file is cut back to its previous length.
func (j *journal) append(line []byte) error {
	if _, err := j.f.Write(line); err != nil {
		j.f.Truncate(j.size)
		j.f.Seek(j.size, 0)
		return fmt.Errorf("write journal: %w", err)
	}
	if err := datasync(j.f); err != nil {
		j.f.Truncate(j.size)
		j.f.Seek(j.size, 0)
		return fmt.Errorf("sync journal: %w", err)
	}
	j.size += int64(len(line))
	j.records++
	return nil
}

func (j *journal) close() error {
	if j == nil || j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// writeJournal replaces the journal with the given lines (temp file, fsync,
// rename, fsync of the directory) and opens it for appending.
func writeJournal(dir string, lines [][]byte) (*journal, error) {
	var buf bytes.Buffer
	for _, l := range lines {
		buf.Write(l)
	}
	if err := atomicfile.Write(filepath.Join(dir, journalName), buf.Bytes(), 0o600); err != nil {
		return nil, err
	}
	j, err := openJournalAppend(dir, int64(buf.Len()), len(lines))
	if err == nil && len(lines) > 0 {
		j.fullSize = int64(len(lines[0]))
	}
	return j, err
}

// confirmMarker is confirm.json: written before a confirmed commit is
// acknowledged, removed when it is confirmed or rolled back. If the process
// starts and finds it, the commit was never confirmed (RFC 6241 §8.4: the
// server must restore the configuration as it was before the confirmed commit).
type confirmMarker struct {
	RollbackTo uint32    `json:"rollback-to"`
	SessionID  uint32    `json:"session-id"`
	User       string    `json:"user,omitempty"`
	Persist    string    `json:"persist,omitempty"`
	Deadline   time.Time `json:"deadline"`
}

func readMarker(dir string) (*confirmMarker, error) {
	data, err := os.ReadFile(filepath.Join(dir, confirmName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m confirmMarker
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s is damaged: %v", confirmName, err)
	}
	return &m, nil
}
