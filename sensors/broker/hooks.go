package broker

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// authHook checks logins and the ACL.
//
// Logins are checked against the configured users, with passwords compared in
// constant time, plus anonymous clients when the configuration allows them.
// Refused logins are throttled per address (see throttle): the wait happens on
// the connecting client's own goroutine (mochi calls OnConnectAuthenticate from
// the connection's goroutine, with no lock shared between connections), so a
// throttled address never holds up anyone else. A client id whose session belongs
// to another user is refused: only the same user may take a session over.
//
// ACL checks read the ledger's filters but match topics with MQTT's rules. The
// ledger's own check is not used because its matcher accepts topics longer than a
// filter without wildcards ("vakt/command" would grant "vakt/command/x"), a user's
// filters are a map whose first match decides (overlapping read-only and
// write-only filters would answer at random), and a user without filters would be
// allowed everything. A refused publish is dropped and the connection kept: MQTT 5
// clients get "not authorized" in the PUBACK/PUBREC, MQTT 3.1.1 clients (which
// have no way to hear a refusal) get an ordinary acknowledgement.
type authHook struct {
	mqtt.HookBase
	acc      *access
	log      *slog.Logger
	throttle *throttle
	refused  *summaries // refused publishes, by client and topic
	// sleep waits d unless the broker closes; false if it closed.
	sleep func(d time.Duration) bool
	srv   func() *mqtt.Server

	mu     sync.Mutex
	owners map[string]*mqtt.Client // client id → the authenticated connection holding it

	// large counts the bytes of large publishes since the last collection
	// (see collectLarge).
	large atomic.Int64
	gc    func() // nil: runtime.GC
}

func (h *authHook) ID() string { return "vakt-auth" }

func (h *authHook) Provides(b byte) bool {
	switch b { // mochi asks for every packet, every hook: a switch, not a search
	case mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish, mqtt.OnDisconnect:
		return true
	}
	return false
}

// errThrottled stops a connection from an address that tried too many passwords.
var errThrottled = errors.New("too many refused logins from this address")

// OnConnectAuthenticate accepts a configured user with the right password, or a
// client without username when anonymous clients are allowed.
func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	ip := hostOf(cl.Net.Remote)
	wait, drop := h.throttle.before(ip)
	if drop {
		// Counted in the address's summary; no answer at all.
		h.refuse(cl, ip, "throttled")
		cl.Stop(errThrottled)
		return false
	}
	if wait > 0 && !h.sleep(wait) {
		cl.Stop(ErrClosed)
		return false
	}
	user := string(cl.Properties.Username)
	ok := user == "" && h.acc.anonymous
	reason := ""
	if !ok {
		ok, reason = h.acc.login(user, pk.Connect.Password)
	}
	if !ok {
		h.refuse(cl, ip, reason)
		return false
	}
	if !h.claim(cl, user) {
		return false
	}
	// mochi publishes a will without checking the ACL: drop a will the user may
	// not publish.
	if w := cl.Properties.Will; w.Flag != 0 && !h.allowed(cl, w.TopicName, true) {
		h.log.Warn("mqtt will message dropped: topic not in the user's write list",
			"client", short(cl.ID), "user", short(user), "topic", short(w.TopicName))
		cl.Properties.Will = mqtt.Will{}
	}
	return true
}

// refuse records and logs a refused login.
func (h *authHook) refuse(cl *mqtt.Client, ip, reason string) {
	user := short(string(cl.Properties.Username))
	r := h.throttle.failed(ip, user)
	switch {
	case r.single:
		h.log.Warn("mqtt login refused", "reason", reason, "user", user,
			"client", short(cl.ID), "remote", cl.Net.Remote, "listener", cl.Net.Listener, "failures", r.failures)
	case r.summary:
		h.logSummary(ip, r)
	}
}

func (h *authHook) logSummary(ip string, r refusal) {
	h.log.Warn("mqtt logins refused from one address, slowed down", "remote", ip, "refused", r.count,
		"users", r.users, "failures", r.failures, "interval", r.delay)
}

// sweep logs the summaries of refused logins that are due.
func (h *authHook) sweep() {
	due := h.throttle.sweep()
	for _, ip := range slices.Sorted(maps.Keys(due)) {
		h.logSummary(ip, due[ip])
	}
}

// claim gives cl its client id unless a session of another user holds it. A
// refused client gets "client identifier not valid" (MQTT 3.1.1: "identifier
// rejected") and is disconnected.
func (h *authHook) claim(cl *mqtt.Client, user string) bool {
	h.mu.Lock()
	holder := ""
	taken := false
	if o := h.owners[cl.ID]; o != nil && string(o.Properties.Username) != user {
		holder, taken = string(o.Properties.Username), true
	} else if srv := h.srv(); srv != nil {
		if o, ok := srv.Clients.Get(cl.ID); ok && string(o.Properties.Username) != user {
			holder, taken = string(o.Properties.Username), true
		}
	}
	if !taken {
		h.owners[cl.ID] = cl
	}
	h.mu.Unlock()
	if !taken {
		return true
	}
	h.log.Warn("mqtt connection refused: client id belongs to a session of another user",
		"client", short(cl.ID), "user", short(user), "session_user", short(holder), "remote", cl.Net.Remote)
	if srv := h.srv(); srv != nil {
		_ = srv.SendConnack(cl, packets.ErrClientIdentifierNotValid, false, nil)
	}
	cl.Stop(packets.ErrClientIdentifierNotValid)
	return false
}

// OnDisconnect releases the client id held by cl.
func (h *authHook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	h.mu.Lock()
	if h.owners[cl.ID] == cl {
		delete(h.owners, cl.ID)
	}
	h.mu.Unlock()
}

// login checks a user's password in constant time (also for an unknown user).
func (a *access) login(user string, password []byte) (bool, string) {
	if user == "" {
		return false, "no username (anonymous clients are not allowed)"
	}
	want, known := a.passwords[user]
	got := sha256.Sum256(password)
	if !known {
		want = a.dummy
	}
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || !known {
		if !known {
			return false, "unknown user"
		}
		return false, "wrong password"
	}
	return true, ""
}

// OnACLCheck answers whether cl may publish to topic (write) or subscribe to the
// filter or receive a message on the topic (read). A refused publish of an MQTT
// 3.1.1 client is let through here, so that mochi does not disconnect the client,
// and dropped by OnPublish.
//
// A message for a client whose outbound queue is full is refused here too: mochi
// checks the ACL of each delivery before queueing it, so the message is dropped
// before it is encoded for a client that does not read.
func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if h.allowed(cl, topic, write) {
		if q, ok := cl.Net.Conn.(*queuedConn); ok && !write && q.full() {
			return false
		}
		return true
	}
	if write {
		h.refusedPublish(cl, topic)
		return cl.Properties.ProtocolVersion < 5
	}
	return false
}

// OnPublish drops a refused publish of an MQTT 3.1.1 client (see OnACLCheck).
func (h *authHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	h.collectLarge(len(pk.Payload))
	if cl.Net.Inline || cl.Properties.ProtocolVersion >= 5 || h.allowed(cl, pk.TopicName, true) {
		return pk, nil
	}
	return pk, packets.CodeSuccessIgnore
}

// Large publishes leave garbage faster than the collector paces itself: the
// broker reads each into two fresh buffers and copies it to every subscriber, so
// a client sending megabyte messages as fast as loopback allows grows the heap by
// tens of MB before a collection catches up. After every largeGarbage bytes of
// messages of at least largeMessage bytes, the goroutine that read the message
// (the sender's) collects before going on. Small messages, all of normal
// Zigbee2MQTT traffic, never pay for it; a flood of large ones is slowed down by
// its own garbage.
const (
	largeMessage = 64 << 10
	largeGarbage = 4 << 20
)

// collectLarge counts a publish of n bytes and collects when large ones add up.
func (h *authHook) collectLarge(n int) {
	if n < largeMessage || h.large.Add(int64(n)) < largeGarbage {
		return
	}
	h.large.Store(0)
	if h.gc != nil {
		h.gc()
		return
	}
	runtime.GC()
}

// refusedPublish logs a refused publish, at most once a minute per client and topic.
func (h *authHook) refusedPublish(cl *mqtt.Client, topic string) {
	ok, suppressed := h.refused.allow(cl.ID + "\x00" + topic)
	if !ok {
		return
	}
	h.log.Warn("mqtt publish refused: topic not in the user's write list; message dropped, client kept",
		"client", short(cl.ID), "user", short(string(cl.Properties.Username)), "topic", short(topic),
		"also_refused_last_minute", suppressed)
}

func (h *authHook) allowed(cl *mqtt.Client, topic string, write bool) bool {
	user := string(cl.Properties.Username)
	if user == "" {
		return h.acc.anonymous
	}
	if h.acc.admins[user] {
		return true
	}
	rule, ok := h.acc.ledger.Users[user]
	if !ok {
		return false
	}
	if !write {
		topic = unshare(topic)
	}
	for f, a := range rule.ACL {
		if allows(a, write) && covers(string(f), topic) {
			return true
		}
	}
	return false
}

// unshare returns the topic filter of a shared subscription ($share/group/filter),
// or s unchanged.
func unshare(s string) string {
	if len(s) > len(mqtt.SharePrefix) && strings.EqualFold(s[:len(mqtt.SharePrefix)], mqtt.SharePrefix) && s[len(mqtt.SharePrefix)] == '/' {
		rest := s[len(mqtt.SharePrefix)+1:]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			return rest[i+1:]
		}
	}
	return s
}

// covers reports whether every topic matched by sub (a topic name or a topic
// filter) is matched by the ACL filter f, following MQTT: '+' matches one level,
// a trailing '#' matches the parent level and everything below, and a leading
// wildcard does not match a topic that starts with '$'.
func covers(f, sub string) bool {
	if strings.HasPrefix(sub, "$") && (f == "#" || f == "+" || strings.HasPrefix(f, "+/")) {
		return false
	}
	// Level by level, without allocating: the ACL and the in-process subscriptions
	// match every publish with it.
	subDone := false // sub has no level left
	for {
		fl, fRest, fMore := strings.Cut(f, "/")
		if fl == "#" {
			return true
		}
		if subDone {
			return false
		}
		sl, sRest, sMore := strings.Cut(sub, "/")
		if fl == "+" && sl == "#" || fl != "+" && sl != fl {
			return false
		}
		if !fMore {
			return !sMore
		}
		f, sub, subDone = fRest, sRest, !sMore
	}
}

// sessionHook refuses the client id that mochi uses for the in-process client,
// logs sessions and reports them to Config.OnClient.
type sessionHook struct {
	mqtt.HookBase
	log      *slog.Logger
	onClient func(clientID, user string, connected bool)
	onSub    func(clientID, user string, filters []string)
	// freeMemory, if set, is called when a client whose queue overflowed is gone.
	freeMemory func()

	srvMu sync.Mutex
	srv   *mqtt.Server

	mu      sync.Mutex
	current map[string]*mqtt.Client // client id → the connection that owns the session
}

func (h *sessionHook) ID() string { return "vakt-session" }

func (h *sessionHook) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnect, mqtt.OnSessionEstablished, mqtt.OnDisconnect, mqtt.OnSubscribed:
		return true
	}
	return false
}

// OnSubscribed reports a network client's granted subscriptions to Config.OnSubscribe.
func (h *sessionHook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	if h.onSub == nil || cl.ID == mqtt.InlineClientId || cl.Net.Inline {
		return
	}
	var filters []string
	for i, f := range pk.Filters {
		if i < len(codes) && codes[i] < packets.ErrUnspecifiedError.Code {
			filters = append(filters, f.Filter)
		}
	}
	if len(filters) > 0 {
		h.onSub(cl.ID, string(cl.Properties.Username), filters)
	}
}

func (h *sessionHook) setServer(s *mqtt.Server) {
	h.srvMu.Lock()
	h.srv = s
	h.srvMu.Unlock()
}

// OnConnect refuses a network client that names itself like the in-process client:
// it would take over that client's session.
func (h *sessionHook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	if cl.ID != mqtt.InlineClientId {
		return nil
	}
	h.log.Warn("mqtt connection refused: client id is reserved", "client", short(cl.ID), "remote", cl.Net.Remote)
	h.srvMu.Lock()
	srv := h.srv
	h.srvMu.Unlock()
	if srv != nil {
		_ = srv.SendConnack(cl, packets.ErrClientIdentifierNotValid, false, nil)
	}
	return packets.ErrClientIdentifierNotValid
}

func (h *sessionHook) OnSessionEstablished(cl *mqtt.Client, pk packets.Packet) {
	user := string(cl.Properties.Username)
	h.log.Info("mqtt client connected", "client", short(cl.ID), "user", short(user),
		"remote", cl.Net.Remote, "listener", cl.Net.Listener, "protocol", cl.Properties.ProtocolVersion)
	if q, ok := cl.Net.Conn.(*queuedConn); ok {
		q.setClient(cl)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.current[cl.ID] = cl
	if h.onClient != nil {
		h.onClient(cl.ID, user, true)
	}
}

// OnDisconnect reports the end of a session, unless a newer connection with the
// same client id has taken it over.
func (h *sessionHook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	attrs := []any{"client", short(cl.ID), "user", short(string(cl.Properties.Username)), "remote", cl.Net.Remote}
	if err != nil {
		attrs = append(attrs, "error", err)
	}
	h.log.Info("mqtt client disconnected", attrs...)
	if q, ok := cl.Net.Conn.(*queuedConn); ok && q.hasOverflown() && h.freeMemory != nil {
		h.freeMemory()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.current[cl.ID] != cl {
		return
	}
	delete(h.current, cl.ID)
	if h.onClient != nil {
		h.onClient(cl.ID, string(cl.Properties.Username), false)
	}
}
