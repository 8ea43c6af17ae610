package server

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"testing"
)

// writesConn records each Write it is given.
type writesConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
	err    error
}

func (w *writesConn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

func (w *writesConn) got() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([][]byte(nil), w.writes...)
}

func fill(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// The SSH transport writes a packet over 4 KiB in two parts (its full
// buffer, then the rest): while a channel writes a message, the two leave
// the connection in one write, in order; a smaller packet goes out at once,
// and outside a message nothing is held.
func TestPacketLeavesTheConnectionInOneWrite(t *testing.T) {
	conn := &writesConn{}
	c := &coalescer{conn: conn}
	c.hold()
	for _, p := range [][]byte{fill(transportBuffer, 'a'), fill(9700, 'b'), fill(52, 'c')} {
		if n, err := c.write(p); n != len(p) || err != nil {
			t.Fatalf("write: %d, %v", n, err)
		}
	}
	if err := c.release(); err != nil {
		t.Fatal(err)
	}
	w := conn.got()
	if len(w) != 2 || !bytes.Equal(w[0], append(fill(transportBuffer, 'a'), fill(9700, 'b')...)) || !bytes.Equal(w[1], fill(52, 'c')) {
		t.Fatalf("got %d writes, want the two parts of the packet in one, then the small packet", len(w))
	}
	if _, err := c.write(fill(transportBuffer, 'd')); err != nil {
		t.Fatal(err)
	}
	if w := conn.got(); len(w) != 3 || !bytes.Equal(w[2], fill(transportBuffer, 'd')) {
		t.Fatalf("a full buffer outside a message was held: %d writes", len(w))
	}
}

// A packet of exactly one buffer is held until the next write or the end
// of the message; one buffer at most is held.
func TestAtMostOneBufferIsHeld(t *testing.T) {
	conn := &writesConn{}
	c := &coalescer{conn: conn}
	c.hold()
	c.write(fill(transportBuffer, 'a'))
	if w := conn.got(); len(w) != 0 {
		t.Fatalf("%d writes, want the full buffer held", len(w))
	}
	if err := c.release(); err != nil {
		t.Fatal(err)
	}
	if w := conn.got(); len(w) != 1 || !bytes.Equal(w[0], fill(transportBuffer, 'a')) {
		t.Fatalf("after the message: %d writes, want the held buffer", len(w))
	}
	c.hold()
	c.write(fill(transportBuffer, 'b'))
	c.write(fill(transportBuffer, 'c'))
	if w := conn.got(); len(w) != 2 || !bytes.Equal(w[1], append(fill(transportBuffer, 'b'), fill(transportBuffer, 'c')...)) {
		t.Fatalf("a second full buffer was held too: %d writes", len(w))
	}
	if err := c.release(); err != nil {
		t.Fatal(err)
	}
	if w := conn.got(); len(w) != 2 {
		t.Fatalf("%d writes after the message, want none more", len(w))
	}
}

// A failed write is the error of the message being written and of every
// later write: the connection is broken.
func TestAFailedWriteFailsTheMessage(t *testing.T) {
	broken := errors.New("broken pipe")
	conn := &writesConn{err: broken}
	c := &coalescer{conn: conn}
	c.hold()
	if _, err := c.write(fill(transportBuffer, 'x')); err != nil {
		t.Fatalf("a held write failed: %v", err)
	}
	if err := c.release(); !errors.Is(err, broken) {
		t.Fatalf("release: %v, want %v", err, broken)
	}
	if _, err := c.write([]byte("y")); !errors.Is(err, broken) {
		t.Fatalf("write after the failure: %v", err)
	}
}
