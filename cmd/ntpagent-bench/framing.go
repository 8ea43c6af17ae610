//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Framing is the NETCONF message framing of RFC 6242 §4.
type Framing int

const (
	// EndOfMessage is base:1.0 framing: each message ends with "]]>]]>"
	// (RFC 6242 §4.3). Hellos always use it.
	EndOfMessage Framing = iota
	// Chunked is base:1.1 framing: "\n#LEN\n" chunks ended by "\n##\n"
	// (RFC 6242 §4.2).
	Chunked
)

func (f Framing) String() string {
	if f == Chunked {
		return "base:1.1 chunked"
	}
	return "base:1.0 end-of-message"
}

var eom = []byte("]]>]]>")

// maxChunk is the largest chunk size RFC 6242 §4.2 allows.
const maxChunk = 4294967295

// ErrTooLarge is returned when a message exceeds the reader's limit.
var ErrTooLarge = errors.New("netconf message exceeds the size limit")

// frameReader reads NETCONF messages from a byte stream. It keeps bytes that
// follow one message for the next.
type frameReader struct {
	src   io.Reader
	buf   []byte // buf[start:end] is unread
	start int
	end   int
	max   int
}

func newFrameReader(src io.Reader, max int) *frameReader {
	return &frameReader{src: src, buf: make([]byte, 64<<10), max: max}
}

// fill reads more bytes, compacting or growing the buffer as needed.
func (r *frameReader) fill() error {
	if r.start > 0 && r.start == r.end {
		r.start, r.end = 0, 0
	}
	if r.end == len(r.buf) {
		if r.start > 0 {
			n := copy(r.buf, r.buf[r.start:r.end])
			r.start, r.end = 0, n
		} else {
			if len(r.buf) >= r.max+64 {
				return ErrTooLarge
			}
			nb := make([]byte, 2*len(r.buf))
			copy(nb, r.buf[:r.end])
			r.buf = nb
		}
	}
	n, err := r.src.Read(r.buf[r.end:])
	r.end += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// Read returns the next message in framing f. The returned slice is a copy.
func (r *frameReader) Read(f Framing) ([]byte, error) {
	if f == Chunked {
		return r.readChunked()
	}
	return r.readEOM()
}

func (r *frameReader) readEOM() ([]byte, error) {
	scanned := 0 // bytes of buf[start:end] already searched
	for {
		from := max(0, scanned-len(eom)+1)
		if i := bytes.Index(r.buf[r.start+from:r.end], eom); i >= 0 {
			n := from + i
			msg := bytes.Clone(r.buf[r.start : r.start+n])
			r.start += n + len(eom)
			return msg, nil
		}
		scanned = r.end - r.start
		if scanned > r.max {
			return nil, ErrTooLarge
		}
		if err := r.fill(); err != nil {
			return nil, fmt.Errorf("reading end-of-message frame: %w", err)
		}
	}
}

// need makes at least n unread bytes available.
func (r *frameReader) need(n int) error {
	for r.end-r.start < n {
		if err := r.fill(); err != nil {
			return err
		}
	}
	return nil
}

// readChunkHeader reads "\n#LEN\n" or "\n##\n"; it returns 0 for the end.
func (r *frameReader) readChunkHeader() (int, error) {
	if err := r.need(3); err != nil {
		return 0, err
	}
	if r.buf[r.start] != '\n' || r.buf[r.start+1] != '#' {
		return 0, fmt.Errorf("chunked framing: want \\n#, got %q", r.buf[r.start:r.start+2])
	}
	if r.buf[r.start+2] == '#' {
		if err := r.need(4); err != nil {
			return 0, err
		}
		if r.buf[r.start+3] != '\n' {
			return 0, errors.New("chunked framing: end-of-chunks not followed by newline")
		}
		r.start += 4
		return 0, nil
	}
	// Up to 10 digits and the newline (RFC 6242 §4.2: 1..4294967295).
	i := 2
	for {
		if err := r.need(i + 1); err != nil {
			return 0, err
		}
		c := r.buf[r.start+i]
		if c == '\n' {
			break
		}
		if c < '0' || c > '9' || i > 12 {
			return 0, fmt.Errorf("chunked framing: bad chunk size byte %q", c)
		}
		i++
	}
	digits := string(r.buf[r.start+2 : r.start+i])
	if digits == "" || digits[0] == '0' {
		return 0, fmt.Errorf("chunked framing: bad chunk size %q", digits)
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n > maxChunk {
		return 0, fmt.Errorf("chunked framing: bad chunk size %q", digits)
	}
	r.start += i + 1
	return int(n), nil
}

func (r *frameReader) readChunked() ([]byte, error) {
	var msg []byte
	for chunks := 0; ; chunks++ {
		n, err := r.readChunkHeader()
		if err != nil {
			return nil, err
		}
		if n == 0 {
			if chunks == 0 {
				return nil, errors.New("chunked framing: message without chunks")
			}
			return msg, nil
		}
		if len(msg)+n > r.max {
			return nil, ErrTooLarge
		}
		for n > 0 {
			if r.start == r.end {
				if err := r.fill(); err != nil {
					return nil, fmt.Errorf("reading chunk: %w", err)
				}
			}
			k := min(n, r.end-r.start)
			msg = append(msg, r.buf[r.start:r.start+k]...)
			r.start += k
			n -= k
		}
	}
}

// frame appends msg in framing f to dst.
func frame(dst []byte, f Framing, msg []byte) []byte {
	if f == Chunked {
		dst = append(dst, "\n#"...)
		dst = strconv.AppendInt(dst, int64(len(msg)), 10)
		dst = append(dst, '\n')
		dst = append(dst, msg...)
		return append(dst, "\n##\n"...)
	}
	dst = append(dst, msg...)
	return append(dst, eom...)
}
