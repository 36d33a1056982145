package hub

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// HashParams are argon2id cost parameters. They are stored in every hash, so a hash
// made with other parameters still verifies.
type HashParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// valid reports whether p is within the bounds VerifySecret accepts, so that every hash
// HashSecret makes can be verified.
func (p HashParams) valid() bool {
	return p.Memory != 0 && p.Memory <= 1<<20 && p.Time != 0 && p.Time <= 16 && p.Threads != 0
}

// DefaultHashParams is the smallest-memory set of OWASP's equal-strength argon2id
// list (7 MiB × 5 passes; the others are 46 MiB × 1, 19 MiB × 2, 12 MiB × 3 and
// 9 MiB × 4, all with 1 lane). It is also the cheapest in time: about 20 ms per hash
// on a 2-core Xeon against 25 ms for 19 MiB × 2 and 37–46 ms for 46 MiB × 1 (it fills
// 35,840 1-KiB blocks, against 38,912 and 47,104). A wrong code costs one hash per PIN
// and duress hash of every user, so about 0.4 s in a home of 20 users (0.8 s if all
// have duress codes); no equal-strength set brings that to 250 ms, which would take
// 12.5 ms per hash. Hashes made with earlier defaults (19 MiB × 2) carry their
// parameters and still verify.
var DefaultHashParams = HashParams{Memory: 7 * 1024, Time: 5, Threads: 1}

// A Verifier runs argon2id one hash at a time: however many goroutines check codes
// through it at once, they queue for the CPU instead of each allocating its own
// HashParams.Memory KiB, and each hash's memory is collected before the next starts,
// so hashing keeps about one buffer resident (7 MiB with DefaultHashParams).
//
// The zero value is ready to use; a Verifier must not be copied after first use.
// Whatever checks credentials for the process owns one, normally the Hub (one per
// process), and every PIN, password and hash should go through it: separate
// Verifiers, and the free functions HashSecret, VerifySecret and Identify, do not
// wait for each other.
type Verifier struct {
	mu     sync.Mutex // held while one argon2id runs
	hashes uint64     // argon2id runs so far; under mu
}

// Hashes returns how many argon2id hashes v has run.
func (v *Verifier) Hashes() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.hashes
}

// HashSecret returns an argon2id hash of secret in PHC string form, waiting for any
// other hash in v to finish first.
func (v *Verifier) HashSecret(secret string, p HashParams) (string, error) {
	return hashSecret(v, secret, p)
}

// Verify reports whether secret matches hash, waiting for any other hash in v to finish
// first. A malformed or empty hash never matches and costs no hashing.
func (v *Verifier) Verify(hash, secret string) bool { return verifySecret(v, hash, secret) }

// Identify finds the user a credential belongs to; duress is true when the code is the
// user's duress code. A code costs one argon2id per PIN or duress hash of every user
// up to and including the matching user's pair (both hashes, whichever matched, so a
// duress code takes as long as the normal code); a wrong code costs one per hash of
// every user. The hashes run one at a time in v.
// It blocks for that long, so call it on the caller's goroutine, never an actor's.
func (v *Verifier) Identify(users []User, c Credential) (u User, duress, ok bool) {
	return identify(v, users, c)
}

// HashSecret returns an argon2id hash of secret in PHC string form. It does not wait for
// other hashes; a long-running process should hash through its Verifier.
func HashSecret(secret string, p HashParams) (string, error) { return hashSecret(nil, secret, p) }

// VerifySecret reports whether secret matches hash. A malformed hash never matches. It
// does not wait for other hashes; a long-running process should use Verifier.Verify.
func VerifySecret(hash, secret string) bool { return verifySecret(nil, hash, secret) }

// Identify finds the user a credential belongs to, like Verifier.Identify, but its
// hashes run concurrently with any others in the process, each with its own memory.
// A long-running process should use Verifier.Identify.
func Identify(users []User, c Credential) (u User, duress, ok bool) { return identify(nil, users, c) }

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

// key runs argon2id. With a Verifier it holds v's lock and, before letting the next
// hash start, runs a garbage collection: argon2id's working memory is garbage once it
// returns, but until a collection has finished after that, the next hash cannot reuse
// it and allocates another buffer beside it, so a process hashing back to back keeps
// two buffers resident (three or more once the live heap is a few MB, as the heap
// goal grows with it). The collection costs about 1 ms with 1 MB of live heap and
// 2.5 ms with 5 MB, against about 20 ms for a DefaultHashParams hash.
func (v *Verifier) key(secret, salt []byte, p HashParams, n uint32) []byte {
	if v == nil {
		return argon2.IDKey(secret, salt, p.Time, p.Memory, p.Threads, n)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	k := argon2.IDKey(secret, salt, p.Time, p.Memory, p.Threads, n)
	v.hashes++
	runtime.GC()
	return k
}

func hashSecret(v *Verifier, secret string, p HashParams) (string, error) {
	if !p.valid() {
		return "", fmt.Errorf("hash: parameters m=%d,t=%d,p=%d out of range", p.Memory, p.Time, p.Threads)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash: salt: %w", err)
	}
	key := v.key([]byte(secret), salt, p, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

func verifySecret(v *Verifier, hash, secret string) bool {
	if hash == "" {
		return false
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var ver int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &ver); err != nil || ver != argon2.Version {
		return false
	}
	var p HashParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false
	}
	if !p.valid() {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := v.key([]byte(secret), salt, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

func identify(v *Verifier, users []User, c Credential) (User, bool, bool) {
	switch {
	case c.Password != "":
		for _, u := range users {
			if u.ID == c.UserID && verifySecret(v, u.PasswordHash, c.Password) {
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
			if verifySecret(v, u.PINHash, c.Code) {
				// The duress hash is checked too, so the normal code costs what the
				// duress code does: the time of an answer must not tell them apart.
				verifySecret(v, u.DuressHash, c.Code)
				return u, false, true
			}
			if verifySecret(v, u.DuressHash, c.Code) {
				return u, true, true
			}
		}
	}
	return User{}, false, false
}
