// Package mqttdev binds zones and outputs to arbitrary MQTT topics, so Tasmota,
// ESPHome or Shelly devices work as zones and sirens, and tests can drive zones with any
// MQTT client.
//
// A Zones adapter subscribes to each bound zone's topic and turns payloads into
// sensor signals for the hub; an Outputs driver publishes on/off payloads (never
// retained) when the hub switches an output kind. Each starts one goroutine in Run,
// stopped by cancelling Run's context.
package mqttdev

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"vakt/hub"
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
type Bus interface {
	Publish(topic string, payload []byte, retain bool) error
	Subscribe(filter string, fn func(Message)) (cancel func(), err error)
}

// Inputs is the hub as seen by adapters.
type Inputs interface {
	Input(ctx context.Context, in hub.Input) error
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

// Decode turns a payload on zone z's topic into signals. An error says why the
// payload means nothing for the zone; it changes nothing.
func Decode(z hub.Zone, payload []byte) ([]hub.Signal, error) {
	b := z.MQTT
	var sigs []hub.Signal
	var obj map[string]any
	value := strings.TrimSpace(string(payload))
	needJSON := b.Field != "" || b.TamperField != "" || b.BatteryLowField != ""
	if needJSON {
		if err := json.Unmarshal(payload, &obj); err != nil {
			return nil, fmt.Errorf("zone %s: payload on %s is not a JSON object: %w", z.ID, b.Topic, err)
		}
	}
	if b.Field != "" {
		var ok bool
		value, ok = field(obj, b.Field)
		if !ok && b.TamperField == "" && b.BatteryLowField == "" {
			return nil, fmt.Errorf("zone %s: payload on %s has no field %q", z.ID, b.Topic, b.Field)
		}
	}
	if value != "" {
		switch {
		case b.TamperValue != "" && strings.EqualFold(value, b.TamperValue):
			sigs = append(sigs, hub.SigTamper)
		case match(value, b.Open, defOpen):
			sigs = append(sigs, hub.SigOpen)
		case match(value, b.Closed, defClosed):
			sigs = append(sigs, hub.SigClose)
			if b.TamperValue != "" {
				sigs = append(sigs, hub.SigTamperRestore)
			}
		default:
			return nil, fmt.Errorf("zone %s: value %q on %s is neither open nor closed", z.ID, value, b.Topic)
		}
	}
	if b.TamperField != "" {
		if v, ok := field(obj, b.TamperField); ok {
			if match(v, b.Tamper, defTamper) {
				sigs = append(sigs, hub.SigTamper)
			} else {
				sigs = append(sigs, hub.SigTamperRestore)
			}
		}
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

// Zones feeds MQTT-bound zones into the hub.
type Zones struct {
	bus    Bus
	hub    Inputs
	log    *slog.Logger
	queue  chan hub.Sensor
	mu     sync.Mutex
	cancel []func()
}

// NewZones returns an adapter; call Bind with the zones, and Run.
func NewZones(bus Bus, h Inputs, log *slog.Logger) *Zones {
	return &Zones{bus: bus, hub: h, log: log, queue: make(chan hub.Sensor, 1024)}
}

// Bind subscribes to the topics of the zones that have an MQTT binding, replacing
// earlier bindings. Retained messages arrive at once: zone levels are re-read.
func (a *Zones) Bind(ctx context.Context, zones []hub.Zone) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.cancel {
		c()
	}
	a.cancel = nil
	for _, z := range zones {
		if z.MQTT == nil {
			continue
		}
		z := z
		c, err := a.bus.Subscribe(z.MQTT.Topic, func(m Message) { a.handle(ctx, z, m) })
		if err != nil {
			return fmt.Errorf("mqttdev: zone %s: subscribe %s: %w", z.ID, z.MQTT.Topic, err)
		}
		a.cancel = append(a.cancel, c)
	}
	return nil
}

// handle runs on the publisher's goroutine: decode, queue, return. A full queue
// holds that one publisher back (MQTT backpressure) rather than losing a signal.
func (a *Zones) handle(ctx context.Context, z hub.Zone, m Message) {
	sigs, err := Decode(z, m.Payload)
	if err != nil {
		a.log.Warn("mqttdev: ignored payload", "err", err, "client", m.ClientID)
		return
	}
	for _, s := range sigs {
		a.log.Debug("mqttdev: zone signal", "zone", z.ID, "signal", s, "client", m.ClientID)
		select {
		case a.queue <- hub.Sensor{Zone: z.ID, Signal: s}:
		case <-ctx.Done():
			return
		}
	}
}

// Run delivers queued signals to the hub, in order, until ctx is cancelled.
func (a *Zones) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			a.mu.Lock()
			for _, c := range a.cancel {
				c()
			}
			a.cancel = nil
			a.mu.Unlock()
			return nil
		case s := <-a.queue:
			if err := a.hub.Input(ctx, s); err != nil && ctx.Err() == nil {
				a.log.Error("mqttdev: hub refused a sensor input", "zone", s.Zone, "err", err)
			}
		}
	}
}

// Outputs drives MQTT-bound outputs. It implements hub.Outputs. Outputs are levels:
// Run first switches every output off, then follows the hub (which switches on what
// a resumed alarm needs). What each output was last driven to is published, retained,
// on <statusBase>/<id>, so a panel or test can see it.
type Outputs struct {
	bus        Bus
	hub        Inputs
	log        *slog.Logger
	statusBase string
	mu         sync.Mutex
	outputs    []hub.Output
	queue      chan hub.SetOutput
}

// NewOutputs returns a driver for outputs; call Run. statusBase is e.g. "vakt/output".
func NewOutputs(bus Bus, h Inputs, outputs []hub.Output, statusBase string, log *slog.Logger) *Outputs {
	return &Outputs{bus: bus, hub: h, log: log, outputs: outputs, statusBase: statusBase,
		queue: make(chan hub.SetOutput, 256)}
}

// SetOutputs replaces the configured outputs.
func (o *Outputs) SetOutputs(outputs []hub.Output) {
	o.mu.Lock()
	o.outputs = outputs
	o.mu.Unlock()
}

// Set queues a switch; it never blocks the hub. A full queue is a fault.
func (o *Outputs) Set(kind hub.OutputKind, on, pulse bool) {
	select {
	case o.queue <- hub.SetOutput{Kind: kind, On: on, Pulse: pulse}:
	default:
		o.log.Error("mqttdev: output queue full, switch lost", "kind", kind, "on", on)
	}
}

// Run publishes switches until ctx is cancelled. A failed publish raises the hub
// fault "output:<id>", cleared by the next successful one.
func (o *Outputs) Run(ctx context.Context) error {
	failed := map[string]bool{}
	drive := func(s hub.SetOutput, all bool) {
		o.mu.Lock()
		outs := o.outputs
		o.mu.Unlock()
		for _, out := range outs {
			if (!all && out.Kind != s.Kind) || out.MQTT == nil {
				continue
			}
			payload := out.MQTT.Off
			if s.On {
				payload = out.MQTT.On
			}
			err := o.bus.Publish(out.MQTT.Topic, []byte(payload), false)
			if err != nil {
				o.log.Error("mqttdev: output not driven", "output", out.ID, "topic", out.MQTT.Topic, "err", err)
			} else if o.statusBase != "" && !s.Pulse {
				state := "OFF"
				if s.On {
					state = "ON"
				}
				_ = o.bus.Publish(o.statusBase+"/"+out.ID, []byte(state), true)
			}
			if (err != nil) != failed[out.ID] {
				failed[out.ID] = err != nil
				detail := ""
				if err != nil {
					detail = err.Error()
				}
				_ = o.hub.Input(ctx, hub.Fault{Name: "output:" + out.ID, Active: err != nil, Detail: detail})
			}
		}
	}
	drive(hub.SetOutput{On: false}, true)
	for {
		select {
		case <-ctx.Done():
			return nil
		case s := <-o.queue:
			drive(s, false)
		}
	}
}
