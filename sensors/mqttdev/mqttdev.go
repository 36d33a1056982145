// Package mqttdev binds zones and outputs to arbitrary MQTT topics, so Tasmota,
// ESPHome or Shelly devices work as zones and sirens, and tests can drive zones with any
// MQTT client.
//
// The bindings are this package's own (ZoneBinding, OutputBinding, by zone and
// output id in Bindings): the hub knows zones and outputs by id only. Their
// rules (a topic, a state topic that is not the command topic, no output
// commanding a zone's topic) are checked here, the ids against the hub's
// configuration by the caller (sensors/binding).
//
// A Zones adapter subscribes to each bound zone's topic and turns payloads into
// sensor signals, posted to the hub on the publishing client's goroutine; an Outputs
// driver publishes on/off payloads (never retained) for an output.Keeper, reads
// the devices' feedback and has the keeper resend when a device subscribes. Neither
// starts a goroutine.
package mqttdev

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"vakt/hub"
	"vakt/hub/output"
)

// Message is one MQTT message as a subscriber sees it.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
	ClientID string
	Username string
}

// Bus is the part of the MQTT broker this package uses. Subscribe's handler runs on
// the publishing client's goroutine: it must hand off and never block for long.
// Subscribed reports whether a network client subscribes to a filter matching topic.
type Bus interface {
	Publish(topic string, payload []byte, retain bool) error
	Subscribe(filter string, fn func(Message)) (cancel func(), err error)
	Subscribed(topic string) bool
}

// Inputs is the hub as seen by adapters.
type Inputs interface {
	Post(ctx context.Context, in hub.Input) error
}

var (
	defOpen   = []string{"ON", "OPEN", "true", "1", "detected", "alarm"}
	defClosed = []string{"OFF", "CLOSED", "false", "0", "clear", "idle"}
	defTamper = []string{"true", "ON", "1"}
)

func match(v string, list, def []string) bool {
	if len(list) == 0 {
		list = def
	}
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(v), x) {
			return true
		}
	}
	return false
}

// field returns the text of a JSON field: strings as they are, booleans as
// "true"/"false", numbers in Go's shortest form.
func field(obj map[string]any, name string) (string, bool) {
	v, ok := obj[name]
	if !ok {
		return "", false
	}
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case nil:
		return "", false
	}
	return fmt.Sprint(v), true
}

// Decode turns a payload on the topic of zone id, bound by b, into signals. An
// error says why the payload means nothing for the zone; it changes nothing.
func Decode(id string, b ZoneBinding, payload []byte) ([]hub.Signal, error) {
	var sigs []hub.Signal
	var obj map[string]any
	value := strings.TrimSpace(string(payload))
	needJSON := b.Field != "" || b.TamperField != "" || b.BatteryLowField != ""
	if needJSON {
		if err := json.Unmarshal(payload, &obj); err != nil {
			return nil, fmt.Errorf("zone %s: payload on %s is not a JSON object: %w", id, b.Topic, err)
		}
	}
	if b.Field != "" {
		var ok bool
		value, ok = field(obj, b.Field)
		if !ok && b.TamperField == "" && b.BatteryLowField == "" {
			return nil, fmt.Errorf("zone %s: payload on %s has no field %q", id, b.Topic, b.Field)
		}
	}
	// tamper: +1 a tamper, -1 its restore, 0 not said; either the state's value or
	// the tamper field may say it, and a tamper said by one is not restored by
	// the other in the same message.
	tamper := 0
	if value != "" {
		switch {
		case b.TamperValue != "" && strings.EqualFold(value, b.TamperValue):
			tamper = 1
		case match(value, b.Open, defOpen):
			sigs = append(sigs, hub.SigOpen)
		case match(value, b.Closed, defClosed):
			sigs = append(sigs, hub.SigClose)
			if b.TamperValue != "" {
				tamper = -1
			}
		default:
			return nil, fmt.Errorf("zone %s: value %q on %s is neither open nor closed", id, truncate(value), b.Topic)
		}
	}
	if b.TamperField != "" {
		if v, ok := field(obj, b.TamperField); ok {
			if match(v, b.Tamper, defTamper) {
				tamper = 1
			} else if tamper == 0 {
				tamper = -1
			}
		}
	}
	switch tamper {
	case 1:
		sigs = append(sigs, hub.SigTamper)
	case -1:
		sigs = append(sigs, hub.SigTamperRestore)
	}
	if b.BatteryLowField != "" {
		if v, ok := field(obj, b.BatteryLowField); ok {
			if match(v, nil, defTamper) {
				sigs = append(sigs, hub.SigLowBattery)
			} else {
				sigs = append(sigs, hub.SigBatteryOK)
			}
		}
	}
	return sigs, nil
}

// Zones feeds MQTT-bound zones into the hub. A message goes from the publishing
// client's goroutine straight into the hub (Post): no queue, no goroutine between a
// detector and the siren.
type Zones struct {
	bus  Bus
	hub  Inputs
	log  *slog.Logger
	subs subscriptions
}

// subscriptions are the bus subscriptions of an adapter.
type subscriptions struct {
	mu     sync.Mutex
	cancel []func()
}

// replace ends the current subscriptions and makes new ones with add, which
// subscribes and returns the cancel function of each.
func (s *subscriptions) replace(add func(keep func(cancel func())) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cancel {
		c()
	}
	s.cancel = nil
	return add(func(c func()) { s.cancel = append(s.cancel, c) })
}

// close ends every subscription.
func (s *subscriptions) close() { _ = s.replace(func(func(func())) error { return nil }) }

// NewZones returns an adapter; call Bind with the zones, and Close to unbind. log
// nil discards.
func NewZones(bus Bus, h Inputs, log *slog.Logger) *Zones {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Zones{bus: bus, hub: h, log: log}
}

// Bind subscribes to the topics of the zones, by zone id, in the order of their
// ids, replacing earlier bindings. Retained messages arrive at once: zone levels
// are re-read. ctx bounds the hand-off of each signal to the hub (it waits only
// while the hub has not started).
func (a *Zones) Bind(ctx context.Context, zones map[string]ZoneBinding) error {
	return a.subs.replace(func(keep func(func())) error {
		for _, id := range sortedKeys(zones) {
			b := zones[id]
			c, err := a.bus.Subscribe(b.Topic, func(m Message) { a.handle(ctx, id, b, m) })
			if err != nil {
				return fmt.Errorf("mqttdev: zone %s: subscribe %s: %w", id, b.Topic, err)
			}
			keep(c)
		}
		return nil
	})
}

// Close ends every binding.
func (a *Zones) Close() { a.subs.close() }

// handle runs on the publisher's goroutine: decode and post to the hub, which
// applies the signal at once (outputs switched before Post returns) and never waits
// for the disk.
func (a *Zones) handle(ctx context.Context, id string, b ZoneBinding, m Message) {
	sigs, err := Decode(id, b, m.Payload)
	if err != nil {
		a.log.Warn("mqttdev: ignored payload", "err", err, "client", m.ClientID)
		return
	}
	for _, s := range sigs {
		if err := a.hub.Post(ctx, hub.Sensor{Zone: id, Signal: s}); err != nil && ctx.Err() == nil {
			a.log.Error("mqttdev: hub refused a sensor input", "zone", id, "err", err)
		}
	}
}

// Outputs drives MQTT-bound outputs for an output.Keeper: it publishes their on/off
// payloads (never retained), tells whether a device listens, reads their feedback
// topics, and has the keeper resend a level when a device subscribes to its command
// topic. What each output was last driven to is published, retained, on
// <statusBase>/<id> (Status).
type Outputs struct {
	bus        Bus
	log        *slog.Logger
	statusBase string
	outputs    map[string]OutputBinding
	subs       subscriptions
}

// NewOutputs returns the MQTT driver for the outputs bound by outputs (by output
// id). statusBase is e.g. "vakt/output" ("" publishes no status). log nil discards.
func NewOutputs(bus Bus, outputs map[string]OutputBinding, statusBase string, log *slog.Logger) *Outputs {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Outputs{bus: bus, log: log, outputs: outputs, statusBase: statusBase}
}

var _ output.Driver = (*Outputs)(nil)

// Drive publishes out's payload for l. An output without an MQTT binding is not
// this driver's: that is an error, and nothing is sent.
func (o *Outputs) Drive(out hub.Output, l output.Level) error {
	b, ok := o.outputs[out.ID]
	if !ok {
		return fmt.Errorf("mqttdev: output %s has no MQTT binding", out.ID)
	}
	payload := b.Off
	if l != output.Off {
		payload = b.On
	}
	if err := o.bus.Publish(b.Topic, []byte(payload), false); err != nil {
		return fmt.Errorf("mqttdev: output %s: %w", out.ID, err)
	}
	return nil
}

// Reachable reports whether some MQTT client subscribes to out's command topic
// (false for an output without an MQTT binding).
func (o *Outputs) Reachable(out hub.Output) bool {
	b, ok := o.outputs[out.ID]
	return ok && o.bus.Subscribed(b.Topic)
}

// HasFeedback reports whether out is bound here and its device reports its level
// on a state topic.
func (o *Outputs) HasFeedback(out hub.Output) bool {
	b, ok := o.outputs[out.ID]
	return ok && b.HasFeedback()
}

// Status publishes, retained, the level o was driven to.
func (o *Outputs) Status(id string, on bool) {
	if o.statusBase == "" {
		return
	}
	state := "OFF"
	if on {
		state = "ON"
	}
	if err := o.bus.Publish(o.statusBase+"/"+id, []byte(state), true); err != nil {
		o.log.Error("mqttdev: output status", "output", id, "err", err)
	}
}

// Keeper is what Outputs tells about devices.
type Keeper interface {
	Feedback(id string, on bool)
	Resend(match func(hub.Output) bool)
}

// Bind subscribes to the feedback topics and sends feedback to k.
func (o *Outputs) Bind(k Keeper) error {
	return o.subs.replace(func(keep func(func())) error {
		for _, id := range sortedKeys(o.outputs) {
			b := o.outputs[id]
			if !b.HasFeedback() {
				continue
			}
			// A device that keeps sending what means nothing is logged once, until
			// it sends a level again: no log line per message.
			var quiet atomic.Bool
			c, err := o.bus.Subscribe(b.StateTopic, func(m Message) {
				on, err := DecodeFeedback(b, m.Payload)
				if err != nil {
					if !quiet.Swap(true) {
						o.log.Warn("mqttdev: output feedback ignored (logged once until a level comes)", "output", id,
							"err", err, "client", m.ClientID)
					}
					return
				}
				quiet.Store(false)
				k.Feedback(id, on)
			})
			if err != nil {
				return fmt.Errorf("mqttdev: output %s: subscribe %s: %w", id, b.StateTopic, err)
			}
			keep(c)
		}
		return nil
	})
}

// Close ends the feedback subscriptions.
func (o *Outputs) Close() { o.subs.close() }

// Subscribed is told that an MQTT client subscribed to filters: every output whose
// command topic they cover is sent its level again, to that device and any other.
func (o *Outputs) Subscribed(k Keeper, filters []string) {
	k.Resend(func(out hub.Output) bool {
		b, ok := o.outputs[out.ID]
		if !ok {
			return false
		}
		for _, f := range filters {
			if MatchTopic(f, b.Topic) {
				return true
			}
		}
		return false
	})
}

// DecodeFeedback reads the level an output's device, bound by b, reports on its
// state topic.
func DecodeFeedback(b OutputBinding, payload []byte) (on bool, err error) {
	value := strings.TrimSpace(string(payload))
	if b.StateField != "" {
		var obj map[string]any
		if err := json.Unmarshal(payload, &obj); err != nil {
			return false, fmt.Errorf("payload on %s is not a JSON object: %w", b.StateTopic, err)
		}
		v, ok := field(obj, b.StateField)
		if !ok {
			return false, fmt.Errorf("payload on %s has no field %q", b.StateTopic, b.StateField)
		}
		value = v
	}
	onV, offV := b.StateOn, b.StateOff
	if onV == "" {
		onV = b.On
	}
	if offV == "" {
		offV = b.Off
	}
	switch {
	case strings.EqualFold(value, onV):
		return true, nil
	case strings.EqualFold(value, offV):
		return false, nil
	}
	return false, fmt.Errorf("value %q on %s is neither %q nor %q", truncate(value), b.StateTopic, onV, offV)
}

// truncate shortens s for a log line, at a character's boundary.
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

// MatchTopic reports whether the MQTT topic filter f matches topic t ('+' one
// level, '#' the rest; '$' topics only match filters that name them).
func MatchTopic(f, t string) bool {
	if strings.HasPrefix(t, "$") && !strings.HasPrefix(f, "$") {
		return false
	}
	fs, ts := strings.Split(f, "/"), strings.Split(t, "/")
	for i, p := range fs {
		if p == "#" {
			return true
		}
		if i >= len(ts) || (p != "+" && p != ts[i]) {
			return false
		}
	}
	return len(fs) == len(ts)
}
