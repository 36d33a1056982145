package sia

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden .json files in testdata/frames")

// countReader yields 0, 1, 2, … so Encode's pad is always `!"#$%&'()*+,-./0…`.
type countReader struct{ n byte }

func (r *countReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

// testKeys are the keys of the accounts in testdata (see aes-vectors.txt and
// gen-frames.py).
func testKeys(t testing.TB) func(string) *Key {
	t.Helper()
	mk := func(s, format string) *Key {
		k, err := ParseKey(s, format)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	keys := map[string]*Key{
		"5678":   mk("2B7E151628AED2A6ABF7158809CF4F3C", KeyHex),
		"1234":   mk("0123456789abcdefghijklmn", KeyASCII),
		"ABC123": mk("603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4", KeyHex),
		"2468":   mk("ABCDABCDABCDABCD", KeyASCII),
		"AAAB":   mk("AAAAAAAAAAAAAAAA", KeyASCII),
	}
	return func(acct string) *Key { return keys[acct] }
}

func errName(err error) string {
	for _, e := range []struct {
		err  error
		name string
	}{{ErrFormat, "format"}, {ErrLength, "length"}, {ErrCRC, "crc"}, {ErrNoKey, "nokey"},
		{ErrDecrypt, "decrypt"}, {ErrInvalid, "invalid"}} {
		if errors.Is(err, e.err) {
			return e.name
		}
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

type golden struct {
	Error   string   `json:"error,omitempty"`
	Message *Message `json:"message,omitempty"`
}

// TestFrames decodes every frame in testdata/frames and compares the result with
// its golden .json; frames that decode must re-encode to the same message, and the
// strict ones (ref-*, enc-*) to the same bytes.
func TestFrames(t *testing.T) {
	files, err := filepath.Glob("testdata/frames/*.dc09")
	if err != nil || len(files) < 20 {
		t.Fatalf("want the known-answer frames in testdata/frames, found %d (%v)", len(files), err)
	}
	keys := testKeys(t)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".dc09")
		t.Run(name, func(t *testing.T) {
			frame, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(frame, keys)
			var got golden
			if got.Error = errName(err); err == nil {
				got.Message = &m
			}
			gotJSON, _ := json.MarshalIndent(got, "", "  ")
			gotJSON = append(gotJSON, '\n')
			goldenFile := strings.TrimSuffix(file, ".dc09") + ".json"
			if *update {
				if err := os.WriteFile(goldenFile, gotJSON, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(goldenFile)
			if err != nil {
				t.Fatalf("%v (run go test -run TestFrames -update to create it)", err)
			}
			if !bytes.Equal(gotJSON, want) {
				t.Fatalf("decoded\n%s\nwant\n%s", gotJSON, want)
			}
			if strings.HasPrefix(name, "bad-") {
				if got.Error == "" {
					t.Fatal("a bad frame decoded")
				}
				return
			}
			if got.Error != "" {
				t.Fatalf("decode: %v", err)
			}
			re, err := Encode(m, keys(m.Account), &countReader{})
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			m2, err := Decode(re, keys)
			if err != nil || !m2.Equal(m) {
				t.Fatalf("re-encoded %q decodes to %+v, %v; want %+v", re, m2, err, m)
			}
			if strings.HasPrefix(name, "ref-") || strings.HasPrefix(name, "enc-") {
				if !bytes.Equal(re, frame) {
					t.Fatalf("re-encoded\n%q\nwant\n%q", re, frame)
				}
			}
		})
	}
}

// TestEncodeReference builds the reference's plain frames from fields and compares
// them byte for byte.
func TestEncodeReference(t *testing.T) {
	at := time.Date(2025, 9, 25, 14, 12, 4, 0, time.UTC)
	adm := Message{ID: IDADMCID, Seq: 1, Receiver: "1", Line: "1", Account: "1234", Time: at}
	data, err := ContactID{Account: "1234", Qualifier: QualNew, Code: 130, Partition: 1, Zone: 3}.Format()
	if err != nil {
		t.Fatal(err)
	}
	adm.Data = data
	dcsData, err := DCSEvent{Account: "1234", Area: 1, Code: "BA", Zone: 3}.Format()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		m    Message
	}{
		{"ref-adm-cid", adm},
		{"ref-sia-dcs", Message{ID: IDSIADCS, Seq: 2, Line: "0", Account: "1234", Data: dcsData, Time: at}},
		{"ref-null", Message{ID: IDNull, Seq: 3, Line: "0", Account: "1234", Time: at}},
		{"ref-ack", Ack(adm, at.Add(time.Second))},
		{"ref-nak", Nak(at.Add(time.Second + 300*time.Millisecond))},
	} {
		want, err := os.ReadFile("testdata/frames/" + tc.file + ".dc09")
		if err != nil {
			t.Fatal(err)
		}
		got, err := Encode(tc.m, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.file, got, want)
		}
	}
}

func TestCRC(t *testing.T) {
	if got := CRC([]byte("123456789")); got != 0xBB3D {
		t.Fatalf("CRC(123456789) = %04X, want BB3D", got)
	}
	if got := CRC(nil); got != 0 {
		t.Fatalf("CRC(nil) = %04X, want 0", got)
	}
	// From the reference's worked frames.
	for body, want := range map[string]uint16{
		`"ADM-CID"0001R1L1#1234[#1234|1130 01 003]_14:12:04,09-25-2025`: 0x6BE5,
		`"SIA-DCS"0002L0#1234[#1234|Nri1/BA003]_14:12:04,09-25-2025`:    0x05E1,
		`"NULL"0003L0#1234[]_14:12:04,09-25-2025`:                       0xDFB3,
		`"ACK"0001R1L1#1234[]`:                                          0xD277,
		`"NAK"0000R0L0A0[]_14:12:05,09-25-2025`:                         0xB2D2,
	} {
		if got := CRC([]byte(body)); got != want {
			t.Errorf("CRC(%s) = %04X, want %04X", body, got, want)
		}
	}
}

// TestAESVectors checks the cipher against vectors computed elsewhere: the
// openssl command line (testdata/aes-vectors.txt, by gen-aes.sh), FIPS-197
// Appendix C (one block, so CBC with a zero IV equals the raw cipher) and a
// third-party frame (pysiaalarm's encrypted NULL).
func TestAESVectors(t *testing.T) {
	f, err := os.Open("testdata/aes-vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 5 {
			t.Fatalf("bad line %q", sc.Text())
		}
		name, format, keyText, pt, wantCT := fields[0], fields[1], fields[2], fields[3], fields[4]
		key, err := ParseKey(keyText, format)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.ToUpper(hex.EncodeToString(key.encrypt([]byte(pt)))); got != wantCT {
			t.Errorf("%s: encrypt = %s, want %s", name, got, wantCT)
		}
		ct, _ := hex.DecodeString(wantCT)
		if got := string(key.decrypt(ct)); got != pt {
			t.Errorf("%s: decrypt = %q, want %q", name, got, pt)
		}
		// Encode with the counting pad must produce exactly this plaintext.
		rest := []byte(pt[strings.IndexByte(pt, '|'):])
		padded, err := pad(rest, &countReader{})
		if err != nil || string(padded) != pt {
			t.Errorf("%s: pad = %q, %v; want %q", name, padded, err, pt)
		}
		n++
	}
	if n != 4 {
		t.Fatalf("%d openssl vectors, want 4", n)
	}

	for _, v := range []struct{ key, pt, ct string }{
		{"000102030405060708090a0b0c0d0e0f", "00112233445566778899aabbccddeeff", "69c4e0d86a7b0430d8cdb78070b4c55a"},
		{"000102030405060708090a0b0c0d0e0f1011121314151617", "00112233445566778899aabbccddeeff", "dda97ca4864cdfe06eaf70a0ec0d7191"},
		{"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "00112233445566778899aabbccddeeff", "8ea2b7ca516745bfeafc49904b496089"},
	} {
		key, err := ParseKey(v.key, KeyHex)
		if err != nil {
			t.Fatal(err)
		}
		pt, _ := hex.DecodeString(v.pt)
		if got := hex.EncodeToString(key.encrypt(pt)); got != v.ct {
			t.Errorf("FIPS-197 AES-%d: %s, want %s", key.Bits(), got, v.ct)
		}
	}

	key, _ := ParseKey("AAAAAAAAAAAAAAAA", KeyASCII)
	ct, _ := hex.DecodeString("B4BC8B40D0E6D959D6BEA78E88CC0B2155741A3C44FBB96D476A3E557CAD64D9")
	if got, want := string(key.decrypt(ct)), "ppppppppppp]_18:24:52,07-05-2020"; got != want {
		t.Errorf("pysiaalarm NULL: %q, want %q", got, want)
	}
}
