package auth

import (
	"crypto/cipher"
	"crypto/subtle"
)

// cmac computes AES-CMAC (RFC 4493 §2.4) of msg with the block cipher c,
// which must have a 16-octet block size.
func cmac(c cipher.Block, msg []byte) []byte {
	const bs = 16
	var l, k1, k2 [bs]byte
	c.Encrypt(l[:], l[:])
	subkey(&k1, &l)
	subkey(&k2, &k1)

	n := (len(msg) + bs - 1) / bs
	complete := n > 0 && len(msg)%bs == 0
	if n == 0 {
		n = 1
	}
	var last [bs]byte
	tail := msg[(n-1)*bs:]
	if complete {
		subtle.XORBytes(last[:], tail, k1[:])
	} else {
		copy(last[:], tail)
		last[len(tail)] = 0x80
		subtle.XORBytes(last[:], last[:], k2[:])
	}
	var x [bs]byte
	for i := 0; i < n-1; i++ {
		subtle.XORBytes(x[:], x[:], msg[i*bs:(i+1)*bs])
		c.Encrypt(x[:], x[:])
	}
	subtle.XORBytes(x[:], x[:], last[:])
	c.Encrypt(x[:], x[:])
	return x[:]
}

// subkey sets dst to src shifted left by one bit, xored with Rb when the
// bit shifted out was 1 (RFC 4493 §2.3).
func subkey(dst, src *[16]byte) {
	msb := src[0] >> 7
	for i := 0; i < 15; i++ {
		dst[i] = src[i]<<1 | src[i+1]>>7
	}
	dst[15] = src[15] << 1
	dst[15] ^= 0x87 * msb
}
