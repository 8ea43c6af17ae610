package auth

import (
	"bytes"
	"crypto/aes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/internal/testtool"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// needTool returns the path of an external tool; a missing tool fails the
// test under CI=true and skips it otherwise.
func needTool(t *testing.T, name string) string {
	t.Helper()
	return testtool.Require(t, name)
}

// TestCMACRFC4493 checks CMAC against the published examples of RFC 4493 §4.
func TestCMACRFC4493(t *testing.T) {
	key := unhex(t, "2b7e1516 28aed2a6 abf71588 09cf4f3c")
	msg := unhex(t, "6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51"+
		"30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710")
	c, _ := aes.NewCipher(key)
	for _, tc := range []struct {
		name string
		n    int
		mac  string
	}{
		{"RFC4493 §4 example 1 (empty)", 0, "bb1d6929 e9593728 7fa37d12 9b756746"},
		{"RFC4493 §4 example 2 (16 octets)", 16, "070a16b4 6b4d4144 f79bdd9d d04a287c"},
		{"RFC4493 §4 example 3 (40 octets)", 40, "dfa66747 de9ae630 30ca3261 1497c827"},
		{"RFC4493 §4 example 4 (64 octets)", 64, "51f0bebf 7e3b9d92 fc497417 79363cfe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cmac(c, msg[:tc.n]); !bytes.Equal(got, unhex(t, tc.mac)) {
				t.Errorf("got %x", got)
			}
		})
	}
	// RFC 4493 §2.3 subkey example.
	var l, k1, k2 [16]byte
	c.Encrypt(l[:], l[:])
	subkey(&k1, &l)
	subkey(&k2, &k1)
	if hex.EncodeToString(k1[:]) != "fbeed618357133667c85e08f7236a8de" || hex.EncodeToString(k2[:]) != "f7ddac306ae266ccf90bc11ee46d513b" {
		t.Errorf("subkeys %x %x", k1, k2)
	}
}

// testPacket is a 48-octet NTP header with recognisable content.
func testPacket() []byte {
	b := make([]byte, 48)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

// pyScript computes, for each argument "mode:keyhex:datahex", the digest
// with Python's hashlib/hmac, one hex digest per line.
const pyScript = `import sys,hashlib,hmac
for a in sys.argv[1:]:
    m,k,d=a.split(':'); k=bytes.fromhex(k); d=bytes.fromhex(d)
    print(hmac.new(k,d,hashlib.sha256).hexdigest() if m=='hmac' else hashlib.new(m,k+d).hexdigest())`

// references computes the expected full digests with independent tools:
// one python3 run for MD5/SHA1/HMAC-SHA256, openssl for AES-CMAC.
func references(t *testing.T, keys []Key, data [][]byte) map[[2]int][]byte {
	t.Helper()
	out := map[[2]int][]byte{}
	var args []string
	var idx [][2]int
	for i, k := range keys {
		for j, d := range data {
			switch k.Mode {
			case MD5, SHA1, HMACSHA256:
				m := map[Mode]string{MD5: "md5", SHA1: "sha1", HMACSHA256: "hmac"}[k.Mode]
				args = append(args, m+":"+hex.EncodeToString(k.Secret)+":"+hex.EncodeToString(d))
				idx = append(idx, [2]int{i, j})
			case AES128CMAC, AES256CMAC:
				ossl := needTool(t, "openssl")
				cipher := map[Mode]string{AES128CMAC: "AES-128-CBC", AES256CMAC: "AES-256-CBC"}[k.Mode]
				f, err := os.CreateTemp(t.TempDir(), "pkt")
				if err != nil {
					t.Fatal(err)
				}
				f.Write(d)
				f.Close()
				b, err := exec.Command(ossl, "mac", "-cipher", cipher, "-macopt", "hexkey:"+hex.EncodeToString(k.Secret), "-in", f.Name(), "CMAC").Output()
				if err != nil {
					t.Fatalf("openssl: %v", err)
				}
				out[[2]int{i, j}] = unhex(t, strings.ToLower(strings.TrimSpace(string(b))))
			}
		}
	}
	if len(args) > 0 {
		py := needTool(t, "python3")
		b, err := exec.Command(py, append([]string{"-c", pyScript}, args...)...).Output()
		if err != nil {
			t.Fatalf("python3: %v", err)
		}
		lines := strings.Fields(string(b))
		if len(lines) != len(args) {
			t.Fatalf("python3 printed %d digests for %d inputs", len(lines), len(args))
		}
		for n, l := range lines {
			out[idx[n]] = unhex(t, l)
		}
	}
	return out
}

func TestDigestAgainstIndependentTools(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	names := []string{"RFC5905 §9.1 MD5 key‖packet", "RFC5905 §9.1 SHA1 key‖packet", "RFC8573 HMAC-SHA256", "RFC8573 AES-128-CMAC", "RFC8573 AES-256-CMAC"}
	keys := []Key{
		{ID: 1, Mode: MD5, Secret: []byte("ntpagent-md5")},
		{ID: 2, Mode: SHA1, Secret: []byte("ntpagent-sha1-key")},
		{ID: 3, Mode: HMACSHA256, Secret: []byte("hmac secret")},
		{ID: 4, Mode: AES128CMAC, Secret: secret[:16]},
		{ID: 5, Mode: AES256CMAC, Secret: secret},
	}
	data := [][]byte{testPacket(), append(testPacket(), make([]byte, 20)...)}
	ref := references(t, keys, data)
	for i, k := range keys {
		t.Run(names[i], func(t *testing.T) {
			for j, d := range data {
				want := ref[[2]int{i, j}]
				got, err := Digest(k, d)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("Digest = %x, %v; want %x", got, err, want)
				}
				if len(got) != k.Mode.DigestLen() {
					t.Errorf("DigestLen %d, got %d", k.Mode.DigestLen(), len(got))
				}
			}
		})
	}
}

func TestKeyringSignVerify(t *testing.T) {
	kr, err := NewKeyring([]Key{
		{ID: 1, Mode: MD5, Secret: []byte("a"), Trusted: true},
		{ID: 2, Mode: SHA1, Secret: []byte("b"), Trusted: true},
		{ID: 3, Mode: HMACSHA256, Secret: []byte("c"), Trusted: true},
		{ID: 4, Mode: AES128CMAC, Secret: make([]byte, 16), Trusted: true},
		{ID: 5, Mode: AES256CMAC, Secret: make([]byte, 32), Trusted: true},
		{ID: 6, Mode: SHA1, Secret: []byte("untrusted")},
	})
	if err != nil {
		t.Fatal(err)
	}
	data := testPacket()
	for id, wantLen := range map[uint32]int{1: 20, 2: 24, 3: 24, 4: 20, 5: 20} {
		tr, err := kr.Sign(data, id)
		if err != nil || len(tr) != wantLen || binary.BigEndian.Uint32(tr) != id {
			t.Fatalf("Sign key %d: %x %v", id, tr, err)
		}
		if got, err := kr.Verify(data, tr); err != nil || got != id {
			t.Errorf("Verify key %d: %d %v", id, got, err)
		}
		bad := append([]byte(nil), tr...)
		bad[len(bad)-1] ^= 1
		if _, err := kr.Verify(data, bad); !errors.Is(err, ErrBadMAC) {
			t.Errorf("flipped bit key %d: %v", id, err)
		}
		mod := append([]byte(nil), data...)
		mod[40] ^= 0x80
		if _, err := kr.Verify(mod, tr); !errors.Is(err, ErrBadMAC) {
			t.Errorf("modified packet key %d: %v", id, err)
		}
	}
	// A full-length HMAC-SHA256 digest (NTPv3 style) verifies too.
	k, _ := kr.Key(3)
	full, _ := Digest(k, data)
	if _, err := kr.Verify(data, append([]byte{0, 0, 0, 3}, full...)); err != nil {
		t.Errorf("full-length digest: %v", err)
	}
	// A digest truncated to another length does not.
	if _, err := kr.Verify(data, append([]byte{0, 0, 0, 3}, full[:16]...)); !errors.Is(err, ErrBadMAC) {
		t.Errorf("16-octet truncation: %v", err)
	}
	tr, _ := kr.Sign(data, 6)
	if id, err := kr.Verify(data, tr); !errors.Is(err, ErrUntrusted) || id != 6 {
		t.Errorf("untrusted key: %d %v", id, err)
	}
	if _, err := kr.Verify(data, []byte{0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := kr.Sign(data, 99); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("sign unknown key: %v", err)
	}
	if _, err := kr.Verify(data, []byte{1}); !errors.Is(err, ErrTrailer) {
		t.Errorf("short trailer: %v", err)
	}
}

func TestNewKeyringRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []Key
		err  error
	}{
		{"key id 0 reserved (RFC5905 §7.4 crypto-NAK)", []Key{{ID: 0, Mode: MD5, Secret: []byte("x")}}, ErrKeyID},
		{"duplicate id", []Key{{ID: 1, Mode: MD5, Secret: []byte("x")}, {ID: 1, Mode: SHA1, Secret: []byte("y")}}, ErrDuplicate},
		{"AES-128 key of 15 octets", []Key{{ID: 1, Mode: AES128CMAC, Secret: make([]byte, 15)}}, ErrKeyLength},
		{"AES-256 key of 16 octets", []Key{{ID: 1, Mode: AES256CMAC, Secret: make([]byte, 16)}}, ErrKeyLength},
		{"empty MD5 key", []Key{{ID: 1, Mode: MD5}}, ErrKeyLength},
		{"unknown mode", []Key{{ID: 1, Mode: 42, Secret: []byte("x")}}, ErrMode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewKeyring(tc.keys); !errors.Is(err, tc.err) {
				t.Errorf("got %v want %v", err, tc.err)
			}
		})
	}
	for _, s := range []string{"md5", "sha1", "hmac-sha256", "aes-128-cmac", "aes-256-cmac"} {
		if m, err := ParseMode(s); err != nil || m.String() != s {
			t.Errorf("ParseMode(%q) = %v %v", s, m, err)
		}
	}
	if _, err := ParseMode("sha512"); !errors.Is(err, ErrMode) {
		t.Error("ParseMode accepts sha512")
	}
}
