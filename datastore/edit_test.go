package datastore

import (
	"errors"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
	"github.com/ntpagent/ntpagent/server/netconf/xmlcodec"
)

// RFC 6241 §7.2 error-option, through the XML codec: an edit that creates
// a peer that exists (data-exists) and merges a new one.
func TestEditErrorOption(t *testing.T) {
	const edit = `<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0">
  <unicast-peer nc:operation="create"><address>10.0.0.1</address><vpn-instance>_public_</vpn-instance><minpoll>4</minpoll></unicast-peer>
  <unicast-peer><address>10.0.0.2</address><vpn-instance>_public_</vpn-instance><minpoll>5</minpoll></unicast-peer>
</ntp>`
	tree, err := xmlcodec.ParseConfig([]byte(edit), xmlcodec.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		option    ErrorOption
		codec     xmlcodec.ErrorOption
		wantPeers map[string]uint8
	}{
		{"§7.2 stop-on-error: abort at the first error, nothing changes", StopOnError, xmlcodec.StopOnError, map[string]uint8{"10.0.0.1": 6}},
		{"§7.2 default is stop-on-error", EditOptions{}.ErrorOption, xmlcodec.StopOnError, map[string]uint8{"10.0.0.1": 6}},
		{"§7.2 rollback-on-error: the target is restored", RollbackOnError, xmlcodec.RollbackOnError, map[string]uint8{"10.0.0.1": 6}},
		{"§7.2 continue-on-error: the rest is applied and the error is reported", ContinueOnError, xmlcodec.ContinueOnError, map[string]uint8{"10.0.0.1": 6, "10.0.0.2": 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, "", nil)
			mustEdit(t, s, alice, Candidate, setPeer("10.0.0.1", 6))
			err := s.Edit(alice, Candidate, EditOptions{ErrorOption: tc.option}, func(root *gen.Device) error {
				return tree.Apply(root, xmlcodec.OpMerge, tc.codec)
			})
			if tagOf(err) != rpcerror.TagDataExists {
				t.Fatalf("error %v; want data-exists", err)
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
