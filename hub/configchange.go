package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ChangeConfig changes the domain configuration while the hub runs: the web API's
// user and settings pages call it. change is called with a deep copy of the
// configuration in force (settings with their defaults filled in, as the snapshot
// shows them) and edits it in place; the result is checked and, when it differs,
// put in force at once and stored with a config_changed event that names who and
// says what changed, without any secret.
//
// The change is an input of the hub's actor: applied in turn with the other inputs,
// one at a time, with every other input waiting meanwhile. So change must be quick:
// it must not block, hash codes (hash a new PIN with Verifier.HashPIN against
// Snapshot().Config.Users beforehand) or call the hub. ChangeConfig returns after
// the change was committed (or, while the disk fails, held in memory to be written
// with the next commit, as every input is), with the configuration in force then.
// From that moment the snapshot shows it, and a new user's code works.
//
// The core takes a changed zone or output at once (a removed zone is gone from the
// state and from the ready reasons), but the adapters keep the devices they bound
// (ChangeConfigAndBindings changes those, for the adapters that take new
// bindings while they run).
//
// A change with no difference records nothing and returns the configuration as it
// is. The caller decides who may change what; the hub refuses, with nothing
// changed, a change that:
//   - the change function refused: its error, wrapped;
//   - does not pass Config.Validate, or Options.CheckConfig (a zone or output
//     that the adapters' bindings name is removed): an *Error of kind ErrInvalid
//     that lists every problem (also when who is empty or change nil);
//   - leaves no admin who can log in or enter a code where there was one: an *Error
//     of kind ErrNotAllowed (an admin cannot lock themself out);
//   - removes the zone whose entry delay is running: ErrNotAllowed (disarm first).
//
// It returns ErrStopped when the hub is stopped, and ctx's error when ctx ends
// first (the change may still be applied then).
func (h *Hub) ChangeConfig(ctx context.Context, who Actor, change func(*Config) error) (Config, error) {
	return h.changeConfig(ctx, &configChange{who: who, change: change})
}

// BindingsChange is what ChangeConfigAndBindings's bind function answers: the
// lines that say what changed in the bindings (before → after, no secret) and
// their new stored form (JSON, opaque to the hub).
type BindingsChange struct {
	Lines  []string
	Stored json.RawMessage
}

// ChangeConfigAndBindings is ChangeConfig for a change of the adapters' bindings
// (a device adopted into a zone while the hub runs), with or without a change of
// the configuration (change may be nil). bind is called by the actor, in turn with
// every other input and change, with the configuration as it will be: it checks
// the new bindings against it (in place of Options.CheckConfig, which knows the
// bindings in force) and answers what changed. Its error refuses the whole
// change, as an *Error of kind ErrInvalid when it is not one already; nothing is
// recorded. No lines and no configuration change: nothing is recorded either.
// Otherwise the new bindings are stored with the configuration and the
// config_changed event in one commit, so a restart finds both or neither. bind
// runs with the actor's lock held: it must be quick and must not call the hub.
func (h *Hub) ChangeConfigAndBindings(ctx context.Context, who Actor, change func(*Config) error,
	bind func(Config) (BindingsChange, error)) (Config, error) {
	if change == nil {
		change = func(*Config) error { return nil }
	}
	if bind == nil {
		return Config{}, fmt.Errorf("hub: change bindings: %w", errorf(ErrInvalid, "a change of bindings needs its check"))
	}
	return h.changeConfig(ctx, &configChange{who: who, change: change, bind: bind})
}

func (h *Hub) changeConfig(ctx context.Context, c *configChange) (Config, error) {
	if c.who == (Actor{}) || c.change == nil {
		return Config{}, fmt.Errorf("hub: change config: %w", errorf(ErrInvalid, "a change needs who makes it and what it is"))
	}
	if err := h.call(ctx, request{change: c}); err != nil {
		return Config{}, err
	}
	return c.after, nil
}

// configChange is a configuration change waiting to be applied (request.change).
type configChange struct {
	who    Actor
	change func(*Config) error
	// bind, for ChangeConfigAndBindings, checks the bindings against the new
	// configuration and says what changed in them.
	bind func(Config) (BindingsChange, error)
	// after is the configuration in force once the change was applied (or found
	// to change nothing); the actor sets it before the reply.
	after Config
}

// applyChange applies a configuration change. h.mu is held.
func (h *Hub) applyChange(c *configChange) *item {
	now := h.opt.Now()
	before := h.core.Config()
	check := h.opt.CheckConfig
	if c.bind != nil {
		check = nil // bind checks the new bindings instead
	}
	after, err := checkChange(before, h.st, now, c.change, check)
	if err != nil {
		return &item{result: fmt.Errorf("hub: change config: %w", err)}
	}
	lines := DescribeConfigChange(before, after)
	var bound BindingsChange
	if c.bind != nil {
		if bound, err = callBind(c.bind, after.Clone()); err != nil {
			return &item{result: fmt.Errorf("hub: change bindings: %w", err)}
		}
		lines = append(lines, bound.Lines...)
	}
	if len(lines) == 0 {
		c.after = before.Clone()
		return &item{}
	}
	h.core = NewCore(after)
	if !slices.Equal(before.Outputs, after.Outputs) {
		h.lampsKnown = false // a lamp that is new, or back, is driven with the next exec
	}
	next := h.core.normalize(h.st)
	ev := Event{Time: now.UTC(), Type: EvConfigChanged, Class: ClassArming, State: next.Name, Who: c.who,
		Detail: strings.Join(lines, "; ")}
	it := h.exec(next, []Effect{Record{Event: ev}}, false)
	cfg := h.core.Config()
	it.config = &cfg
	if len(bound.Lines) > 0 {
		it.bindings = bound.Stored
	}
	c.after = cfg.Clone()
	return it
}

// callBind calls bind, turning a panic into an error and any error into an
// *Error (ErrInvalid unless it is one).
func callBind(bind func(Config) (BindingsChange, error), cfg Config) (b BindingsChange, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errorf(ErrInvalid, "the change of bindings panicked: %v", p)
		}
	}()
	b, err = bind(cfg)
	var he *Error
	if err != nil && !errors.As(err, &he) {
		err = errorf(ErrInvalid, "%s", err.Error())
	}
	return b, err
}

// checkChange applies change to a copy of before and checks the result against
// the rules of ChangeConfig and the owner's check (nil for none); st is the live
// state, now the time.
func checkChange(before Config, st State, now time.Time, change func(*Config) error, check func(Config) error) (Config, error) {
	edited := before.Clone()
	if err := callChange(change, &edited); err != nil {
		return Config{}, err
	}
	after := edited.Clone() // the change function may keep a handle on edited
	after.Settings = after.Settings.WithDefaults()
	err := after.Validate()
	if err == nil && check != nil {
		err = check(after)
	}
	if err != nil {
		return Config{}, errorf(ErrInvalid, "invalid configuration: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if slices.ContainsFunc(before.Users, adminCanEnter(now)) && !slices.ContainsFunc(after.Users, adminCanEnter(now)) {
		return Config{}, errorf(ErrNotAllowed, "the change leaves no admin who can log in or enter a code")
	}
	if st.Name == Pending && !slices.ContainsFunc(after.Zones, func(z Zone) bool { return z.ID == st.EntryZone }) {
		return Config{}, errorf(ErrNotAllowed, "zone %s started the entry delay that is running: disarm before removing it", st.EntryZone)
	}
	return after, nil
}

// callChange calls change, turning a panic into an error: the change runs with the
// actor's lock held, maybe on another input's goroutine.
func callChange(change func(*Config) error, cfg *Config) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the change panicked: %v", p)
		}
	}()
	return change(cfg)
}

// adminCanEnter returns whether a user is an admin who can log in or enter a code
// at now: with a PIN or a password, and not expired.
func adminCanEnter(now time.Time) func(User) bool {
	return func(u User) bool {
		return u.Role == RoleAdmin && (u.PINHash != "" || u.PasswordHash != "") && (u.Expires.IsZero() || now.Before(u.Expires))
	}
}

// Clone returns a deep copy of c: none of its slices and maps is shared with c.
func (c Config) Clone() Config {
	c.Settings.ExitDelay = maps.Clone(c.Settings.ExitDelay)
	c.Settings.EntryDelay = maps.Clone(c.Settings.EntryDelay)
	c.Settings.ArmWithoutCode = slices.Clone(c.Settings.ArmWithoutCode)
	c.Zones = slices.Clone(c.Zones)
	for i := range c.Zones {
		c.Zones[i].Modes = slices.Clone(c.Zones[i].Modes)
	}
	c.Users = slices.Clone(c.Users)
	for i := range c.Users {
		u := &c.Users[i]
		u.Tags = slices.Clone(u.Tags)
		u.Schedule = slices.Clone(u.Schedule)
		for j := range u.Schedule {
			u.Schedule[j].Days = slices.Clone(u.Schedule[j].Days)
		}
	}
	c.Outputs = slices.Clone(c.Outputs)
	c.Tokens = slices.Clone(c.Tokens)
	return c
}

// DescribeConfigChange says in words what changed from before to after, one line a
// change: settings ("exit delay away 30s → 45s"), then zones, users and outputs
// added, removed, changed or reordered ("user bob: role user → admin"). Secrets
// show only that they were set, changed or removed ("user bob: PIN changed"),
// never a hash; so do keyfob tags. Settings are compared with their defaults
// filled in. No line means no difference.
func DescribeConfigChange(before, after Config) []string {
	var out []string
	out = append(out, diffFields("", settingFields, before.Settings.WithDefaults(), after.Settings.WithDefaults())...)
	out = append(out, diffList("zone", zoneFields, before.Zones, after.Zones, func(z Zone) string { return z.ID })...)
	out = append(out, diffList("user", userFields, before.Users, after.Users, func(u User) string { return u.ID })...)
	out = append(out, diffList("output", outputFields, before.Outputs, after.Outputs, func(o Output) string { return o.ID })...)
	out = append(out, diffList("token", tokenFields, before.Tokens, after.Tokens, func(t Token) string { return t.ID })...)
	return out
}

// field is one field of a T as DescribeConfigChange shows it.
type field[T any] struct {
	name string
	// value is the field in words; two values that differ are two different words.
	value func(T) string
	// secret: only whether it is set, and whether it changed, may be said.
	secret bool
}

// diffFields lists the fields that differ between a and b, each line led by prefix.
func diffFields[T any](prefix string, fields []field[T], a, b T) []string {
	var out []string
	for _, f := range fields {
		x, y := f.value(a), f.value(b)
		switch {
		case x == y:
			continue
		case !f.secret:
			out = append(out, prefix+f.name+" "+x+" → "+y)
		case x == "":
			out = append(out, prefix+f.name+" set")
		case y == "":
			out = append(out, prefix+f.name+" removed")
		default:
			out = append(out, prefix+f.name+" changed")
		}
	}
	return out
}

// diffList describes the items of a list keyed by id: removed, added (with the
// fields they have), changed field by field, and a change of order.
func diffList[T any](what string, fields []field[T], before, after []T, id func(T) string) []string {
	now := make(map[string]bool, len(after))
	for _, x := range after {
		now[id(x)] = true
	}
	old := make(map[string]T, len(before))
	var out, order []string
	for _, x := range before {
		old[id(x)] = x
		if now[id(x)] {
			order = append(order, id(x))
			continue
		}
		line := what + " " + id(x) + " removed"
		if name := fields[0].value(x); name != fields[0].value(*new(T)) {
			line += " (" + fields[0].name + " " + name + ")"
		}
		out = append(out, line)
	}
	var kept []string
	for _, x := range after {
		was, ok := old[id(x)]
		if !ok {
			var zero T
			var has []string
			for _, f := range fields {
				if v := f.value(x); v != f.value(zero) {
					if f.secret {
						v = "set"
					}
					has = append(has, f.name+" "+v)
				}
			}
			line := what + " " + id(x) + " added"
			if len(has) > 0 {
				line += ": " + strings.Join(has, ", ")
			}
			out = append(out, line)
			continue
		}
		kept = append(kept, id(x))
		out = append(out, diffFields(what+" "+id(x)+": ", fields, was, x)...)
	}
	if !slices.Equal(order, kept) {
		out = append(out, what+"s: order changed")
	}
	return out
}

// Each list's first field is the name, which says what a removed item was.
var (
	zoneFields = []field[Zone]{
		{name: "name", value: func(z Zone) string { return strconv.Quote(z.Name) }},
		{name: "number", value: func(z Zone) string { return strconv.Itoa(z.Number) }},
		{name: "type", value: func(z Zone) string { return string(z.Type) }},
		{name: "modes", value: func(z Zone) string { return words(z.Modes, "default", false) }},
		{name: "delay", value: func(z Zone) string { return or(string(z.Delay), "default") }},
		{name: "chime", value: func(z Zone) string { return onOff(z.Chime) }},
	}
	userFields = []field[User]{
		{name: "name", value: func(u User) string { return strconv.Quote(u.Name) }},
		{name: "number", value: func(u User) string { return strconv.Itoa(u.Number) }},
		{name: "role", value: func(u User) string { return string(u.Role) }},
		{name: "PIN", value: func(u User) string { return u.PINHash }, secret: true},
		{name: "duress code", value: func(u User) string { return u.DuressHash }, secret: true},
		{name: "password", value: func(u User) string { return u.PasswordHash }, secret: true},
		{name: "tags", value: func(u User) string { return words(u.Tags, "", true) }, secret: true},
		{name: "schedule", value: func(u User) string { return schedule(u.Schedule) }},
		{name: "one-time code", value: func(u User) string { return onOff(u.OneTime) }},
		{name: "expires", value: func(u User) string {
			if u.Expires.IsZero() {
				return "never"
			}
			return u.Expires.Format(time.RFC3339Nano)
		}},
	}
	outputFields = []field[Output]{
		{name: "name", value: func(o Output) string { return strconv.Quote(o.Name) }},
		{name: "kind", value: func(o Output) string { return string(o.Kind) }},
		{name: "number", value: func(o Output) string {
			if o.Number == 0 {
				return "default"
			}
			return strconv.Itoa(o.Number)
		}},
		{name: "refresh", value: func(o Output) string { return duration(o.Refresh, "default") }},
		{name: "confirm", value: func(o Output) string { return duration(o.Confirm, "default") }},
	}
	tokenFields = []field[Token]{
		{name: "name", value: func(t Token) string { return strconv.Quote(t.Name) }},
		{name: "scope", value: func(t Token) string { return string(t.Scope) }},
		{name: "user", value: func(t Token) string { return or(t.UserID, "none") }},
		{name: "secret", value: func(t Token) string { return t.Hash }, secret: true},
		{name: "created", value: func(t Token) string {
			if t.Created.IsZero() {
				return "never"
			}
			return t.Created.Format(time.RFC3339)
		}},
	}
	settingFields = func() []field[Settings] {
		var fs []field[Settings]
		for _, m := range Modes {
			fs = append(fs, field[Settings]{name: "exit delay " + string(m),
				value: func(s Settings) string { return s.ExitDelay[m].D().String() }})
		}
		for _, m := range Modes {
			fs = append(fs, field[Settings]{name: "entry delay " + string(m),
				value: func(s Settings) string { return s.EntryDelay[m].D().String() }})
		}
		return append(fs, []field[Settings]{
			{name: "siren duration", value: func(s Settings) string { return s.SirenDuration.D().String() }},
			{name: "swinger limit", value: func(s Settings) string { return strconv.Itoa(s.SwingerLimit) }},
			{name: "PIN length", value: func(s Settings) string { return strconv.Itoa(s.PINLength) }},
			{name: "lockout attempts", value: func(s Settings) string { return strconv.Itoa(s.LockoutAttempts) }},
			{name: "lockout window", value: func(s Settings) string { return s.LockoutWindow.D().String() }},
			{name: "lockout duration", value: func(s Settings) string { return s.LockoutDuration.D().String() }},
			{name: "walk test timeout", value: func(s Settings) string { return s.WalkTestTimeout.D().String() }},
			{name: "maintenance timeout", value: func(s Settings) string { return s.MaintenanceTimeout.D().String() }},
			{name: "confirm window", value: func(s Settings) string { return s.ConfirmWindow.D().String() }},
			{name: "entry report delay", value: func(s Settings) string { return s.EntryReportDelay.D().String() }},
			{name: "mains report delay", value: func(s Settings) string { return s.MainsReportDelay.D().String() }},
			{name: "retention events", value: func(s Settings) string { return strconv.Itoa(s.RetentionEvents) }},
			{name: "retention age", value: func(s Settings) string { return s.RetentionAge.D().String() }},
			{name: "arm without code", value: func(s Settings) string { return words(s.ArmWithoutCode, "none", true) }},
		}...)
	}()
)

// words joins a list with commas, each word quoted if quote, or says none when
// it is empty.
func words[S ~string](xs []S, none string, quote bool) string {
	if len(xs) == 0 {
		return none
	}
	ss := make([]string, len(xs))
	for i, x := range xs {
		ss[i] = string(x)
		if quote {
			ss[i] = strconv.Quote(ss[i])
		}
	}
	return strings.Join(ss, ",")
}

func or(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func duration(d Duration, none string) string {
	if d == 0 {
		return none
	}
	return d.D().String()
}

// schedule shows weekly windows as "Mon/Tue 08:00–17:00, Sat 10:00–12:00".
func schedule(ws []Window) string {
	if len(ws) == 0 {
		return "none"
	}
	out := make([]string, len(ws))
	for i, w := range ws {
		days := make([]string, len(w.Days))
		for j, d := range w.Days {
			days[j] = d.String()[:3]
		}
		out[i] = strings.Join(days, "/") + " " + w.From + "–" + w.To
	}
	return strings.Join(out, ", ")
}
