package packet

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Mode is the association mode of RFC 5905 §7.3 (figure 10).
type Mode uint8

// The modes of RFC 5905 §7.3.
const (
	ModeReserved         Mode = 0
	ModeSymmetricActive  Mode = 1
	ModeSymmetricPassive Mode = 2
	ModeClient           Mode = 3
	ModeServer           Mode = 4
	ModeBroadcast        Mode = 5
	ModeControl          Mode = 6
	ModePrivate          Mode = 7
)

func (m Mode) String() string {
	switch m {
	case ModeSymmetricActive:
		return "symmetric-active"
	case ModeSymmetricPassive:
		return "symmetric-passive"
	case ModeClient:
		return "client"
	case ModeServer:
		return "server"
	case ModeBroadcast:
		return "broadcast"
	case ModeControl:
		return "control"
	case ModePrivate:
		return "private"
	}
	return "reserved"
}

// Leap is the leap indicator of RFC 5905 §7.3 (figure 9).
type Leap uint8

// The leap indicator values.
const (
	LeapNone   Leap = 0
	LeapAdd    Leap = 1 // last minute of the day has 61 seconds
	LeapDelete Leap = 2 // last minute of the day has 59 seconds
	LeapUnsync Leap = 3 // clock unsynchronized
)

// HeaderLen is the length of the fixed NTP header.
const HeaderLen = 48

// MAC length limits. RFC 7822 §7.5: in an NTPv4 packet, what follows the
// header (and any extension fields) is a MAC when it is 20 or 24 octets
// (key id + 16- or 20-octet digest); anything longer is an extension field.
// Older versions carry no extension fields, so any trailer of 20 octets or
// more is a MAC.
const (
	MinMACLen   = 4 + 16
	MaxV4MACLen = 4 + 20
	// MaxMACLen bounds the MAC of versions 1–3 (key id + SHA-512-sized digest).
	MaxMACLen = 4 + 64
	// MinExtLen is the smallest extension field (RFC 7822 §3).
	MinExtLen = 16
)

// Header is the fixed 48-byte NTP header (RFC 5905 §7.3).
type Header struct {
	Leap           Leap
	Version        uint8 // 1..4
	Mode           Mode
	Stratum        uint8
	Poll           int8 // log2 seconds
	Precision      int8 // log2 seconds
	RootDelay      Short
	RootDispersion Short
	ReferenceID    uint32
	ReferenceTime  Timestamp
	OriginTime     Timestamp
	ReceiveTime    Timestamp
	TransmitTime   Timestamp
}

// ExtensionField is an RFC 7822 extension field: type, and the value with
// its padding (the length on the wire is len(Value)+4).
type ExtensionField struct {
	Type  uint16
	Value []byte
}

// MAC is the message authentication code trailer (RFC 5905 §7.3): a 32-bit
// key identifier and the digest.
type MAC struct {
	KeyID  uint32
	Digest []byte
}

// Packet is a whole NTP datagram.
type Packet struct {
	Header
	Extensions []ExtensionField
	// MAC is nil when the packet is not authenticated. A 4-octet trailer
	// with key id 0 and no digest is a crypto-NAK (RFC 5905 §7.4) and
	// is represented as a MAC with an empty Digest.
	MAC *MAC
	// AuthLen is the number of octets the MAC covers: header plus
	// extension fields. Set by Unmarshal.
	AuthLen int
}

// Errors returned by Unmarshal and Validate; test with errors.Is.
var (
	ErrShort   = errors.New("ntp packet: shorter than the 48-octet header")
	ErrTrailer = errors.New("ntp packet: malformed extension field or MAC")
	ErrVersion = errors.New("ntp packet: unsupported version")
	ErrMode    = errors.New("ntp packet: reserved mode")
)

// Unmarshal parses b. It checks structure only (lengths, the RFC 7822
// split of extension fields and MAC); it does not judge header values
// beyond what is needed to parse (see Validate). The returned packet does
// not alias b.
func Unmarshal(b []byte) (*Packet, error) {
	if len(b) < HeaderLen {
		return nil, fmt.Errorf("%w (%d octets)", ErrShort, len(b))
	}
	p := &Packet{}
	h := &p.Header
	h.Leap = Leap(b[0] >> 6)
	h.Version = (b[0] >> 3) & 7
	h.Mode = Mode(b[0] & 7)
	h.Stratum = b[1]
	h.Poll = int8(b[2])
	h.Precision = int8(b[3])
	h.RootDelay = Short(binary.BigEndian.Uint32(b[4:]))
	h.RootDispersion = Short(binary.BigEndian.Uint32(b[8:]))
	h.ReferenceID = binary.BigEndian.Uint32(b[12:])
	h.ReferenceTime = Timestamp(binary.BigEndian.Uint64(b[16:]))
	h.OriginTime = Timestamp(binary.BigEndian.Uint64(b[24:]))
	h.ReceiveTime = Timestamp(binary.BigEndian.Uint64(b[32:]))
	h.TransmitTime = Timestamp(binary.BigEndian.Uint64(b[40:]))

	off := HeaderLen
	rest := len(b) - off
	if h.Version == 4 {
		// RFC 7822 §7.5: walk extension fields until what remains is
		// empty or has the size of a MAC.
		for rest > MaxV4MACLen {
			if rest%4 != 0 || rest < MinExtLen {
				return nil, fmt.Errorf("%w: %d octets after offset %d", ErrTrailer, rest, off)
			}
			typ := binary.BigEndian.Uint16(b[off:])
			l := int(binary.BigEndian.Uint16(b[off+2:]))
			if l < MinExtLen || l%4 != 0 || l > rest {
				return nil, fmt.Errorf("%w: extension field length %d at offset %d", ErrTrailer, l, off)
			}
			p.Extensions = append(p.Extensions, ExtensionField{Type: typ, Value: append([]byte(nil), b[off+4:off+l]...)})
			off += l
			rest -= l
		}
	}
	p.AuthLen = off
	switch {
	case rest == 0:
	case rest == 4 && binary.BigEndian.Uint32(b[off:]) == 0:
		// crypto-NAK (RFC 5905 §7.4).
		p.MAC = &MAC{Digest: []byte{}}
	case rest >= MinMACLen && rest%4 == 0 && (rest <= MaxV4MACLen || (h.Version < 4 && rest <= MaxMACLen)):
		p.MAC = &MAC{KeyID: binary.BigEndian.Uint32(b[off:]), Digest: append([]byte(nil), b[off+4:]...)}
	default:
		return nil, fmt.Errorf("%w: %d-octet trailer", ErrTrailer, rest)
	}
	return p, nil
}

// Validate holds the checks that are apart from parsing: the version is
// 1..4 and the mode is not reserved. The association-level tests of
// RFC 5905 §8 are the engine's.
func (p *Packet) Validate() error {
	if p.Version < 1 || p.Version > 4 {
		return fmt.Errorf("%w %d", ErrVersion, p.Version)
	}
	if p.Mode == ModeReserved {
		return ErrMode
	}
	if p.Version < 4 && len(p.Extensions) > 0 {
		return fmt.Errorf("%w: extension fields in version %d", ErrTrailer, p.Version)
	}
	return nil
}

// AppendHeader appends the 48-octet encoding of h to b.
func (h *Header) AppendHeader(b []byte) []byte {
	b = append(b, byte(h.Leap&3)<<6|(h.Version&7)<<3|byte(h.Mode&7), h.Stratum, byte(h.Poll), byte(h.Precision))
	b = binary.BigEndian.AppendUint32(b, uint32(h.RootDelay))
	b = binary.BigEndian.AppendUint32(b, uint32(h.RootDispersion))
	b = binary.BigEndian.AppendUint32(b, h.ReferenceID)
	b = binary.BigEndian.AppendUint64(b, uint64(h.ReferenceTime))
	b = binary.BigEndian.AppendUint64(b, uint64(h.OriginTime))
	b = binary.BigEndian.AppendUint64(b, uint64(h.ReceiveTime))
	b = binary.BigEndian.AppendUint64(b, uint64(h.TransmitTime))
	return b
}

// Marshal encodes the packet: header, extension fields (each padded to a
// multiple of 4 octets, at least 16), then the MAC if any. The MAC is
// written as given; callers that sign compute it over MarshalUnsigned's
// output.
func (p *Packet) Marshal() ([]byte, error) {
	b, err := p.MarshalUnsigned()
	if err != nil {
		return nil, err
	}
	if p.MAC != nil {
		b = binary.BigEndian.AppendUint32(b, p.MAC.KeyID)
		b = append(b, p.MAC.Digest...)
	}
	return b, nil
}

// MarshalUnsigned encodes the header and extension fields: the octets a
// MAC covers.
func (p *Packet) MarshalUnsigned() ([]byte, error) {
	b := make([]byte, 0, HeaderLen+4+64)
	b = p.Header.AppendHeader(b)
	for _, e := range p.Extensions {
		l := 4 + len(e.Value)
		if l < MinExtLen {
			l = MinExtLen
		}
		l = (l + 3) &^ 3
		if l > 0xffff {
			return nil, fmt.Errorf("%w: extension field of %d octets", ErrTrailer, l)
		}
		b = binary.BigEndian.AppendUint16(b, e.Type)
		b = binary.BigEndian.AppendUint16(b, uint16(l))
		b = append(b, e.Value...)
		for i := 4 + len(e.Value); i < l; i++ {
			b = append(b, 0)
		}
	}
	return b, nil
}

// Kiss codes of RFC 5905 §7.4 that the engine acts on, as reference ids.
const (
	KissDeny = 0x44454e59 // "DENY": access denied, demobilize
	KissRstr = 0x52535452 // "RSTR": access restricted, demobilize
	KissRate = 0x52415445 // "RATE": rate exceeded, back off
)

// IsKoD reports whether the packet is a Kiss-o'-Death and returns the code.
// RFC 5905 §7.4: a stratum of 0 means the reference id is a kiss code; the
// leap indicator is not looked at (servers differ in what they put there).
func (h *Header) IsKoD() (code string, ok bool) {
	if h.Stratum != 0 {
		return "", false
	}
	return RefIDString(h.ReferenceID), true
}

// RefIDString renders a kiss code or stratum-1 reference id as ASCII.
func RefIDString(id uint32) string {
	var s [4]byte
	binary.BigEndian.PutUint32(s[:], id)
	n := 4
	for n > 0 && s[n-1] == 0 {
		n--
	}
	for i := 0; i < n; i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return fmt.Sprintf("%08x", id)
		}
	}
	return string(s[:n])
}
