package server

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/ntpagent/ntpagent/internal/fakeclock"
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

// A packet the SSH transport writes in two parts (its 4 KiB buffer, then
// the rest) while a channel writes one message, and what other channels
// write meanwhile, leave the connection in one write, in their order.
func TestMessageLeavesTheConnectionInOneWrite(t *testing.T) {
	conn := &writesConn{}
	c := &coalescer{conn: conn, clock: fakeclock.New()}
	c.hold()
	for _, p := range [][]byte{fill(4096, 'a'), fill(9700, 'b'), fill(52, 'c')} {
		if n, err := c.write(p); n != len(p) || err != nil {
			t.Fatalf("write: %d, %v", n, err)
		}
	}
	if w := conn.got(); len(w) != 0 {
		t.Fatalf("%d writes while the message is written, want 0", len(w))
	}
	if err := c.release(); err != nil {
		t.Fatal(err)
	}
	want := append(append(fill(4096, 'a'), fill(9700, 'b')...), fill(52, 'c')...)
	if w := conn.got(); len(w) != 1 || !bytes.Equal(w[0], want) {
		t.Fatalf("got %d writes, want one of the three parts in order", len(w))
	}
	// No message being written: each write goes out at once.
	if _, err := c.write(fill(10, 'd')); err != nil {
		t.Fatal(err)
	}
	if w := conn.got(); len(w) != 2 || !bytes.Equal(w[1], fill(10, 'd')) {
		t.Fatalf("a write outside a message was held: %d writes", len(w))
	}
}

// Two channels writing messages at once: the bytes go out when the last
// one is written, in the order they were written.
func TestOverlappingMessagesKeepTheirOrder(t *testing.T) {
	conn := &writesConn{}
	c := &coalescer{conn: conn, clock: fakeclock.New()}
	c.hold()
	c.write([]byte("1"))
	c.hold()
	c.write([]byte("2"))
	if err := c.release(); err != nil {
		t.Fatal(err)
	}
	c.write([]byte("3"))
	if w := conn.got(); len(w) != 0 {
		t.Fatalf("%d writes before the last message ended", len(w))
	}
	if err := c.release(); err != nil {
		t.Fatal(err)
	}
	if w := conn.got(); len(w) != 1 || string(w[0]) != "123" {
		t.Fatalf("got %q", w)
	}
}

// RFC 4254 §5.2: a channel write may wait for the client's window with
// part of its message written. What is held goes out after holdLimit, so
// the client can read it and open the window; and beyond maxHeld it goes
// out with the write that would exceed it.
func TestHeldBytesGoOutAfterTheLimits(t *testing.T) {
	clk := fakeclock.New()
	conn := &writesConn{}
	c := &coalescer{conn: conn, clock: clk}
	c.hold()
	c.write(fill(100, 'a'))
	clk.Advance(holdLimit / 2)
	if w := conn.got(); len(w) != 0 {
		t.Fatalf("sent before holdLimit: %d writes", len(w))
	}
	clk.Advance(holdLimit / 2)
	if w := conn.got(); len(w) != 1 || !bytes.Equal(w[0], fill(100, 'a')) {
		t.Fatalf("after holdLimit: %d writes, want the held bytes", len(w))
	}
	// Still within the message: later writes are held again, and the
	// timer is armed again for them.
	c.write(fill(maxHeld-10, 'b'))
	c.write(fill(20, 'c')) // beyond maxHeld: out with what is held
	w := conn.got()
	var sent []byte
	for _, p := range w[1:] {
		sent = append(sent, p...)
	}
	if want := append(fill(maxHeld-10, 'b'), fill(20, 'c')...); !bytes.Equal(sent, want) {
		t.Fatalf("beyond maxHeld: sent %d bytes, want %d in order", len(sent), len(want))
	}
	c.write(fill(5, 'd'))
	clk.Advance(holdLimit)
	if w := conn.got(); !bytes.Equal(w[len(w)-1], fill(5, 'd')) {
		t.Fatal("bytes held after a send did not go out after holdLimit")
	}
	if err := c.release(); err != nil {
		t.Fatal(err)
	}
}

// A failed write is the error of the message being written and of every
// later write: the connection is broken.
func TestAFailedWriteFailsTheMessage(t *testing.T) {
	broken := errors.New("broken pipe")
	conn := &writesConn{err: broken}
	c := &coalescer{conn: conn, clock: fakeclock.New()}
	c.hold()
	if _, err := c.write([]byte("x")); err != nil {
		t.Fatalf("a held write failed: %v", err)
	}
	if err := c.release(); !errors.Is(err, broken) {
		t.Fatalf("release: %v, want %v", err, broken)
	}
	if _, err := c.write([]byte("y")); !errors.Is(err, broken) {
		t.Fatalf("write after the failure: %v", err)
	}
}
