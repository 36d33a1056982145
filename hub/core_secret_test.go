package hub

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// Limits of the credential checks: hash parameters, key lengths, PIN format, and
// which credential finds which user.

func TestHashParamsValid(t *testing.T) {
	tests := []struct {
		p    HashParams
		want bool
	}{
		{HashParams{Memory: 1, Time: 1, Threads: 1}, true},
		{HashParams{Memory: 1 << 20, Time: 16, Threads: 255}, true},
		{HashParams{Memory: 1<<20 + 1, Time: 1, Threads: 1}, false},
		{HashParams{Memory: 64, Time: 17, Threads: 1}, false},
		{HashParams{Memory: 0, Time: 1, Threads: 1}, false},
		{HashParams{Memory: 64, Time: 0, Threads: 1}, false},
		{HashParams{Memory: 64, Time: 1, Threads: 0}, false},
	}
	for _, tc := range tests {
		if got := tc.p.valid(); got != tc.want {
			t.Errorf("%+v valid: %v, want %v", tc.p, got, tc.want)
		}
	}
	if !DefaultHashParams.valid() {
		t.Errorf("the default parameters are not valid")
	}
}

// phc builds an argon2id hash of secret with a key of n bytes.
func phc(secret string, p HashParams, n uint32) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(secret), salt, p.Time, p.Memory, p.Threads, n)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

func TestVerifySecretLimits(t *testing.T) {
	p := HashParams{Memory: 64, Time: 1, Threads: 1}
	tests := []struct {
		name string
		hash string
		want bool
	}{
		{"a 1-byte key", phc("1234", p, 1), true},
		{"a 64-byte key", phc("1234", p, 64), true},
		{"a 65-byte key", phc("1234", p, 65), false},
		{"an empty key", strings.TrimSuffix(phc("1234", p, 4), strings.Split(phc("1234", p, 4), "$")[5]), false},
		{"the wrong version", strings.Replace(phc("1234", p, 32), fmt.Sprintf("v=%d", argon2.Version), "v=16", 1), false},
		{"argon2i", strings.Replace(phc("1234", p, 32), "argon2id", "argon2i", 1), false},
		{"parameters out of range", strings.Replace(phc("1234", p, 32), "t=1,", "t=17,", 1), false},
		{"unreadable parameters", strings.Replace(phc("1234", p, 32), "m=64", "m=x", 1), false},
		{"unreadable version", strings.Replace(phc("1234", p, 32), "v=", "w=", 1), false},
		{"a bad salt", strings.Replace(phc("1234", p, 32), "$MDEy", "$!!!!", 1), false},
		{"a bad key", phc("1234", p, 32) + "!", false},
		{"too few parts", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA", false},
		{"nothing", "", false},
	}
	for _, tc := range tests {
		for _, v := range []*Verifier{nil, {}} {
			if got := verifySecret(v, tc.hash, "1234"); got != tc.want {
				t.Errorf("%s (verifier %v): %v, want %v", tc.name, v != nil, got, tc.want)
			}
		}
	}
	if VerifySecret(phc("1234", p, 32), "1235") {
		t.Errorf("a wrong secret matched")
	}
	if _, err := HashSecret("x", HashParams{Memory: 64, Time: 17, Threads: 1}); err == nil {
		t.Errorf("hashing with parameters verify would refuse")
	}
}

func TestCheckPIN(t *testing.T) {
	tests := []struct {
		pin    string
		length int
		ok     bool
	}{
		{"0909", 4, true},
		{"123456", 6, true},
		{"12345", 6, false},
		{"1234567", 6, false},
		{"12/4", 4, false}, // '/' is just below '0'
		{"12:4", 4, false}, // ':' is just above '9'
		{"12a4", 4, false},
		{"", 4, false},
	}
	for _, tc := range tests {
		err := CheckPIN(tc.pin, tc.length)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrPINFormat) {
			t.Errorf("CheckPIN(%q, %d): %v", tc.pin, tc.length, err)
		}
	}
}

func TestIdentify(t *testing.T) {
	p := HashParams{Memory: 64, Time: 1, Threads: 1}
	users := []User{
		{ID: "ann", PINHash: phc("1111", p, 16), PasswordHash: phc("secret", p, 16), Tags: []string{"fob-a"}},
		{ID: "ben", PINHash: phc("2222", p, 16), DuressHash: phc("9222", p, 16), PasswordHash: phc("secret", p, 16),
			Tags: []string{"fob-b", "card-b"}},
	}
	tests := []struct {
		c      Credential
		id     string
		duress bool
	}{
		{Credential{Code: "1111"}, "ann", false},
		{Credential{Code: "2222"}, "ben", false},
		{Credential{Code: "9222"}, "ben", true},
		{Credential{Code: "3333"}, "", false},
		{Credential{Tag: "card-b"}, "ben", false},
		{Credential{Tag: "fob-c"}, "", false},
		{Credential{UserID: "ben", Password: "secret"}, "ben", false},
		{Credential{UserID: "ann", Password: "secret"}, "ann", false},
		{Credential{UserID: "cat", Password: "secret"}, "", false},
		{Credential{UserID: "ann", Password: "wrong"}, "", false},
		{Credential{UserID: "ann"}, "", false},
		{Credential{}, "", false},
	}
	var v Verifier
	for _, tc := range tests {
		for name, identify := range map[string]func([]User, Credential) (User, bool, bool){
			"Identify": Identify, "Verifier.Identify": v.Identify} {
			u, duress, ok := identify(users, tc.c)
			if ok != (tc.id != "") || u.ID != tc.id || duress != tc.duress {
				t.Errorf("%s(%+v): %q duress=%v ok=%v, want %q duress=%v", name, tc.c, u.ID, duress, ok, tc.id, tc.duress)
			}
		}
	}
	for c, empty := range map[Credential]bool{{}: true, {UserID: "ann"}: true, {Code: "1"}: false, {Tag: "t"}: false, {Password: "p"}: false} {
		if c.Empty() != empty {
			t.Errorf("%+v empty: %v", c, !empty)
		}
	}
}
