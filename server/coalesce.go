package server

import (
	"net"
	"sync"

	"golang.org/x/crypto/ssh"
)

// The SSH transport writes each packet through a 4 KiB buffer: the 4-byte
// packet length first, then the rest, so a packet of more than 4 KiB (a
// get-config reply of 100 peers is 14 KB) reaches the socket as two
// writes: the full buffer, then the rest — two TCP segments, and two
// wake-ups of the client, which can decrypt nothing before the whole
// packet is in. While a channel writes a subsystem's message, a write of a
// full buffer is held and sent with the write that follows it, the rest of
// the same packet: one write per packet (RFC 4253 §6 lets a stream's
// packets be sent as the stream likes).
//
// Only a full buffer is held, and only until the next write: a packet's
// window is reserved before the packet is written (RFC 4254 §5.2), so a
// channel never waits for the client's window between the two writes of
// one packet. A packet of exactly one buffer is held until the message is
// written (release).

// transportBuffer is the size of the SSH transport's write buffer
// (bufio's default): its flushes of a full buffer are this long.
const transportBuffer = 4096

// coalescer holds a full transport buffer while a message is written.
type coalescer struct {
	conn net.Conn

	mu      sync.Mutex
	holding int    // channels writing a message
	held    []byte // a full buffer, or nothing
	err     error  // of an earlier write: the connection is broken
}

// write writes p, or holds it: a full buffer while a message is written.
func (c *coalescer) write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.holding > 0 && len(c.held) == 0 && len(p) == transportBuffer {
		c.held = append(c.held, p...)
		return len(p), nil
	}
	return len(p), c.sendLocked(p)
}

// sendLocked writes what is held and then p, with one write.
func (c *coalescer) sendLocked(p []byte) error {
	out := p
	if len(c.held) > 0 {
		c.held = append(c.held, p...)
		out = c.held
	}
	_, err := c.conn.Write(out)
	c.held = c.held[:0]
	if cap(c.held) > maxKeptHeld {
		c.held = nil // a packet larger than most is not kept for the next
	}
	if err != nil {
		c.err = err
	}
	return err
}

// maxKeptHeld is the largest held buffer kept from one packet to the next.
const maxKeptHeld = 64 << 10

// hold starts holding writes: a channel is writing a message.
func (c *coalescer) hold() {
	c.mu.Lock()
	c.holding++
	c.mu.Unlock()
}

// release ends a hold and sends what is held.
func (c *coalescer) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holding--
	if len(c.held) == 0 {
		return c.err
	}
	return c.sendLocked(nil)
}

// messageChannel is a session channel whose each Write (one message of the
// subsystem) leaves the connection in one write per SSH packet.
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
