package uplink

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"vakt/hub"
	"vakt/hub/uplink/sia"
)

// Defaults and limits of the configuration.
const (
	DefaultPoll        = 90 * time.Second
	MinPoll            = 10 * time.Second
	MaxPoll            = 24 * time.Hour
	DefaultAckTimeout  = 10 * time.Second
	MinAckTimeout      = time.Second
	MaxAckTimeout      = 2 * time.Minute
	DefaultMissedPolls = 3
	MaxMissedPolls     = 20
	DefaultTestTime    = "03:00"
	MinTestInterval    = time.Minute
	MaxTestInterval    = 7 * 24 * time.Hour
	// MaxPaths is the number of transmission paths: a primary and a backup.
	MaxPaths = 2
)

// Path is one transmission path: a receiving centre's receiver and how to reach it.
// It is part of the boot configuration file.
type Path struct {
	// Name names the path in logs, faults ("uplink:<name>") and status; default
	// "primary" for the first path and "backup" for the second.
	Name string `yaml:"name" json:"name"`
	// Addr is the receiver's host:port.
	Addr string `yaml:"addr" json:"addr"`
	// Network is "tcp" (default) or "udp".
	Network string `yaml:"network,omitempty" json:"network,omitempty"`
	// Protocol is "ADM-CID" (Contact ID, default) or "SIA-DCS" (SIA DC-03 codes).
	Protocol string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
	// Account is the account number the centre gave this site: 3–16 hex digits,
	// in practice digits.
	Account string `yaml:"account" json:"account"`
	// Receiver ("R") and Line ("L") are 1–6 hex digits; default "0".
	Receiver string `yaml:"receiver,omitempty" json:"receiver,omitempty"`
	Line     string `yaml:"line,omitempty" json:"line,omitempty"`
	// Key is the AES key (128, 192 or 256 bits) written as KeyFormat says: "hex"
	// (32/48/64 hex digits) or "ascii" (16/24/32 characters). An empty key sends
	// plaintext. The key is never logged.
	Key       string `yaml:"key,omitempty" json:"key,omitempty"`
	KeyFormat string `yaml:"key_format,omitempty" json:"key_format,omitempty"`
	// SourceAddr binds the local end of the path to this IP address, e.g. the
	// Ethernet address for the primary and the LTE modem's for the backup.
	SourceAddr string `yaml:"source_addr,omitempty" json:"source_addr,omitempty"`
	// Interface binds the path to a network interface (SO_BINDTODEVICE). Linux
	// only, and it needs CAP_NET_RAW (root, or setcap cap_net_raw+ep on the binary).
	Interface string `yaml:"interface,omitempty" json:"interface,omitempty"`
	// Poll is the supervision interval: a NULL message is sent when nothing else
	// was sent for this long. 10s–24h, default 90s.
	Poll hub.Duration `yaml:"poll,omitempty" json:"poll,omitempty"`
	// AckTimeout is how long to wait for the receiver's answer (and for a TCP
	// connection); 1s–2m, default 10s.
	AckTimeout hub.Duration `yaml:"ack_timeout,omitempty" json:"ack_timeout,omitempty"`
	// MissedPolls is the number of failed sends or polls in a row after which the
	// path is lost (a fault, and failover to the other path); 1–20, default 3.
	MissedPolls int `yaml:"missed_polls,omitempty" json:"missed_polls,omitempty"`
}

// LogValue shows the path in logs without its key.
func (p Path) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("name", p.Name), slog.String("addr", p.Addr),
		slog.String("network", p.Network), slog.String("protocol", p.Protocol), slog.String("account", p.Account)}
	if p.Key != "" {
		attrs = append(attrs, slog.String("key", "(set, "+p.KeyFormat+")"))
	}
	return slog.GroupValue(attrs...)
}

// String describes the path without its key.
func (p Path) String() string {
	enc := "plain"
	if p.Key != "" {
		enc = "encrypted"
	}
	return fmt.Sprintf("%s %s://%s %s account %s %s", p.Name, p.Network, p.Addr, p.Protocol, p.Account, enc)
}

// Config configures the uplink. It is part of the boot configuration file.
type Config struct {
	// Paths are the primary and, optionally, the backup path, in that order.
	Paths []Path `yaml:"paths" json:"paths"`
	// TestTime is the local time of day ("HH:MM") of the daily periodic test report
	// (Contact ID 602); "" means 03:00.
	TestTime string `yaml:"test_time,omitempty" json:"test_time,omitempty"`
	// TestInterval sends the periodic test this often instead of daily at TestTime,
	// e.g. 4h; 0 uses TestTime. 1m–7 days.
	TestInterval hub.Duration `yaml:"test_interval,omitempty" json:"test_interval,omitempty"`
	// ReportBoth sends every report over both paths instead of over the backup only
	// when the primary is lost.
	ReportBoth bool `yaml:"report_both,omitempty" json:"report_both,omitempty"`
}

// Network and protocol names.
const (
	NetTCP = "tcp"
	NetUDP = "udp"
)

// withDefaults returns c with every default filled in. It does not validate.
func (c Config) withDefaults() Config {
	paths := make([]Path, len(c.Paths))
	for i, p := range c.Paths {
		if p.Name == "" {
			switch i {
			case 0:
				p.Name = "primary"
			case 1:
				p.Name = "backup"
			default:
				p.Name = "path" + strconv.Itoa(i+1)
			}
		}
		p.Network = strings.ToLower(p.Network)
		if p.Network == "" {
			p.Network = NetTCP
		}
		p.Protocol = strings.ToUpper(p.Protocol)
		if p.Protocol == "" {
			p.Protocol = sia.IDADMCID
		}
		if p.Receiver == "" {
			p.Receiver = "0"
		}
		if p.Line == "" {
			p.Line = "0"
		}
		if p.Poll == 0 {
			p.Poll = hub.Duration(DefaultPoll)
		}
		if p.AckTimeout == 0 {
			p.AckTimeout = hub.Duration(DefaultAckTimeout)
		}
		if p.MissedPolls == 0 {
			p.MissedPolls = DefaultMissedPolls
		}
		paths[i] = p
	}
	c.Paths = paths
	if c.TestTime == "" && c.TestInterval == 0 {
		c.TestTime = DefaultTestTime
	}
	return c
}

// Validate checks the configuration, with defaults applied, and returns every
// problem found, each naming its path and field. It never quotes a key.
func (c Config) Validate() error {
	_, err := c.normalize()
	return err
}

// normalize applies the defaults and validates; it also parses the keys.
func (c Config) normalize() (Config, error) {
	c = c.withDefaults()
	var errs []error
	switch n := len(c.Paths); {
	case n == 0:
		errs = append(errs, errors.New("no paths: configure the receiver's address and account"))
	case n > MaxPaths:
		errs = append(errs, fmt.Errorf("%d paths, at most %d (a primary and a backup)", n, MaxPaths))
	}
	seen := map[string]int{}
	for i, p := range c.Paths {
		if j, dup := seen[p.Name]; dup {
			errs = append(errs, fmt.Errorf("paths %d and %d are both named %q", j+1, i+1, p.Name))
		}
		seen[p.Name] = i
		if _, err := p.check(); err != nil {
			errs = append(errs, fmt.Errorf("path %q: %w", p.Name, err))
		}
	}
	switch {
	case c.TestInterval != 0 && c.TestTime != "":
		errs = append(errs, errors.New("set test_time or test_interval, not both"))
	case c.TestInterval != 0:
		if d := c.TestInterval.D(); d < MinTestInterval || d > MaxTestInterval {
			errs = append(errs, fmt.Errorf("test_interval %s outside %s–%s", d, MinTestInterval, fmtDur(MaxTestInterval)))
		}
	default:
		if _, _, err := parseClock(c.TestTime); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("uplink: config: %w", err)
	}
	return c, nil
}

// check validates one path with defaults applied and returns its key (nil for
// plaintext).
func (p Path) check() (*sia.Key, error) {
	var errs []error
	host, port, err := net.SplitHostPort(p.Addr)
	switch {
	case p.Addr == "":
		errs = append(errs, errors.New("addr missing: the receiver's host:port"))
	case err != nil:
		errs = append(errs, fmt.Errorf("addr %q is not host:port", p.Addr))
	case host == "":
		errs = append(errs, fmt.Errorf("addr %q has no host", p.Addr))
	default:
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			errs = append(errs, fmt.Errorf("addr %q: port %q is not a number 1–65535", p.Addr, port))
		}
	}
	if p.Network != NetTCP && p.Network != NetUDP {
		errs = append(errs, fmt.Errorf("network %q: want tcp or udp", p.Network))
	}
	if p.Protocol != sia.IDADMCID && p.Protocol != sia.IDSIADCS {
		errs = append(errs, fmt.Errorf("protocol %q: want %s or %s", p.Protocol, sia.IDADMCID, sia.IDSIADCS))
	}
	if !sia.ValidAccount(p.Account) {
		if p.Account == "" {
			errs = append(errs, errors.New("account missing"))
		} else {
			errs = append(errs, fmt.Errorf("account %q is not 3–16 hex digits", p.Account))
		}
	}
	if !isHex(p.Receiver, 6) {
		errs = append(errs, fmt.Errorf("receiver %q is not 1–6 hex digits", p.Receiver))
	}
	if !isHex(p.Line, 6) {
		errs = append(errs, fmt.Errorf("line %q is not 1–6 hex digits", p.Line))
	}
	var key *sia.Key
	if p.Key != "" {
		k, err := sia.ParseKey(p.Key, p.KeyFormat)
		if err != nil {
			errs = append(errs, fmt.Errorf("key: %w", err))
		}
		key = k
	}
	if p.SourceAddr != "" && net.ParseIP(p.SourceAddr) == nil {
		errs = append(errs, fmt.Errorf("source_addr %q is not an IP address", p.SourceAddr))
	}
	if p.Interface != "" {
		if err := checkInterface(p.Interface); err != nil {
			errs = append(errs, err)
		}
	}
	if d := p.Poll.D(); d < MinPoll || d > MaxPoll {
		errs = append(errs, fmt.Errorf("poll %s outside %s–%s", d, MinPoll, fmtDur(MaxPoll)))
	}
	if d := p.AckTimeout.D(); d < MinAckTimeout || d > MaxAckTimeout {
		errs = append(errs, fmt.Errorf("ack_timeout %s outside %s–%s", d, MinAckTimeout, MaxAckTimeout))
	}
	if p.MissedPolls < 1 || p.MissedPolls > MaxMissedPolls {
		errs = append(errs, fmt.Errorf("missed_polls %d outside 1–%d", p.MissedPolls, MaxMissedPolls))
	}
	return key, errors.Join(errs...)
}

// parseClock parses "HH:MM".
func parseClock(s string) (h, m int, err error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, 0, fmt.Errorf("test_time %q is not HH:MM (24-hour clock)", s)
	}
	return t.Hour(), t.Minute(), nil
}

func isHex(s string, max int) bool {
	if len(s) < 1 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// fmtDur writes whole days and hours as such ("24h", "7d") for error messages.
func fmtDur(d time.Duration) string {
	if d >= 48*time.Hour && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	if d%time.Hour == 0 {
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return d.String()
}
