package datastore

import (
	"errors"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// RFC 6241 §7.2 error-option: an edit whose apply has merged a new peer
// and then failed on another part (data-exists, as a codec reports a
// create of an existing peer) is discarded whole unless the option is
// continue-on-error, which keeps what applied and reports the failure.
// (The codec's own part, what it applies under each option, is tested in
// xmlcodec and end to end in server/netconf.)
func TestEditErrorOption(t *testing.T) {
	exists := rpcerror.New(rpcerror.TagDataExists, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.0.0.1'][ntpa:vpn-instance='_public_']", "The peer exists.")
	apply := func(root *gen.Device) error {
		root.GetOrCreateNtp().GetOrCreateUnicastPeer("10.0.0.2", "_public_").SetMinpoll(5)
		return rpcerror.List{exists}
	}
	for _, tc := range []struct {
		name      string
		option    ErrorOption
		wantPeers map[string]uint8
	}{
		{"§7.2 stop-on-error: abort at the first error, nothing changes", StopOnError, map[string]uint8{"10.0.0.1": 6}},
		{"§7.2 default is stop-on-error", EditOptions{}.ErrorOption, map[string]uint8{"10.0.0.1": 6}},
		{"§7.2 rollback-on-error: the target is restored", RollbackOnError, map[string]uint8{"10.0.0.1": 6}},
		{"§7.2 continue-on-error: the rest is applied and the error is reported", ContinueOnError, map[string]uint8{"10.0.0.1": 6, "10.0.0.2": 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, "", nil)
			mustEdit(t, s, alice, Candidate, setPeer("10.0.0.1", 6))
			err := s.Edit(alice, Candidate, EditOptions{ErrorOption: tc.option}, apply)
			if e := rpcerror.All(err); len(e) != 1 || e[0] != exists {
				t.Fatalf("error %v; want the apply's data-exists", err)
			}
			if got := peerSet(s.Snapshot(Candidate)); !equalPeers(got, tc.wantPeers) {
				t.Errorf("candidate peers %v; want %v", got, tc.wantPeers)
			}
		})
	}
}

func equalPeers(a, b map[string]uint8) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// With continue-on-error the applied part is still validated as a whole
// (test-then-set), and a panic never leaves a partial edit behind.
func TestEditContinueOnErrorStillValidates(t *testing.T) {
	s := openStore(t, "", nil)
	failed := rpcerror.New(rpcerror.TagDataMissing, "/ntpa:ntp/ntpa:unsync", "missing")
	err := s.Edit(alice, Candidate, EditOptions{ErrorOption: ContinueOnError}, func(root *gen.Device) error {
		p := root.GetOrCreateNtp().GetOrCreateUnicastPeer("10.0.0.1", "_public_")
		p.SetMinpoll(9)
		p.SetMaxpoll(5) // minpoll > maxpoll: invalid
		return rpcerror.List{failed}
	})
	errs := rpcerror.All(err)
	if len(errs) < 2 || errs[0] != failed {
		t.Fatalf("errors %v; want the apply error then the validation error", err)
	}
	if s.CandidateModified() || len(peerSet(s.Snapshot(Candidate))) != 0 {
		t.Error("an invalid partial edit changed the candidate")
	}

	err = s.Edit(alice, Running, EditOptions{ErrorOption: ContinueOnError}, func(root *gen.Device) error {
		root.GetOrCreateNtp().GetOrCreateUnicastPeer("10.0.0.1", "_public_").SetMinpoll(5)
		panic("codec bug")
	})
	if tagOf(err) != rpcerror.TagOperationFailed {
		t.Errorf("panic: %v; want operation-failed", err)
	}
	if len(peerSet(s.Snapshot(Running))) != 0 || len(s.History()) != 0 {
		t.Error("a panicking edit changed running")
	}

	err = s.Edit(alice, Candidate, EditOptions{ErrorOption: ErrorOption(9)}, setPeer("10.0.0.1", 5))
	var e *rpcerror.Error
	if !errors.As(err, &e) || e.Tag != rpcerror.TagInvalidValue || s.CandidateModified() {
		t.Errorf("unknown error-option: %v; want invalid-value and no change", err)
	}
}
