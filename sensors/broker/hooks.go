package broker

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/packets"
)

// authHook is mochi's auth ledger hook with two methods replaced.
//
// Logins go through the ledger (a configured user with the right password), plus
// anonymous clients when the configuration allows them: the ledger cannot express
// "no username" because its empty rule string matches everything.
//
// ACL checks read the same ledger but match topics with MQTT's rules. The ledger's
// own check is not used because its matcher accepts topics longer than a filter
// without wildcards ("vakt/command" would grant "vakt/command/x"), a user's
// filters are a map whose first match decides (overlapping read-only and
// write-only filters would answer at random), and a user without filters would be
// allowed everything.
type authHook struct {
	*auth.Hook
	acc *access
	log *slog.Logger
}

func (h *authHook) ID() string { return "vakt-auth" }

// OnConnectAuthenticate accepts a configured user with the right password, or a
// client without username when anonymous clients are allowed.
func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	user := string(cl.Properties.Username)
	if user == "" && h.acc.anonymous {
		return true
	}
	if h.Hook.OnConnectAuthenticate(cl, pk) {
		return true
	}
	reason := "wrong password"
	switch {
	case user == "":
		reason = "no username (anonymous clients are not allowed)"
	case !h.known(user):
		reason = "unknown user"
	}
	h.log.Warn("mqtt login refused", "reason", reason, "user", user,
		"client", cl.ID, "remote", cl.Net.Remote, "listener", cl.Net.Listener)
	return false
}

func (h *authHook) known(user string) bool {
	_, ok := h.acc.ledger.Users[user]
	return ok
}

// OnACLCheck answers whether cl may publish to topic (write) or subscribe to the
// filter or receive a message on the topic (read).
func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
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
	fl := strings.Split(f, "/")
	sl := strings.Split(sub, "/")
	for i, l := range fl {
		if l == "#" {
			return true
		}
		if i >= len(sl) {
			return false
		}
		switch l {
		case "+":
			if sl[i] == "#" {
				return false
			}
		default:
			if sl[i] != l {
				return false
			}
		}
	}
	return len(sl) == len(fl)
}

// sessionHook refuses the client id that mochi uses for the in-process client,
// logs sessions and reports them to Config.OnClient.
type sessionHook struct {
	mqtt.HookBase
	log      *slog.Logger
	onClient func(clientID, user string, connected bool)
	onSub    func(clientID, user string, filters []string)

	srvMu sync.Mutex
	srv   *mqtt.Server

	mu      sync.Mutex
	current map[string]*mqtt.Client // client id → the connection that owns the session
}

func (h *sessionHook) ID() string { return "vakt-session" }

func (h *sessionHook) Provides(b byte) bool {
	return bytes.IndexByte([]byte{mqtt.OnConnect, mqtt.OnSessionEstablished, mqtt.OnDisconnect, mqtt.OnSubscribed}, b) >= 0
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
	h.log.Warn("mqtt connection refused: client id is reserved", "client", cl.ID, "remote", cl.Net.Remote)
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
	h.log.Info("mqtt client connected", "client", cl.ID, "user", user,
		"remote", cl.Net.Remote, "listener", cl.Net.Listener, "protocol", cl.Properties.ProtocolVersion)
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
	attrs := []any{"client", cl.ID, "user", string(cl.Properties.Username), "remote", cl.Net.Remote}
	if err != nil {
		attrs = append(attrs, "error", err)
	}
	h.log.Info("mqtt client disconnected", attrs...)
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
