package sia

import (
	"crypto/aes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
)

// Encode builds the strict DC-09 frame for m: LF, the CRC-16/ARC of the body as four
// uppercase hex digits, "0" and the body length as three uppercase hex digits, the
// body, CR.
//
// A plain body is `"ID"seq[R..][L..]#acct[data][xdata]…[_timestamp]`. When
// m.Encrypted, the header up to and including the '[' stays in clear and is followed
// by the AES-CBC ciphertext (zero IV, key) in uppercase hex of
// `<pad>|data]<xdata>…_timestamp`, with no closing bracket. The pad has 1–16
// characters so the plaintext fills whole blocks; they are drawn from rnd (nil means
// crypto/rand) and mapped onto printable ASCII without '[', ']' and '|'. Tests pass
// a fixed reader to get the same frame every time.
//
// key is used only when m.Encrypted (ErrNoKey when nil). Invalid fields give an
// error wrapping ErrInvalid; a body over MaxBody gives ErrLength.
func Encode(m Message, key *Key, rnd io.Reader) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%w: encode %s: %v", ErrInvalid, m.ID, err)
	}
	body := make([]byte, 0, 128)
	body = append(body, '"')
	if m.Encrypted {
		body = append(body, '*')
	}
	body = append(body, m.ID...)
	body = append(body, '"')
	if !m.Encrypted {
		body = appendClear(body, m)
	} else {
		if key == nil {
			return nil, fmt.Errorf("%w: encode %s for account %s", ErrNoKey, m.ID, m.Account)
		}
		body = appendHeader(body, m)
		body = append(body, '[')
		rest := appendSecret(make([]byte, 1, 64), m)
		rest[0] = '|'
		pt, err := pad(rest, rnd)
		if err != nil {
			return nil, fmt.Errorf("sia: encode %s: %w", m.ID, err)
		}
		ct := key.encrypt(pt)
		n := len(body)
		body = append(body, make([]byte, hex.EncodedLen(len(ct)))...)
		hex.Encode(body[n:], ct)
		upper(body[n:])
	}
	if len(body) > MaxBody {
		return nil, fmt.Errorf("%w: encode %s: body of %d bytes exceeds %d", ErrLength, m.ID, len(body), MaxBody)
	}
	frame := make([]byte, 0, len(body)+10)
	frame = append(frame, '\n')
	frame = fmt.Appendf(frame, "%04X0%03X", CRC(body), len(body))
	frame = append(frame, body...)
	return append(frame, '\r'), nil
}

// appendHeader appends seq, receiver, line and account.
func appendHeader(b []byte, m Message) []byte {
	b = fmt.Appendf(b, "%04d", m.Seq)
	if m.Receiver != "" {
		b = append(b, 'R')
		b = append(b, m.Receiver...)
	}
	if m.Line != "" {
		b = append(b, 'L')
		b = append(b, m.Line...)
	}
	if m.Account == "" {
		return append(b, "A0"...)
	}
	b = append(b, '#')
	return append(b, m.Account...)
}

// appendClear appends the plain body after the ID.
func appendClear(b []byte, m Message) []byte {
	b = appendHeader(b, m)
	b = append(b, '[')
	return appendSecret(b, m)
}

// appendSecret appends `data]<xdata>…[_timestamp]`: the part that encryption hides.
func appendSecret(b []byte, m Message) []byte {
	b = append(b, m.Data...)
	b = append(b, ']')
	for _, x := range m.XData {
		b = append(b, '[')
		b = append(b, x.Name...)
		b = append(b, x.Value...)
		b = append(b, ']')
	}
	if !m.Time.IsZero() {
		b = appendTimestamp(b, m.Time)
	}
	return b
}

// pad prefixes rest with 1–16 pad characters so the result fills whole AES blocks.
func pad(rest []byte, rnd io.Reader) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	n := aes.BlockSize - len(rest)%aes.BlockSize
	out := make([]byte, n, n+len(rest))
	if _, err := io.ReadFull(rnd, out); err != nil {
		return nil, fmt.Errorf("reading pad: %w", err)
	}
	for i, r := range out {
		out[i] = padChar(r)
	}
	return append(out, rest...), nil
}

// padChar maps a random byte onto the 91 printable ASCII characters 0x21–0x7E other
// than '[', ']' and '|' (some receivers read the plaintext as text).
func padChar(r byte) byte {
	c := byte(0x21) + r%91
	// Skip the three excluded characters, keeping the mapping one-to-one.
	if c >= '[' {
		c++
	}
	if c >= ']' {
		c++
	}
	if c >= '|' {
		c++
	}
	return c
}

func upper(b []byte) {
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
}
