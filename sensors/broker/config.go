package broker

import (
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/mochi-mqtt/server/v2/hooks/auth"
)

// DefaultAddr is the usual plain MQTT listener address. Config.Addr has no implicit
// default: the caller sets it (the boot configuration does), and empty means no
// plain TCP listener.
const DefaultAddr = ":1883"

// MinPacketSize is the default and smallest accepted Config.MaxPacketSize: 1 MiB.
const MinPacketSize = 1 << 20

// Default limits of retained messages: 16 MiB in all, 2 MiB per topic (a large
// Zigbee network's zigbee2mqtt/bridge/devices runs to hundreds of KiB).
const (
	DefaultMaxRetainedBytes        = 16 << 20
	DefaultMaxRetainedMessageBytes = 2 << 20
)

// maxPacketLimit is the largest packet MQTT can frame (remaining length 268,435,455
// plus the fixed header).
const maxPacketLimit = 268435455 + 5

// User is an MQTT account of the broker with its topic ACL.
type User struct {
	Name     string
	Password string   // plaintext, from the boot configuration file; never logged
	Read     []string // topic filters (with + and #) the user may subscribe to
	Write    []string // topic filters (with + and #) the user may publish to
	Admin    bool     // may read and write every topic
}

// String describes the user without its password, so printing a Config with %v
// never shows one.
func (u User) String() string {
	return fmt.Sprintf("{Name:%s Password:[redacted] Read:%v Write:%v Admin:%t}", u.Name, u.Read, u.Write, u.Admin)
}

// LogValue describes the user to slog without its password.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", u.Name),
		slog.Any("read", u.Read),
		slog.Any("write", u.Write),
		slog.Bool("admin", u.Admin))
}

// Config configures the broker. The zero value is a broker with no network
// listener that refuses every client.
type Config struct {
	Addr    string // plain TCP listener, e.g. DefaultAddr; "" = none
	TLSAddr string // TLS listener; needs TLSCert and TLSKey; "" = none
	TLSCert string // PEM certificate (chain) file for TLSAddr
	TLSKey  string // PEM private key file for TLSAddr
	WSAddr  string // plain websocket listener (MQTT over ws://host:port/); "" = none

	Users []User
	// AllowAnonymous lets clients connect without a username. Anonymous clients may
	// read and write every topic. Default false: a client must log in.
	AllowAnonymous bool
	// MaxPacketSize is the largest MQTT packet accepted from a client, in bytes;
	// 0 means MinPacketSize (1 MiB), which is also the smallest value accepted.
	MaxPacketSize int

	// CommandTopics are topics that carry commands (the hub's command topic, each
	// output's command topic). A retained message on one is delivered but never
	// kept, and one found in the store at start is removed.
	CommandTopics []string
	// CommandTopic, optional, names more command topics by a rule, for topics
	// known only at run time (a Zigbee device's set topic: its friendly name
	// comes from Zigbee2MQTT). They are treated as CommandTopics are.
	CommandTopic func(topic string) bool
	// CodeTopics are topics whose messages may carry codes (the hub's command
	// topic). Start warns about every non-admin user that may read one.
	CodeTopics []string
	// MaxRetainedBytes caps the payload bytes of all retained messages together;
	// 0 means DefaultMaxRetainedBytes. MaxRetainedMessageBytes caps one retained
	// message; 0 means DefaultMaxRetainedMessageBytes. A retained publish beyond
	// either is delivered without being kept, and logged.
	MaxRetainedBytes        int
	MaxRetainedMessageBytes int
	// MaxQueueMessages and MaxQueueBytes bound each network client's queue of
	// messages not yet written to it (0: DefaultMaxQueueMessages, 1000, and
	// DefaultMaxQueueBytes, 1 MiB; one larger message may wait alone). A message that does not fit is dropped for that
	// client; a client that keeps overflowing for 10 seconds is disconnected and
	// logged.
	MaxQueueMessages int
	MaxQueueBytes    int

	// OnClient, if set, is called when a network client's session starts
	// (connected true) and ends (false). It runs on the client's goroutine and must
	// not block. For a client id that reconnects, the calls come in order and the
	// last one tells the current state.
	OnClient func(clientID, user string, connected bool)
	// OnSubscribe, if set, is called when a network client has subscribed, with the
	// filters the broker granted. It runs on the client's goroutine and must not
	// block; messages it publishes reach the new subscription (the hub resends the
	// level of an output whose device just subscribed to its command topic).
	OnSubscribe func(clientID, user string, filters []string)
}

// access is what the configuration grants: the auth ledger (used by mochi's auth
// hook for logins) and the ACL evaluated for each subscribe, publish and delivery.
type access struct {
	ledger    *auth.Ledger
	passwords map[string][sha256.Size]byte // user → SHA-256 of the password
	dummy     [sha256.Size]byte            // compared for unknown users
	admins    map[string]bool
	anonymous bool
}

// validate checks cfg and returns every problem found at once. Nothing in an
// error mentions a password.
func validate(cfg Config) error {
	var errs []error
	for _, l := range []struct{ name, addr string }{
		{"Addr", cfg.Addr}, {"TLSAddr", cfg.TLSAddr}, {"WSAddr", cfg.WSAddr},
	} {
		if l.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(l.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not host:port: %w", l.name, l.addr, err))
		}
	}
	if cfg.TLSAddr != "" && (cfg.TLSCert == "" || cfg.TLSKey == "") {
		errs = append(errs, errors.New("TLSAddr needs both TLSCert and TLSKey"))
	}
	if cfg.TLSAddr == "" && (cfg.TLSCert != "" || cfg.TLSKey != "") {
		errs = append(errs, errors.New("TLSCert and TLSKey are set but TLSAddr is empty"))
	}
	switch {
	case cfg.MaxPacketSize == 0:
	case cfg.MaxPacketSize < MinPacketSize:
		errs = append(errs, fmt.Errorf("MaxPacketSize %d is below the minimum %d (1 MiB)", cfg.MaxPacketSize, MinPacketSize))
	case cfg.MaxPacketSize > maxPacketLimit:
		errs = append(errs, fmt.Errorf("MaxPacketSize %d is above the MQTT limit %d", cfg.MaxPacketSize, maxPacketLimit))
	}

	if cfg.MaxRetainedBytes < 0 || cfg.MaxRetainedMessageBytes < 0 || cfg.MaxQueueMessages < 0 || cfg.MaxQueueBytes < 0 {
		errs = append(errs, errors.New("MaxRetainedBytes, MaxRetainedMessageBytes, MaxQueueMessages and MaxQueueBytes must not be negative"))
	}
	for _, t := range cfg.CommandTopics {
		if err := checkTopic(t); err != nil {
			errs = append(errs, fmt.Errorf("command topic: %w", err))
		}
	}
	for _, t := range cfg.CodeTopics {
		if err := checkTopic(t); err != nil {
			errs = append(errs, fmt.Errorf("code topic: %w", err))
		}
	}
	seen := map[string]bool{}
	for i, u := range cfg.Users {
		who := fmt.Sprintf("user %d", i+1)
		if u.Name != "" {
			who = fmt.Sprintf("user %q", u.Name)
		}
		switch {
		case u.Name == "":
			errs = append(errs, fmt.Errorf("%s: empty name", who))
		case !utf8.ValidString(u.Name) || strings.ContainsRune(u.Name, 0):
			errs = append(errs, fmt.Errorf("%s: name is not valid UTF-8 text", who))
		case seen[u.Name]:
			errs = append(errs, fmt.Errorf("%s: duplicate user", who))
		}
		seen[u.Name] = true
		if u.Password == "" {
			errs = append(errs, fmt.Errorf("%s: empty password", who))
		}
		for _, f := range u.Read {
			if err := checkFilter(f); err != nil {
				errs = append(errs, fmt.Errorf("%s: read filter %q: %w", who, f, err))
			}
		}
		for _, f := range u.Write {
			if err := checkFilter(f); err != nil {
				errs = append(errs, fmt.Errorf("%s: write filter %q: %w", who, f, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("broker: invalid config: %w", err)
	}
	return nil
}

// loadTLS reads the certificate and key of the TLS listener.
func loadTLS(cfg Config) (*tls.Config, error) {
	if cfg.TLSAddr == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("broker: TLS certificate %s / key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// buildAccess turns the users into mochi's auth ledger: one ledger user per account
// with its password and its ACL as filter → access, where a filter listed in both
// Read and Write gets ReadWrite. Admins carry no filters; they are kept apart.
func buildAccess(cfg Config) *access {
	a := &access{
		ledger: &auth.Ledger{
			Users: auth.Users{},
			Auth:  auth.AuthRules{},
			ACL:   auth.ACLRules{},
		},
		admins:    map[string]bool{},
		anonymous: cfg.AllowAnonymous,
		passwords: map[string][sha256.Size]byte{},
		dummy:     sha256.Sum256([]byte("no such user")),
	}
	for _, u := range cfg.Users {
		rule := auth.UserRule{Username: auth.RString(u.Name)}
		if u.Admin {
			a.admins[u.Name] = true
		} else {
			rule.ACL = auth.Filters{}
			for _, f := range u.Read {
				rule.ACL[auth.RString(f)] = grant(rule.ACL[auth.RString(f)], false)
			}
			for _, f := range u.Write {
				rule.ACL[auth.RString(f)] = grant(rule.ACL[auth.RString(f)], true)
			}
		}
		a.ledger.Users[u.Name] = rule
		a.passwords[u.Name] = sha256.Sum256([]byte(u.Password))
	}
	return a
}

// grant adds read or write to an access value.
func grant(a auth.Access, write bool) auth.Access {
	switch {
	case a == auth.ReadWrite,
		write && a == auth.ReadOnly,
		!write && a == auth.WriteOnly:
		return auth.ReadWrite
	case write:
		return auth.WriteOnly
	default:
		return auth.ReadOnly
	}
}

// allows reports whether a grants the asked direction.
func allows(a auth.Access, write bool) bool {
	if write {
		return a == auth.WriteOnly || a == auth.ReadWrite
	}
	return a == auth.ReadOnly || a == auth.ReadWrite
}

// checkFilter checks an MQTT topic filter: not empty, valid UTF-8 without NUL, '#'
// only as the whole last level, '+' only as a whole level.
func checkFilter(f string) error {
	if f == "" {
		return errors.New("empty filter")
	}
	if len(f) > 65535 {
		return errors.New("longer than 65535 bytes")
	}
	if !utf8.ValidString(f) || strings.ContainsRune(f, 0) {
		return errors.New("not valid UTF-8 text")
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		if strings.Contains(l, "#") && (l != "#" || i != len(levels)-1) {
			return errors.New("'#' must be the whole last level")
		}
		if strings.Contains(l, "+") && l != "+" {
			return errors.New("'+' must be a whole level")
		}
	}
	return nil
}

// checkTopic checks a topic name for publishing: a filter without wildcards.
func checkTopic(t string) error {
	if strings.ContainsAny(t, "+#") {
		return fmt.Errorf("broker: topic %q: wildcards are not allowed in a topic name", t)
	}
	if err := checkFilter(t); err != nil {
		return fmt.Errorf("broker: topic %q: %w", t, err)
	}
	return nil
}
