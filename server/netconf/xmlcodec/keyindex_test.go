package xmlcodec

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unsafe"
	"weak"

	"github.com/ntpagent/ntpagent/gen"
)

// randomKeyedDevice has random unicast peers on a few addresses, each in
// one or more vpn-instances, and sessions (state, three keys, one a
// number) on some of them.
func randomKeyedDevice(t *testing.T, rng *rand.Rand) *gen.Device {
	var b strings.Builder
	for a := range 8 {
		for _, vpn := range []string{"_public_", "blue", "red"} {
			if rng.IntN(3) == 0 {
				fmt.Fprintf(&b, "%s", peerIn(fmt.Sprintf("10.0.0.%d", a+1), vpn, fmt.Sprintf(`<minpoll>%d</minpoll>`, 4+rng.IntN(3))))
			}
		}
	}
	d := mustDecode(t, ntp(b.String()))
	for range rng.IntN(6) {
		s := d.GetOrCreateNtp().GetOrCreateSessions().GetOrCreateSession(fmt.Sprintf("10.0.0.%d", 1+rng.IntN(8)), "_public_", uint16(123+rng.IntN(2)))
		s.SetStratum(uint8(1 + rng.IntN(3)))
	}
	return d
}

// Entries found by some of their keys through an index (a frozen tree)
// are the entries comparing every entry's keys finds, and what the general
// XPath evaluator selects: random trees (each a new allocation, some after
// a collection, so that an index never serves another tree), random
// filters naming an address without its vpn-instance, or a vpn-instance
// without its address, as subtree filters and as XPath key paths.
func TestIndexedKeyLookupSelectsWhatTheScanSelects(t *testing.T) {
	rng := rand.New(rand.NewPCG(5905, 6241))
	ns := map[string]string{"n": nsNTP}
	for tree := range 40 {
		if tree%5 == 0 {
			runtime.GC()
		}
		d := randomKeyedDevice(t, rng)
		for range 10 {
			addr := fmt.Sprintf("10.0.0.%d", 1+rng.IntN(9))
			vpn := []string{"_public_", "blue", "red", "green"}[rng.IntN(4)]
			subtree := []string{
				`<unicast-peer><address>` + addr + `</address></unicast-peer>`,
				`<unicast-peer><address>` + addr + `</address><minpoll/></unicast-peer>`,
				`<unicast-peer><vpn-instance>` + vpn + `</vpn-instance></unicast-peer>`,
				`<unicast-peer><address>` + addr + `</address><minpoll>5</minpoll></unicast-peer>`,
				`<sessions><session><address>` + addr + `</address></session></sessions>`,
				`<sessions><session><address>` + addr + `</address><port>123</port></session></sessions>`,
			}[rng.IntN(6)]
			xpath := []string{
				`/n:ntp/n:unicast-peer[n:address='` + addr + `']`,
				`/n:ntp/n:unicast-peer[n:vpn-instance='` + vpn + `']/n:minpoll`,
				`/n:ntp/n:sessions/n:session[n:address='` + addr + `']`,
			}[rng.IntN(3)]
			for _, configOnly := range []bool{true, false} {
				opt := EncodeOptions{ConfigOnly: configOnly, Subtree: []byte(ntp(subtree))}
				scanned := encodeString(t, d, opt)
				opt.Frozen = true
				if indexed := encodeString(t, d, opt); indexed != scanned {
					t.Fatalf("tree %d, subtree filter %s, config only %v:\nindexed %s\nscanned %s", tree, subtree, configOnly, indexed, scanned)
				}
				opt = EncodeOptions{ConfigOnly: configOnly, XPath: xpath, Namespaces: ns}
				scanned = encodeString(t, d, opt)
				opt.Frozen = true
				indexed := encodeString(t, d, opt)
				opt.XPath = "(" + xpath + ")"
				general := encodeString(t, d, opt)
				if indexed != scanned || indexed != general {
					t.Fatalf("tree %d, XPath %s, config only %v:\nindexed %s\nscanned %s\ngeneral %s", tree, xpath, configOnly, indexed, scanned, general)
				}
			}
		}
	}
}

// A one-key filter on a frozen tree makes an index of the list and keeps
// it for the tree; on a tree that is not frozen it makes none.
func TestOneKeyFilterIndexesOnlyFrozenTrees(t *testing.T) {
	native, err := Native()
	if err != nil {
		t.Fatal(err)
	}
	d := filterDevice(t)
	owner := weak.Make((*byte)(unsafe.Pointer(d.GetOrCreateNtp())))
	kept := func() bool {
		native.keyIndexes.mu.Lock()
		defer native.keyIndexes.mu.Unlock()
		for _, e := range native.keyIndexes.entries {
			if e != nil && e.owner == owner {
				return true
			}
		}
		return false
	}
	opt := EncodeOptions{ConfigOnly: true, Subtree: []byte(ntp(`<unicast-peer><address>10.0.0.1</address></unicast-peer>`))}
	encodeString(t, d, opt)
	if kept() {
		t.Fatal("a tree not frozen was indexed")
	}
	opt.Frozen = true
	got := encodeString(t, d, opt)
	if !kept() {
		t.Fatal("the frozen tree's list was not indexed")
	}
	if !strings.Contains(got, "<vpn-instance>blue</vpn-instance>") || !strings.Contains(got, "<vpn-instance>_public_</vpn-instance>") {
		t.Fatalf("want 10.0.0.1 in both vpn-instances: %s", got)
	}
	runtime.KeepAlive(d)
}

// Sessions read the same stored tree at once: the index is made and read
// concurrently, and every reader gets what the scan gives (run with -race).
func TestIndexedKeyLookupIsSafeForConcurrentReaders(t *testing.T) {
	d := randomKeyedDevice(t, rand.New(rand.NewPCG(1, 2)))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 20 {
				f := ntp(fmt.Sprintf(`<unicast-peer><address>10.0.0.%d</address></unicast-peer>`, 1+(g+i)%8))
				var want, got bytes.Buffer
				if err := Encode(&want, d, EncodeOptions{ConfigOnly: true, Subtree: []byte(f)}); err != nil {
					t.Error(err)
					return
				}
				if err := Encode(&got, d, EncodeOptions{ConfigOnly: true, Subtree: []byte(f), Frozen: true}); err != nil {
					t.Error(err)
					return
				}
				if got.String() != want.String() {
					t.Errorf("%s: indexed %s, scanned %s", f, got.String(), want.String())
					return
				}
			}
		})
	}
	wg.Wait()
}
