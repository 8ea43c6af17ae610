package netconf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
)

// DefaultMaxMessage is the largest NETCONF message accepted by default.
const DefaultMaxMessage = 16 << 20

// endOfMessage ends a message in base:1.0 framing (RFC 6242 §4.3).
var endOfMessage = []byte("]]>]]>")

// ErrFraming reports bytes that break the framing: the session cannot go on.
var ErrFraming = errors.New("netconf: framing error")

// ErrTooBig reports a message larger than the configured limit.
var ErrTooBig = errors.New("netconf: message too big")

// maxChunk is the largest chunk-size RFC 6242 §4.2 allows.
const maxChunk = 4294967295

// FrameReader reads whole NETCONF messages in either framing. It starts in
// end-of-message framing; SetChunked switches to chunked framing for every
// message after the one just read. Bytes already buffered stay buffered, so a
// client whose first <rpc> arrives in the same read as its <hello> is framed
// correctly (RFC 6242 §4.1: the switch happens right after the hellos).
type FrameReader struct {
	r       *bufio.Reader
	max     int
	chunked bool
}

// NewFrameReader reads from r and refuses messages over max bytes
// (DefaultMaxMessage when max <= 0).
func NewFrameReader(r io.Reader, max int) *FrameReader {
	if max <= 0 {
		max = DefaultMaxMessage
	}
	return &FrameReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// SetChunked selects chunked framing (base:1.1) for the following messages.
func (f *FrameReader) SetChunked() { f.chunked = true }

// Chunked tells whether chunked framing is in use.
func (f *FrameReader) Chunked() bool { return f.chunked }

// ReadMessage returns the next message. io.EOF means the peer closed cleanly
// between messages; any other error ends the session.
func (f *FrameReader) ReadMessage() ([]byte, error) {
	if f.chunked {
		return f.readChunked()
	}
	return f.readEOM()
}

func (f *FrameReader) readEOM() ([]byte, error) {
	var msg []byte
	for {
		b, err := f.r.ReadSlice('>')
		msg = append(msg, b...)
		if len(msg) > f.max+len(endOfMessage) {
			return nil, fmt.Errorf("%w: more than %d bytes without ]]>]]>", ErrTooBig, f.max)
		}
		if err == nil {
			if bytes.HasSuffix(msg, endOfMessage) {
				return msg[:len(msg)-len(endOfMessage)], nil
			}
			continue
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(bytes.TrimSpace(msg)) == 0 {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("%w: stream ended inside a message", io.ErrUnexpectedEOF)
		}
		return nil, err
	}
}

// readChunked reads one chunked message (RFC 6242 §4.2):
//
//	Chunked-Message = 1*chunk end-of-chunks
//	chunk           = LF HASH chunk-size LF chunk-data
//	end-of-chunks   = LF HASH HASH LF
func (f *FrameReader) readChunked() ([]byte, error) {
	var msg []byte
	for first := true; ; first = false {
		c, err := f.r.ReadByte()
		if err != nil {
			if first && errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, unexpected(err)
		}
		if c != '\n' {
			return nil, fmt.Errorf("%w: expected LF before a chunk header, got %q", ErrFraming, c)
		}
		if c, err = f.r.ReadByte(); err != nil {
			return nil, unexpected(err)
		}
		if c != '#' {
			return nil, fmt.Errorf("%w: expected '#' in a chunk header, got %q", ErrFraming, c)
		}
		if c, err = f.r.ReadByte(); err != nil {
			return nil, unexpected(err)
		}
		if c == '#' {
			if c, err = f.r.ReadByte(); err != nil {
				return nil, unexpected(err)
			}
			if c != '\n' {
				return nil, fmt.Errorf("%w: expected LF after ##, got %q", ErrFraming, c)
			}
			if first {
				return nil, fmt.Errorf("%w: end-of-chunks without a chunk", ErrFraming)
			}
			return msg, nil
		}
		// chunk-size = 1-9 digits then at most 9 more DIGIT; max 4294967295.
		if c < '1' || c > '9' {
			return nil, fmt.Errorf("%w: bad chunk-size start %q", ErrFraming, c)
		}
		var digitsBuf [10]byte
		digits := append(digitsBuf[:0], c)
		for {
			if c, err = f.r.ReadByte(); err != nil {
				return nil, unexpected(err)
			}
			if c == '\n' {
				break
			}
			if c < '0' || c > '9' || len(digits) >= 10 {
				return nil, fmt.Errorf("%w: bad chunk-size", ErrFraming)
			}
			digits = append(digits, c)
		}
		n, err := strconv.ParseUint(string(digits), 10, 64)
		if err != nil || n > maxChunk {
			return nil, fmt.Errorf("%w: chunk-size %s out of range 1..%d", ErrFraming, digits, uint64(maxChunk))
		}
		if uint64(len(msg))+n > uint64(f.max) {
			return nil, fmt.Errorf("%w: message over %d bytes", ErrTooBig, f.max)
		}
		// Grow with the data actually received, not with the size a peer
		// claims: a header alone must not reserve megabytes.
		for left := int(n); left > 0; {
			step := min(left, 32<<10)
			start := len(msg)
			msg = slices.Grow(msg, step)[:start+step]
			if _, err := io.ReadFull(f.r, msg[start:]); err != nil {
				return nil, unexpected(err)
			}
			left -= step
		}
	}
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: stream ended inside a chunked message", io.ErrUnexpectedEOF)
	}
	return err
}

// FrameWriter writes whole messages; it is safe for concurrent use so that
// notifications and replies never interleave inside a message.
type FrameWriter struct {
	mu      sync.Mutex
	w       io.Writer
	chunked bool
}

// NewFrameWriter writes to w in end-of-message framing.
func NewFrameWriter(w io.Writer) *FrameWriter { return &FrameWriter{w: w} }

// SetChunked selects chunked framing for later messages.
func (f *FrameWriter) SetChunked() {
	f.mu.Lock()
	f.chunked = true
	f.mu.Unlock()
}

// WriteMessage writes msg as one framed message with a single write call.
func (f *FrameWriter) WriteMessage(msg []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var buf []byte
	if f.chunked {
		if len(msg) == 0 {
			return fmt.Errorf("netconf: empty message cannot be chunk-framed")
		}
		buf = make([]byte, 0, len(msg)+24)
		buf = append(buf, "\n#"...)
		buf = strconv.AppendInt(buf, int64(len(msg)), 10)
		buf = append(buf, '\n')
		buf = append(buf, msg...)
		buf = append(buf, "\n##\n"...)
	} else {
		buf = make([]byte, 0, len(msg)+len(endOfMessage))
		buf = append(buf, msg...)
		buf = append(buf, endOfMessage...)
	}
	_, err := f.w.Write(buf)
	return err
}

// headroom is the space a message buffer reserves in front for the chunk
// header ("\n#4294967295\n" is 13 bytes), so that a reply is framed in
// place without another copy.
const headroom = 16

// writeInPlace writes buf[headroom:] as one message; buf's first headroom
// bytes are scratch space for the chunk header.
func (f *FrameWriter) writeInPlace(buf []byte) error {
	msg := buf[headroom:]
	if len(msg) == 0 {
		return fmt.Errorf("netconf: empty message")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.chunked {
		_, err := f.w.Write(append(msg, endOfMessage...))
		return err
	}
	var hdr [headroom]byte
	h := append(hdr[:0], "\n#"...)
	h = strconv.AppendInt(h, int64(len(msg)), 10)
	h = append(h, '\n')
	start := headroom - len(h)
	copy(buf[start:], h)
	_, err := f.w.Write(append(buf[start:], "\n##\n"...))
	return err
}
