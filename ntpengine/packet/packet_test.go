package packet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func TestTimestampEraRollover(t *testing.T) {
	// RFC 5905 §6: era 1 begins 2036-02-07 06:28:16 UTC.
	eraStart := time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC)
	before := eraStart.Add(-1500 * time.Millisecond)
	after := eraStart.Add(2500 * time.Millisecond)
	tb, ta := TimestampFromTime(before), TimestampFromTime(after)
	if ta>>32 != 2 || tb>>32 != 0xfffffffe {
		t.Fatalf("seconds fields %x %x", tb>>32, ta>>32)
	}
	if got := ta.Sub(tb); got != 4*time.Second {
		t.Errorf("after-before across era = %v, want 4s", got)
	}
	if got := tb.Sub(ta); got != -4*time.Second {
		t.Errorf("before-after across era = %v, want -4s", got)
	}
	if got := ta.Time(eraStart); !got.Equal(after) {
		t.Errorf("Time(pivot in era 1) = %v, want %v", got, after)
	}
	if got := tb.Time(eraStart); !got.Equal(before) {
		t.Errorf("Time(pivot) = %v, want %v", got, before)
	}
	if got := tb.Add(4 * time.Second); got != ta {
		t.Errorf("Add across era = %x, want %x", got, ta)
	}
}

func TestTimestampRoundTrip(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 25, 18, 0, 0, 123456789, time.UTC),
		time.Date(2100, 1, 1, 0, 0, 0, 999999999, time.UTC),
	} {
		ts := TimestampFromTime(tm)
		got := ts.Time(tm.Add(30 * 365 * 24 * time.Hour))
		if d := got.Sub(tm); d < -time.Nanosecond || d > time.Nanosecond {
			t.Errorf("%v → %x → %v", tm, uint64(ts), got)
		}
	}
	if TimestampFromTime(time.Time{}) != 0 || !Timestamp(0).Time(time.Now()).IsZero() {
		t.Error("zero time must map to zero timestamp and back")
	}
	// 1900-01-01 epoch check: Unix epoch is 2208988800 s into era 0.
	if got := TimestampFromTime(time.Unix(0, 0)); got != Timestamp(2208988800)<<32 {
		t.Errorf("unix epoch = %x", uint64(got))
	}
	if got := TimestampFromTime(time.Unix(0, 5e8)) & 0xffffffff; got != 1<<31 {
		t.Errorf("half second fraction = %x", uint64(got))
	}
}

func TestShort(t *testing.T) {
	if ShortFromSeconds(1.5) != 0x00018000 {
		t.Error("1.5 s")
	}
	if ShortFromSeconds(-1) != 0 || ShortFromSeconds(1e9) != 0xffffffff {
		t.Error("saturation")
	}
	if Short(0x00018000).Seconds() != 1.5 {
		t.Error("Seconds")
	}
}

func header() Header {
	return Header{Leap: LeapNone, Version: 4, Mode: ModeSymmetricActive, Stratum: 2, Poll: 6, Precision: -20,
		RootDelay: 0x10, RootDispersion: 0x20, ReferenceID: 0x7f000001,
		ReferenceTime: 1, OriginTime: 2, ReceiveTime: 3, TransmitTime: 0x0102030405060708}
}

func TestMarshalLayout(t *testing.T) {
	h := header()
	p := &Packet{Header: h}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 48 || b[0] != 0x21 || b[1] != 2 || b[2] != 6 || int8(b[3]) != -20 {
		t.Fatalf("first word % x", b[:4])
	}
	if binary.BigEndian.Uint64(b[40:]) != 0x0102030405060708 {
		t.Fatal("transmit timestamp position")
	}
	q, err := Unmarshal(b)
	if err != nil || q.Header != h || q.MAC != nil || len(q.Extensions) != 0 || q.AuthLen != 48 {
		t.Fatalf("round trip: %+v %v", q, err)
	}
}

func TestUnmarshalRFC7822(t *testing.T) {
	h := header()
	base := h.AppendHeader(nil)
	ext := func(typ uint16, l int) []byte {
		e := make([]byte, l)
		binary.BigEndian.PutUint16(e, typ)
		binary.BigEndian.PutUint16(e[2:], uint16(l))
		return e
	}
	mac := func(n int) []byte {
		m := make([]byte, 4+n)
		binary.BigEndian.PutUint32(m, 7)
		for i := 4; i < len(m); i++ {
			m[i] = byte(i)
		}
		return m
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(append([][]byte{base}, bs...), nil) }
	v3 := append([]byte(nil), base...)
	v3[0] = 0x19 // version 3, mode 1
	tests := []struct {
		name    string
		data    []byte
		nExt    int
		macLen  int // -1: no MAC
		authLen int
		err     error
	}{
		{"RFC5905 §7.3 bare header", cat(), 0, -1, 48, nil},
		{"RFC5905 §7.3 MD5 MAC 20 octets", cat(mac(16)), 0, 16, 48, nil},
		{"RFC5905 §7.3 SHA1 MAC 24 octets", cat(mac(20)), 0, 20, 48, nil},
		{"RFC7822 §7.5 28 octets v4 is an extension field, not a MAC", cat(ext(0x0104, 28)), 1, -1, 76, nil},
		{"RFC7822 §7.5 extension then MAC", cat(ext(0x2005, 16), mac(20)), 1, 20, 64, nil},
		{"RFC7822 §7.5 two extensions then MAC", cat(ext(1, 16), ext(2, 32), mac(16)), 2, 16, 96, nil},
		{"RFC5905 §7.4 crypto-NAK", cat(make([]byte, 4)), 0, 0, 48, nil},
		{"RFC5905 v3 long MAC (SHA256, 36 octets)", append(append([]byte(nil), v3...), mac(32)...), 0, 32, 48, nil},
		{"short packet", base[:47], 0, 0, 0, ErrShort},
		{"RFC7822 §3 extension length below 16", cat(ext(1, 12), make([]byte, 16)), 0, 0, 0, ErrTrailer},
		{"RFC7822 §3 extension length beyond packet", cat(func() []byte { e := ext(1, 28); binary.BigEndian.PutUint16(e[2:], 64); return e }()), 0, 0, 0, ErrTrailer},
		{"RFC7822 §3 extension length not a multiple of 4", cat(func() []byte { e := ext(1, 28); binary.BigEndian.PutUint16(e[2:], 18); return e }()), 0, 0, 0, ErrTrailer},
		{"trailer of 8 octets", cat(make([]byte, 8)), 0, 0, 0, ErrTrailer},
		{"trailer of 22 octets", cat(make([]byte, 22)), 0, 0, 0, ErrTrailer},
		{"nonzero 4-octet trailer", cat([]byte{0, 0, 0, 1}), 0, 0, 0, ErrTrailer},
		{"v4 trailer of 30 octets", cat(make([]byte, 30)), 0, 0, 0, ErrTrailer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Unmarshal(tc.data)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Extensions) != tc.nExt || p.AuthLen != tc.authLen {
				t.Errorf("ext %d authLen %d", len(p.Extensions), p.AuthLen)
			}
			switch {
			case tc.macLen < 0 && p.MAC != nil:
				t.Errorf("unexpected MAC")
			case tc.macLen >= 0 && (p.MAC == nil || len(p.MAC.Digest) != tc.macLen):
				t.Errorf("MAC %+v", p.MAC)
			}
			// Marshal reproduces the input exactly.
			b, err := p.Marshal()
			if err != nil || !bytes.Equal(b, tc.data) {
				t.Errorf("re-marshal differs: %v\n% x\n% x", err, b, tc.data)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version uint8
		mode    Mode
		err     error
	}{
		{"RFC5905 §7.3 version 0 rejected", 0, ModeClient, ErrVersion},
		{"RFC5905 §7.3 version 5 rejected", 5, ModeClient, ErrVersion},
		{"RFC1059 version 1 accepted", 1, ModeSymmetricActive, nil},
		{"RFC5905 §7.3 mode 0 reserved", 4, ModeReserved, ErrMode},
		{"RFC5905 §7.3 version 4 client", 4, ModeClient, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Packet{Header: Header{Version: tc.version, Mode: tc.mode}}
			if err := p.Validate(); !errors.Is(err, tc.err) {
				t.Errorf("got %v want %v", err, tc.err)
			}
		})
	}
}

func TestKissCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   uint32
		code string
	}{
		{"RFC5905 §7.4 DENY", KissDeny, "DENY"},
		{"RFC5905 §7.4 RSTR", KissRstr, "RSTR"},
		{"RFC5905 §7.4 RATE", KissRate, "RATE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := Header{Stratum: 0, Leap: LeapUnsync, ReferenceID: tc.id}
			if c, ok := h.IsKoD(); !ok || c != tc.code {
				t.Errorf("IsKoD = %q %v", c, ok)
			}
			h.Stratum = 1
			if _, ok := h.IsKoD(); ok {
				t.Error("stratum 1 is not a KoD")
			}
		})
	}
}

func FuzzUnmarshal(f *testing.F) {
	h := header()
	b := h.AppendHeader(nil)
	f.Add(b)
	f.Add(append(append([]byte(nil), b...), make([]byte, 24)...))
	f.Add(append(append([]byte(nil), b...), 0, 1, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Unmarshal(data)
		if err != nil {
			return
		}
		_ = p.Validate()
		out, err := p.Marshal()
		if err != nil {
			t.Fatalf("marshal of parsed packet: %v", err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("round trip differs:\n% x\n% x", data, out)
		}
		if p.AuthLen > len(data) || p.AuthLen < HeaderLen {
			t.Fatalf("AuthLen %d", p.AuthLen)
		}
	})
}
