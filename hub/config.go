package hub

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Duration is a time.Duration written as "30s", "3m" in YAML and JSON.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalText writes d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration string such as "90s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: %w", b, err)
	}
	*d = Duration(v)
	return nil
}

// Config is the domain configuration: zones, users, outputs and settings. It lives in
// the store and is edited through the API or imported as YAML. Zones and outputs
// are known here by id only: how a device is bound to one (an MQTT topic, a Zigbee
// device, a GPIO line) belongs to the adapter that binds it.
type Config struct {
	Settings Settings `json:"settings" yaml:"settings"`
	Zones    []Zone   `json:"zones" yaml:"zones"`
	Users    []User   `json:"users" yaml:"users"`
	Outputs  []Output `json:"outputs" yaml:"outputs"`
	// Tokens are the API and device tokens (scripts, wall tablets).
	Tokens []Token `json:"tokens,omitempty" yaml:"tokens,omitempty"`
}

// TokenScope says what a token may do.
type TokenScope string

// Token scopes.
const (
	// ScopeKeypad is a wall tablet's: the status, arming, disarming with a code and
	// panic; it acts as the device named by the token.
	ScopeKeypad TokenScope = "keypad"
	// ScopeRead reads the status, the events, the devices and the metrics.
	ScopeRead TokenScope = "read"
	// ScopeControl acts as its user in every command, and reads; it changes no
	// configuration.
	ScopeControl TokenScope = "control"
	// ScopeCameras watches the cameras' live view (a video recorder, a home
	// automation dashboard); it acts as the device named by the token.
	ScopeCameras TokenScope = "cameras"
)

// Token is an API or device token. Only the SHA-256 of its secret is kept (the
// secret is 256 random bits, shown once when the token is made).
type Token struct {
	ID      string     `json:"id" yaml:"id"`
	Name    string     `json:"name" yaml:"name"`
	Scope   TokenScope `json:"scope" yaml:"scope"`
	UserID  string     `json:"user_id,omitempty" yaml:"user_id,omitempty"` // control: the user it acts as
	Hash    string     `json:"hash" yaml:"hash"`                           // hex SHA-256 of the secret
	Created time.Time  `json:"created" yaml:"created"`
}

// Settings are the system-wide timings and limits.
type Settings struct {
	ExitDelay          map[Mode]Duration `json:"exit_delay" yaml:"exit_delay"`
	EntryDelay         map[Mode]Duration `json:"entry_delay" yaml:"entry_delay"`
	SirenDuration      Duration          `json:"siren_duration" yaml:"siren_duration"`
	SwingerLimit       int               `json:"swinger_limit" yaml:"swinger_limit"`
	PINLength          int               `json:"pin_length" yaml:"pin_length"`
	LockoutAttempts    int               `json:"lockout_attempts" yaml:"lockout_attempts"`
	LockoutWindow      Duration          `json:"lockout_window" yaml:"lockout_window"`
	LockoutDuration    Duration          `json:"lockout_duration" yaml:"lockout_duration"`
	WalkTestTimeout    Duration          `json:"walk_test_timeout" yaml:"walk_test_timeout"`
	MaintenanceTimeout Duration          `json:"maintenance_timeout" yaml:"maintenance_timeout"`
	// ConfirmWindow is the sequential confirmation window (30–60 min).
	ConfirmWindow Duration `json:"confirm_window" yaml:"confirm_window"`
	// EntryReportDelay holds the report of an alarm during unsetting (at least 30 s).
	EntryReportDelay Duration `json:"entry_report_delay" yaml:"entry_report_delay"`
	// MainsReportDelay holds the report of a mains failure (10s–1h): a mains that
	// comes back within it is shown and logged, not reported.
	MainsReportDelay Duration `json:"mains_report_delay" yaml:"mains_report_delay"`
	RetentionEvents  int      `json:"retention_events" yaml:"retention_events"`
	RetentionAge     Duration `json:"retention_age" yaml:"retention_age"`
	// ArmWithoutCode names the accounts (MQTT users) that may arm without a code,
	// as Home Assistant's code_arm_required: false does: never disarm, never force.
	ArmWithoutCode []string `json:"arm_without_code,omitempty" yaml:"arm_without_code,omitempty"`
}

// Limits of the settings.
const (
	MaxSirenDuration = 15 * time.Minute
	MinSirenDuration = 90 * time.Second
	MaxEntryDelay    = 45 * time.Second
	// Mains report delay: EN 50131-1 allows a delay before a mains failure is
	// reported (10–70 s is usual at grade 2; some panels allow up to an hour).
	DefaultMainsReportDelay = time.Minute
	MinMainsReportDelay     = 10 * time.Second
	MaxMainsReportDelay     = time.Hour
)

// DefaultSettings returns the settings Vakt starts with.
func DefaultSettings() Settings {
	return Settings{
		ExitDelay: map[Mode]Duration{ModeAway: Duration(30 * time.Second), ModeHome: Duration(30 * time.Second),
			ModeNight: Duration(30 * time.Second), ModeVacation: Duration(30 * time.Second)},
		EntryDelay: map[Mode]Duration{ModeAway: Duration(30 * time.Second), ModeHome: Duration(30 * time.Second),
			ModeNight: Duration(30 * time.Second), ModeVacation: Duration(30 * time.Second)},
		SirenDuration:      Duration(3 * time.Minute),
		SwingerLimit:       3,
		PINLength:          6,
		LockoutAttempts:    10,
		LockoutWindow:      Duration(15 * time.Minute),
		LockoutDuration:    Duration(90 * time.Second),
		WalkTestTimeout:    Duration(15 * time.Minute),
		MaintenanceTimeout: Duration(8 * time.Hour),
		ConfirmWindow:      Duration(30 * time.Minute),
		EntryReportDelay:   Duration(30 * time.Second),
		MainsReportDelay:   Duration(DefaultMainsReportDelay),
		RetentionEvents:    200_000,
		RetentionAge:       Duration(5 * 365 * 24 * time.Hour),
	}
}

// Zone is one detection zone.
type Zone struct {
	ID     string   `json:"id" yaml:"id"`
	Name   string   `json:"name" yaml:"name"`
	Number int      `json:"number" yaml:"number"` // Contact ID zone number, 1–999
	Type   ZoneType `json:"type" yaml:"type"`
	// Modes in which the zone is active; empty means the type's default.
	Modes []Mode `json:"modes,omitempty" yaml:"modes,omitempty"`
	Delay Delay  `json:"delay,omitempty" yaml:"delay,omitempty"`
	Chime bool   `json:"chime,omitempty" yaml:"chime,omitempty"`
}

// DefaultModes returns the modes in which a zone of type t is active by default.
func DefaultModes(t ZoneType) []Mode {
	switch t {
	case ZoneEntryExit, ZonePerimeter:
		return []Mode{ModeAway, ModeHome, ModeNight, ModeVacation}
	case ZoneInstant, ZoneFollower:
		return []Mode{ModeAway, ModeVacation}
	}
	return nil
}

// ActiveIn reports whether zone z is armed in mode m. 24-hour zones are always active.
func (z Zone) ActiveIn(m Mode) bool {
	if z.Type.Is24h() {
		return true
	}
	modes := z.Modes
	if len(modes) == 0 {
		modes = DefaultModes(z.Type)
	}
	for _, x := range modes {
		if x == m {
			return true
		}
	}
	return false
}

// OutputKind is what an output is for.
type OutputKind string

// Output kinds.
const (
	OutputSiren   OutputKind = "siren"   // external warning device: never sounds while unset
	OutputSounder OutputKind = "sounder" // internal sounder: 24 h alarms and tamper too
	OutputStrobe  OutputKind = "strobe"
	OutputChime   OutputKind = "chime"
	// The panel's lamps, kept by the hub from the state (Core.Lamps): ready is lit
	// while disarmed with nothing in the way of arming away; fault while any fault
	// or trouble is active (tamper, device lost or offline, low battery, system
	// faults).
	OutputReady OutputKind = "ready"
	OutputFault OutputKind = "fault"
)

// Output is a siren, strobe or relay driven by the siren policy.
type Output struct {
	ID   string     `json:"id" yaml:"id"`
	Name string     `json:"name" yaml:"name"`
	Kind OutputKind `json:"kind" yaml:"kind"`
	// Number is the output's number in reports (Contact ID 320/321 trouble);
	// default its position in the list, from 1.
	Number int `json:"number,omitempty" yaml:"number,omitempty"`
	// Refresh is how often an output that is on is commanded again while it stays
	// on (default 30s; a device that rebooted or missed a message catches up).
	Refresh Duration `json:"refresh,omitempty" yaml:"refresh,omitempty"`
	// Confirm is how long a device with feedback has to report the commanded level
	// before the output counts as failed (default 10s).
	Confirm Duration `json:"confirm,omitempty" yaml:"confirm,omitempty"`
}

// Output timing defaults.
const (
	DefaultOutputRefresh = 30 * time.Second
	DefaultOutputConfirm = 10 * time.Second
)

// User is a person who may operate the system.
type User struct {
	ID     string `json:"id" yaml:"id"`
	Name   string `json:"name" yaml:"name"`
	Number int    `json:"number" yaml:"number"` // Contact ID user number, 1–999
	Role   Role   `json:"role" yaml:"role"`
	// Hashes are argon2id in PHC form; the secrets themselves are never stored or logged.
	PINHash      string    `json:"pin_hash,omitempty" yaml:"pin_hash,omitempty"`
	DuressHash   string    `json:"duress_hash,omitempty" yaml:"duress_hash,omitempty"`
	PasswordHash string    `json:"password_hash,omitempty" yaml:"password_hash,omitempty"`
	Tags         []string  `json:"tags,omitempty" yaml:"tags,omitempty"` // keyfob or tag ids
	Schedule     []Window  `json:"schedule,omitempty" yaml:"schedule,omitempty"`
	Expires      time.Time `json:"expires,omitempty" yaml:"expires,omitempty"`
	// OneTime: the user's PIN works for one command (the cleaner's code); the hub
	// removes it once used.
	OneTime bool `json:"one_time,omitempty" yaml:"one_time,omitempty"`
}

// Window is a weekly time window in local time, e.g. Monday 08:00–17:00.
type Window struct {
	Days []time.Weekday `json:"days" yaml:"days"`
	From string         `json:"from" yaml:"from"` // "08:00"
	To   string         `json:"to" yaml:"to"`     // "17:00"
}

// WithDefaults fills unset settings with their defaults. A mode missing from a delay
// map takes the default delay; a mode given as 0s has no delay.
func (s Settings) WithDefaults() Settings {
	d := DefaultSettings()
	fill := func(m map[Mode]Duration, def map[Mode]Duration) map[Mode]Duration {
		out := make(map[Mode]Duration, len(def))
		for k, v := range def {
			out[k] = v
		}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	s.ExitDelay = fill(s.ExitDelay, d.ExitDelay)
	s.EntryDelay = fill(s.EntryDelay, d.EntryDelay)
	if s.SirenDuration == 0 {
		s.SirenDuration = d.SirenDuration
	}
	if s.SwingerLimit == 0 {
		s.SwingerLimit = d.SwingerLimit
	}
	if s.PINLength == 0 {
		s.PINLength = d.PINLength
	}
	if s.LockoutAttempts == 0 {
		s.LockoutAttempts = d.LockoutAttempts
	}
	if s.LockoutWindow == 0 {
		s.LockoutWindow = d.LockoutWindow
	}
	if s.LockoutDuration == 0 {
		s.LockoutDuration = d.LockoutDuration
	}
	if s.WalkTestTimeout == 0 {
		s.WalkTestTimeout = d.WalkTestTimeout
	}
	if s.MaintenanceTimeout == 0 {
		s.MaintenanceTimeout = d.MaintenanceTimeout
	}
	if s.RetentionEvents == 0 {
		s.RetentionEvents = d.RetentionEvents
	}
	if s.ConfirmWindow == 0 {
		s.ConfirmWindow = d.ConfirmWindow
	}
	if s.EntryReportDelay == 0 {
		s.EntryReportDelay = d.EntryReportDelay
	}
	if s.RetentionAge == 0 {
		s.RetentionAge = d.RetentionAge
	}
	if s.MainsReportDelay == 0 {
		s.MainsReportDelay = d.MainsReportDelay
	}
	return s
}

// Validate checks a configuration and returns every problem found, joined.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := c.Settings.WithDefaults()
	if s.SirenDuration.D() < MinSirenDuration || s.SirenDuration.D() > MaxSirenDuration {
		bad("settings: siren_duration %s is outside %s–%s", s.SirenDuration.D(), MinSirenDuration, MaxSirenDuration)
	}
	for m, d := range s.EntryDelay {
		if !m.Valid() {
			bad("settings: entry_delay: unknown mode %q", m)
		}
		if d < 0 || d.D() > MaxEntryDelay {
			bad("settings: entry_delay %s: %s is outside 0–%s", m, d.D(), MaxEntryDelay)
		}
	}
	for m, d := range s.ExitDelay {
		if !m.Valid() {
			bad("settings: exit_delay: unknown mode %q", m)
		}
		if d < 0 || d.D() > 10*time.Minute {
			bad("settings: exit_delay %s: %s is outside 0–10m", m, d.D())
		}
	}
	if s.ConfirmWindow.D() < 30*time.Minute || s.ConfirmWindow.D() > time.Hour {
		bad("settings: confirm_window %s is outside 30m–1h", s.ConfirmWindow.D())
	}
	if s.EntryReportDelay.D() < 30*time.Second || s.EntryReportDelay.D() > 10*time.Minute {
		bad("settings: entry_report_delay %s is outside 30s–10m", s.EntryReportDelay.D())
	}
	if s.MainsReportDelay.D() < MinMainsReportDelay || s.MainsReportDelay.D() > MaxMainsReportDelay {
		bad("settings: mains_report_delay %s is outside %s–%s", s.MainsReportDelay.D(), MinMainsReportDelay, MaxMainsReportDelay)
	}
	for _, a := range s.ArmWithoutCode {
		if strings.TrimSpace(a) == "" || a != strings.TrimSpace(a) {
			bad("settings: arm_without_code: account name %q must be a name without surrounding spaces", a)
		}
	}
	if s.PINLength != 4 && s.PINLength != 6 {
		bad("settings: pin_length must be 4 or 6, not %d", s.PINLength)
	}
	if s.SwingerLimit < 1 {
		bad("settings: swinger_limit must be at least 1")
	}
	if s.LockoutAttempts < 1 || s.LockoutDuration.D() < 0 {
		bad("settings: lockout_attempts must be at least 1 and lockout_duration not negative")
	}
	ids := map[string]bool{}
	nums := map[int]string{}
	for i, z := range c.Zones {
		where := fmt.Sprintf("zones[%d] %q", i, z.ID)
		if z.ID == "" {
			bad("zones[%d]: id is empty", i)
		}
		if ids[z.ID] {
			bad("%s: duplicate id", where)
		}
		ids[z.ID] = true
		if !z.Type.Valid() {
			bad("%s: unknown type %q", where, z.Type)
		}
		if z.Number < 1 || z.Number > 999 {
			bad("%s: number %d is outside 1–999", where, z.Number)
		} else if other, dup := nums[z.Number]; dup {
			bad("%s: number %d is also zone %q", where, z.Number, other)
		}
		nums[z.Number] = z.ID
		for _, m := range z.Modes {
			if !m.Valid() {
				bad("%s: unknown mode %q", where, m)
			}
		}
		if z.Delay != DelayDefault && z.Delay != DelayInstant && z.Delay != DelayDelayed {
			bad("%s: unknown delay %q", where, z.Delay)
		}
	}
	uids := map[string]bool{}
	unums := map[int]bool{}
	codes := map[string]string{} // PIN or duress hash → the user who has it
	for i, u := range c.Users {
		where := fmt.Sprintf("users[%d] %q", i, u.ID)
		if u.OneTime && u.Role == RoleAdmin {
			bad("%s: an admin's code cannot be one-time", where)
		}
		// A code names its user by itself; two users with one code (visible when
		// their hashes share a salt, as HashPIN makes them) would be one user.
		for _, h := range []string{u.PINHash, u.DuressHash} {
			if h == "" {
				continue
			}
			if other, ok := codes[h]; ok {
				bad("%s: has the same code as user %q", where, other)
			}
			codes[h] = u.ID
		}
		if u.ID == "" || u.Name == "" {
			bad("users[%d]: id and name are required", i)
		}
		if uids[u.ID] {
			bad("%s: duplicate id", where)
		}
		uids[u.ID] = true
		if u.Number < 1 || u.Number > 999 || unums[u.Number] {
			bad("%s: number %d is outside 1–999 or taken", where, u.Number)
		}
		unums[u.Number] = true
		switch u.Role {
		case RoleAdmin, RoleUser, RoleGuest:
		default:
			bad("%s: unknown role %q", where, u.Role)
		}
		for _, w := range u.Schedule {
			if _, _, err := w.bounds(); err != nil {
				bad("%s: schedule: %v", where, err)
			}
		}
	}
	oids := map[string]bool{}
	for i, o := range c.Outputs {
		where := fmt.Sprintf("outputs[%d] %q", i, o.ID)
		if o.ID == "" || oids[o.ID] {
			bad("outputs[%d]: id is empty or duplicate", i)
		}
		oids[o.ID] = true
		switch o.Kind {
		case OutputSiren, OutputSounder, OutputStrobe, OutputChime, OutputReady, OutputFault:
		default:
			bad("%s: unknown kind %q", where, o.Kind)
		}
		if o.Number < 0 || o.Number > 99 {
			bad("%s: number %d is outside 1–99", where, o.Number)
		}
		if o.Refresh < 0 || (o.Refresh != 0 && o.Refresh.D() < time.Second) {
			bad("%s: refresh %s is below 1s", where, o.Refresh.D())
		}
		if o.Confirm < 0 || (o.Confirm != 0 && o.Confirm.D() < 100*time.Millisecond) {
			bad("%s: confirm %s is below 100ms", where, o.Confirm.D())
		}
	}
	tids := map[string]bool{}
	for i, t := range c.Tokens {
		where := fmt.Sprintf("tokens[%d] %q", i, t.ID)
		if t.ID == "" || t.Name == "" || tids[t.ID] {
			bad("%s: id and name are required, the id unique", where)
		}
		tids[t.ID] = true
		switch t.Scope {
		case ScopeKeypad, ScopeRead, ScopeCameras:
			if t.UserID != "" {
				bad("%s: a %s token acts as itself, not as a user", where, t.Scope)
			}
		case ScopeControl:
			if !uids[t.UserID] {
				bad("%s: a control token needs an existing user (user_id %q)", where, t.UserID)
			}
		default:
			bad("%s: unknown scope %q (keypad, read, control, cameras)", where, t.Scope)
		}
		if len(t.Hash) != 64 || strings.Trim(t.Hash, "0123456789abcdef") != "" {
			bad("%s: hash must be 64 lower-case hex digits (SHA-256)", where)
		}
	}
	return errors.Join(errs...)
}

func (w Window) bounds() (from, to time.Duration, err error) {
	parse := func(s string) (time.Duration, error) {
		t, err := time.Parse("15:04", s)
		if err != nil {
			return 0, fmt.Errorf("time %q is not HH:MM", s)
		}
		return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
	}
	if from, err = parse(w.From); err != nil {
		return 0, 0, err
	}
	if to, err = parse(w.To); err != nil {
		return 0, 0, err
	}
	if to <= from {
		return 0, 0, fmt.Errorf("window %s–%s ends before it starts", w.From, w.To)
	}
	return from, to, nil
}

// Allowed reports whether user u may operate the system at now (local time of loc):
// guests only inside their schedule and before their expiry.
func (u User) Allowed(now time.Time, loc *time.Location) bool {
	if !u.Expires.IsZero() && !now.Before(u.Expires) {
		return false
	}
	if u.Role != RoleGuest || len(u.Schedule) == 0 {
		return true
	}
	t := now.In(loc)
	since := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
	for _, w := range u.Schedule {
		from, to, err := w.bounds()
		if err != nil {
			continue
		}
		for _, d := range w.Days {
			if d == t.Weekday() && since >= from && since < to {
				return true
			}
		}
	}
	return false
}
