// Package binding maps the domain configuration file to the hub's configuration
// and the adapters' bindings.
//
// The hub knows zones and outputs by id only; each adapter owns the types that
// bind a device to one (sensors/mqttdev a topic). In the file (YAML for
// `vakt config export|import`, JSON in the store) each zone and output entry
// carries its adapters' bindings inline, under the adapter's key:
//
//	zones:
//	  - id: door
//	    name: Front door
//	    number: 1
//	    type: entry_exit
//	    mqtt: {topic: zigbee2mqtt/door, field: contact, open: ["false"]}
//	keypads:
//	  - id: hall_keypad
//	    zigbee: {ieee: "0x0015bc002f00a1b2"}
//
// File.Split separates the two, Join puts them back. A new adapter adds one field
// to Zone and Output (its key), one field to Set, and its wiring in main.
//
// A zone or output has one binding: two adapters binding the same one is an
// error. Power supplies' trouble outputs wired to GPIO lines (mains fail, low
// battery) are no zones: they are the file's power entries, each a gpio binding
// by id, kept with the zones' gpio bindings.
package binding

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"vakt/hub"
	"vakt/sensors/gpio"
	"vakt/sensors/mqttdev"
	"vakt/sensors/zigbee"
)

// File is the domain configuration as written: the hub's configuration with each
// zone's and output's bindings inline.
type File struct {
	Settings hub.Settings `json:"settings" yaml:"settings"`
	Zones    []Zone       `json:"zones" yaml:"zones"`
	Users    []hub.User   `json:"users" yaml:"users"`
	Outputs  []Output     `json:"outputs" yaml:"outputs"`
	// Keypads are the Zigbee keypads and remotes that arm and disarm.
	Keypads []Keypad `json:"keypads,omitempty" yaml:"keypads,omitempty"`
	// Power are the power supplies' trouble outputs wired to the hub.
	Power []Power `json:"power,omitempty" yaml:"power,omitempty"`
	// Tokens are the API and device tokens (hashes only).
	Tokens []hub.Token `json:"tokens,omitempty" yaml:"tokens,omitempty"`
}

// Power is a power supply's trouble output (mains fail, low battery) on a GPIO
// line: its id names the faults it raises (mains:<id>, battery:<id>).
type Power struct {
	ID   string            `json:"id" yaml:"id"`
	GPIO *gpio.ZoneBinding `json:"gpio,omitempty" yaml:"gpio,omitempty"`
}

// Zone is a zone entry: the zone and its bindings.
type Zone struct {
	hub.Zone `yaml:",inline"`
	// MQTT binds the zone to any MQTT topic (Tasmota, ESPHome, Shelly, tests).
	MQTT *mqttdev.ZoneBinding `json:"mqtt,omitempty" yaml:"mqtt,omitempty"`
	// Zigbee binds the zone to a device of Zigbee2MQTT, by IEEE address.
	Zigbee *zigbee.ZoneBinding `json:"zigbee,omitempty" yaml:"zigbee,omitempty"`
	// GPIO binds the zone to a wired line on the hub's GPIO header.
	GPIO *gpio.ZoneBinding `json:"gpio,omitempty" yaml:"gpio,omitempty"`
}

// Output is an output entry: the output and its bindings.
type Output struct {
	hub.Output `yaml:",inline"`
	// MQTT drives the output by publishing to a topic.
	MQTT *mqttdev.OutputBinding `json:"mqtt,omitempty" yaml:"mqtt,omitempty"`
	// GPIO drives the output (a relay) on a line of the hub's GPIO header.
	GPIO *gpio.OutputBinding `json:"gpio,omitempty" yaml:"gpio,omitempty"`
	// Zigbee drives a Zigbee siren through Zigbee2MQTT.
	Zigbee *zigbee.OutputBinding `json:"zigbee,omitempty" yaml:"zigbee,omitempty"`
}

// Keypad is a keypad entry: its id and its binding. A keypad has no place in the
// hub's configuration: it is a way in, like the web or the MQTT API.
type Keypad struct {
	ID     string                `json:"id" yaml:"id"`
	Zigbee *zigbee.KeypadBinding `json:"zigbee,omitempty" yaml:"zigbee,omitempty"`
}

// Set is every adapter's bindings, by zone and output id. Its JSON form is what
// the store keeps next to the configuration.
type Set struct {
	MQTT   mqttdev.Bindings `json:"mqtt"`
	Zigbee zigbee.Bindings  `json:"zigbee,omitzero"`
	// GPIO has the zones' and the power inputs' lines in Zones.
	GPIO gpio.Bindings `json:"gpio,omitzero"`

	// dupPower are the power ids the file had twice (Split; Validate reports them).
	dupPower []string
}

// Split returns the hub's configuration and the bindings of f.
func (f File) Split() (hub.Config, Set) {
	cfg := hub.Config{Settings: f.Settings, Users: f.Users, Tokens: f.Tokens}
	var s Set
	for _, z := range f.Zones {
		cfg.Zones = append(cfg.Zones, z.Zone)
		if z.MQTT != nil {
			s.MQTT.Zones = put(s.MQTT.Zones, z.ID, *z.MQTT)
		}
		if z.Zigbee != nil {
			s.Zigbee.Zones = put(s.Zigbee.Zones, z.ID, *z.Zigbee)
		}
		if z.GPIO != nil {
			s.GPIO.Zones = put(s.GPIO.Zones, z.ID, *z.GPIO)
		}
	}
	for _, o := range f.Outputs {
		cfg.Outputs = append(cfg.Outputs, o.Output)
		if o.MQTT != nil {
			s.MQTT.Outputs = put(s.MQTT.Outputs, o.ID, *o.MQTT)
		}
		if o.Zigbee != nil {
			s.Zigbee.Outputs = put(s.Zigbee.Outputs, o.ID, *o.Zigbee)
		}
		if o.GPIO != nil {
			s.GPIO.Outputs = put(s.GPIO.Outputs, o.ID, *o.GPIO)
		}
	}
	for _, k := range f.Keypads {
		var b zigbee.KeypadBinding // none: Validate says the address is missing
		if k.Zigbee != nil {
			b = *k.Zigbee
		}
		s.Zigbee.Keypads = put(s.Zigbee.Keypads, k.ID, b)
	}
	for _, p := range f.Power {
		var b gpio.ZoneBinding // none: Validate says the line is missing
		if p.GPIO != nil {
			b = *p.GPIO
		}
		if _, dup := s.GPIO.Zones[p.ID]; dup {
			s.dupPower = append(s.dupPower, p.ID)
		}
		s.GPIO.Zones = put(s.GPIO.Zones, p.ID, b)
	}
	return cfg, s
}

// Join returns the file of cfg with the bindings of s inline. Bindings of ids that
// cfg does not have are left out (Validate reports them).
func Join(cfg hub.Config, s Set) File {
	f := File{Settings: cfg.Settings, Users: cfg.Users, Tokens: cfg.Tokens}
	zones := map[string]bool{}
	for _, z := range cfg.Zones {
		e := Zone{Zone: z}
		if b, ok := s.MQTT.Zones[z.ID]; ok {
			e.MQTT = &b
		}
		if b, ok := s.Zigbee.Zones[z.ID]; ok {
			e.Zigbee = &b
		}
		if b, ok := s.GPIO.Zones[z.ID]; ok {
			e.GPIO = &b
		}
		f.Zones = append(f.Zones, e)
		zones[z.ID] = true
	}
	// The gpio bindings of no zone are the power entries (or bindings Validate
	// refuses, kept so that nothing is lost on the way out).
	for _, id := range sortedKeys(s.GPIO.Zones) {
		if !zones[id] {
			b := s.GPIO.Zones[id]
			f.Power = append(f.Power, Power{ID: id, GPIO: &b})
		}
	}
	for _, o := range cfg.Outputs {
		e := Output{Output: o}
		if b, ok := s.MQTT.Outputs[o.ID]; ok {
			e.MQTT = &b
		}
		if b, ok := s.Zigbee.Outputs[o.ID]; ok {
			e.Zigbee = &b
		}
		if b, ok := s.GPIO.Outputs[o.ID]; ok {
			e.GPIO = &b
		}
		f.Outputs = append(f.Outputs, e)
	}
	for _, id := range sortedKeys(s.Zigbee.Keypads) {
		b := s.Zigbee.Keypads[id]
		f.Keypads = append(f.Keypads, Keypad{ID: id, Zigbee: &b})
	}
	return f
}

// Validate checks the bindings against cfg and each adapter's own rules, and
// returns every problem found, joined. A binding of a zone or output that cfg does
// not have is an error.
func (s Set) Validate(cfg hub.Config) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	zones := map[string]bool{}
	for i, z := range cfg.Zones {
		zones[z.ID] = true
		if b, ok := s.MQTT.Zones[z.ID]; ok {
			if err := b.Validate(); err != nil {
				bad("zones[%d] %q: mqtt: %w", i, z.ID, err)
			}
		}
		if b, ok := s.Zigbee.Zones[z.ID]; ok {
			if err := b.Validate(); err != nil {
				bad("zones[%d] %q: zigbee: %w", i, z.ID, err)
			}
		}
		if b, ok := s.GPIO.Zones[z.ID]; ok {
			if b.Power() {
				bad("zones[%d] %q: gpio: a %s line is a power input, not a zone: bind it in a power entry", i, z.ID, b.Means)
			}
		}
		if by := s.zoneAdapters(z.ID); len(by) > 1 {
			bad("zones[%d] %q: bound by more than one adapter (%s): one device per zone", i, z.ID, strings.Join(by, ", "))
		}
	}
	outputs := map[string]bool{}
	for i, o := range cfg.Outputs {
		outputs[o.ID] = true
		if b, ok := s.MQTT.Outputs[o.ID]; ok {
			if err := b.Validate(); err != nil {
				bad("outputs[%d] %q: mqtt: %w", i, o.ID, err)
			}
		}
		if b, ok := s.Zigbee.Outputs[o.ID]; ok {
			if err := b.Validate(); err != nil {
				bad("outputs[%d] %q: zigbee: %w", i, o.ID, err)
			}
		}
		if by := s.outputAdapters(o.ID); len(by) > 1 {
			bad("outputs[%d] %q: bound by more than one adapter (%s): one driver per output", i, o.ID, strings.Join(by, ", "))
		}
	}
	for _, id := range sortedKeys(s.MQTT.Zones) {
		if !zones[id] {
			bad("mqtt: binding of zone %q, which is not configured", id)
		}
	}
	for _, id := range sortedKeys(s.MQTT.Outputs) {
		if !outputs[id] {
			bad("mqtt: binding of output %q, which is not configured", id)
		}
	}
	if err := s.MQTT.CheckTopics(); err != nil {
		bad("mqtt: %w", err)
	}
	for _, id := range sortedKeys(s.Zigbee.Zones) {
		if !zones[id] {
			bad("zigbee: binding of zone %q, which is not configured", id)
		}
	}
	for _, id := range sortedKeys(s.Zigbee.Outputs) {
		if !outputs[id] {
			bad("zigbee: binding of output %q, which is not configured", id)
		}
	}
	for _, id := range sortedKeys(s.Zigbee.Keypads) {
		if id == "" {
			bad("keypads: a keypad without an id")
		} else if err := s.Zigbee.Keypads[id].Validate(); err != nil {
			bad("keypads %q: zigbee: %w", id, err)
		}
	}
	if err := s.Zigbee.CheckKeypads(); err != nil {
		bad("keypads: zigbee: %w", err)
	}
	for _, id := range s.dupPower {
		bad("power %q: duplicate id", id)
	}
	for _, id := range sortedKeys(s.GPIO.Zones) {
		if !zones[id] && !s.GPIO.Zones[id].Power() {
			bad("gpio: %q is neither a configured zone nor a power input (means mains_fail or low_battery)", id)
		}
	}
	for _, id := range sortedKeys(s.GPIO.Outputs) {
		if !outputs[id] {
			bad("gpio: binding of output %q, which is not configured", id)
		}
	}
	if err := s.GPIO.Validate(); err != nil {
		bad("%w", err) // "gpio: invalid binding: zone door: ..."
	}
	return errors.Join(errs...)
}

// zoneAdapters names the adapters that bind zone id.
func (s Set) zoneAdapters(id string) []string {
	var by []string
	if _, ok := s.MQTT.Zones[id]; ok {
		by = append(by, "mqtt")
	}
	if _, ok := s.Zigbee.Zones[id]; ok {
		by = append(by, "zigbee")
	}
	if _, ok := s.GPIO.Zones[id]; ok {
		by = append(by, "gpio")
	}
	return by
}

// outputAdapters names the adapters that bind output id.
func (s Set) outputAdapters(id string) []string {
	var by []string
	if _, ok := s.MQTT.Outputs[id]; ok {
		by = append(by, "mqtt")
	}
	if _, ok := s.Zigbee.Outputs[id]; ok {
		by = append(by, "zigbee")
	}
	if _, ok := s.GPIO.Outputs[id]; ok {
		by = append(by, "gpio")
	}
	return by
}

// Marshal returns the JSON form of s that the store keeps.
func (s Set) Marshal() (json.RawMessage, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("binding: encode: %w", err)
	}
	return b, nil
}

// Unmarshal reads the JSON form of a Set; empty means no bindings.
func Unmarshal(b json.RawMessage) (Set, error) {
	var s Set
	if len(b) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return Set{}, fmt.Errorf("binding: decode: %w", err)
	}
	return s, nil
}

// Clone returns a deep copy of s.
func (s Set) Clone() (Set, error) {
	b, err := s.Marshal()
	if err != nil {
		return Set{}, err
	}
	c, err := Unmarshal(b)
	c.dupPower = slices.Clone(s.dupPower)
	return c, err
}

// ZoneBound reports whether any adapter binds zone id.
func (s Set) ZoneBound(id string) bool { return len(s.zoneAdapters(id)) > 0 }

// OutputBound reports whether any adapter binds output id.
func (s Set) OutputBound(id string) bool { return len(s.outputAdapters(id)) > 0 }

func put[V any](m map[string]V, k string, v V) map[string]V {
	if m == nil {
		m = map[string]V{}
	}
	m[k] = v
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
