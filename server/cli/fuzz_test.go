package cli

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ntpagent/ntpagent/datastore"
)

// FuzzParse feeds arbitrary lines to the parser, '?' help and Tab
// completion of both views, and runs those that parse in the system view on
// a real store. Invariants: no panic; a syntax error's caret is within the
// line (or just past its end); every line that display configuration
// candidate renders parses again; the session survives every line.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"display ntp sessions verbose",
		"dis ntp ses",
		"ntp unicast-peer 10.1.1.1 version 3 port 1025 authentication-keyid 1 source-interface eth 0 vpn-instance a preferred maxpoll 9 minpoll 4 preempt",
		"ntp unicast-peer ipv6 fc00::1 minpoll 3 maxpoll 17",
		"ntp unicast-peer domain ntp.example.com",
		"ntp ipv6 source-interface Vlanif 100 vpn-instance x",
		"ntp authentication-keyid 7 authentication-mode md5 plain \"k ey\"",
		"ntp unsync max-poll-interval 6 dec-step 2",
		"undo ntp unicast-peer 10.1.1.1 vpn-instance a",
		"display current-configuration | include ^ntp (",
		"sysname \"",
		"ntp \x01 \xff",
		"commit label x",
	} {
		f.Add(seed)
	}
	e := newEnv(f)
	roots := grammar()
	s := &session{c: e.cli, ts: &TerminalSession{ID: 1, User: "fuzz", Role: RoleAdmin}, ctx: context.Background(),
		ss: datastore.Session{ID: 1, User: "fuzz", Origin: datastore.OriginCLI}, view: systemView}
	var sink strings.Builder
	s.w = &sink
	f.Fuzz(func(t *testing.T, line string) {
		if len(line) > maxLineBytes {
			return
		}
		n := utf8.RuneCountInString(line)
		for _, v := range []view{userView, systemView} {
			p, serr := parse(roots[v], line)
			if serr != nil {
				if p != nil || serr.col < 0 || serr.col > n+1 {
					t.Fatalf("view %d, %q: parse %v, caret at %d of %d", v, line, p, serr.col, n)
				}
			}
			if _, herr := helpFor(roots[v], line, func([2]string) bool { return true }); herr != nil && (herr.col < 0 || herr.col > n+1) {
				t.Fatalf("help %q: caret at %d of %d", line, herr.col, n)
			}
			if words, start := complete(roots[v], line, func([2]string) bool { return true }); start < 0 || start > len(line) || len(words) > 64 {
				t.Fatalf("complete %q: %d words from %d", line, len(words), start)
			}
		}
		s.view = systemView
		s.done = false
		sink.Reset()
		s.execute(line)
		for _, l := range configLines(e.store.Snapshot(datastore.Candidate), true) {
			if l == "#" || l == "return" || strings.HasPrefix(l, "# ") {
				continue
			}
			if _, serr := parse(roots[systemView], l); serr != nil {
				t.Fatalf("after %q the rendered line %q does not parse: %v", line, l, serr)
			}
		}
		if err := e.store.Discard(s.ss); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzInputGuard: whatever a client sends, split at any point, the line
// editor gets valid UTF-8 without Ctrl-C, no line longer than maxLineBytes,
// and every Enter of the input.
func FuzzInputGuard(f *testing.F) {
	f.Add([]byte("display ntp status\r\n"), uint8(3))
	f.Add([]byte("a\xc3\xa9\xff\x03b\rq"), uint8(1))
	f.Add([]byte("\xf0\x9f\x98\x80\x1b[A\r"), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, split uint8) {
		size := int(split%16) + 1
		var chunks []string
		for rest := in; len(rest) > 0; {
			n := min(size, len(rest))
			chunks = append(chunks, string(rest[:n]))
			rest = rest[n:]
		}
		g := &inputGuard{r: &chunkReader{chunks: chunks}}
		var got []byte
		buf := make([]byte, 64)
		for i := 0; i < len(in)+10; i++ {
			n, err := g.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		if !utf8.Valid(got) || strings.ContainsRune(string(got), 0x03) {
			t.Fatalf("%q gave %q", in, got)
		}
		for _, l := range strings.FieldsFunc(string(got), func(r rune) bool { return r == '\r' || r == '\n' }) {
			if len(l) > maxLineBytes {
				t.Fatalf("a line of %d bytes passed", len(l))
			}
		}
		if c := strings.Count(string(in), "\r") + strings.Count(string(in), "\n"); strings.Count(string(got), "\r")+strings.Count(string(got), "\n") != c {
			t.Fatalf("%q: line ends lost: %q", in, got)
		}
	})
}
