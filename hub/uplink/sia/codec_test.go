package sia

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func mustKey(t testing.TB, s, format string) *Key {
	t.Helper()
	k, err := ParseKey(s, format)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	keys := map[string]*Key{
		"128 hex":   mustKey(t, "000102030405060708090A0B0C0D0E0F", KeyHex),
		"192 hex":   mustKey(t, "000102030405060708090a0b0c0d0e0f1011121314151617", KeyHex),
		"256 hex":   mustKey(t, strings.Repeat("A5", 32), KeyHex),
		"128 ascii": mustKey(t, "ABCDABCDABCDABCD", KeyASCII),
		"192 ascii": mustKey(t, "abcdefghijklmnopqrstuvwx", KeyASCII),
		"256 ascii": mustKey(t, "The quick brown fox jumps over!!", KeyASCII),
	}
	msgs := []Message{
		{ID: IDADMCID, Seq: 1, Receiver: "1", Line: "1", Account: "1234", Data: "#1234|1130 01 003", Time: at},
		{ID: IDADMCID, Seq: 9999, Receiver: "ABCDEF", Line: "123456", Account: "0123456789ABCDEF", Data: "#0123456789ABCDEF|3401 02 005", Time: at},
		{ID: IDSIADCS, Seq: 42, Line: "0", Account: "1234", Data: "#1234|Nri1/BA003^Hall ^", Time: at,
			XData: []XData{{Name: "V", Value: "https://cam.example/a?b=c"}, {Name: "I", Value: "Larm i hallen"}}},
		{ID: IDNull, Seq: 3, Line: "0", Account: "abc", Time: at},
		{ID: IDNull, Seq: 0, Receiver: "0", Line: "0", Account: "1234", Time: at},
		{ID: IDAck, Seq: 7, Receiver: "1", Line: "1", Account: "1234", Time: at},
		{ID: "FOO-2", Seq: 12, Account: "1234", Data: "anything", Time: at},
	}
	plainOnly := []Message{
		{ID: IDADMCID, Seq: 5, Account: "1234", Data: "#1234|1602 00 000"}, // no timestamp
		{ID: IDNak, Receiver: "0", Line: "0", Time: at},
		{ID: IDAck, Seq: 1, Receiver: "1", Line: "1", Account: "1234"},
		{ID: IDDuh, Seq: 7, Account: "1234"},
	}
	for i, m := range append(append([]Message{}, msgs...), plainOnly...) {
		t.Run(fmt.Sprintf("plain/%d/%s", i, m.ID), func(t *testing.T) {
			roundTrip(t, m, nil)
		})
	}
	for name, key := range keys {
		for i, m := range msgs {
			m.Encrypted = true
			t.Run(fmt.Sprintf("%s/%d/%s", name, i, m.ID), func(t *testing.T) {
				roundTrip(t, m, key)
			})
		}
	}
}

func roundTrip(t *testing.T, m Message, key *Key) {
	t.Helper()
	frame, err := Encode(m, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkStrict(t, frame)
	got, err := Decode(frame, func(string) *Key { return key })
	if err != nil {
		t.Fatalf("decode %q: %v", frame, err)
	}
	if !got.Equal(m) {
		t.Fatalf("decoded %+v\nwant %+v", got, m)
	}
	if m.Encrypted {
		// Random pads: the same message encrypts differently every time.
		again, _ := Encode(m, key, nil)
		if bytes.Equal(again, frame) {
			t.Errorf("two encryptions gave the same frame %q", frame)
		}
	}
}

// checkStrict asserts the strict transmit form.
func checkStrict(t *testing.T, f []byte) {
	t.Helper()
	if len(f) < 11 || f[0] != '\n' || f[len(f)-1] != '\r' {
		t.Fatalf("frame %q not LF…CR", f)
	}
	for _, c := range f[1:5] {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			t.Fatalf("CRC %q not uppercase hex", f[1:5])
		}
	}
	if f[5] != '0' || fmt.Sprintf("%03X", len(f)-10) != string(f[6:9]) {
		t.Fatalf("length %q for a %d-byte body", f[5:9], len(f)-10)
	}
	if fmt.Sprintf("%04X", CRC(f[9:len(f)-1])) != string(f[1:5]) {
		t.Fatalf("CRC %q wrong", f[1:5])
	}
	if bytes.ContainsAny(f[1:len(f)-1], "\r\n") {
		t.Fatalf("CR or LF inside %q", f)
	}
}

func TestEncryptedLayout(t *testing.T) {
	key := mustKey(t, "ABCDABCDABCDABCD", KeyASCII)
	at := time.Date(2026, 3, 1, 7, 30, 0, 0, time.UTC)
	m := Message{ID: IDADMCID, Encrypted: true, Seq: 7, Receiver: "1", Line: "1", Account: "5678",
		Data: "#5678|1401 01 002", Time: at}
	for range 50 {
		f, err := Encode(m, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		head := `"*ADM-CID"0007R1L1#5678[`
		body := f[9 : len(f)-1]
		if !bytes.HasPrefix(body, []byte(head)) {
			t.Fatalf("clear header: %q", body)
		}
		ctHex := body[len(head):]
		if bytes.ContainsAny(ctHex, "]abcdef") || len(ctHex)%32 != 0 {
			t.Fatalf("ciphertext %q: want uppercase hex, whole blocks, no ']'", ctHex)
		}
		ct := make([]byte, len(ctHex)/2)
		fmt.Sscanf(string(ctHex), "%X", &ct)
		pt := string(key.decrypt(ct))
		rest := "|#5678|1401 01 002]_07:30:00,03-01-2026"
		if !strings.HasSuffix(pt, rest) {
			t.Fatalf("plaintext %q does not end in %q", pt, rest)
		}
		padding := pt[:len(pt)-len(rest)]
		if len(padding) < 1 || len(padding) > 16 || strings.ContainsAny(padding, "[]|") {
			t.Fatalf("pad %q", padding)
		}
		for _, c := range []byte(padding) {
			if c < 0x21 || c > 0x7E {
				t.Fatalf("pad %q not printable", padding)
			}
		}
	}
	// Aligned rest → a full block of pad.
	p, _ := pad(make([]byte, 32), &countReader{})
	if len(p) != 48 {
		t.Fatalf("pad of an aligned plaintext: %d bytes, want 16 + 32", len(p))
	}
}

func TestPadChar(t *testing.T) {
	seen := map[byte]bool{}
	for r := range 91 {
		c := padChar(byte(r))
		if c < 0x21 || c > 0x7E || c == '[' || c == ']' || c == '|' || seen[c] {
			t.Fatalf("padChar(%d) = %q", r, c)
		}
		seen[c] = true
	}
	if len(seen) != 91 {
		t.Fatalf("%d distinct pad characters, want 91", len(seen))
	}
}

func TestEncodeErrors(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	key := mustKey(t, "ABCDABCDABCDABCD", KeyASCII)
	ok := Message{ID: IDNull, Seq: 1, Line: "0", Account: "1234", Time: at}
	for _, tc := range []struct {
		name string
		edit func(*Message)
		key  *Key
		want error
	}{
		{"no ID", func(m *Message) { m.ID = "" }, nil, ErrInvalid},
		{"lowercase ID", func(m *Message) { m.ID = "null" }, nil, ErrInvalid},
		{"seq", func(m *Message) { m.Seq = 10000 }, nil, ErrInvalid},
		{"negative seq", func(m *Message) { m.Seq = -1 }, nil, ErrInvalid},
		{"receiver", func(m *Message) { m.Receiver = "1234567" }, nil, ErrInvalid},
		{"line", func(m *Message) { m.Line = "G" }, nil, ErrInvalid},
		{"no account", func(m *Message) { m.Account = "" }, nil, ErrInvalid},
		{"short account", func(m *Message) { m.Account = "12" }, nil, ErrInvalid},
		{"account not hex", func(m *Message) { m.Account = "12X4" }, nil, ErrInvalid},
		{"bracket in data", func(m *Message) { m.Data = "a]b" }, nil, ErrInvalid},
		{"CR in data", func(m *Message) { m.Data = "a\rb" }, nil, ErrInvalid},
		{"xdata name", func(m *Message) { m.XData = []XData{{Name: "v", Value: "x"}} }, nil, ErrInvalid},
		{"xdata value", func(m *Message) { m.XData = []XData{{Name: "V", Value: "[x"}} }, nil, ErrInvalid},
		{"encrypted without time", func(m *Message) { m.Encrypted, m.Time = true, time.Time{} }, key, ErrInvalid},
		{"encrypted without key", func(m *Message) { m.Encrypted = true }, nil, ErrNoKey},
		{"year", func(m *Message) { m.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, nil, ErrInvalid},
		{"too long", func(m *Message) { m.Data = strings.Repeat("x", MaxBody) }, nil, ErrLength},
	} {
		m := ok
		tc.edit(&m)
		if _, err := Encode(m, tc.key, nil); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := Encode(Message{ID: IDNull, Encrypted: true, Seq: 1, Account: "1234", Time: at}, key,
		io.LimitReader(nil, 0)); err == nil {
		t.Error("a failing pad source gave no error")
	}
}

func TestDecodeErrors(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	key := mustKey(t, "ABCDABCDABCDABCD", KeyASCII)
	other := mustKey(t, "ABCDABCDABCDABCE", KeyASCII)
	m := Message{ID: IDADMCID, Encrypted: true, Seq: 77, Receiver: "2", Line: "3", Account: "4321",
		Data: "#4321|1130 01 003", Time: at}
	f, err := Encode(m, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	header := Message{ID: IDADMCID, Encrypted: true, Seq: 77, Receiver: "2", Line: "3", Account: "4321"}
	for _, tc := range []struct {
		name string
		keys func(string) *Key
		want error
	}{
		{"nil keys", nil, ErrNoKey},
		{"no key for account", func(string) *Key { return nil }, ErrNoKey},
		{"wrong key", func(string) *Key { return other }, ErrDecrypt},
	} {
		got, err := Decode(f, tc.keys)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if !got.Equal(header) {
			t.Errorf("%s: header %+v, want %+v", tc.name, got, header)
		}
	}
	for _, tc := range []struct {
		name, frame string
		want        error
	}{
		{"empty", "", ErrFormat},
		{"lone LF CR", "\n\r", ErrFormat},
		{"no header", "\nhello\r", ErrFormat},
		{"short length", "\n6BE5003C\"ADM-CID\"0001R1L1#1234[#1234|1130 01 003]_14:12:04,09-25-2025\r", ErrLength},
		{"bad CRC", "\n6BE6003D\"ADM-CID\"0001R1L1#1234[#1234|1130 01 003]_14:12:04,09-25-2025\r", ErrCRC},
	} {
		if _, err := Decode([]byte(tc.frame), nil); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, body := range []string{
		`"ADM-CID"0001R1L1#1234[#1234|1130 01 003`,          // no ]
		`"ADM-CID"R1L1#1234[]`,                              // no seq
		`"ADM-CID0001R1L1#1234[]`,                           // no closing quote
		`"ADM-CID"0001R1L1#1234[]junk`,                      // trailing junk
		`"ADM-CID"0001R1L1#1234[][v1]`,                      // lowercase xdata
		`"ADM-CID"0001R1L1[]`,                               // no account
		`"ADM-CID"0001R1234567#1234[]`,                      // receiver too long
		`"ADM-CID"0001#1234[a[b]`,                           // [ in data
		`"ADM-CID"0001#1234[]_14:12:04,02-30-2025`,          // 30 February
		`"ADM-CID"0001#1234[]_00:00:00,01-01-0001`,          // the zero time
		`"*ADM-CID"0001#1234[ZZ`,                            // not hex (needs a key first)
		`"adm-cid"0001#1234[]`,                              // lowercase ID
		`"ADM-CID"0001#12345678901234567[]`,                 // account too long
		`"ADM-CID"0001#1234[]_14:12:04,09-25-2025_14:12:04`, // junk after
	} {
		f := frameOf(body)
		_, err := Decode(f, func(string) *Key { return key })
		if err == nil {
			t.Errorf("%s decoded", body)
		} else if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: %v, want ErrFormat", body, err)
		}
	}
}

// frameOf wraps body in LF, CRC, length and CR.
func frameOf(body string) []byte {
	return fmt.Appendf(nil, "\n%04X%04X%s\r", CRC([]byte(body)), len(body), body)
}

func TestDecodeLiberal(t *testing.T) {
	for _, tc := range []struct {
		body string
		want Message
	}{
		{`"NAK"0000R0L0[]`, Message{ID: IDNak, Receiver: "0", Line: "0"}},
		{`"ACK"0001R1L0A0[]`, Message{ID: IDAck, Seq: 1, Receiver: "1", Line: "0"}},
		{`"ACK"0001L1AA0[]`, Message{ID: IDAck, Seq: 1, Line: "1A"}},
		{`"ACK"0001LA0[]`, Message{ID: IDAck, Seq: 1}},
		{`"ACK"1R1L1#1234[]`, Message{ID: IDAck, Seq: 1, Receiver: "1", Line: "1", Account: "1234"}},
		{`"NULL"0001L1A#1234[]`, Message{ID: IDNull, Seq: 1, Line: "1A", Account: "1234"}},
		{`"DUH"0005R0L0#1234[]`, Message{ID: IDDuh, Seq: 5, Receiver: "0", Line: "0", Account: "1234"}},
	} {
		got, err := Decode(frameOf(tc.body), nil)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%s: %+v, %v; want %+v", tc.body, got, err, tc.want)
		}
	}
}

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		s, format string
		bits      int
		errHas    string
	}{
		{strings.Repeat("0f", 16), "hex", 128, ""},
		{strings.Repeat("0F", 24), "HEX", 192, ""},
		{strings.Repeat("aB", 32), "hex", 256, ""},
		{"ABCDABCDABCDABCD", "ascii", 128, ""},
		{"ABCDABCDABCDABCDABCDABCD", "ASCII", 192, ""},
		{"ABCDABCDABCDABCDABCDABCDABCDABCD", "ascii", 256, ""},
		{"ABCDABCDABCDABCDABCDABCDABCDABCD", "hex", 128, ""},
		{"ABCDABCDABCDABCD", "hex", 0, "usually written as ASCII"},
		{strings.Repeat("0", 31), "hex", 0, "31 characters"},
		{strings.Repeat("0", 31) + "g", "hex", 0, "character 32 is not a hex digit"},
		{strings.Repeat("0F", 24), "ascii", 0, "looks like hex"},
		{"short", "ascii", 0, "5 bytes"},
		{"ABCDABCDABCDABC\x01", "ascii", 0, "byte 16 is not a printable"},
		{"ABCDABCDABCDABCD", "", 0, "format missing"},
		{"ABCDABCDABCDABCD", "base64", 0, `"base64" unknown`},
	} {
		k, err := ParseKey(tc.s, tc.format)
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseKey(%q, %q) = %v, want error with %q", tc.s, tc.format, err, tc.errHas)
			}
			if err != nil && len(tc.s) >= 5 && strings.Contains(err.Error(), tc.s) {
				t.Errorf("error %q quotes the key", err)
			}
			continue
		}
		if err != nil || k.Bits() != tc.bits {
			t.Errorf("ParseKey(%q, %q) = %v, %v; want AES-%d", tc.s, tc.format, k, err, tc.bits)
		}
	}
	k := mustKey(t, "SecretSecretSecr", KeyASCII)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k)} {
		if strings.Contains(s, "Secret") || !strings.Contains(s, "AES-128") {
			t.Errorf("key prints as %q", s)
		}
	}
	if _, err := NewKey(make([]byte, 15)); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewKey(15 bytes): %v", err)
	}
}

func TestCheckTime(t *testing.T) {
	now := time.Date(2025, 9, 25, 14, 12, 4, 0, time.UTC)
	for _, tc := range []struct {
		off time.Duration
		ok  bool
	}{
		{0, true}, {-35 * time.Second, true}, {-40 * time.Second, true}, {20 * time.Second, true},
		{-40*time.Second - time.Millisecond, false}, {20*time.Second + time.Millisecond, false},
		{30 * time.Second, false}, {-120 * time.Second, false},
	} {
		err := CheckTime(now.Add(tc.off), now)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrTimestamp) {
			t.Errorf("offset %v: %v, want ok=%v", tc.off, err, tc.ok)
		}
	}
	if err := CheckTime(time.Time{}, now); !errors.Is(err, ErrTimestamp) {
		t.Errorf("zero time: %v", err)
	}
	if err := CheckTimeWindow(now.Add(-time.Minute), now, 2*time.Minute, 0); err != nil {
		t.Errorf("custom window: %v", err)
	}
}

func TestReplies(t *testing.T) {
	now := time.Date(2026, 3, 1, 7, 30, 0, 500e6, time.UTC)
	m := Message{ID: IDADMCID, Encrypted: true, Seq: 12, Receiver: "A", Line: "B", Account: "C0DE", Data: "x", Time: now}
	a := Ack(m, now)
	if want := (Message{ID: IDAck, Encrypted: true, Seq: 12, Receiver: "A", Line: "B", Account: "C0DE",
		Time: now.Truncate(time.Second)}); !a.Equal(want) {
		t.Errorf("Ack = %+v, want %+v", a, want)
	}
	if !a.Acknowledges(m) || a.Acknowledges(Message{Seq: 13, Account: "C0DE"}) {
		t.Error("Acknowledges")
	}
	m.Encrypted = false
	if a := Ack(m, now); a.Encrypted || !a.Time.IsZero() {
		t.Errorf("plain Ack = %+v", a)
	}
	if d := Duh(m); !d.Equal(Message{ID: IDDuh, Seq: 12, Receiver: "A", Line: "B", Account: "C0DE"}) {
		t.Errorf("Duh = %+v", d)
	}
	f, err := Encode(Nak(now.In(time.FixedZone("CET", 3600))), nil, nil)
	if err != nil || string(f[9:len(f)-1]) != `"NAK"0000R0L0A0[]_07:30:00,03-01-2026` {
		t.Errorf("Nak = %q, %v", f, err)
	}
}

func TestNextSeq(t *testing.T) {
	for n, want := range map[int]int{0: 1, 1: 2, 41: 42, 9998: 9999, 9999: 1, -5: 1, 12345: 1} {
		if got := NextSeq(n); got != want {
			t.Errorf("NextSeq(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestContactID(t *testing.T) {
	for _, tc := range []struct {
		data string
		want ContactID
		desc string
	}{
		{"#1234|1130 01 003", ContactID{"1234", 1, 130, 1, 3}, "Burglary (zone 3)"},
		{"#1234|3130 01 003", ContactID{"1234", 3, 130, 1, 3}, "Burglary restore (zone 3)"},
		{"#1234|3401 01 005", ContactID{"1234", 3, 401, 1, 5}, "Armed by user (user 5)"},
		{"#1234|1401 01 005", ContactID{"1234", 1, 401, 1, 5}, "Disarmed by user (user 5)"},
		{"1602 00 000", ContactID{"", 1, 602, 0, 0}, "Periodic test"},
		{"|6384 00 012", ContactID{"", 6, 384, 0, 12}, "Sensor low battery (still present) (zone 12)"},
		{"#ABC|1999 00 001", ContactID{"ABC", 1, 999, 0, 1}, "Unknown event 999 (zone 1)"},
		{"#1234|113901007", ContactID{"1234", 1, 139, 1, 7}, "Confirmed burglary (zone 7)"},
	} {
		got, err := ParseContactID(tc.data)
		if err != nil || got != tc.want {
			t.Errorf("ParseContactID(%q) = %+v, %v; want %+v", tc.data, got, err, tc.want)
			continue
		}
		if d := got.Description(); d != tc.desc {
			t.Errorf("%q: Description %q, want %q", tc.data, d, tc.desc)
		}
		s, err := got.Format()
		if err != nil {
			t.Fatal(err)
		}
		if back, err := ParseContactID(s); err != nil || back != got {
			t.Errorf("Format %q parses to %+v, %v", s, back, err)
		}
	}
	for _, bad := range []string{"", "#1234", "#1234|", "#1234|2130 01 003", "#1234|1130 01 03", "#12|1130 01 003",
		"#1234|1130-01-003", "#1234|0000 00 000", "#1234|113A 01 003"} {
		if _, err := ParseContactID(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseContactID(%q): %v, want ErrFormat", bad, err)
		}
	}
	for _, bad := range []ContactID{{Qualifier: 2, Code: 130}, {Qualifier: 1, Code: 1000},
		{Qualifier: 1, Partition: 100}, {Qualifier: 1, Zone: -1}, {Account: "XYZ", Qualifier: 1}} {
		if _, err := bad.Format(); !errors.Is(err, ErrInvalid) {
			t.Errorf("Format(%+v): %v, want ErrInvalid", bad, err)
		}
	}
}

func TestDCS(t *testing.T) {
	for _, tc := range []struct {
		data string
		want DCSEvent
		desc string
	}{
		{"#1234|Nri1/BA003", DCSEvent{Account: "1234", Area: 1, Code: "BA", Zone: 3}, "Burglary (zone 3)"},
		{"#1234|Nri1/CL501", DCSEvent{Account: "1234", Area: 1, Code: "CL", Zone: 501}, "Armed by user (user 501)"},
		{"#AAA|Nri1BA503^Text^", DCSEvent{Account: "AAA", Area: 1, Code: "BA", Zone: 503, Text: "Text"}, `Burglary (zone 503) "Text"`},
		{"|Nri1/CL501", DCSEvent{Area: 1, Code: "CL", Zone: 501}, "Armed by user (user 501)"},
		{"Nri1/WA000", DCSEvent{Area: 1, Code: "WA", Zone: 0}, "Water leak"},
		{"#123456|Nri1CL0^VX FRONTE ^", DCSEvent{Account: "123456", Area: 1, Code: "CL", Text: "VX FRONTE "}, `Armed by user "VX FRONTE "`},
		{"#006969|Nri04/OP001NM", DCSEvent{Account: "006969", Area: 4, Code: "OP", Zone: 1}, "Disarmed by user (user 1)"},
		{"#1234|NRP", DCSEvent{Account: "1234", Code: "RP"}, "Periodic test"},
		{"#1234|Nid5ti10:30/ri2/KR1", DCSEvent{Account: "1234", Area: 2, Code: "KR", Zone: 1, User: 5, Time: "10:30"},
			"SIA event KR (zone 1, user 5) at 10:30"},
		{"NL001", DCSEvent{Code: "NL", Area: 1}, "SIA event NL (area 1)"},
		// Text as an independent transmitter sends it: an ASCII block after the
		// event, quoted extended text, or a message of text alone.
		{"#1234|Nri1BA3|AInbraak", DCSEvent{Account: "1234", Area: 1, Code: "BA", Zone: 3, Text: "Inbraak"},
			`Burglary (zone 3) "Inbraak"`},
		{`#1234|Nri1BA3*"Inbraak achterdeur"NM`, DCSEvent{Account: "1234", Area: 1, Code: "BA", Zone: 3, Text: "Inbraak achterdeur"},
			`Burglary (zone 3) "Inbraak achterdeur"`},
		{"#1234|AInbraak", DCSEvent{Account: "1234", Text: "Inbraak"}, `Text message "Inbraak"`},
		{"#1234|AAlarm in de keuken", DCSEvent{Account: "1234", Text: "Alarm in de keuken"}, `Text message "Alarm in de keuken"`},
		// Names in carets after the modifiers; the zone's name wins.
		{"#1234|Nri1^Woonkamer^id5^Jan^ti12:34:56BA3^Voordeur^",
			DCSEvent{Account: "1234", Area: 1, Code: "BA", Zone: 3, User: 5, Time: "12:34:56", Text: "Woonkamer"},
			`Burglary (zone 3, user 5) at 12:34:56 "Woonkamer"`},
		// Area codes: the number is the area; users come with id.
		{"#1234|Nid5CG1", DCSEvent{Account: "1234", Code: "CG", Area: 1, User: 5}, "Armed stay (area 1, user 5)"},
		{"#1234|NOG2", DCSEvent{Account: "1234", Code: "OG", Area: 2}, "Disarmed from stay (area 2)"},
		{"#1234|NCA1", DCSEvent{Account: "1234", Code: "CA", Area: 1}, "Automatic arm (area 1)"},
		{"#1234|NBV1", DCSEvent{Account: "1234", Code: "BV", Area: 1}, "Confirmed burglary (area 1)"},
		{"#1234|NAT001", DCSEvent{Account: "1234", Code: "AT", Zone: 1}, "AC power loss (zone 1)"},
		{"#1234|AT001", DCSEvent{Account: "1234", Code: "AT", Zone: 1}, "AC power loss (zone 1)"},
		{"#1234|NBH003", DCSEvent{Account: "1234", Code: "BH", Zone: 3}, "Burglary restore (zone 3)"},
	} {
		got, err := ParseDCS(tc.data)
		if err != nil || got != tc.want {
			t.Errorf("ParseDCS(%q) = %+v, %v; want %+v", tc.data, got, err, tc.want)
			continue
		}
		if d := got.Description(); d != tc.desc {
			t.Errorf("%q: Description %q, want %q", tc.data, d, tc.desc)
		}
		s, err := got.Format()
		if err != nil {
			t.Fatal(err)
		}
		if back, err := ParseDCS(s); err != nil || back != got {
			t.Errorf("Format %q parses to %+v, %v", s, back, err)
		}
	}
	for _, bad := range []string{"", "#1234|", "#1234|N", "#1234|Nri1/", "#1234|Nri1/B003", "#1234|NBA12345",
		"#12|NBA003", "#1234|NBA003^open", "#1234|N?BA003", "#1234|Nti25:00/BA003", "#1234|NBA3*\"open",
		"#1234|NBA3|A\x01"} {
		if _, err := ParseDCS(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseDCS(%q): %v, want ErrFormat", bad, err)
		}
	}
	for _, bad := range []DCSEvent{{Code: "B"}, {Code: "ba"}, {Code: "BA", Zone: 10000}, {Code: "BA", Area: -1},
		{Code: "BA", Text: "a^b"}} {
		if _, err := bad.Format(); !errors.Is(err, ErrInvalid) {
			t.Errorf("Format(%+v): %v, want ErrInvalid", bad, err)
		}
	}
}

// TestCodes checks the table: every event the hub reports is present, CID codes
// are unique, and conversion to SIA picks the new or restore letters.
func TestCodes(t *testing.T) {
	seen := map[int]bool{}
	for _, e := range Codes() {
		if seen[e.CID] {
			t.Errorf("CID %d twice", e.CID)
		}
		seen[e.CID] = true
		// SIA may be empty only for a code reported as a closing alone (450).
		if len(e.SIA) != 2 && (e.SIA != "" || len(e.Restore) != 2) || e.Restore != "" && len(e.Restore) != 2 || e.Name == "" {
			t.Errorf("bad entry %+v", e)
		}
	}
	for _, code := range []int{100, 110, 120, 121, 122, 130, 131, 132, 133, 134, 137, 139, 154, 162, 300, 301, 302,
		305, 320, 321, 330, 350, 354, 373, 380, 381, 383, 384, 401, 406, 450, 461, 570, 601, 602} {
		if !seen[code] {
			t.Errorf("CID %d missing", code)
		}
	}
	for _, tc := range []struct {
		c    ContactID
		want string
	}{
		{ContactID{Qualifier: 1, Code: 130, Partition: 1, Zone: 3}, "Nri1/BA003"},
		{ContactID{Qualifier: 3, Code: 130, Partition: 1, Zone: 3}, "Nri1/BH003"},
		{ContactID{Qualifier: 1, Code: 401, Partition: 1, Zone: 5}, "Nri1/OP005"},
		{ContactID{Qualifier: 3, Code: 401, Partition: 1, Zone: 5}, "Nri1/CL005"},
		// BV, CG, CA: the number is the area; a Contact ID user goes to "id".
		{ContactID{Qualifier: 1, Code: 139, Partition: 1, Zone: 2}, "NBV001"},
		{ContactID{Qualifier: 3, Code: 441, Partition: 1, Zone: 5}, "Nid5/CG001"},
		{ContactID{Qualifier: 1, Code: 456, Partition: 2, Zone: 7}, "Nid7/OG002"},
		{ContactID{Qualifier: 3, Code: 403, Partition: 1}, "NCA001"},
		// Duress: the Contact ID zone is the user, HA's number a zone.
		{ContactID{Qualifier: 1, Code: 121, Partition: 1, Zone: 5}, "Nid5/ri1/HA000"},
		{ContactID{Qualifier: 1, Code: 602}, "NRP000"},
		{ContactID{Qualifier: 3, Code: 450, Partition: 1, Zone: 5}, "Nri1/CF005"},
		{ContactID{Qualifier: 1, Code: 305}, "NYW000"},
		{ContactID{Qualifier: 3, Code: 384, Zone: 4}, "NXR004"},
		{ContactID{Qualifier: 1, Code: 300}, "NIA000"},
		{ContactID{Qualifier: 3, Code: 321, Zone: 2}, "NYH002"},
		{ContactID{Qualifier: 1, Code: 320, Zone: 3}, "NYA003"},
		{ContactID{Qualifier: 1, Code: 330, Zone: 1}, "NET001"},
		{ContactID{Qualifier: 3, Code: 330, Zone: 1}, "NER001"},
	} {
		d, err := tc.c.DCS()
		if err != nil {
			t.Errorf("%+v: %v", tc.c, err)
			continue
		}
		if s, _ := d.Format(); s != tc.want {
			t.Errorf("%+v → %s, want %s", tc.c, s, tc.want)
		}
	}
	if _, err := (ContactID{Qualifier: 3, Code: 602}).DCS(); !errors.Is(err, ErrInvalid) {
		t.Errorf("restore of a test report: %v", err)
	}
	if _, err := (ContactID{Qualifier: 1, Code: 998}).DCS(); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown code: %v", err)
	}
	lost, _ := LookupCID(381)
	lost.SIA, lost.Restore = "YC", "YK"
	if d, err := lost.DCS(ContactID{Qualifier: 3, Code: 381, Zone: 9}); err != nil || d.Code != "YK" {
		t.Errorf("custom mapping: %+v, %v", d, err)
	}
	if e, restore, ok := LookupSIA("CL"); !ok || !restore || e.CID != 401 {
		t.Errorf("LookupSIA(CL) = %+v, %v, %v", e, restore, ok)
	}
}

func TestSplitFrames(t *testing.T) {
	a := frameOf(`"NULL"0001L0#1234[]`)
	b := frameOf(`"NULL"0002L0#1234[]`)
	raw := []byte("\n\r\n003D\"ADM-CID\"0001R1L1#1234[#1234|1130 01 003]_14:12:04,09-25-2025\r") // raw CRC 0D 0A
	cut := a[:len(a)/2]
	stream := bytes.Join([][]byte{
		[]byte("garbage"), a, {0}, b, []byte("\r\n"), raw, cut, a, []byte("  \t\n\n\n"), b, []byte("\n\n"), a,
	}, nil)
	want := [][]byte{[]byte("garbage"), a, b, raw, cut, a, b, a}
	splitInvariant(t, stream)
	for _, chunk := range []int{1, 2, 3, 7, 64, len(stream)} {
		sc := bufio.NewScanner(&chunkReader{data: stream, n: chunk})
		sc.Split(SplitFrames)
		var got [][]byte
		for sc.Scan() {
			got = append(got, bytes.Clone(sc.Bytes()))
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("chunk %d: %d tokens %q, want %d", chunk, len(got), got, len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("chunk %d token %d: %q, want %q", chunk, i, got[i], want[i])
			}
		}
	}
	// Raw-CRC frame whose CRC holds CR and LF decodes only if its CRC is right;
	// the split must keep it whole either way.
	if _, err := Decode(raw, nil); !errors.Is(err, ErrCRC) {
		t.Errorf("raw frame: %v", err)
	}
	// Endless garbage comes out in MaxFrame pieces.
	sc := bufio.NewScanner(bytes.NewReader(bytes.Repeat([]byte("x"), 3*MaxFrame)))
	sc.Split(SplitFrames)
	n := 0
	for sc.Scan() {
		if len(sc.Bytes()) > MaxFrame {
			t.Fatalf("token of %d bytes", len(sc.Bytes()))
		}
		n++
	}
	if sc.Err() != nil || n != 3 {
		t.Fatalf("%d tokens, %v", n, sc.Err())
	}
}

// splitInvariant checks, for every prefix of stream, that SplitFrames never skips
// bytes without a token while the rest still holds one: bufio.Scanner would then
// wait for more input with a frame in its buffer.
func splitInvariant(t testing.TB, stream []byte) {
	for n := 0; n <= len(stream); n++ {
		p := stream[:n]
		adv, tok, err := SplitFrames(p, false)
		if err != nil || adv < 0 || adv > len(p) || len(tok) > MaxFrame {
			t.Fatalf("SplitFrames(%q) = %d, %q, %v", p, adv, tok, err)
		}
		if tok == nil && adv > 0 {
			if adv2, tok2, _ := SplitFrames(p[adv:], false); tok2 != nil || adv2 != 0 {
				t.Fatalf("SplitFrames(%q) skipped %d bytes without a token, but the rest gives %d, %q",
					p, adv, adv2, tok2)
			}
		}
	}
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	data []byte
	n    int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := min(r.n, len(p), len(r.data))
	copy(p, r.data[:k])
	r.data = r.data[k:]
	return k, nil
}
