package server

import (
	"net"
	"sync"
	"time"

	"github.com/ntpagent/ntpagent/internal/clock"
	"golang.org/x/crypto/ssh"
)

// The SSH transport writes each packet through a 4 KiB buffer: the 4-byte
// packet length first, then the rest, so a packet of more than 4 KiB (a
// get-config reply of 100 peers is 14 KB) reaches the socket as two writes
// — two TCP segments, and two wake-ups of the client, which can decrypt
// nothing before the whole packet is in. A subsystem's message is written
// as one: while a channel writes it, the connection holds what the
// transport writes and sends it with one write when the message is
// written (RFC 4253 §6 lets packets of a stream be sent as the stream
// likes).
//
// A channel write can wait for the client's window (RFC 4254 §5.2) with
// part of the message written; what is held then would be missing at the
// client, which might be what it waits for before adjusting the window. So
// held bytes go out after holdLimit whatever happens, and at maxHeld.

const (
	// holdLimit is the longest bytes are held.
	holdLimit = time.Millisecond
	// maxHeld is the most bytes held: more are sent with what is held.
	maxHeld = 64 << 10
)

// coalescer holds writes to a connection between hold and release.
type coalescer struct {
	conn  net.Conn
	clock clock.Clock

	mu      sync.Mutex
	holding int // channels writing a message
	held    []byte
	timer   clock.Timer // sends what is held after holdLimit
	err     error       // of a write made by the timer
}

// write writes p, or holds it while a message is written.
func (c *coalescer) write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.holding == 0 || len(c.held)+len(p) > maxHeld {
		return len(p), c.sendLocked(p)
	}
	if len(c.held) == 0 {
		if c.timer == nil {
			c.timer = c.clock.AfterFunc(holdLimit, c.expire)
		} else {
			c.timer.Reset(holdLimit)
		}
	}
	c.held = append(c.held, p...)
	return len(p), nil
}

// sendLocked writes what is held and then p in one system call.
func (c *coalescer) sendLocked(p []byte) error {
	var err error
	switch {
	case len(c.held) == 0:
		_, err = c.conn.Write(p)
	case len(p) == 0:
		_, err = c.conn.Write(c.held)
	default:
		bufs := net.Buffers{c.held, p}
		_, err = bufs.WriteTo(c.conn)
	}
	if len(c.held) > 0 {
		if c.timer != nil {
			c.timer.Stop()
		}
		c.held = c.held[:0]
		if cap(c.held) > maxHeld {
			c.held = nil // a message larger than most is not kept for the next
		}
	}
	if err != nil {
		c.err = err
	}
	return err
}

// hold starts holding writes: a channel is writing a message.
func (c *coalescer) hold() {
	c.mu.Lock()
	c.holding++
	c.mu.Unlock()
}

// release ends a hold and sends what is held once no channel holds.
func (c *coalescer) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holding--
	if c.holding > 0 || len(c.held) == 0 {
		return c.err
	}
	return c.sendLocked(nil)
}

// expire sends what is held after holdLimit.
func (c *coalescer) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.held) > 0 && c.err == nil {
		_ = c.sendLocked(nil)
	}
}

// messageChannel is a session channel whose each Write (one message of the
// subsystem) leaves the connection in one write.
type messageChannel struct {
	ssh.Channel
	c *coalescer
}

func (m messageChannel) Write(p []byte) (int, error) {
	m.c.hold()
	n, err := m.Channel.Write(p)
	if rerr := m.c.release(); err == nil {
		err = rerr
	}
	return n, err
}
