//go:build linux

package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// RFC 6242 §4.2 and §4.3: what frame writes, frameReader reads back, however
// the bytes are split by the transport.
func TestFramingRoundTrip(t *testing.T) {
	msgs := [][]byte{
		[]byte(`<rpc-reply message-id="1"><ok/></rpc-reply>`),
		[]byte(strings.Repeat("<x>]]></x>", 10000)), // "]]>" inside, long
		[]byte(`<a/>`),
	}
	for _, f := range []Framing{EndOfMessage, Chunked} {
		for _, split := range []string{"whole", "one-byte", "half"} {
			t.Run(f.String()+"/"+split, func(t *testing.T) {
				var stream []byte
				for _, m := range msgs {
					if f == EndOfMessage && bytes.Contains(m, eom) {
						continue // cannot be framed with end-of-message
					}
					stream = frame(stream, f, m)
				}
				var src io.Reader = bytes.NewReader(stream)
				switch split {
				case "one-byte":
					src = iotest.OneByteReader(src)
				case "half":
					src = iotest.HalfReader(src)
				}
				r := newFrameReader(src, 1<<20)
				for _, m := range msgs {
					if f == EndOfMessage && bytes.Contains(m, eom) {
						continue
					}
					got, err := r.Read(f)
					if err != nil {
						t.Fatalf("Read: %v", err)
					}
					if !bytes.Equal(got, m) {
						t.Fatalf("got %d bytes %.60q, want %d bytes %.60q", len(got), got, len(m), m)
					}
				}
				if _, err := r.Read(f); !errors.Is(err, io.EOF) {
					t.Fatalf("after the last message: %v, want EOF", err)
				}
			})
		}
	}
}

// A message split over several chunks is joined (RFC 6242 §4.2).
func TestChunkedSeveralChunks(t *testing.T) {
	r := newFrameReader(strings.NewReader("\n#4\n<rpc\n#17\n message-id=\"1\"/>\n##\n"), 1<<20)
	got, err := r.Read(Chunked)
	if err != nil || string(got) != `<rpc message-id="1"/>` {
		t.Fatalf("got %q, %v", got, err)
	}
}

// RFC 6242 §4.2: chunk-size is 1..4294967295 without leading zeros; nothing
// but a chunk header may follow a chunk.
func TestChunkedRejects(t *testing.T) {
	for name, in := range map[string]string{
		"size zero":        "\n#0\n\n##\n",
		"leading zero":     "\n#01\na\n##\n",
		"too large":        "\n#4294967296\n",
		"not a digit":      "\n#1a\n",
		"no hash":          "\n1\na\n##\n",
		"end without text": "\n##\n",
		"bad end":          "\n#1\na\n##x",
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := newFrameReader(strings.NewReader(in), 1<<20).Read(Chunked); err == nil {
				t.Fatalf("accepted %q as %q", in, got)
			}
		})
	}
}

func TestFrameReaderLimit(t *testing.T) {
	big := strings.Repeat("x", 300<<10)
	if _, err := newFrameReader(strings.NewReader(big+"]]>]]>"), 100<<10).Read(EndOfMessage); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("end-of-message: %v, want ErrTooLarge", err)
	}
	in := string(frame(nil, Chunked, []byte(big)))
	if _, err := newFrameReader(strings.NewReader(in), 100<<10).Read(Chunked); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("chunked: %v, want ErrTooLarge", err)
	}
}

// FuzzFrameReader: any byte stream either fails cleanly or yields messages
// that frame back to a stream yielding the same messages.
func FuzzFrameReader(f *testing.F) {
	f.Add([]byte("\n#3\nabc\n##\n"), true)
	f.Add([]byte("\n#1\na\n#2\nbc\n##\n\n#1\nd\n##\n"), true)
	f.Add([]byte("\n#4294967296\n"), true)
	f.Add([]byte("<a/>]]>]]><b/>]]>]]>"), false)
	f.Add([]byte("]]>]]]>]]>"), false)
	f.Fuzz(func(t *testing.T, in []byte, chunked bool) {
		fr := EndOfMessage
		if chunked {
			fr = Chunked
		}
		r := newFrameReader(iotest.HalfReader(bytes.NewReader(in)), 1<<16)
		var msgs [][]byte
		for range 1000 {
			m, err := r.Read(fr)
			if err != nil {
				break
			}
			msgs = append(msgs, m)
		}
		var again []byte
		for _, m := range msgs {
			again = frame(again, fr, m)
		}
		r2 := newFrameReader(bytes.NewReader(again), 1<<16)
		for i, m := range msgs {
			got, err := r2.Read(fr)
			if err != nil || !bytes.Equal(got, m) {
				t.Fatalf("message %d: %q, %v; want %q", i, got, err, m)
			}
		}
	})
}
