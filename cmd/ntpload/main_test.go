package main

import (
	"testing"
	"time"

	"github.com/ntpagent/ntpagent/ntpengine/packet"
)

// Every request is a valid NTPv4 client packet with a distinct transmit
// timestamp close to now.
func TestRequestIsAClientPacket(t *testing.T) {
	b := make([]byte, 48)
	seen := map[packet.Timestamp]bool{}
	for seq := range uint64(100) {
		request(b, seq)
		p, err := packet.Unmarshal(b)
		if err != nil || p.Validate() != nil {
			t.Fatalf("request %d does not parse: %v", seq, err)
		}
		if p.Mode != packet.ModeClient || p.Version != 4 || p.MAC != nil {
			t.Errorf("request %d: mode %v version %d", seq, p.Mode, p.Version)
		}
		if d := time.Since(p.TransmitTime.Time(time.Now())); d < 0 || d > time.Second {
			t.Errorf("request %d: transmit time %v off by %v", seq, p.TransmitTime, d)
		}
		if seen[p.TransmitTime] {
			t.Errorf("request %d repeats a transmit timestamp", seq)
		}
		seen[p.TransmitTime] = true
	}
}
