package datastore

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
)

// The direct walk reads every field of the schema (filledDevice sets each
// configuration leaf): none falls back to the generated Unmarshal, and
// both read the same tree. A leaf of a kind the walk does not know fails
// here, before it makes starts slow.
func TestRFC7951DecoderReadsEveryField(t *testing.T) {
	d := filledDevice()
	for _, indented := range []bool{false, true} {
		var data []byte
		var err error
		if indented {
			data, err = emitIndented(d) // running.json's form
		} else {
			data, err = emitRFC7951(d) // the journal's form
		}
		if err != nil {
			t.Fatal(err)
		}
		direct := &gen.Device{}
		if err := decodeTree(data, direct); err != nil {
			t.Fatalf("the direct walk cannot read the tree (indented %v): %v\n%s", indented, err, data)
		}
		generated := &gen.Device{}
		if err := gen.Unmarshal(data, generated); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(direct, generated) || !reflect.DeepEqual(direct, d) {
			t.Fatalf("the direct walk reads another tree: %v", diffTrees(generated, direct))
		}
	}
}

// What the direct walk cannot place goes to the generated Unmarshal: its
// errors name the problem, and nothing half-read is returned.
func TestRFC7951DecoderRefusesWhatTheSchemaRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		lenient    bool // the generated Unmarshal accepts it
	}{
		{"unknown member", `{"ntpagent-ntp:ntp":{"no-such-leaf":1}}`, false},
		// ytypes ignores a member's module name; the walk does not, and
		// hands the tree on.
		{"wrong module", `{"ntpagent-system:ntp":{}}`, true},
		{"out of range", `{"ntpagent-ntp:ntp":{"unicast-peer":[{"address":"10.0.0.1","vpn-instance":"_public_","minpoll":300}]}}`, false},
		{"list not an array", `{"ntpagent-ntp:ntp":{"unicast-peer":{"address":"10.0.0.1"}}}`, false},
		{"string for a boolean", `{"ntpagent-ntp:ntp":{"unicast-peer":[{"address":"10.0.0.1","vpn-instance":"_public_","preferred":"yes"}]}}`, false},
		{"not an object", `[1]`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := decodeTree([]byte(tc.json), &gen.Device{}); err == nil {
				t.Fatal("the direct walk accepted it")
			}
			if d, err := decodeRFC7951([]byte(tc.json)); err == nil && !tc.lenient {
				t.Fatalf("accepted: %+v", d)
			}
		})
	}
}

// BenchmarkDecodeRFC7951 reads a running configuration of 1,000 peers, as
// a start does (the generated Unmarshal alone for comparison).
func BenchmarkDecodeRFC7951(b *testing.B) {
	d := &gen.Device{}
	for i := range 1000 {
		p, _ := d.GetOrCreateNtp().NewUnicastPeer(fmt.Sprintf("10.%d.%d.1", i/250, i%250), "_public_")
		p.SetMinpoll(6)
	}
	data, err := emitRFC7951(d)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeRFC7951(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("generated", func(b *testing.B) {
		for b.Loop() {
			if err := gen.Unmarshal(data, &gen.Device{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
