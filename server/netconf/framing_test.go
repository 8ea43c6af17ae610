package netconf

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

// pipeFrames writes raw bytes on one end of a net.Pipe and reads messages on
// the other until an error.
func pipeFrames(t *testing.T, chunked bool, max int, raw string) ([]string, error) {
	t.Helper()
	a, b := net.Pipe()
	go func() {
		_, _ = a.Write([]byte(raw))
		a.Close()
	}()
	defer b.Close()
	r := NewFrameReader(b, max)
	if chunked {
		r.SetChunked()
	}
	var msgs []string
	for i := 0; i < 100; i++ {
		m, err := r.ReadMessage()
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, string(m))
	}
	t.Fatal("too many messages")
	return nil, nil
}

func TestFrameReaderEOM(t *testing.T) {
	msgs, err := pipeFrames(t, false, 0, "<a/>]]>]]><b>x]]></b>]]>]]>\n")
	if !errors.Is(err, io.EOF) {
		t.Fatalf("err = %v, want EOF", err)
	}
	if len(msgs) != 2 || msgs[0] != "<a/>" || msgs[1] != "<b>x]]></b>" {
		t.Fatalf("msgs = %q", msgs)
	}
}

func TestFrameReaderEOMTruncated(t *testing.T) {
	_, err := pipeFrames(t, false, 0, "<a/>]]>]]><b>")
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want unexpected EOF", err)
	}
}

func TestFrameReaderEOMTooBig(t *testing.T) {
	_, err := pipeFrames(t, false, 100, strings.Repeat("x", 300)+"]]>]]>")
	if !errors.Is(err, ErrTooBig) {
		t.Fatalf("err = %v, want ErrTooBig", err)
	}
}

func TestFrameReaderChunked(t *testing.T) {
	// RFC 6242 §4.2 example: one message in two chunks.
	raw := "\n#4\n<rpc\n#18\n message-id=\"102\"\n\n##\n\n#3\n<a/\n#1\n>\n##\n"
	msgs, err := pipeFrames(t, true, 0, raw)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("err = %v, want EOF", err)
	}
	want := []string{"<rpc message-id=\"102\"\n", "<a/>"}
	if len(msgs) != 2 || msgs[0] != want[0] || msgs[1] != want[1] {
		t.Fatalf("msgs = %q, want %q", msgs, want)
	}
}

func TestFrameReaderChunkedErrors(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      error
	}{
		{"RFC6242 4.2 chunk-size 0", "\n#0\n\n##\n", ErrFraming},
		{"RFC6242 4.2 chunk-size leading zero", "\n#01\na\n##\n", ErrFraming},
		{"RFC6242 4.2 chunk-size over 4294967295", "\n#4294967296\nx", ErrFraming},
		{"RFC6242 4.2 chunk-size 11 digits", "\n#12345678901\nx", ErrFraming},
		{"RFC6242 4.2 bytes after end-of-chunks", "\n#1\na\n##\njunk", ErrFraming},
		{"RFC6242 4.2 missing LF before header", "#1\na\n##\n", ErrFraming},
		{"RFC6242 4.2 end-of-chunks with no chunk", "\n##\n", ErrFraming},
		{"RFC6242 4.2 garbage after ##", "\n#1\na\n##x", ErrFraming},
		{"truncated chunk data", "\n#10\nabc", io.ErrUnexpectedEOF},
		{"truncated header", "\n#12", io.ErrUnexpectedEOF},
		{"message over limit", "\n#200\n" + strings.Repeat("x", 200) + "\n##\n", ErrTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pipeFrames(t, true, 100, tc.raw)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFrameReaderChunkMaxSizeAccepted(t *testing.T) {
	// 4294967295 is a legal chunk-size; the message limit refuses it, not the parser.
	_, err := pipeFrames(t, true, 100, "\n#4294967295\nabc")
	if !errors.Is(err, ErrTooBig) {
		t.Fatalf("err = %v, want ErrTooBig", err)
	}
}

// A client may send its first rpc in the same write as its hello; the
// switch to chunked framing happens right after the hello (RFC 6242 §4.1).
func TestFrameReaderSwitchAfterHelloInSameRead(t *testing.T) {
	raw := "<hello/>]]>]]>\n#5\n<rpc>\n##\n"
	a, b := net.Pipe()
	go func() { _, _ = a.Write([]byte(raw)); a.Close() }()
	r := NewFrameReader(b, 0)
	m, err := r.ReadMessage()
	if err != nil || string(m) != "<hello/>" {
		t.Fatalf("hello = %q, %v", m, err)
	}
	r.SetChunked()
	m, err = r.ReadMessage()
	if err != nil || string(m) != "<rpc>" {
		t.Fatalf("rpc = %q, %v", m, err)
	}
}

func TestFrameWriterRoundTrip(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		a, b := net.Pipe()
		w := NewFrameWriter(a)
		r := NewFrameReader(b, 0)
		if chunked {
			w.SetChunked()
			r.SetChunked()
		}
		msgs := []string{"<one/>", strings.Repeat("<x>]]></x>", 10000), "<three/>"}
		go func() {
			for _, m := range msgs {
				_ = w.WriteMessage([]byte(m))
			}
			a.Close()
		}()
		for _, want := range msgs {
			got, err := r.ReadMessage()
			if err != nil || !bytes.Equal(got, []byte(want)) {
				t.Fatalf("chunked=%v: got %d bytes, %v", chunked, len(got), err)
			}
		}
		if _, err := r.ReadMessage(); !errors.Is(err, io.EOF) {
			t.Fatalf("after last: %v", err)
		}
	}
}

func FuzzFrameReader(f *testing.F) {
	for _, s := range []string{
		"\n#4\n<rpc\n#18\n message-id=\"102\"\n\n##\n",
		"\n#0\n\n##\n", "\n#4294967296\n", "\n#1\na\n##\nx", "\n##\n", "\n#01\na\n##\n",
		"<a/>]]>]]>", "<a/>]]>]]", "]]>]]>]]>]]>",
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, chunked bool) {
		r := NewFrameReader(bytes.NewReader(data), 1<<16)
		if chunked {
			r.SetChunked()
		}
		var total int
		for i := 0; i < len(data)+1; i++ {
			m, err := r.ReadMessage()
			if err != nil {
				return
			}
			total += len(m)
			if len(m) > 1<<16 || total > len(data) {
				t.Fatalf("message of %d bytes from %d input bytes", len(m), len(data))
			}
		}
	})
}

// Replies are framed in place in the headroom of their buffer.
func TestFrameWriterInPlace(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		for _, n := range []int{1, 9, 10, 99999, 100000} {
			a, b := net.Pipe()
			w := NewFrameWriter(a)
			r := NewFrameReader(b, 0)
			if chunked {
				w.SetChunked()
				r.SetChunked()
			}
			msg := bytes.Repeat([]byte("x"), n)
			go func() {
				buf := append(make([]byte, headroom, headroom+n), msg...)
				_ = w.writeInPlace(buf)
				a.Close()
			}()
			got, err := r.ReadMessage()
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("chunked=%v n=%d: %d bytes, %v", chunked, n, len(got), err)
			}
			if _, err := r.ReadMessage(); !errors.Is(err, io.EOF) {
				t.Fatalf("chunked=%v n=%d: stray bytes: %v", chunked, n, err)
			}
		}
	}
}
