package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
)

// sessionCookie names the cookie that carries the session token.
const sessionCookie = "vakt_session"

// session is one logged-in browser or script. The user is looked up again in the
// hub's configuration on every request, so a removed user is logged out and a
// changed role applies at once.
type session struct {
	userID   string
	tokenID  string // a session made with a token (a wall tablet) acts as it
	csrf     string
	created  time.Time
	lastSeen time.Time
}

// sessions keeps the sessions in memory, keyed by the SHA-256 of their token: the
// token itself is only in the browser's cookie.
type sessions struct {
	mu   sync.Mutex
	byID map[[32]byte]*session
	idle time.Duration
	max  int
}

func newSessions(idle time.Duration, max int) *sessions {
	return &sessions{byID: map[[32]byte]*session{}, idle: idle, max: max}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for the user and returns its token. When the table is
// full, the session least recently used goes first.
func (s *sessions) create(userID, tokenID string, now time.Time) (token string, ss session) {
	token = randomToken()
	n := &session{userID: userID, tokenID: tokenID, csrf: randomToken(), created: now, lastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	if len(s.byID) >= s.max {
		var oldest [32]byte
		var at time.Time
		for k, v := range s.byID {
			if at.IsZero() || v.lastSeen.Before(at) {
				oldest, at = k, v.lastSeen
			}
		}
		delete(s.byID, oldest)
	}
	s.byID[sha256.Sum256([]byte(token))] = n
	return token, *n
}

// get returns the session of token and marks it used, or false when there is none
// or it has been idle too long.
func (s *sessions) get(token string, now time.Time) (session, bool) {
	if token == "" {
		return session{}, false
	}
	k := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.byID[k]
	if !ok {
		return session{}, false
	}
	if now.Sub(v.lastSeen) > s.idle {
		delete(s.byID, k)
		return session{}, false
	}
	v.lastSeen = now
	return *v, true
}

// alive reports whether token's session still exists, without marking it used: a
// stream checks it now and then.
func (s *sessions) alive(token string, now time.Time) bool {
	k := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.byID[k]
	return ok && now.Sub(v.lastSeen) <= s.idle
}

// touch marks token's session used: a stream that is open is a browser in use.
func (s *sessions) touch(token string, now time.Time) {
	k := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.byID[k]; ok {
		v.lastSeen = now
	}
}

func (s *sessions) remove(token string) {
	k := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, k)
}

// expire drops idle sessions; s.mu is held.
func (s *sessions) expire(now time.Time) {
	for k, v := range s.byID {
		if now.Sub(v.lastSeen) > s.idle {
			delete(s.byID, k)
		}
	}
}

// setupCode makes a one-time setup code: 12 characters people can read aloud,
// 60 bits.
func setupCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" // no I, O, 0, 1
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	out := make([]byte, 0, 14)
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			out = append(out, '-')
		}
		out = append(out, alphabet[int(c)%len(alphabet)])
	}
	return string(out)
}

func (ss session) csrfOK(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(ss.csrf)) == 1
}
