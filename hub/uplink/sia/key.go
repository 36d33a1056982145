package sia

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"strings"
)

// Key formats for ParseKey. DC-09 does not say how a key is written down; vendors use
// both.
const (
	// KeyHex: 32, 48 or 64 hex digits give 16, 24 or 32 key bytes.
	KeyHex = "hex"
	// KeyASCII: 16, 24 or 32 printable ASCII characters whose byte values are the key.
	KeyASCII = "ascii"
)

// Key is an AES-128, -192 or -256 key for encrypted DC-09 messages. It never prints
// or marshals its bytes: String names only the key size.
type Key struct {
	block cipher.Block
	bits  int
}

// ParseKey parses a configured key written in format KeyHex or KeyASCII (case does
// not matter). Errors wrap ErrInvalid, say what is wrong and never quote the key.
func ParseKey(s, format string) (*Key, error) {
	switch strings.ToLower(format) {
	case KeyHex:
		if n := len(s); n != 32 && n != 48 && n != 64 {
			hint := ""
			if n == 16 || n == 24 {
				hint = "; a key of that length is usually written as ASCII characters (format ascii)"
			}
			return nil, fmt.Errorf("%w: hex key has %d characters, want 32, 48 or 64 hex digits (AES-128, -192, -256)%s",
				ErrInvalid, n, hint)
		}
		raw := make([]byte, len(s)/2)
		for i := 0; i < len(s); i++ {
			c := s[i]
			var v byte
			switch {
			case c >= '0' && c <= '9':
				v = c - '0'
			case c >= 'a' && c <= 'f':
				v = c - 'a' + 10
			case c >= 'A' && c <= 'F':
				v = c - 'A' + 10
			default:
				return nil, fmt.Errorf("%w: hex key: character %d is not a hex digit", ErrInvalid, i+1)
			}
			raw[i/2] = raw[i/2]<<4 | v
		}
		return NewKey(raw)
	case KeyASCII:
		if n := len(s); n != 16 && n != 24 && n != 32 {
			hint := ""
			if (n == 48 || n == 64) && isHexN(s, n, n) {
				hint = "; it looks like hex digits (format hex)"
			}
			return nil, fmt.Errorf("%w: ascii key has %d bytes, want 16, 24 or 32 characters (AES-128, -192, -256)%s",
				ErrInvalid, n, hint)
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7E {
				return nil, fmt.Errorf("%w: ascii key: byte %d is not a printable ASCII character", ErrInvalid, i+1)
			}
		}
		return NewKey([]byte(s))
	case "":
		return nil, fmt.Errorf("%w: key format missing: say %q or %q", ErrInvalid, KeyHex, KeyASCII)
	default:
		return nil, fmt.Errorf("%w: key format %q unknown: want %q or %q", ErrInvalid, format, KeyHex, KeyASCII)
	}
}

// NewKey makes a key from 16, 24 or 32 raw bytes. It does not keep raw.
func NewKey(raw []byte) (*Key, error) {
	switch len(raw) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("%w: key has %d bytes, want 16, 24 or 32", ErrInvalid, len(raw))
	}
	b, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return &Key{block: b, bits: len(raw) * 8}, nil
}

// Bits is the key size: 128, 192 or 256.
func (k *Key) Bits() int { return k.bits }

// String names the key size and nothing else.
func (k *Key) String() string {
	if k == nil {
		return "no key"
	}
	return fmt.Sprintf("AES-%d key", k.bits)
}

// GoString is String, so %#v does not print the key schedule either.
func (k *Key) GoString() string { return k.String() }

// MarshalText is String, so encoders do not print the key schedule either.
func (k *Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// encrypt encrypts whole blocks with AES-CBC. DC-09's IV is 16 zero bytes;
// uniqueness comes from the random pad at the start of every plaintext.
func (k *Key) encrypt(pt []byte) []byte {
	var iv [aes.BlockSize]byte
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(k.block, iv[:]).CryptBlocks(ct, pt)
	return ct
}

// decrypt decrypts whole blocks with AES-CBC and the zero IV.
func (k *Key) decrypt(ct []byte) []byte {
	var iv [aes.BlockSize]byte
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(k.block, iv[:]).CryptBlocks(pt, ct)
	return pt
}
