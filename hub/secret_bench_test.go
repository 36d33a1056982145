package hub

import (
	"fmt"
	"testing"
)

// secretOWASP are OWASP's equal-strength argon2id parameter sets (Password Storage
// Cheat Sheet), largest memory first; DefaultHashParams is one of them.
var secretOWASP = []HashParams{
	{Memory: 47104, Time: 1, Threads: 1},
	{Memory: 19456, Time: 2, Threads: 1},
	{Memory: 12288, Time: 3, Threads: 1},
	{Memory: 9216, Time: 4, Threads: 1},
	{Memory: 7168, Time: 5, Threads: 1},
}

func secretParamsName(p HashParams) string {
	return fmt.Sprintf("m=%d,t=%d", p.Memory, p.Time)
}

// BenchmarkHashParams measures one wrong-secret check with each OWASP set: free is
// VerifySecret (argon2id alone), Verifier adds the lock and the collection after
// the hash.
func BenchmarkHashParams(b *testing.B) {
	for _, p := range secretOWASP {
		h, err := HashSecret("123456", p)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(secretParamsName(p)+"/free", func(b *testing.B) {
			for b.Loop() {
				if VerifySecret(h, "654321") {
					b.Fatal("wrong secret verified")
				}
			}
		})
		b.Run(secretParamsName(p)+"/Verifier", func(b *testing.B) {
			var v Verifier
			for b.Loop() {
				if v.Verify(h, "654321") {
					b.Fatal("wrong secret verified")
				}
			}
		})
	}
}

// BenchmarkWrongCode20Users measures a wrong code in a home of 20 users, through a
// Verifier with each OWASP set: pin has a PIN hash per user, pin+duress a PIN and a
// duress hash per user, all with HashPIN's shared salt (one hash per code). The goal
// is 250 ms; see DefaultHashParams and the README's Benchmarks.
func BenchmarkWrongCode20Users(b *testing.B) {
	for _, p := range secretOWASP {
		for _, duress := range []struct {
			name string
			n    int
		}{{"pin", 0}, {"pin+duress", 20}} {
			b.Run(secretParamsName(p)+"/"+duress.name, func(b *testing.B) {
				users := secretUsers(b, 20, duress.n, p)
				var v Verifier
				for b.Loop() {
					if _, _, ok := v.Identify(users, Credential{Code: "999999"}); ok {
						b.Fatal("wrong code identified")
					}
				}
			})
		}
	}
}
