package broker

import (
	"net"
	"sync"
	"time"
)

// Login throttling: after freeFailures refused logins from one address, every
// further attempt from that address (right password or not) is answered no
// sooner than one delay after the previous one; the delay starts at loginDelayMin
// and doubles with each failure up to loginDelayMax. An attempt that would have to
// wait longer than loginWaitMax is dropped without an answer. An address is
// forgotten after loginForget without a failure.
const (
	freeFailures  = 5
	loginDelayMin = time.Second
	loginDelayMax = time.Minute
	loginWaitMax  = 2 * time.Minute
	loginForget   = 15 * time.Minute
	// summaryEvery is the interval of the summary lines of repeated refusals
	// (logins from one address, publishes of one client to one topic).
	summaryEvery = time.Minute
	// maxTracked bounds the addresses and keys kept for throttling and summaries.
	maxTracked = 4096
	// maxLoggedName is the length at which user names and client ids are cut in
	// log lines.
	maxLoggedName = 64
)

// short cuts s to maxLoggedName characters for a log line, marking the cut.
func short(s string) string {
	if len(s) <= maxLoggedName {
		return s
	}
	n := 0
	for i := range s {
		if n == maxLoggedName {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// hostOf is the IP of a remote address "host:port", or the address itself.
func hostOf(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

// throttle tracks refused logins per address.
type throttle struct {
	now func() time.Time

	mu    sync.Mutex
	addrs map[string]*addrState
}

type addrState struct {
	failures int       // refused logins since the address was last forgotten
	lastFail time.Time // the last refused login
	next     time.Time // the earliest time the next attempt may be answered

	// Summary of the refusals not logged one by one.
	pending int
	users   []string // up to 3 distinct user names tried, cut for the log
	logged  time.Time
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, addrs: map[string]*addrState{}}
}

func (t *throttle) state(ip string, now time.Time) *addrState {
	st := t.addrs[ip]
	if st != nil && now.Sub(st.lastFail) >= loginForget && st.pending == 0 {
		delete(t.addrs, ip)
		st = nil
	}
	if st == nil {
		if len(t.addrs) >= maxTracked {
			t.prune(now)
		}
		st = &addrState{}
		if len(t.addrs) < maxTracked {
			t.addrs[ip] = st
		}
	}
	return st
}

func (t *throttle) prune(now time.Time) {
	for ip, st := range t.addrs {
		if now.Sub(st.lastFail) >= loginForget {
			delete(t.addrs, ip)
		}
	}
}

// before is called when a login from ip is about to be checked. It returns how
// long to wait before checking it, or drop when the wait would be too long.
func (t *throttle) before(ip string) (wait time.Duration, drop bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	st := t.state(ip, now)
	if st.failures < freeFailures {
		return 0, false
	}
	slot := st.next
	if slot.Before(now) {
		slot = now
	}
	wait = slot.Sub(now)
	if wait > loginWaitMax {
		return 0, true
	}
	st.next = slot.Add(delayAfter(st.failures))
	return wait, false
}

// delayAfter is the interval between answers to an address with n failures.
func delayAfter(n int) time.Duration {
	d := loginDelayMin
	for i := freeFailures; i < n && d < loginDelayMax; i++ {
		d *= 2
	}
	return min(d, loginDelayMax)
}

// refusal is what to log about a refused login.
type refusal struct {
	single   bool // log this refusal on its own line
	summary  bool // log a summary line now
	count    int  // refusals in the summary
	users    []string
	failures int
	delay    time.Duration
}

// failed records a refused login of user from ip and says what to log.
func (t *throttle) failed(ip, user string) refusal {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	st := t.state(ip, now)
	st.failures++
	st.lastFail = now
	if st.failures <= freeFailures {
		if st.failures == freeFailures {
			st.logged = now // the next summary comes a minute after the last single line
			st.next = now.Add(loginDelayMin)
		}
		return refusal{single: true, failures: st.failures}
	}
	st.pending++
	if len(st.users) < 3 && !containsString(st.users, user) {
		st.users = append(st.users, user)
	}
	if now.Sub(st.logged) < summaryEvery {
		return refusal{failures: st.failures}
	}
	return t.flush(st, now)
}

// flush empties the summary of st.
func (t *throttle) flush(st *addrState, now time.Time) refusal {
	r := refusal{summary: true, count: st.pending, users: st.users, failures: st.failures, delay: delayAfter(st.failures)}
	st.pending, st.users, st.logged = 0, nil, now
	return r
}

// sweep returns the summaries due (pending refusals older than a minute) by
// address, and forgets quiet addresses.
func (t *throttle) sweep() map[string]refusal {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	out := map[string]refusal{}
	for ip, st := range t.addrs {
		if st.pending > 0 && now.Sub(st.logged) >= summaryEvery {
			out[ip] = t.flush(st, now)
		}
		if st.pending == 0 && now.Sub(st.lastFail) >= loginForget {
			delete(t.addrs, ip)
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// summaries rate-limits repeated log lines by key: the first line of a key is
// logged, then at most one per summaryEvery, carrying how many were left out.
type summaries struct {
	now func() time.Time

	mu sync.Mutex
	m  map[string]*summaryState
}

type summaryState struct {
	logged     time.Time
	suppressed int
}

func newSummaries(now func() time.Time) *summaries {
	return &summaries{now: now, m: map[string]*summaryState{}}
}

// allow reports whether a line for key may be logged now and how many lines of
// the key were left out since the last one.
func (s *summaries) allow(key string) (bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	st := s.m[key]
	if st == nil {
		if len(s.m) >= maxTracked {
			for k, v := range s.m {
				if now.Sub(v.logged) >= summaryEvery {
					delete(s.m, k)
				}
			}
			if len(s.m) >= maxTracked {
				return false, 0
			}
		}
		s.m[key] = &summaryState{logged: now}
		return true, 0
	}
	if now.Sub(st.logged) < summaryEvery {
		st.suppressed++
		return false, 0
	}
	n := st.suppressed
	st.logged, st.suppressed = now, 0
	return true, n
}
