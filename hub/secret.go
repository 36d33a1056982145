package hub

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// HashParams are argon2id cost parameters. They are stored in every hash, so a hash
// made with other parameters still verifies.
type HashParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultHashParams follow OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): about
// 30 ms per hash on a Raspberry Pi 4, so checking a code against every user of a home
// stays well under a second, and it runs on the caller's goroutine, never the actor's.
var DefaultHashParams = HashParams{Memory: 19 * 1024, Time: 2, Threads: 1}

// HashSecret returns an argon2id hash of secret in PHC string form.
func HashSecret(secret string, p HashParams) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash: salt: %w", err)
	}
	key := argon2.IDKey([]byte(secret), salt, p.Time, p.Memory, p.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifySecret reports whether secret matches hash. A malformed hash never matches.
func VerifySecret(hash, secret string) bool {
	if hash == "" {
		return false
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	var p HashParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false
	}
	if p.Memory == 0 || p.Memory > 1<<20 || p.Time == 0 || p.Time > 16 || p.Threads == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(secret), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// ErrPINFormat is returned for a PIN that is not all digits of the configured length.
var ErrPINFormat = errors.New("a PIN must be digits only")

// CheckPIN checks that pin has exactly length digits.
func CheckPIN(pin string, length int) error {
	if len(pin) != length {
		return fmt.Errorf("%w, exactly %d of them (got %d)", ErrPINFormat, length, len(pin))
	}
	for _, r := range pin {
		if r < '0' || r > '9' {
			return fmt.Errorf("%w, exactly %d of them", ErrPINFormat, length)
		}
	}
	return nil
}

// Credential is what someone presents: a PIN (or duress PIN), a keyfob or tag id, or a
// user id with a web password.
type Credential struct {
	Code     string // PIN
	Tag      string // keyfob or tag id
	UserID   string // with Password
	Password string
}

// Empty reports whether no credential was given.
func (c Credential) Empty() bool { return c.Code == "" && c.Tag == "" && c.Password == "" }

// Identify finds the user a credential belongs to. It is CPU-heavy (argon2id for each
// user with a PIN) and meant for the caller's goroutine. duress is true when the code
// is the user's duress code.
func Identify(users []User, c Credential) (u User, duress, ok bool) {
	switch {
	case c.Password != "":
		for _, u := range users {
			if u.ID == c.UserID && VerifySecret(u.PasswordHash, c.Password) {
				return u, false, true
			}
		}
	case c.Tag != "":
		for _, u := range users {
			for _, t := range u.Tags {
				if subtle.ConstantTimeCompare([]byte(t), []byte(c.Tag)) == 1 {
					return u, false, true
				}
			}
		}
	case c.Code != "":
		for _, u := range users {
			if VerifySecret(u.PINHash, c.Code) {
				return u, false, true
			}
			if VerifySecret(u.DuressHash, c.Code) {
				return u, true, true
			}
		}
	}
	return User{}, false, false
}
