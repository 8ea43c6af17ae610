package rules

import (
	"testing"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// FuzzDecodeJSONValidate decodes RFC 7951 JSON configuration and validates it:
// nothing may panic, every failure is an rpc-error with a message, and a tree
// that validates survives an emit/decode round trip unchanged.
func FuzzDecodeJSONValidate(f *testing.F) {
	f.Add([]byte(`{"ntpagent-ntp:ntp":{"unicast-peer":[{"address":"10.1.1.1","vpn-instance":"_public_","minpoll":4}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &gen.Device{}
		if err := gen.Unmarshal(data, d); err != nil {
			return
		}
		err := Validate(d, localNets)
		for _, e := range rpcerror.All(err) {
			if e.Message == "" || e.Tag == "" {
				t.Fatalf("error without tag or message: %#v", e)
			}
		}
		if err != nil {
			return
		}
		js, err := ygot.EmitJSON(d, &ygot.EmitJSONConfig{Format: ygot.RFC7951, RFC7951Config: &ygot.RFC7951JSONConfig{AppendModuleName: true}})
		if err != nil {
			t.Fatalf("a valid tree does not emit: %v", err)
		}
		d2 := &gen.Device{}
		if err := gen.Unmarshal([]byte(js), d2); err != nil {
			t.Fatalf("emitted JSON does not decode: %v\n%s", err, js)
		}
		diff, err := ygot.Diff(d, d2)
		if err != nil || len(diff.GetUpdate())+len(diff.GetDelete()) != 0 {
			t.Fatalf("round trip changed the tree: %v %v", diff, err)
		}
	})
}
