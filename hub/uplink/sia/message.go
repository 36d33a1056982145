package sia

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Message IDs (the token between the quotes of a frame). An encrypted frame carries
// the same token with a leading '*'; Message keeps the token without it and sets
// Encrypted instead.
const (
	IDSIADCS = "SIA-DCS" // SIA DC-03 event codes
	IDADMCID = "ADM-CID" // Contact ID event codes
	IDNull   = "NULL"    // link supervision poll
	IDAck    = "ACK"     // receiver: message accepted
	IDNak    = "NAK"     // receiver: rejected (timestamp, key); resend with a fresh timestamp
	IDDuh    = "DUH"     // receiver: understood but not handled; do not resend unchanged
	IDRsp    = "RSP"     // receiver response carrying xdata (DC-09 2013 key exchange)
)

// Frame limits.
const (
	// MaxBody is the largest body the three-hex-digit length field can describe.
	MaxBody = 0xFFF
	// MaxFrame is the largest strict frame: LF, 4 CRC digits, 4 length digits,
	// the body and CR.
	MaxFrame = 1 + 4 + 4 + MaxBody + 1
	// MaxSeq is the largest sequence number; after it senders wrap to 1.
	MaxSeq = 9999
)

// Errors. Every error returned by Decode, Encode, ParseKey and the payload parsers
// wraps one of them, so callers choose their answer with errors.Is.
var (
	// ErrFormat: the bytes are not a DC-09 frame (no LF/CR, no CRC and length
	// header, a header or data block that does not parse). A receiver drops it.
	ErrFormat = errors.New("sia: malformed frame")
	// ErrLength: the length field does not match the body, or the body is longer
	// than MaxBody. A receiver drops it.
	ErrLength = errors.New("sia: length mismatch")
	// ErrCRC: the CRC does not match the body. A receiver drops it.
	ErrCRC = errors.New("sia: CRC mismatch")
	// ErrNoKey: the frame is encrypted but no key is known for its account
	// (Decode), or Encode was asked to encrypt without a key.
	ErrNoKey = errors.New("sia: no key for encrypted message")
	// ErrDecrypt: the ciphertext is not whole AES blocks of hex, or the decrypted
	// text does not have the DC-09 layout — almost always a wrong key. A receiver
	// answers NAK.
	ErrDecrypt = errors.New("sia: cannot decrypt")
	// ErrInvalid: a Message, ContactID, DCSEvent or key that cannot be encoded.
	ErrInvalid = errors.New("sia: invalid value")
	// ErrTimestamp: a timestamp outside the receiver's window (CheckTime), or
	// missing where one is required.
	ErrTimestamp = errors.New("sia: timestamp outside window")
)

// XData is one extended-data block, "[<name><value>]", e.g. Name "V" with a
// verification URL, or "M" with a MAC address.
type XData struct {
	Name  string `json:"name"`  // one letter A–Z
	Value string `json:"value"` // no '[', ']', CR or LF
}

// Message is one DC-09 message or reply, as fields. Encode turns it into a frame,
// Decode parses one.
type Message struct {
	// ID is the message token without the encryption star: IDSIADCS, IDADMCID,
	// IDNull, IDAck, IDNak, IDDuh, IDRsp, or any other token of 1–16 characters
	// A–Z, 0–9 and '-' (a receiver answers unknown ones with DUH).
	ID string `json:"id"`
	// Encrypted marks a '*' frame: data, xdata and timestamp travel AES-CBC
	// encrypted, and Time is mandatory.
	Encrypted bool `json:"encrypted,omitempty"`
	// Seq is the sequence number, 0–9999, sent as four digits.
	Seq int `json:"seq"`
	// Receiver ("R") and Line ("L", account prefix) are 1–6 hex digits; "" means the
	// field is absent.
	Receiver string `json:"receiver,omitempty"`
	Line     string `json:"line,omitempty"`
	// Account is 3–16 hex digits. Replies (ACK, NAK, DUH, RSP) may have none; an
	// empty account encodes as "A0", the form NAK uses.
	Account string `json:"account,omitempty"`
	// Data is the content of the first bracket block without the brackets, e.g.
	// "#1234|1130 01 003" for ADM-CID, "" for NULL and ACK. It may not contain
	// '[', ']', CR or LF.
	Data string `json:"data,omitempty"`
	// XData are the extended-data blocks after the data block, in order.
	XData []XData `json:"xdata,omitempty"`
	// Time is the timestamp, sent in UTC with second precision; the zero Time
	// means none.
	Time time.Time `json:"time,omitzero"`
}

// String returns the message as its frame body would read, without encryption;
// for logs.
func (m Message) String() string {
	var b strings.Builder
	b.WriteByte('"')
	if m.Encrypted {
		b.WriteByte('*')
	}
	b.WriteString(m.ID)
	b.WriteByte('"')
	b.Write(appendClear(nil, m))
	return b.String()
}

// Equal reports whether m and o hold the same fields (times compared as instants).
func (m Message) Equal(o Message) bool {
	if m.ID != o.ID || m.Encrypted != o.Encrypted || m.Seq != o.Seq || m.Receiver != o.Receiver ||
		m.Line != o.Line || m.Account != o.Account || m.Data != o.Data || !m.Time.Equal(o.Time) ||
		len(m.XData) != len(o.XData) {
		return false
	}
	for i := range m.XData {
		if m.XData[i] != o.XData[i] {
			return false
		}
	}
	return true
}

// IsReply reports whether the ID is one a receiver sends (ACK, NAK, DUH, RSP).
func (m Message) IsReply() bool {
	switch m.ID {
	case IDAck, IDNak, IDDuh, IDRsp:
		return true
	}
	return false
}

// validate checks every field against the rules Encode and Decode share, so that
// whatever Decode returns can be encoded again.
func (m Message) validate() error {
	if err := checkID(m.ID); err != nil {
		return err
	}
	if m.Seq < 0 || m.Seq > MaxSeq {
		return fmt.Errorf("sequence %d outside 0–%d", m.Seq, MaxSeq)
	}
	if m.Receiver != "" && !isHexN(m.Receiver, 1, 6) {
		return fmt.Errorf("receiver %q is not 1–6 hex digits", m.Receiver)
	}
	if m.Line != "" && !isHexN(m.Line, 1, 6) {
		return fmt.Errorf("line %q is not 1–6 hex digits", m.Line)
	}
	switch {
	case m.Account == "" && !m.IsReply():
		return fmt.Errorf("%s needs an account", m.ID)
	case m.Account != "" && !ValidAccount(m.Account):
		return fmt.Errorf("account %q is not 3–16 hex digits", m.Account)
	}
	if i := strings.IndexAny(m.Data, "[]\r\n"); i >= 0 {
		return fmt.Errorf("data holds %q at offset %d", m.Data[i], i)
	}
	for _, x := range m.XData {
		if len(x.Name) != 1 || x.Name[0] < 'A' || x.Name[0] > 'Z' {
			return fmt.Errorf("xdata name %q is not one letter A–Z", x.Name)
		}
		if i := strings.IndexAny(x.Value, "[]\r\n"); i >= 0 {
			return fmt.Errorf("xdata %s holds %q at offset %d", x.Name, x.Value[i], i)
		}
	}
	if !m.Time.IsZero() {
		if y := m.Time.UTC().Year(); y < 0 || y > 9999 {
			return fmt.Errorf("timestamp year %d does not fit four digits", y)
		}
	} else if m.Encrypted {
		return errors.New("an encrypted message needs a timestamp")
	}
	return nil
}

func checkID(id string) error {
	if id == "" || len(id) > 16 {
		return fmt.Errorf("message ID %q must have 1–16 characters", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("message ID %q holds %q; only A–Z, 0–9 and '-' are allowed", id, c)
		}
	}
	return nil
}

// ValidAccount reports whether s is a DC-09 account: 3–16 hex digits.
func ValidAccount(s string) bool { return isHexN(s, 3, 16) }

func isHexN(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
