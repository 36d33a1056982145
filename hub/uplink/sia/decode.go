package sia

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Decode parses one frame. It is liberal in what it accepts (DC-09 as seen in the
// field): the CRC in lowercase hex or as two raw bytes (high byte first), NUL bytes
// after the CR, a bare "L" without digits, R and L in either order, no timestamp in
// a plain frame, "A<hex>" or nothing instead of "#acct" in a reply, an account given
// only inside the data ("[#acct|…]"), and any data in a NULL.
//
// keys returns the key for an account, or nil; it is called only for encrypted
// frames and may itself be nil when no keys are configured.
//
// Errors wrap ErrFormat, ErrLength, ErrCRC, ErrNoKey or ErrDecrypt. With ErrNoKey
// and ErrDecrypt the returned Message holds the clear header (ID, Encrypted, Seq,
// Receiver, Line, Account), so a receiver can answer and log it. Decode does not
// look at the clock: check Time with CheckTime. It never panics.
func Decode(frame []byte, keys func(account string) *Key) (Message, error) {
	f := frame
	for len(f) > 0 && f[len(f)-1] == 0 {
		f = f[:len(f)-1]
	}
	if len(f) == 0 || f[0] != '\n' {
		return Message{}, fmt.Errorf("%w: does not start with LF: %s", ErrFormat, Preview(frame))
	}
	if len(f) < 2 || f[len(f)-1] != '\r' {
		return Message{}, fmt.Errorf("%w: does not end with CR: %s", ErrFormat, Preview(frame))
	}
	inner := f[1 : len(f)-1]
	var (
		crc      uint16
		lenField []byte
		body     []byte
	)
	switch {
	case len(inner) >= 9 && allHex(inner[:8]) && inner[8] == '"':
		v, _ := strconv.ParseUint(string(inner[:4]), 16, 16)
		crc, lenField, body = uint16(v), inner[4:8], inner[8:]
	case len(inner) >= 7 && allHex(inner[2:6]) && inner[6] == '"':
		crc, lenField, body = uint16(inner[0])<<8|uint16(inner[1]), inner[2:6], inner[6:]
	default:
		return Message{}, fmt.Errorf("%w: no CRC and length before the opening quote: %s", ErrFormat, Preview(frame))
	}
	declared, _ := strconv.ParseUint(string(lenField), 16, 32)
	if int(declared) != len(body) {
		return Message{}, fmt.Errorf("%w: length field says %d bytes, body has %d", ErrLength, declared, len(body))
	}
	if len(body) > MaxBody {
		return Message{}, fmt.Errorf("%w: body of %d bytes exceeds %d", ErrLength, len(body), MaxBody)
	}
	if got := CRC(body); got != crc {
		return Message{}, fmt.Errorf("%w: frame says %04X, body gives %04X", ErrCRC, crc, got)
	}
	return parseBody(body, keys)
}

// parseBody parses a body whose CRC and length were checked.
func parseBody(body []byte, keys func(string) *Key) (Message, error) {
	var m Message
	p := body[1:] // after the opening quote
	if len(p) > 0 && p[0] == '*' {
		m.Encrypted = true
		p = p[1:]
	}
	q := bytes.IndexByte(p, '"')
	if q < 0 {
		return m, fmt.Errorf("%w: no closing quote after the message ID", ErrFormat)
	}
	if err := checkID(string(p[:q])); err != nil {
		return m, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	m.ID = string(p[:q])
	p = p[q+1:]

	n := 0
	for n < len(p) && n < 4 && isDigit(p[n]) {
		n++
	}
	if n == 0 {
		return m, fmt.Errorf("%w: %s: no sequence number", ErrFormat, m.ID)
	}
	m.Seq, _ = strconv.Atoi(string(p[:n]))
	p = p[n:]

	// R and L in either order, each at most once; a bare letter means absent.
	var seenR, seenL bool
	for len(p) > 0 && (p[0] == 'R' && !seenR || p[0] == 'L' && !seenL) {
		n := 1
		for n < len(p) && isHex(p[n]) {
			n++
		}
		v := string(p[1:n])
		if n < len(p) && p[n] == '[' {
			// No "#acct" follows, so the run may end in the anonymous "A<hex>" of a
			// reply ("L0A0["): 'A' is a hex digit too. Leave the last 'A' and what
			// follows to the account.
			if k := strings.LastIndexByte(v, 'A'); k >= 0 {
				v, n = v[:k], 1+k
			}
		}
		if len(v) > 6 {
			return m, fmt.Errorf("%w: %s: %c field %q longer than 6 hex digits", ErrFormat, m.ID, p[0], v)
		}
		if p[0] == 'R' {
			m.Receiver, seenR = v, true
		} else {
			m.Line, seenL = v, true
		}
		p = p[n:]
	}

	// Account: "#acct", or in replies "A<hex>" or nothing.
	anonymous := false
	switch {
	case len(p) > 0 && p[0] == '#':
		e := bytes.IndexByte(p, '[')
		if e < 0 {
			return m, fmt.Errorf("%w: %s: no data block", ErrFormat, m.ID)
		}
		if !ValidAccount(string(p[1:e])) {
			return m, fmt.Errorf("%w: %s: account %q is not 3–16 hex digits", ErrFormat, m.ID, p[1:e])
		}
		m.Account = string(p[1:e])
		p = p[e:]
	case len(p) > 0 && p[0] == 'A':
		n := 1
		for n < len(p) && isHex(p[n]) {
			n++
		}
		anonymous = true
		p = p[n:]
	default:
		anonymous = true
	}
	if len(p) == 0 || p[0] != '[' {
		return m, fmt.Errorf("%w: %s: no data block", ErrFormat, m.ID)
	}
	p = p[1:]

	var err error
	if m.Encrypted {
		if m.Account == "" && !m.IsReply() {
			return m, fmt.Errorf("%w: %s: no account", ErrFormat, m.ID)
		}
		var key *Key
		if keys != nil {
			key = keys(m.Account)
		}
		if key == nil {
			return m, fmt.Errorf("%w: %s from account %q", ErrNoKey, m.ID, m.Account)
		}
		err = m.parseSecret(p, key)
	} else {
		err = m.parseClear(p)
		if err == nil && anonymous && !m.IsReply() {
			// Some panels put the account only inside the data: [#acct|…].
			if acct, ok := dataAccount(m.Data); ok {
				m.Account = acct
			}
		}
	}
	if err != nil {
		return m, err
	}
	if err := m.validate(); err != nil {
		return m, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return m, nil
}

// parseClear parses `data]<[xdata]…>[_timestamp]` of a plain body.
func (m *Message) parseClear(p []byte) error {
	e := bytes.IndexByte(p, ']')
	if e < 0 {
		return fmt.Errorf("%w: %s: data block not closed", ErrFormat, m.ID)
	}
	if bytes.IndexByte(p[:e], '[') >= 0 {
		return fmt.Errorf("%w: %s: '[' inside the data block", ErrFormat, m.ID)
	}
	m.Data = string(p[:e])
	p = p[e+1:]
	for len(p) > 0 && p[0] == '[' {
		x, rest, err := parseXData(p)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrFormat, m.ID, err)
		}
		m.XData = append(m.XData, x)
		p = rest
	}
	if len(p) == 0 {
		return nil
	}
	t, err := parseTimestamp(p)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrFormat, m.ID, err)
	}
	m.Time = t
	return nil
}

// parseSecret decrypts the hex after the '[' and parses
// `<pad>[|]data]<[xdata]…>_timestamp`. Every failure is ErrDecrypt: with a wrong
// key the plaintext is noise.
func (m *Message) parseSecret(p []byte, key *Key) error {
	if len(p) == 0 || len(p)%(2*aes.BlockSize) != 0 || !allHex(p) {
		return fmt.Errorf("%w: %s from account %s: %d characters after '[' are not whole AES blocks in hex",
			ErrDecrypt, m.ID, m.Account, len(p))
	}
	ct := make([]byte, hex.DecodedLen(len(p)))
	if _, err := hex.Decode(ct, p); err != nil {
		return fmt.Errorf("%w: %s from account %s: %v", ErrDecrypt, m.ID, m.Account, err)
	}
	pt := key.decrypt(ct)
	bad := func(why string) error {
		return fmt.Errorf("%w: %s from account %s: %s (wrong key?)", ErrDecrypt, m.ID, m.Account, why)
	}
	e := bytes.IndexByte(pt, ']')
	if e < 0 {
		return bad("no ']' in the plaintext")
	}
	// Fill a copy, so a failure leaves m with its clear header only.
	out := *m
	head, tail := pt[:e], pt[e+1:]
	if bar := bytes.IndexByte(head, '|'); bar >= 0 {
		out.Data = string(head[bar+1:])
	}
	if len(tail) < timestampLen {
		return bad("no timestamp at the end of the plaintext")
	}
	t, err := parseTimestamp(tail[len(tail)-timestampLen:])
	if err != nil {
		return bad(err.Error())
	}
	out.Time = t
	xd := tail[:len(tail)-timestampLen]
	for len(xd) > 0 {
		x, rest, err := parseXData(xd)
		if err != nil {
			return bad(err.Error())
		}
		out.XData = append(out.XData, x)
		xd = rest
	}
	if err := out.validate(); err != nil {
		return bad(err.Error())
	}
	*m = out
	return nil
}

// parseXData parses one "[<letter><value>]" at the start of p.
func parseXData(p []byte) (XData, []byte, error) {
	if len(p) < 3 || p[0] != '[' {
		return XData{}, nil, fmt.Errorf("extended data %s does not start with '[' and a letter", Preview(p))
	}
	e := bytes.IndexByte(p, ']')
	if e < 0 {
		return XData{}, nil, fmt.Errorf("extended data %s not closed", Preview(p))
	}
	if e < 2 || p[1] < 'A' || p[1] > 'Z' {
		return XData{}, nil, fmt.Errorf("extended data %s does not start with a letter A–Z", Preview(p[:e+1]))
	}
	if bytes.IndexByte(p[2:e], '[') >= 0 {
		return XData{}, nil, fmt.Errorf("extended data %s holds '['", Preview(p[:e+1]))
	}
	return XData{Name: string(p[1:2]), Value: string(p[2:e])}, p[e+1:], nil
}

// dataAccount returns acct from data of the form "#acct|…".
func dataAccount(data string) (string, bool) {
	if len(data) < 2 || data[0] != '#' {
		return "", false
	}
	for i := 1; i < len(data); i++ {
		if data[i] == '|' {
			if ValidAccount(data[1:i]) {
				return data[1:i], true
			}
			return "", false
		}
	}
	return "", false
}

func allHex(p []byte) bool {
	for _, c := range p {
		if !isHex(c) {
			return false
		}
	}
	return true
}

// Preview quotes at most the first 64 bytes of p for a log line or an error.
func Preview(p []byte) string {
	const max = 64
	if len(p) > max {
		return strconv.Quote(string(p[:max])) + fmt.Sprintf("… (%d bytes)", len(p))
	}
	return strconv.Quote(string(p))
}
