package auth

import (
	"crypto/aes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// Mode is a MAC algorithm.
type Mode int

// The MAC algorithms of the product (the key modes of the YANG model).
const (
	MD5 Mode = iota + 1
	SHA1
	HMACSHA256
	AES128CMAC
	AES256CMAC
)

func (m Mode) String() string {
	switch m {
	case MD5:
		return "md5"
	case SHA1:
		return "sha1"
	case HMACSHA256:
		return "hmac-sha256"
	case AES128CMAC:
		return "aes-128-cmac"
	case AES256CMAC:
		return "aes-256-cmac"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// ParseMode maps the YANG/CLI spelling to a Mode.
func ParseMode(s string) (Mode, error) {
	for m := MD5; m <= AES256CMAC; m++ {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrMode, s)
}

// DigestLen is the full digest length of the mode.
func (m Mode) DigestLen() int {
	switch m {
	case MD5, AES128CMAC, AES256CMAC:
		return 16
	case SHA1:
		return 20
	case HMACSHA256:
		return 32
	}
	return 0
}

// MaxV4Digest is the longest digest an NTPv4 MAC carries (RFC 7822 §7.5).
const MaxV4Digest = 20

// Key is one symmetric key.
type Key struct {
	ID      uint32
	Mode    Mode
	Secret  []byte
	Trusted bool
}

// Errors; test with errors.Is.
var (
	ErrMode       = errors.New("auth: unknown MAC mode")
	ErrKeyID      = errors.New("auth: key id 0 is reserved")
	ErrKeyLength  = errors.New("auth: bad key length")
	ErrDuplicate  = errors.New("auth: duplicate key id")
	ErrUnknownKey = errors.New("auth: unknown key id")
	ErrUntrusted  = errors.New("auth: key not trusted")
	ErrBadMAC     = errors.New("auth: MAC does not match")
	ErrTrailer    = errors.New("auth: malformed MAC trailer")
)

// Keyring holds the configured keys. It is immutable after NewKeyring and
// safe for concurrent use.
type Keyring struct {
	keys map[uint32]Key
}

// NewKeyring checks keys and builds a keyring. AES-CMAC keys must be exactly
// 16 or 32 octets; MD5, SHA1 and HMAC keys may have any non-empty length,
// as RFC 5905 does not bound it.
func NewKeyring(keys []Key) (*Keyring, error) {
	kr := &Keyring{keys: make(map[uint32]Key, len(keys))}
	for _, k := range keys {
		if k.ID == 0 {
			return nil, ErrKeyID
		}
		if _, dup := kr.keys[k.ID]; dup {
			return nil, fmt.Errorf("%w %d", ErrDuplicate, k.ID)
		}
		switch k.Mode {
		case MD5, SHA1, HMACSHA256:
			if len(k.Secret) == 0 {
				return nil, fmt.Errorf("%w: key %d is empty", ErrKeyLength, k.ID)
			}
		case AES128CMAC:
			if len(k.Secret) != 16 {
				return nil, fmt.Errorf("%w: key %d: aes-128-cmac needs 16 octets, got %d", ErrKeyLength, k.ID, len(k.Secret))
			}
		case AES256CMAC:
			if len(k.Secret) != 32 {
				return nil, fmt.Errorf("%w: key %d: aes-256-cmac needs 32 octets, got %d", ErrKeyLength, k.ID, len(k.Secret))
			}
		default:
			return nil, fmt.Errorf("%w: key %d mode %d", ErrMode, k.ID, int(k.Mode))
		}
		k.Secret = append([]byte(nil), k.Secret...)
		kr.keys[k.ID] = k
	}
	return kr, nil
}

// Key returns the key with the given id.
func (kr *Keyring) Key(id uint32) (Key, bool) {
	if kr == nil {
		return Key{}, false
	}
	k, ok := kr.keys[id]
	return k, ok
}

// Digest computes the full-length digest of data with key k:
// MD5/SHA1 of key‖data (RFC 5905 Appendix A.2 / §9.1), HMAC-SHA256 (RFC 2104),
// AES-CMAC (RFC 8573, RFC 4493).
func Digest(k Key, data []byte) ([]byte, error) {
	switch k.Mode {
	case MD5:
		h := md5.New()
		h.Write(k.Secret)
		h.Write(data)
		return h.Sum(nil), nil
	case SHA1:
		h := sha1.New()
		h.Write(k.Secret)
		h.Write(data)
		return h.Sum(nil), nil
	case HMACSHA256:
		h := hmac.New(sha256.New, k.Secret)
		h.Write(data)
		return h.Sum(nil), nil
	case AES128CMAC, AES256CMAC:
		c, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrKeyLength, err)
		}
		return cmac(c, data), nil
	}
	return nil, fmt.Errorf("%w %d", ErrMode, int(k.Mode))
}

// Sign returns the MAC trailer for data (the header and extension fields):
// the key id followed by the digest, truncated to MaxV4Digest octets (see
// the package comment). Any key may sign; trust matters on receipt.
func (kr *Keyring) Sign(data []byte, keyID uint32) ([]byte, error) {
	k, ok := kr.Key(keyID)
	if !ok {
		return nil, fmt.Errorf("%w %d", ErrUnknownKey, keyID)
	}
	d, err := Digest(k, data)
	if err != nil {
		return nil, err
	}
	if len(d) > MaxV4Digest {
		d = d[:MaxV4Digest]
	}
	out := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(d)), keyID)
	return append(out, d...), nil
}

// Verify checks the MAC trailer (key id + digest) over data. It returns the
// key id it read (also on error, when one could be read). A key that is not
// trusted fails with ErrUntrusted even when the digest matches (RFC 5905 §9.1).
func (kr *Keyring) Verify(data, trailer []byte) (uint32, error) {
	if len(trailer) < 4 {
		return 0, ErrTrailer
	}
	id := binary.BigEndian.Uint32(trailer)
	got := trailer[4:]
	k, ok := kr.Key(id)
	if !ok {
		return id, fmt.Errorf("%w %d", ErrUnknownKey, id)
	}
	want, err := Digest(k, data)
	if err != nil {
		return id, err
	}
	if len(got) == MaxV4Digest && len(want) > MaxV4Digest {
		want = want[:MaxV4Digest]
	}
	if len(got) != len(want) || subtle.ConstantTimeCompare(got, want) != 1 {
		return id, fmt.Errorf("%w (key %d)", ErrBadMAC, id)
	}
	if !k.Trusted {
		return id, fmt.Errorf("%w: %d", ErrUntrusted, id)
	}
	return id, nil
}
