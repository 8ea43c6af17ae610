package xmlcodec

import (
	"bytes"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// FuzzDecodeApply: any input either fails with an rpc-error or applies; an
// applied tree encodes to XML that decodes back to the same tree.
func FuzzDecodeApply(f *testing.F) {
	f.Add([]byte(ntp(peer("10.0.0.1", `<minpoll>4</minpoll>`))), uint8(0))
	f.Add([]byte(withNC(ntp(peerOp("delete", "10.0.0.1", ``)))), uint8(1))
	f.Add([]byte(fullConfig()), uint8(2))
	start := fullConfig()
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		tree, err := ParseConfig(data, Limits{MaxBytes: 1 << 16, MaxElements: 2000})
		if err != nil {
			if len(rpcerror.All(err)) == 0 {
				t.Fatalf("error without rpc-error: %v", err)
			}
			return
		}
		d := mustDecode(t, start)
		ops := []Op{OpMerge, OpReplace, OpNone}
		opts := []ErrorOption{StopOnError, ContinueOnError, RollbackOnError}
		err = tree.Apply(d, ops[int(sel)%3], opts[int(sel/3)%3])
		for _, e := range rpcerror.All(err) {
			if e.Message == "" || e.Tag == "" {
				t.Fatalf("rpc-error without tag or message: %+v", e)
			}
		}
		var b bytes.Buffer
		if err := Encode(&b, d, EncodeOptions{}); err != nil {
			t.Fatalf("Encode: %v", err)
		}
		d2, err := DecodeConfig(b.Bytes())
		if err != nil {
			t.Fatalf("our own output does not decode: %v\n%s", err, b.String())
		}
		var b2 bytes.Buffer
		if err := Encode(&b2, d2, EncodeOptions{}); err != nil {
			t.Fatal(err)
		}
		if b.String() != b2.String() {
			t.Fatalf("round trip differs:\n%s\n%s", b.String(), b2.String())
		}
	})
}

// FuzzFilter: any subtree filter or XPath expression gives an rpc-error or
// well-formed output that is part of the unfiltered output's data.
func FuzzFilter(f *testing.F) {
	f.Add([]byte(ntp(`<unicast-peer><address>10.0.0.1</address><minpoll/></unicast-peer>`)), "/n:ntp/n:unicast-peer[n:minpoll>3]")
	f.Add([]byte(`<ntp><unsync/></ntp>`+sys(``)), "//s:sysname | /n:ntp/n:unsync")
	f.Add([]byte(``), "/")
	d := filterDevice(f)
	ns := map[string]string{"n": nsNTP, "s": nsSys}
	f.Fuzz(func(t *testing.T, subtree []byte, xpath string) {
		for _, opt := range []EncodeOptions{{Subtree: subtree}, {XPath: xpath, Namespaces: ns}} {
			if opt.XPath == "" && opt.Subtree == nil {
				continue
			}
			var b bytes.Buffer
			err := Encode(&b, d, opt)
			if err != nil {
				if len(rpcerror.All(err)) == 0 {
					t.Fatalf("error without rpc-error: %v", err)
				}
				continue
			}
			if _, err := parseXML(b.Bytes(), Limits{}, nil); err != nil {
				t.Fatalf("output is not well-formed: %v\n%s", err, b.String())
			}
			// The filtered output is configuration or state of the same
			// device: decoding its config part must not fail.
			cfg := opt
			cfg.ConfigOnly = true
			var c bytes.Buffer
			if err := Encode(&c, d, cfg); err == nil {
				if _, err := DecodeConfig(c.Bytes()); err != nil {
					t.Fatalf("filtered config does not decode: %v\n%s", err, c.String())
				}
			}
		}
	})
}

// The decoded tree of an empty document is empty, and the same tree can be
// applied twice (a Tree is read-only).
func TestTreeIsReusable(t *testing.T) {
	tree, err := ParseConfig([]byte(ntp(peer("10.0.0.1", `<minpoll>4</minpoll>`))), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := &gen.Device{}, &gen.Device{}
	if err := tree.Apply(a, "", StopOnError); err != nil {
		t.Fatal(err)
	}
	if err := tree.Apply(b, "", StopOnError); err != nil {
		t.Fatal(err)
	}
	if encodeString(t, a, EncodeOptions{}) != encodeString(t, b, EncodeOptions{}) {
		t.Error("the same edit gave two trees")
	}
}

// TestConcurrentUse: the schema table is shared read-only; encoding,
// filtering and applying on separate trees may run at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	d := filterDevice(t)
	tree, err := ParseConfig([]byte(ntp(peer("10.0.0.5", `<minpoll>4</minpoll>`))), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := encodeString(t, d, EncodeOptions{XPath: "//n:minpoll", Namespaces: map[string]string{"n": nsNTP}})
	done := make(chan string, 8)
	for i := 0; i < 8; i++ {
		go func() {
			own := &gen.Device{}
			if err := tree.Apply(own, "", StopOnError); err != nil {
				done <- err.Error()
				return
			}
			var b bytes.Buffer
			if err := Encode(&b, d, EncodeOptions{XPath: "//n:minpoll", Namespaces: map[string]string{"n": nsNTP}}); err != nil {
				done <- err.Error()
				return
			}
			done <- b.String()
		}()
	}
	for i := 0; i < 8; i++ {
		if got := <-done; got != want {
			t.Errorf("goroutine got %s", got)
		}
	}
}
