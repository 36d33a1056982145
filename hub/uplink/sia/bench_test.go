package sia

import (
	"testing"
	"time"
)

func benchMessage(encrypted bool) Message {
	return Message{ID: IDADMCID, Encrypted: encrypted, Seq: 7, Receiver: "1", Line: "1", Account: "1234",
		Data: "#1234|1130 01 003", Time: time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)}
}

func BenchmarkEncode(b *testing.B) {
	key := mustKey(b, "ABCDABCDABCDABCD", KeyASCII)
	for _, enc := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "aes128"}[enc]
		b.Run(name, func(b *testing.B) {
			m := benchMessage(enc)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Encode(m, key, &countReader{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	key := mustKey(b, "ABCDABCDABCDABCD", KeyASCII)
	keys := func(string) *Key { return key }
	for _, enc := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "aes128"}[enc]
		b.Run(name, func(b *testing.B) {
			f, err := Encode(benchMessage(enc), key, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(f)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(f, keys); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
