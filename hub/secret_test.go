package hub

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// secretCheap keeps hashing out of the way in tests that are about logic, not cost.
var secretCheap = HashParams{Memory: 64, Time: 1, Threads: 1}

// Known-answer hashes of "123456" with the salt "vakt-salt-16byte", made with the
// previous default (19 MiB, t=2), the current one (7 MiB, t=5) and tiny parameters.
// They were checked against the VerifySecret that predates Verifier: hashes already
// stored in configurations must keep verifying whatever the defaults become.
var secretKnown = []string{
	"$argon2id$v=19$m=19456,t=2,p=1$dmFrdC1zYWx0LTE2Ynl0ZQ$9Y9vQMJ8obyO+BdsVteALj0D/mP9zBE0t0/zC4db6mM",
	"$argon2id$v=19$m=7168,t=5,p=1$dmFrdC1zYWx0LTE2Ynl0ZQ$gTBU1b292l8EC8X5mEgBKspZjhD0Jk6cDPAhtl6j0Go",
	"$argon2id$v=19$m=64,t=1,p=1$dmFrdC1zYWx0LTE2Ynl0ZQ$wq6yNF94jqR9r/2154sWmtGzn0joGRWCBBcTfOzwJ3Y",
}

func TestSecretKnownHashesVerify(t *testing.T) {
	var v Verifier
	for _, h := range secretKnown {
		if !VerifySecret(h, "123456") || !v.Verify(h, "123456") {
			t.Errorf("%s does not verify its secret", h)
		}
		if VerifySecret(h, "123457") || v.Verify(h, "123457") {
			t.Errorf("%s verifies a wrong secret", h)
		}
	}
}

func TestHashSecretRoundTrip(t *testing.T) {
	var v Verifier
	params := []HashParams{secretCheap, DefaultHashParams, {Memory: 19 * 1024, Time: 2, Threads: 1}}
	for _, p := range params {
		free, err := HashSecret("246810", p)
		if err != nil {
			t.Fatal(err)
		}
		via, err := v.HashSecret("246810", p)
		if err != nil {
			t.Fatal(err)
		}
		if free == via {
			t.Errorf("%+v: two hashes of one secret are equal (salt not random)", p)
		}
		want := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", p.Memory, p.Time, p.Threads)
		for _, h := range []string{free, via} {
			if !strings.HasPrefix(h, want) {
				t.Errorf("hash %q does not start with %q", h, want)
			}
			if !VerifySecret(h, "246810") || !v.Verify(h, "246810") {
				t.Errorf("%+v: hash does not verify its secret", p)
			}
			if VerifySecret(h, "246811") || v.Verify(h, "246811") {
				t.Errorf("%+v: hash verifies a wrong secret", p)
			}
		}
	}
}

func TestHashSecretRejectsParamsVerifyWouldRefuse(t *testing.T) {
	var v Verifier
	for _, p := range []HashParams{
		{Memory: 0, Time: 1, Threads: 1},
		{Memory: 64, Time: 0, Threads: 1},
		{Memory: 64, Time: 1, Threads: 0},
		{Memory: 64, Time: 17, Threads: 1},
		{Memory: 1<<20 + 1, Time: 1, Threads: 1},
	} {
		if h, err := HashSecret("1234", p); err == nil {
			t.Errorf("HashSecret(%+v) = %q, want an error", p, h)
		}
		if h, err := v.HashSecret("1234", p); err == nil {
			t.Errorf("Verifier.HashSecret(%+v) = %q, want an error", p, h)
		}
	}
}

func TestVerifySecretMalformed(t *testing.T) {
	var v Verifier
	good := secretKnown[2]
	for _, h := range []string{
		"",
		"123456",
		"$argon2i$v=19$m=64,t=1,p=1$dmFrdC1zYWx0LTE2Ynl0ZQ$wq6yNF94jqR9r/2154sWmtGzn0joGRWCBBcTfOzwJ3Y",
		"$argon2id$v=16$m=64,t=1,p=1$dmFrdC1zYWx0LTE2Ynl0ZQ$wq6yNF94jqR9r/2154sWmtGzn0joGRWCBBcTfOzwJ3Y",
		"$argon2id$v=19$m=0,t=1,p=1$dmFrdC1zYWx0LTE2Ynl0ZQ$wq6yNF94jqR9r/2154sWmtGzn0joGRWCBBcTfOzwJ3Y",
		"$argon2id$v=19$m=64,t=0,p=1$dmFrdC1zYWx0LTE2Ynl0ZQ$wq6yNF94jqR9r/2154sWmtGzn0joGRWCBBcTfOzwJ3Y",
		"$argon2id$v=19$m=64,t=17,p=1$dmFrdC1zYWx0LTE2Ynl0ZQ$wq6yNF94jqR9r/2154sWmtGzn0joGRWCBBcTfOzwJ3Y",
		"$argon2id$v=19$m=2000000,t=1,p=1$dmFrdC1zYWx0LTE2Ynl0ZQ$wq6yNF94jqR9r/2154sWmtGzn0joGRWCBBcTfOzwJ3Y",
		"$argon2id$v=19$m=64,t=1,p=0$dmFrdC1zYWx0LTE2Ynl0ZQ$wq6yNF94jqR9r/2154sWmtGzn0joGRWCBBcTfOzwJ3Y",
		"$argon2id$v=19$m=64,t=1,p=1$!!!$wq6yNF94jqR9r/2154sWmtGzn0joGRWCBBcTfOzwJ3Y",
		"$argon2id$v=19$m=64,t=1,p=1$dmFrdC1zYWx0LTE2Ynl0ZQ$",
		good + "$",
		strings.Replace(good, "$wq6y", "$wq6z", 1), // one key bit differs
	} {
		if VerifySecret(h, "123456") || v.Verify(h, "123456") {
			t.Errorf("malformed hash %q verifies", h)
		}
	}
}

// secretUsers returns n users whose PINs are 100000+i, with duress PINs 200000+i for
// the first withDuress of them, hashed with p by HashPIN (one salt for all).
func secretUsers(tb testing.TB, n, withDuress int, p HashParams) []User {
	return makeSecretUsers(tb, n, withDuress, func(users []User, pin string) (string, error) {
		return HashPIN(users, pin, p)
	})
}

// ownSaltUsers is secretUsers with every hash salted on its own (HashSecret), as
// PINs were stored before HashPIN.
func ownSaltUsers(tb testing.TB, n, withDuress int, p HashParams) []User {
	return makeSecretUsers(tb, n, withDuress, func(_ []User, pin string) (string, error) {
		return HashSecret(pin, p)
	})
}

func makeSecretUsers(tb testing.TB, n, withDuress int, hash func(users []User, pin string) (string, error)) []User {
	tb.Helper()
	users := make([]User, 0, n)
	for i := range n {
		u := User{ID: fmt.Sprintf("u%d", i), Name: fmt.Sprintf("User %d", i), Number: i + 1}
		var err error
		if u.PINHash, err = hash(users, strconv.Itoa(100000+i)); err != nil {
			tb.Fatal(err)
		}
		if i < withDuress {
			if u.DuressHash, err = hash(append(users, u), strconv.Itoa(200000+i)); err != nil {
				tb.Fatal(err)
			}
		}
		users = append(users, u)
	}
	return users
}

func TestVerifierIdentify(t *testing.T) {
	// codeHashes: the argon2id runs a code costs, whoever's it is, duress or not,
	// right or wrong: one per distinct salt. u0 and u1 have a duress PIN.
	for _, set := range []struct {
		name       string
		users      []User
		codeHashes uint64
	}{
		{"one salt", secretUsers(t, 4, 2, secretCheap), 1},
		{"own salts", ownSaltUsers(t, 4, 2, secretCheap), 6},
	} {
		users := set.users
		var err error
		if users[3].PasswordHash, err = HashSecret("correct horse", secretCheap); err != nil {
			t.Fatal(err)
		}
		users[2].Tags = []string{"fob-2", "tag-2"}
		var v Verifier
		code := set.codeHashes
		cases := []struct {
			name       string
			c          Credential
			id         string
			duress, ok bool
			hashes     uint64
		}{
			{"first PIN", Credential{Code: "100000"}, "u0", false, true, code},
			{"last PIN", Credential{Code: "100003"}, "u3", false, true, code},
			{"PIN of a user with duress", Credential{Code: "100001"}, "u1", false, true, code},
			{"duress PIN", Credential{Code: "200001"}, "u1", true, true, code},
			{"wrong PIN", Credential{Code: "999999"}, "", false, false, code},
			{"no duress hash", Credential{Code: "200003"}, "", false, false, code},
			{"password", Credential{UserID: "u3", Password: "correct horse"}, "u3", false, true, 1},
			{"password of another user", Credential{UserID: "u2", Password: "correct horse"}, "", false, false, 0},
			{"wrong password", Credential{UserID: "u3", Password: "wrong horse"}, "", false, false, 1},
			{"tag", Credential{Tag: "tag-2"}, "u2", false, true, 0},
			{"unknown tag", Credential{Tag: "tag-9"}, "", false, false, 0},
			{"empty", Credential{}, "", false, false, 0},
		}
		for _, tc := range cases {
			for _, via := range []struct {
				name     string
				identify func([]User, Credential) (User, bool, bool)
			}{{"Verifier", v.Identify}, {"Identify", Identify}} {
				before := v.Hashes()
				u, duress, ok := via.identify(users, tc.c)
				if u.ID != tc.id || duress != tc.duress || ok != tc.ok {
					t.Errorf("%s, %s: %s = (%q, %v, %v), want (%q, %v, %v)",
						set.name, tc.name, via.name, u.ID, duress, ok, tc.id, tc.duress, tc.ok)
				}
				if n := v.Hashes() - before; via.name == "Verifier" && n != tc.hashes {
					t.Errorf("%s, %s: %d hashes, want %d", set.name, tc.name, n, tc.hashes)
				}
			}
		}
	}
}

// HashPIN keeps the salt the users' PINs share, also when a user's hash with other
// parameters or a malformed one is among them, and makes a new one for the first.
func TestHashPINSalt(t *testing.T) {
	if PINSalt(nil, secretCheap) != nil {
		t.Fatal("a salt without users")
	}
	users := secretUsers(t, 3, 1, secretCheap)
	salt := PINSalt(users, secretCheap)
	if len(salt) != 16 {
		t.Fatalf("salt %x", salt)
	}
	for i, u := range users {
		for _, h := range []string{u.PINHash, u.DuressHash} {
			if p, ok := parsePHC(h); ok && string(p.salt) != string(salt) {
				t.Errorf("user %d: salt %x, want %x", i, p.salt, salt)
			}
		}
	}
	other := secretCheap
	other.Time++
	odd, err := HashSecret("555555", other)
	if err != nil {
		t.Fatal(err)
	}
	users = append(users, User{ID: "odd", PINHash: odd, DuressHash: "garbage"})
	h, err := HashPIN(users, "654321", secretCheap)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := parsePHC(h); !ok || string(p.salt) != string(salt) || !VerifySecret(h, "654321") {
		t.Errorf("hash %s does not share salt %x", h, salt)
	}
	if string(PINSalt(users, other)) == string(salt) {
		t.Errorf("the salt of other parameters is the shared one")
	}
	// Of salts shared equally, the earliest.
	own := ownSaltUsers(t, 2, 0, secretCheap)
	first, _ := parsePHC(own[0].PINHash)
	if got := PINSalt(own, secretCheap); string(got) != string(first.salt) {
		t.Errorf("salt %x of two used once each, want the first user's %x", got, first.salt)
	}
}

// Of users whose PIN or duress hash a code matches, the first in order is the one,
// whether the hashes share a salt or not.
func TestIdentifyFirstMatchingUser(t *testing.T) {
	for _, hash := range []struct {
		name string
		f    func(users []User, pin string) (string, error)
	}{
		{"one salt", func(users []User, pin string) (string, error) { return HashPIN(users, pin, secretCheap) }},
		{"own salts", func(_ []User, pin string) (string, error) { return HashSecret(pin, secretCheap) }},
	} {
		var users []User
		for i, pins := range [][2]string{{"111111", "222222"}, {"222222", ""}, {"111111", ""}} {
			u := User{ID: fmt.Sprintf("u%d", i)}
			var err error
			if u.PINHash, err = hash.f(users, pins[0]); err != nil {
				t.Fatal(err)
			}
			if pins[1] != "" {
				if u.DuressHash, err = hash.f(append(users, u), pins[1]); err != nil {
					t.Fatal(err)
				}
			}
			users = append(users, u)
		}
		for _, tc := range []struct {
			code, id string
			duress   bool
		}{{"111111", "u0", false}, {"222222", "u0", true}} {
			u, duress, ok := Identify(users, Credential{Code: tc.code})
			if u.ID != tc.id || duress != tc.duress || !ok {
				t.Errorf("%s, code %s: (%q, %v, %v), want (%q, %v, true)", hash.name, tc.code, u.ID, duress, ok, tc.id, tc.duress)
			}
		}
	}
}

// TestVerifierSerialises holds a Verifier's lock, as a running hash does, and checks
// that every call that must hash waits for it while calls that need no hash do not.
func TestVerifierSerialises(t *testing.T) {
	users := secretUsers(t, 3, 1, secretCheap)
	users[0].Tags = []string{"fob-0"}
	var v Verifier
	v.mu.Lock()

	var wg sync.WaitGroup
	done := make(chan string, 16)
	start := func(name string, f func()) {
		wg.Go(func() { f(); done <- name })
	}
	start("Verify", func() { v.Verify(users[1].PINHash, "100001") })
	start("HashSecret", func() { _, _ = v.HashSecret("1234", secretCheap) })
	start("Identify wrong code", func() { v.Identify(users, Credential{Code: "999999"}) })
	start("Identify right code", func() { v.Identify(users, Credential{Code: "100000"}) })

	// Calls that do not hash go through while a hash runs.
	if v.Verify("", "1234") || v.Verify("not a hash", "1234") {
		t.Error("a malformed hash verifies")
	}
	if u, _, ok := v.Identify(users, Credential{Tag: "fob-0"}); !ok || u.ID != "u0" {
		t.Errorf("tag identifies (%q, %v), want u0", u.ID, ok)
	}

	select {
	case name := <-done:
		t.Errorf("%s finished while another hash was running", name)
	case <-time.After(100 * time.Millisecond):
	}
	v.mu.Unlock()
	wg.Wait()
	if len(done) != 4 {
		t.Errorf("%d of 4 waiting calls finished", len(done))
	}
}

const secretRSSChildEnv = "VAKT_TEST_SECRET_RSS_CHILD"

// TestVerifierRSS checks the memory budget: a process that has answered 100
// wrong codes for a home of 20 users, from several goroutines at once, holds at most
// 25 MB resident. It runs the checks in a fresh child process (this test binary again)
// so that nothing else the tests did counts.
//
// The child's hashes use DefaultHashParams.Memory with one pass instead of
// DefaultHashParams.Time: the memory a hash allocates, and so the process's resident
// size, does not depend on the number of passes, and one pass keeps the 2,000 hashes
// to about 10 s instead of 45.
func TestVerifierRSS(t *testing.T) {
	if os.Getenv(secretRSSChildEnv) == "1" {
		secretRSSChild(t)
		return
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skipf("no /proc/self/status to read VmRSS from on %s: %v", runtime.GOOS, err)
	}
	if testing.Short() {
		t.Skip("-short: the child process hashes 2,000 times (about 10 s)")
	}
	if secretRaceEnabled() {
		t.Skip("built with -race: the race detector's shadow memory inflates RSS, so the budget cannot be checked")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestVerifierRSS$", "-test.count=1")
	cmd.Env = append(os.Environ(), secretRSSChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var start, before, after, peak int
	var elapsed string
	found := false
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "vakt-rss start=%d before=%d after=%d peak=%d elapsed=%s",
			&start, &before, &after, &peak, &elapsed); err == nil {
			found = true
		}
	}
	if !found {
		t.Fatalf("child printed no figures:\n%s", out)
	}
	t.Logf("child VmRSS: %.1f MB at start, %.1f MB after hashing 20 PINs, %.1f MB after 100 wrong codes with 20 users (VmHWM %.1f MB); the checks took %s",
		float64(start)/1024, float64(before)/1024, float64(after)/1024, float64(peak)/1024, elapsed)
	const limitKB = 25 * 1000 // the goal: 25 MB
	if after > limitKB {
		t.Errorf("VmRSS after the checks is %d kB, want at most %d kB", after, limitKB)
	}
}

// secretRSSChild runs in the child process of TestVerifierRSS and prints its figures.
func secretRSSChild(t *testing.T) {
	start := secretVmKB("VmRSS")
	var v Verifier
	p := HashParams{Memory: DefaultHashParams.Memory, Time: 1, Threads: DefaultHashParams.Threads}
	users := make([]User, 20)
	for i := range users {
		h, err := v.HashSecret(strconv.Itoa(100000+i), p)
		if err != nil {
			t.Fatal(err)
		}
		users[i] = User{ID: fmt.Sprintf("u%d", i), PINHash: h}
	}
	before := secretVmKB("VmRSS")
	began := time.Now()
	var wg sync.WaitGroup
	const callers, checks = 4, 100
	for range callers {
		wg.Go(func() {
			for range checks / callers {
				if _, _, ok := v.Identify(users, Credential{Code: "999999"}); ok {
					panic("a wrong code was accepted")
				}
			}
		})
	}
	wg.Wait()
	fmt.Printf("vakt-rss start=%d before=%d after=%d peak=%d elapsed=%s\n",
		start, before, secretVmKB("VmRSS"), secretVmKB("VmHWM"), time.Since(began).Round(time.Millisecond))
}

// secretVmKB returns a kB figure from /proc/self/status, or -1.
func secretVmKB(field string) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			if n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB")); err == nil {
				return n
			}
		}
	}
	return -1
}

// secretRaceEnabled reports whether the test binary was built with -race.
func secretRaceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
