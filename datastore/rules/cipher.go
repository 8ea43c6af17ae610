package rules

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Key values are never shown in clear text once set: like VRP's `cipher`
// form, the stored and displayed value is "%^%#" + base64 + "%^%#".
//
// The cipher form is sealed with this device's own key (KeyCipher, made
// from a random secret the datastore creates at first start), so a
// configuration file or a displayed configuration alone reveals nothing,
// and a cipher text from another device cannot be opened here: it is
// refused (ErrForeignCipher) and the key must be given in plain text.
//
// The encryption is AES-256-GCM with a synthetic nonce (HMAC-SHA256 of the
// plain text under a second key derived from the same secret), so on one
// device the same plain key always gives the same cipher text: an edit that
// sets the same key again changes nothing, which keeps Ansible runs
// idempotent.
const cipherMark = "%^%#"

// DeviceKeySize is the size of the device secret a KeyCipher is made from.
const DeviceKeySize = 32

// IsCipher tells whether s is in cipher form.
func IsCipher(s string) bool {
	return len(s) > 2*len(cipherMark) && strings.HasPrefix(s, cipherMark) && strings.HasSuffix(s, cipherMark)
}

// ErrForeignCipher is returned for a cipher-form value this device did not
// make (or that is damaged): only the plain key can be used then.
var ErrForeignCipher = errors.New("the cipher text of the key was not made by this device, or is damaged; give the key in plain text")

// ForeignCipherMessage is the error-message for key id whose cipher text
// this device cannot open.
func ForeignCipherMessage(id uint32) string {
	return fmt.Sprintf("The cipher text of authentication key %d was not made by this device (a cipher text is bound to the device that made it), or is damaged: give the key in plain text.", id)
}

// KeyCipher turns key values into this device's cipher form and back. Its
// zero value is not usable; a nil *KeyCipher opens only plain values.
type KeyCipher struct {
	aead     cipher.AEAD
	nonceKey []byte
	legacy   *KeyCipher // the form of earlier versions, opened only
}

// NewKeyCipher makes the cipher of a device from its secret
// (DeviceKeySize random bytes).
func NewKeyCipher(secret []byte) (*KeyCipher, error) {
	if len(secret) != DeviceKeySize {
		return nil, fmt.Errorf("the device key is %d bytes, want %d", len(secret), DeviceKeySize)
	}
	c, err := newKeyCipher(derive(secret, "ntpagent key encryption v2"), derive(secret, "ntpagent key nonce v2"))
	if err != nil {
		return nil, err
	}
	// Versions before the device key sealed every key under one public
	// key: such values are still opened (and the datastore re-seals them at
	// load), never accepted as input.
	enc, nonce := sha256.Sum256([]byte("ntpagent key obfuscation v1")), sha256.Sum256([]byte("ntpagent key nonce v1"))
	if c.legacy, err = newKeyCipher(enc[:], nonce[:]); err != nil {
		return nil, err
	}
	return c, nil
}

func derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

func newKeyCipher(encKey, nonceKey []byte) (*KeyCipher, error) {
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &KeyCipher{aead: gcm, nonceKey: nonceKey}, nil
}

// Seal returns the cipher form of a plain key value.
func (c *KeyCipher) Seal(plain string) string {
	mac := hmac.New(sha256.New, c.nonceKey)
	mac.Write([]byte(plain))
	nonce := mac.Sum(nil)[:c.aead.NonceSize()]
	sealed := c.aead.Seal(append([]byte(nil), nonce...), nonce, []byte(plain), nil)
	return cipherMark + base64.RawStdEncoding.EncodeToString(sealed) + cipherMark
}

func (c *KeyCipher) open(s string) (string, bool) {
	raw, err := base64.RawStdEncoding.DecodeString(s[len(cipherMark) : len(s)-len(cipherMark)])
	n := c.aead.NonceSize()
	if err != nil || len(raw) < n+c.aead.Overhead() {
		return "", false
	}
	plain, err := c.aead.Open(nil, raw[:n], raw[n:], nil)
	return string(plain), err == nil
}

// Open returns the plain key value of a stored value: a plain value as it
// is, a cipher form of this device (or of the versions before the device
// key) decrypted; any other cipher text is ErrForeignCipher.
func (c *KeyCipher) Open(s string) (string, error) {
	if !IsCipher(s) {
		return s, nil
	}
	if c != nil {
		if p, ok := c.open(s); ok {
			return p, nil
		}
		if p, ok := c.legacy.open(s); ok {
			return p, nil
		}
	}
	return "", ErrForeignCipher
}

// SealInput returns the value to store for a key value given in an edit: a
// plain value sealed, a cipher form of this device as it is. A cipher text
// of another device, or of the versions before the device key, is
// ErrForeignCipher.
func (c *KeyCipher) SealInput(s string) (string, error) {
	if !IsCipher(s) {
		return c.Seal(s), nil
	}
	if _, ok := c.open(s); ok {
		return s, nil
	}
	return "", ErrForeignCipher
}

// Upgrade returns the value to store for a value read from the state
// folder: a plain value or a cipher form of the versions before the device
// key is sealed with the device key (changed is true); this device's cipher
// form and foreign cipher texts (which validation reports) are kept.
func (c *KeyCipher) Upgrade(s string) (v string, changed bool) {
	if !IsCipher(s) {
		return c.Seal(s), true
	}
	if _, ok := c.open(s); ok {
		return s, false
	}
	if p, ok := c.legacy.open(s); ok {
		return c.Seal(p), true
	}
	return s, false
}

// KeyBytes turns a plain key value into the secret bytes the MAC algorithm
// uses (RFC 5905 §9.1, RFC 8573). mode is the YANG enum name.
//
//   - md5, sha1, hmac-sha256: the ASCII text of the value, 1..255
//     characters, or "HEX:" followed by an even number of hex digits (the
//     form chrony's key file uses).
//   - aes-128-cmac, aes-256-cmac: exactly 16 or 32 bytes, given as that many
//     ASCII characters, as twice that many hex digits, or as HEX:digits.
func KeyBytes(mode, plain string) ([]byte, error) {
	var b []byte
	if h, ok := strings.CutPrefix(plain, "HEX:"); ok {
		d, err := hex.DecodeString(h)
		if err != nil || len(d) == 0 {
			return nil, fmt.Errorf("the HEX: key value is not an even number of hexadecimal digits")
		}
		b = d
	}
	want := 0
	switch mode {
	case "aes-128-cmac":
		want = 16
	case "aes-256-cmac":
		want = 32
	case "md5", "sha1", "hmac-sha256":
	default:
		return nil, fmt.Errorf("unknown authentication mode %q", mode)
	}
	if b == nil {
		if want != 0 && len(plain) == 2*want {
			if d, err := hex.DecodeString(plain); err == nil {
				return d, nil
			}
		}
		b = []byte(plain)
	}
	if want != 0 && len(b) != want {
		return nil, fmt.Errorf("an %s key is %d bytes: %d ASCII characters or %d hexadecimal digits", mode, want, want, 2*want)
	}
	if want == 0 && (len(b) < 1 || len(b) > 255) {
		return nil, fmt.Errorf("a %s key is 1 to 255 bytes long", mode)
	}
	for _, c := range plain {
		if c < 0x21 || c > 0x7e {
			return nil, fmt.Errorf("a key value is printable ASCII without spaces")
		}
	}
	return b, nil
}
