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

// Key values are never shown in clear text once set (DESIGN §3): like VRP's
// `cipher` form, the stored and displayed value is "%^%#" + base64 + "%^%#".
//
// This is obfuscation, not secrecy: the cipher key is the same on every
// ntpagent, so a configuration shown by one device (display
// current-configuration, get-config) can be loaded into another, exactly as
// an operator expects of VRP's cipher keys. Protect configuration files and
// sessions as you would protect the keys.
//
// The encryption is AES-256-GCM with a synthetic nonce (HMAC-SHA256 of the
// plain text), so the same plain key always gives the same cipher text: an
// edit that sets the same key again changes nothing, which keeps Ansible runs
// idempotent.
const (
	cipherMark = "%^%#"
)

var (
	// Fixed, public keys: see the comment above.
	obfuscationKey = sha256.Sum256([]byte("ntpagent key obfuscation v1"))
	nonceKey       = sha256.Sum256([]byte("ntpagent key nonce v1"))
)

// IsCipher tells whether s is in cipher form.
func IsCipher(s string) bool {
	return len(s) > 2*len(cipherMark) && strings.HasPrefix(s, cipherMark) && strings.HasSuffix(s, cipherMark)
}

// CipherKey returns the cipher form of a plain key value. A value already in
// cipher form is returned unchanged.
func CipherKey(plain string) string {
	if IsCipher(plain) {
		return plain
	}
	mac := hmac.New(sha256.New, nonceKey[:])
	mac.Write([]byte(plain))
	nonce := mac.Sum(nil)[:12]
	block, _ := aes.NewCipher(obfuscationKey[:])
	gcm, _ := cipher.NewGCM(block)
	sealed := gcm.Seal(append([]byte(nil), nonce...), nonce, []byte(plain), nil)
	return cipherMark + base64.RawStdEncoding.EncodeToString(sealed) + cipherMark
}

// ErrBadCipher is returned for a cipher-form value that does not decrypt.
var ErrBadCipher = errors.New("the cipher text of the key is damaged")

// DecryptKey returns the plain key value of a cipher-form value; a plain
// value is returned unchanged.
func DecryptKey(s string) (string, error) {
	if !IsCipher(s) {
		return s, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(s[len(cipherMark) : len(s)-len(cipherMark)])
	if err != nil || len(raw) < 12+16 {
		return "", ErrBadCipher
	}
	block, _ := aes.NewCipher(obfuscationKey[:])
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, raw[:12], raw[12:], nil)
	if err != nil {
		return "", ErrBadCipher
	}
	return string(plain), nil
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
