// Package mqttapi is Vakt's own MQTT interface, in the shape Home Assistant's MQTT
// alarm panel and Alarmo's users know:
//
//	<base>/state       retained: disarmed, arming, armed_away, …, pending, triggered
//	<base>/attributes  retained JSON: changed_by, open and bypassed zones, readiness
//	<base>/event       JSON events, never retained; silent events are never published
//	<base>/command     input: ARM_AWAY … DISARM, or {"command","code","force","zone"}
//	<base>/status      retained availability: online / offline
//
// Commands go through the hub's code check and lockout like every interface; the
// MQTT user and client id that sent one are recorded. Start subscribes to the hub
// (before the hub runs, so the updates of a restart are not missed) and to the
// command topic; Run serves commands and publishes updates until its context is
// cancelled; Stop publishes "offline". Events published at start-up, before any
// client listens on the event topic, are held (at most 100, for 10 minutes) and
// published when the first client subscribes to it.
package mqttapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"vakt/hub"
)

// Message is one MQTT message as the API receives it.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
	ClientID string
	Username string
}

// Bus is the part of the MQTT broker the API uses. Subscribe's handler runs on the
// publishing client's goroutine: it must hand off and return. Subscribed reports
// whether anyone listens on a topic.
type Bus interface {
	Publish(topic string, payload []byte, retain bool) error
	Subscribe(filter string, fn func(Message)) (cancel func(), err error)
	Subscribed(topic string) bool
}

// Hub is what the API needs of the hub.
type Hub interface {
	Do(ctx context.Context, r hub.Request) error
	Snapshot() *hub.Snapshot
	Subscribe(buf int) (<-chan hub.Update, func())
}

// API publishes state and events and takes commands.
type API struct {
	base    string
	bus     Bus
	hub     Hub
	log     *slog.Logger
	queue   chan Message
	updates *hub.Follow
	started time.Time
	now     func() time.Time

	// Run's own: the last state and attributes published, the last event number.
	lastState hub.StateName
	lastAttrs []byte
	seq       uint64

	mu   sync.Mutex
	held [][]byte // start-up events waiting for a listener; nil once one listened
	live bool     // a client listened to the event topic since start
}

// Start-up events are held this long, at most this many.
const (
	holdFor  = 10 * time.Minute
	holdSize = 100
)

// New returns the API on topics under base (default "vakt").
func New(base string, bus Bus, h Hub, log *slog.Logger) *API {
	if base == "" {
		base = "vakt"
	}
	return &API{base: strings.TrimSuffix(base, "/"), bus: bus, hub: h, log: log, queue: make(chan Message, 32),
		now: time.Now}
}

// SetClock replaces the API's clock (default time.Now); call it before Start.
func (a *API) SetClock(now func() time.Time) { a.now = now }

// Topic returns the full topic of a leaf such as "state".
func (a *API) Topic(leaf string) string { return a.base + "/" + leaf }

// Command is a parsed command message.
type Command struct {
	Kind  hub.CommandKind
	Mode  hub.Mode
	Code  string
	Force bool
	Zone  string
	// Warning notes a tolerated oddity, e.g. a numeric code.
	Warning string
}

var plain = map[string]Command{
	"ARM_AWAY":     {Kind: hub.CmdArm, Mode: hub.ModeAway},
	"ARM_HOME":     {Kind: hub.CmdArm, Mode: hub.ModeHome},
	"ARM_NIGHT":    {Kind: hub.CmdArm, Mode: hub.ModeNight},
	"ARM_VACATION": {Kind: hub.CmdArm, Mode: hub.ModeVacation},
	"DISARM":       {Kind: hub.CmdDisarm},
	"TRIGGER":      {Kind: hub.CmdPanic},
	"PANIC":        {Kind: hub.CmdPanic},
	"SILENT_PANIC": {Kind: hub.CmdSilentPanic},
	"BYPASS":       {Kind: hub.CmdBypass},
	"UNBYPASS":     {Kind: hub.CmdUnbypass},
}

// ParseCommand reads a plain (ARM_AWAY) or JSON ({"command":"ARM_AWAY","code":"1234"})
// command. Home Assistant's template key "action" is accepted for "command", and
// Alarmo's "bypass_open_sensors" for "force". A numeric code is accepted with a
// warning: leading zeros are lost.
func ParseCommand(payload []byte) (Command, error) {
	p := strings.TrimSpace(string(payload))
	if !strings.HasPrefix(p, "{") {
		c, ok := plain[strings.ToUpper(p)]
		if !ok {
			return Command{}, fmt.Errorf("unknown command %q", truncate(p))
		}
		return c, nil
	}
	var raw struct {
		Command string          `json:"command"`
		Action  string          `json:"action"`
		Code    json.RawMessage `json:"code"`
		Force   bool            `json:"force"`
		Bypass  bool            `json:"bypass_open_sensors"`
		Zone    string          `json:"zone"`
	}
	if err := json.Unmarshal([]byte(p), &raw); err != nil {
		return Command{}, fmt.Errorf("malformed JSON command: %w", err)
	}
	name := raw.Command
	if name == "" {
		name = raw.Action
	}
	c, ok := plain[strings.ToUpper(name)]
	if !ok {
		return Command{}, fmt.Errorf("unknown command %q", truncate(name))
	}
	c.Force = raw.Force || raw.Bypass
	c.Zone = raw.Zone
	if len(raw.Code) > 0 && string(raw.Code) != "null" {
		var s string
		if err := json.Unmarshal(raw.Code, &s); err == nil {
			c.Code = s
		} else {
			var n json.Number
			if err := json.Unmarshal(raw.Code, &n); err != nil {
				return Command{}, fmt.Errorf("code must be a string of digits")
			}
			c.Code = n.String()
			c.Warning = "code sent as a number; send it as a string to keep leading zeros"
		}
	}
	return c, nil
}

// truncate shortens s for a log line or an event, at a character's boundary.
func truncate(s string) string {
	if len(s) <= 40 {
		return s
	}
	n := 40
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Start subscribes to the command topic and publishes the current state.
func (a *API) Start(ctx context.Context) (cancel func(), err error) {
	a.started = a.now()
	a.updates = hub.NewFollow(a.hub.Subscribe, 256)
	cancel, err = a.bus.Subscribe(a.Topic("command"), func(m Message) {
		select {
		case a.queue <- m:
		default:
			a.log.Warn("mqttapi: command queue full, command dropped", "client", m.ClientID, "user", m.Username)
		}
	})
	if err != nil {
		a.updates.Stop()
		return nil, fmt.Errorf("mqttapi: subscribe %s: %w", a.Topic("command"), err)
	}
	a.publishState(a.hub.Snapshot(), true)
	if err := a.bus.Publish(a.Topic("status"), []byte("online"), true); err != nil {
		a.log.Error("mqttapi: publish status", "err", err)
	}
	return cancel, nil
}

// Stop publishes "offline" on the status topic: the hub is going down.
func (a *API) Stop() {
	if err := a.bus.Publish(a.Topic("status"), []byte("offline"), true); err != nil {
		a.log.Error("mqttapi: publish status", "err", err)
	}
}

// Listening is told that an MQTT client subscribed to the event topic: the
// start-up events held so far are published.
func (a *API) Listening() {
	a.mu.Lock()
	held := a.held
	a.held, a.live = nil, true
	a.mu.Unlock()
	for _, b := range held {
		if err := a.bus.Publish(a.Topic("event"), b, false); err != nil {
			a.log.Error("mqttapi: publish event", "err", err)
		}
	}
}

// Run executes commands and publishes updates until ctx is cancelled. Call Start
// first. Updates already waiting are published before the next command is taken,
// and a command's own update before its answer, so that everything is told in the
// order it happened.
func (a *API) Run(ctx context.Context) error {
	defer a.updates.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-a.queue:
			a.publishWaiting()
			a.command(ctx, m)
		case u, ok := <-a.updates.C():
			a.publishUpdates(u, ok)
		}
	}
}

// publishWaiting publishes the updates waiting, if any.
func (a *API) publishWaiting() {
	select {
	case u, ok := <-a.updates.C():
		a.publishUpdates(u, ok)
	default:
	}
}

// publishUpdates publishes u and every update already waiting after it: events in
// order, the state once. ok false: the subscription was dropped as too slow; it is
// made again and the state republished.
func (a *API) publishUpdates(u hub.Update, ok bool) {
	if !ok {
		a.updates.Again()
		a.publishState(a.hub.Snapshot(), true)
		return
	}
	snap, events := u.Snapshot, u.Events
more:
	for {
		select {
		case u, ok := <-a.updates.C():
			if !ok {
				break more
			}
			snap, events = u.Snapshot, append(events, u.Events...)
		default:
			break more
		}
	}
	for _, e := range events {
		// Silent events are never shown; zone activity is in the event log
		// and in the attributes' open_sensors, not on the event topic.
		if !e.Silent && e.Type != hub.EvZoneOpen && e.Type != hub.EvZoneClosed {
			a.publishEvent(a.eventJSON(e))
		}
	}
	a.publishState(snap, snap.State.Name != a.lastState)
	a.lastState = snap.State.Name
}

func (a *API) command(ctx context.Context, m Message) {
	who := m.Username
	if who == "" {
		who = "anonymous"
	}
	device := "mqtt:" + who + "/" + m.ClientID
	if m.Retained {
		a.log.Warn("mqttapi: retained command ignored (it would run again at every restart)", "client", device)
		a.publishEvent(map[string]any{"event": "COMMAND_NOT_ALLOWED", "detail": "retained commands are ignored", "source": device})
		return
	}
	c, err := ParseCommand(m.Payload)
	if err != nil {
		a.log.Warn("mqttapi: bad command", "err", err, "client", device)
		a.publishEvent(map[string]any{"event": "COMMAND_NOT_ALLOWED", "detail": err.Error(), "source": device})
		return
	}
	if c.Warning != "" {
		a.log.Warn("mqttapi: "+c.Warning, "client", device)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = a.hub.Do(ctx, hub.Request{Kind: c.Kind, Mode: c.Mode, Force: c.Force, Zone: c.Zone,
		Cred: hub.Credential{Code: c.Code}, Via: hub.ViaMQTT, Device: device, Source: "mqtt:" + who,
		Account: m.Username})
	// What the command did (its events, the new state) is told before its answer.
	a.publishWaiting()
	if err == nil {
		return
	}
	ev := map[string]any{"command": string(c.Kind), "source": device, "detail": err.Error(),
		"state": string(a.hub.Snapshot().State.Name)}
	var he *hub.Error
	switch hub.KindOf(err) {
	case hub.ErrNotReady:
		ev["event"] = "FAILED_TO_ARM"
		if errors.As(err, &he) {
			ev["reasons"] = he.Reasons
		}
	case hub.ErrBadCode:
		ev["event"] = "INVALID_CODE_PROVIDED"
		if c.Code == "" {
			ev["event"] = "NO_CODE_PROVIDED"
		}
	case hub.ErrLocked:
		ev["event"] = "LOCKED_OUT"
	default:
		ev["event"] = "COMMAND_NOT_ALLOWED"
	}
	a.publishEvent(ev)
}

// eventJSON is an event as published. Its seq numbers the events published on the
// topic since start, without gaps: the journal's numbers would show a gap where a
// silent event (duress, silent panic) was left out.
func (a *API) eventJSON(e hub.Event) map[string]any {
	a.seq++
	m := map[string]any{"event": e.Type, "seq": a.seq, "time": e.Time.Format(time.RFC3339), "class": e.Class,
		"state": e.State, "who": e.Who}
	if e.Zone != "" {
		m["zone"] = e.Zone
	}
	if e.Mode != "" {
		m["mode"] = e.Mode
	}
	if len(e.Reasons) > 0 {
		m["reasons"] = e.Reasons
	}
	if len(e.Zones) > 0 {
		m["zones"] = e.Zones
	}
	if e.Detail != "" {
		m["detail"] = e.Detail
	}
	return m
}

func (a *API) publishEvent(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		a.log.Error("mqttapi: encode event", "err", err)
		return
	}
	a.mu.Lock()
	if !a.live && a.now().Sub(a.started) < holdFor && !a.bus.Subscribed(a.Topic("event")) {
		if len(a.held) < holdSize {
			a.held = append(a.held, b)
		}
		a.mu.Unlock()
		return
	}
	a.live, a.held = true, nil
	a.mu.Unlock()
	if err := a.bus.Publish(a.Topic("event"), b, false); err != nil {
		a.log.Error("mqttapi: publish event", "err", err)
	}
}

// Attributes is the JSON on the attributes topic.
type Attributes struct {
	State     hub.StateName             `json:"state"`
	ArmMode   hub.Mode                  `json:"arm_mode,omitempty"`
	ChangedBy string                    `json:"changed_by,omitempty"`
	Open      []string                  `json:"open_sensors"`
	Bypassed  []string                  `json:"bypassed_sensors"`
	Ready     map[hub.Mode]bool         `json:"ready"`
	Reasons   map[hub.Mode][]hub.Reason `json:"not_ready_reasons"`
	Delay     int                       `json:"delay,omitempty"`
	// Locked: all code entry is locked (too many wrong codes from all sources);
	// LockedSources are the sources whose code entry is locked (a keypad, a web
	// client, an MQTT account). Both end at the lock's end.
	Locked        bool     `json:"locked_out"`
	LockedSources []string `json:"locked_out_sources"`
}

func (a *API) publishState(s *hub.Snapshot, stateChanged bool) {
	if stateChanged {
		if err := a.bus.Publish(a.Topic("state"), []byte(s.State.Name), true); err != nil {
			a.log.Error("mqttapi: publish state", "err", err)
		}
	}
	at := Attributes{State: s.State.Name, ArmMode: s.State.Mode, Open: []string{}, Bypassed: []string{},
		Ready: map[hub.Mode]bool{}, Reasons: s.Ready, Locked: !s.State.Lockout.Until.IsZero(),
		LockedSources: s.State.Lockout.LockedSources()}
	if at.LockedSources == nil {
		at.LockedSources = []string{}
	}
	if s.State.ArmedBy != (hub.Actor{}) {
		at.ChangedBy = s.State.ArmedBy.String()
	}
	for _, z := range s.Config.Zones {
		zs := s.State.Zones[z.ID]
		if zs.Open {
			at.Open = append(at.Open, z.ID)
		}
		if zs.Bypassed || zs.Isolated {
			at.Bypassed = append(at.Bypassed, z.ID)
		}
	}
	for m, rs := range s.Ready {
		at.Ready[m] = len(rs) == 0
	}
	switch s.State.Name {
	case hub.Arming:
		at.Delay = int(s.State.ExitDeadline.Sub(a.now()).Seconds() + 0.5)
	case hub.Pending:
		at.Delay = int(s.State.EntryDeadline.Sub(a.now()).Seconds() + 0.5)
	}
	b, _ := json.Marshal(at)
	if !stateChanged && bytes.Equal(b, a.lastAttrs) {
		return // nothing new to tell (an update of silent events only)
	}
	a.lastAttrs = b
	if err := a.bus.Publish(a.Topic("attributes"), b, true); err != nil {
		a.log.Error("mqttapi: publish attributes", "err", err)
	}
}
