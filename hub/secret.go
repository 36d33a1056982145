package hub

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime/debug"
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
// 35,840 1-KiB blocks, against 38,912 and 47,104). PINs set with HashPIN share a
// salt, so any code costs one hash however many users there are. Hashes made with
// earlier defaults (19 MiB × 2) or their own salts carry their parameters and still
// verify, at one hash per distinct salt.
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
// user's duress code. A code costs one argon2id per distinct salt among the PIN and
// duress hashes: one when every PIN was set with HashPIN, whoever's code it is and
// whether it is right, wrong, normal or duress. The hashes run one at a time in v.
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
// goal grows with it). The memory is also handed back to the system at once
// (debug.FreeOSMemory): code checks are rare, and an idle hub should not keep a
// hash's 7 MiB resident. The two cost about 1–3 ms, against about 20 ms for a
// DefaultHashParams hash.
func (v *Verifier) key(secret, salt []byte, p HashParams, n uint32) []byte {
	if v == nil {
		return argon2.IDKey(secret, salt, p.Time, p.Memory, p.Threads, n)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	k := argon2.IDKey(secret, salt, p.Time, p.Memory, p.Threads, n)
	v.hashes++
	debug.FreeOSMemory()
	return k
}

func hashSecret(v *Verifier, secret string, p HashParams) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash: salt: %w", err)
	}
	return hashWithSalt(v, secret, salt, p)
}

func hashWithSalt(v *Verifier, secret string, salt []byte, p HashParams) (string, error) {
	if !p.valid() {
		return "", fmt.Errorf("hash: parameters m=%d,t=%d,p=%d out of range", p.Memory, p.Time, p.Threads)
	}
	key := v.key([]byte(secret), salt, p, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// phcHash is a parsed argon2id hash in PHC string form.
type phcHash struct {
	p         HashParams
	salt, key []byte
}

// parsePHC parses hash; a malformed or empty hash, or one with parameters out of
// range, gives ok false.
func parsePHC(hash string) (h phcHash, ok bool) {
	if hash == "" {
		return h, false
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return h, false
	}
	var ver int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &ver); err != nil || ver != argon2.Version {
		return h, false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.p.Memory, &h.p.Time, &h.p.Threads); err != nil {
		return h, false
	}
	if !h.p.valid() {
		return h, false
	}
	b64 := base64.RawStdEncoding
	var err1, err2 error
	h.salt, err1 = b64.DecodeString(parts[4])
	h.key, err2 = b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(h.key) == 0 || len(h.key) > 64 {
		return h, false
	}
	return h, true
}

func verifySecret(v *Verifier, hash, secret string) bool {
	h, ok := parsePHC(hash)
	if !ok {
		return false
	}
	got := v.key([]byte(secret), h.salt, h.p, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1
}

// HashPIN hashes a PIN or duress PIN for a system whose users are users. PINs of one
// system share one salt (the one their hashes already carry, a new one for the
// first), so that finding whose a code is costs one argon2id however many users
// there are: a code must name its user by itself, as on any keypad. Each guess still
// costs a full argon2id; what the shared salt gives up is that an attacker holding
// the data file tests a guess against every user at once, not one at a time — with
// a million 6-digit PINs that is at most a factor of the number of users.
func HashPIN(users []User, pin string, p HashParams) (string, error) {
	return hashPIN(nil, users, pin, p)
}

// HashPIN is the package function HashPIN, hashing in v.
func (v *Verifier) HashPIN(users []User, pin string, p HashParams) (string, error) {
	return hashPIN(v, users, pin, p)
}

func hashPIN(v *Verifier, users []User, pin string, p HashParams) (string, error) {
	if salt := PINSalt(users, p); salt != nil {
		return hashWithSalt(v, pin, salt, p)
	}
	return hashSecret(v, pin, p)
}

// PINSalt returns the salt that most PIN and duress hashes with parameters p among
// users share (the earliest of equals), or nil when there are none.
func PINSalt(users []User, p HashParams) []byte {
	count := map[string]int{}
	var best string
	for _, u := range users {
		for _, hash := range []string{u.PINHash, u.DuressHash} {
			h, ok := parsePHC(hash)
			if !ok || h.p != p {
				continue
			}
			k := string(h.salt)
			count[k]++
			if count[k] > count[best] {
				best = k
			}
		}
	}
	if best == "" {
		return nil
	}
	return []byte(best)
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
		return identifyCode(v, users, c.Code)
	}
	return User{}, false, false
}

// identifyCode hashes code once for every distinct salt and parameter set among the
// users' PIN and duress hashes — once in a system whose PINs were all set with
// HashPIN — and compares the result with every hash. The work is the same whichever
// user's code it is, duress or normal, right or wrong, so the time of the answer
// tells nothing; the first user in order whose PIN or duress hash matches is the one.
func identifyCode(v *Verifier, users []User, code string) (User, bool, bool) {
	type group struct {
		p    HashParams
		salt string
		n    int
	}
	keys := map[group][]byte{}
	var order []group
	parsed := make([][2]phcHash, len(users))
	okay := make([][2]bool, len(users))
	for i, u := range users {
		for j, hash := range []string{u.PINHash, u.DuressHash} {
			h, ok := parsePHC(hash)
			parsed[i][j], okay[i][j] = h, ok
			if !ok {
				continue
			}
			g := group{h.p, string(h.salt), len(h.key)}
			if _, seen := keys[g]; !seen {
				keys[g] = nil
				order = append(order, g)
			}
		}
	}
	for _, g := range order {
		keys[g] = v.key([]byte(code), []byte(g.salt), g.p, uint32(g.n))
	}
	found, duress := -1, false
	for i := range users {
		for j := range 2 {
			if !okay[i][j] {
				continue
			}
			h := parsed[i][j]
			got := keys[group{h.p, string(h.salt), len(h.key)}]
			if subtle.ConstantTimeCompare(got, h.key) == 1 && found < 0 {
				found, duress = i, j == 1
			}
		}
	}
	if found < 0 {
		return User{}, false, false
	}
	return users[found], duress, true
}
